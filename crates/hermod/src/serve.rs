//! `hermod serve`: load settings, open the stores, start the listeners, stop on a signal.

use anyhow::{Context, Result};
use hermod_config::Settings;
use std::sync::Arc;

use hermod_auth::Authenticator;
use hermod_delivery::Delivery;
use hermod_store::FsBlobStore;

use crate::commands::open_store;
use crate::tls;

pub async fn serve(settings: Settings) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&settings.log_level))
        .context("log.level is not a valid filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();

    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}; check data_dir",
            settings.data_dir.display()
        )
    })?;
    let store = open_store(&settings).await?;
    let blobs = FsBlobStore::open(settings.effective_blob_dir())?;
    // Bodies spooled when the last run died were never acknowledged: drop them.
    let swept = blobs.sweep_spool()?;
    if swept > 0 {
        tracing::info!(
            files = swept,
            "removed unacknowledged spool files left by the last run"
        );
    }
    let (tls, cert_path, origin) = tls::server_config(&settings)?;
    match origin {
        tls::Origin::Configured => {
            tracing::info!(cert = %cert_path.display(), "using the configured certificate")
        }
        tls::Origin::SelfSignedExisting => {
            tracing::warn!(cert = %cert_path.display(), "using the self-signed certificate made earlier; set tls.cert and tls.key for a trusted one")
        }
        tls::Origin::SelfSignedNew => tracing::warn!(
            cert = %cert_path.display(),
            hostname = %settings.hostname,
            "made a self-signed certificate; set tls.cert and tls.key for a trusted one"
        ),
    }
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        store = store.backend(),
        blobs = %blobs.spool_dir().parent().map(|p| p.display().to_string()).unwrap_or_default(),
        "hermod started"
    );

    let auth = Authenticator::new(
        store.clone(),
        settings.auth_max_failures,
        settings.auth_lockout,
    );
    let imap = Arc::new(hermod_imap::Shared::new(
        store.clone(),
        blobs.clone(),
        settings.clone(),
        Some(tls.clone()),
        auth.clone(),
    ));
    let delivery = Delivery::new(
        store.clone(),
        blobs.clone(),
        settings.hostname.clone(),
        srs_secret(&settings.data_dir)?,
    );
    let smtp = Arc::new(hermod_smtp::Shared::new(
        store.clone(),
        blobs,
        settings.clone(),
        Some(tls.clone()),
        auth.clone(),
        delivery,
    ));
    let listeners = hermod_smtp::start(smtp)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let imap_listeners = hermod_imap::start(imap)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;

    wait_for_shutdown().await?;
    for task in listeners.tasks.iter().chain(&imap_listeners.tasks) {
        task.abort();
    }
    tracing::info!("shutting down");
    store.close().await;
    Ok(())
}

/// The secret SRS addresses of forwarded mail are signed with: made once, kept in the data
/// directory (all nodes of one installation must share it to accept each other's bounces).
fn srs_secret(data_dir: &std::path::Path) -> Result<Vec<u8>> {
    let path = data_dir.join("srs.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = text.trim().as_bytes().to_vec();
        if key.len() >= 16 {
            return Ok(key);
        }
    }
    let key: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    std::fs::write(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key.into_bytes())
}

async fn wait_for_shutdown() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
