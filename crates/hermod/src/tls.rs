//! The server's certificate: the configured one, or a self-signed pair made on first start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use hermod_config::Settings;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate came from, for the log.
pub enum Origin {
    Configured,
    SelfSignedExisting,
    SelfSignedNew,
}

pub fn self_signed_paths(settings: &Settings) -> (PathBuf, PathBuf) {
    let dir = settings.data_dir.join("tls");
    (dir.join("self-signed.crt"), dir.join("self-signed.key"))
}

/// Loads (or makes) the certificate and builds the TLS server configuration.
pub fn server_config(settings: &Settings) -> Result<(Arc<rustls::ServerConfig>, PathBuf, Origin)> {
    let (cert_path, key_path, origin) = match (&settings.tls_cert, &settings.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone(), Origin::Configured),
        _ => {
            let (c, k) = self_signed_paths(settings);
            if c.exists() && k.exists() {
                (c, k, Origin::SelfSignedExisting)
            } else {
                make_self_signed(&settings.hostname, &c, &k)?;
                (c, k, Origin::SelfSignedNew)
            }
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect())
        .map_err(|e| {
            anyhow!(
                "cannot read the certificate {}: {e}; check tls.cert",
                cert_path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(anyhow!(
            "{} holds no PEM certificate; check tls.cert",
            cert_path.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        anyhow!(
            "cannot read the private key {}: {e}; check tls.key",
            key_path.display()
        )
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        anyhow!("the certificate and key do not fit together: {e}; check tls.cert and tls.key")
    })?;
    Ok((Arc::new(config), cert_path, origin))
}

fn make_self_signed(hostname: &str, cert_path: &Path, key_path: &Path) -> Result<()> {
    let dir = cert_path
        .parent()
        .context("certificate path has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let certified = rcgen::generate_simple_self_signed(vec![hostname.to_string()])
        .map_err(|e| anyhow!("cannot make a self-signed certificate for {hostname}: {e}"))?;
    std::fs::write(cert_path, certified.cert.pem())
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())?;
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}
