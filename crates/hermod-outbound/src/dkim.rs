//! DKIM (RFC 6376): signing outbound mail with the sender domain's key, and key generation
//! for `hermod domain dkim`.
//!
//! Signing happens at send time: the stored blob stays as it was accepted, and the
//! `DKIM-Signature` header is put in front of it on the wire. Keys are RSA-2048 in PKCS#8 PEM,
//! signatures RSA-SHA256 with relaxed/relaxed canonicalisation.

use hermod_model::{DomainName, EmailAddress};
use hermod_store::Store;
use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The header fields signed (those present in the message).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Reply-To",
    "In-Reply-To",
    "References",
];

/// Generates an RSA-2048 key: (PKCS#8 PEM private key, the DNS TXT record's value
/// `v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>`).
pub fn generate_key() -> Result<(String, String), String> {
    let mut rng = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048)
        .map_err(|e| format!("cannot generate an RSA key: {e}"))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the RSA key: {e}"))?
        .to_string();
    let public = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    let record = format!("v=DKIM1; k=rsa; p={}", base64(public.as_bytes()));
    Ok((pem, record))
}

/// The DNS name of a DKIM key record: `selector._domainkey.domain`.
pub fn dns_record_name(selector: &str, domain: &str) -> String {
    format!(
        "{}._domainkey.{}",
        selector.trim(),
        domain.trim().trim_end_matches('.')
    )
}

/// The public key (`p=` value) in a DKIM TXT record, if the record has one.
pub fn record_public_key(record: &str) -> Option<&str> {
    record
        .split(';')
        .map(str::trim)
        .find_map(|tag| tag.strip_prefix("p="))
        .map(str::trim)
}

/// The public key (`p=` value) that belongs to a PKCS#8 PEM private key, for checking that
/// the published record matches the key in use.
pub fn public_key_of(pkcs8_pem: &str) -> Result<String, String> {
    use rsa::pkcs8::DecodePrivateKey;
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pkcs8_pem)
        .map_err(|e| format!("the DKIM key is not a PKCS#8 RSA key: {e}"))?;
    let der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| format!("cannot encode the public key: {e}"))?;
    Ok(base64(der.as_bytes()))
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Signs `message` for `domain` with `selector` and the PKCS#8 PEM key; returns the
/// `DKIM-Signature: ...\r\n` header field to put in front of the message.
pub fn sign(
    message: &[u8],
    domain: &str,
    selector: &str,
    pkcs8_pem: &str,
) -> Result<String, String> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pkcs8_pem.as_bytes())
        .map_err(|e| format!("the DKIM key of {domain} is not PKCS#8 PEM: {e}"))?;
    let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(der))
        .map_err(|e| format!("the DKIM key of {domain} cannot be used: {e}"))?;
    let signature = DkimSigner::from_key(key)
        .domain(domain)
        .selector(selector)
        .headers(SIGNED_HEADERS.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
        .sign(message)
        .map_err(|e| format!("cannot DKIM-sign for {domain}: {e}"))?;
    Ok(signature.to_header())
}

/// The domain of the message's RFC 5322 From (the first address), lower-case.
pub fn from_domain(message: &[u8]) -> Option<DomainName> {
    let end = hermod_mime::header_end(message);
    let fields = hermod_mime::header_fields(&message[..end.min(message.len())]);
    let from = fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case("from"))?;
    let value = hermod_mime::unfold(from.raw_value(message));
    let addr = match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].to_string(),
        _ => value
            .split(|c: char| c == ',' || c.is_whitespace())
            .find(|w| w.contains('@'))?
            .to_string(),
    };
    EmailAddress::parse(addr.trim())
        .ok()
        .map(|a| a.domain().clone())
}

/// Finds the key to sign with (the From domain's when it is hosted with a key, else the
/// envelope sender's domain's) and signs. `None` when neither has a key; signing errors are
/// logged and the message goes unsigned.
pub async fn sign_for(store: &Store, message: &[u8], envelope_sender: &str) -> Option<String> {
    let mut candidates: Vec<DomainName> = Vec::new();
    if let Some(d) = from_domain(message) {
        candidates.push(d);
    }
    if let Ok(addr) = EmailAddress::parse(envelope_sender) {
        let d = addr.domain().clone();
        if !candidates.contains(&d) {
            candidates.push(d);
        }
    }
    for domain in candidates {
        match store.domain_dkim(&domain).await {
            Ok(Some((selector, key))) => {
                return match sign(message, domain.as_str(), &selector, &key) {
                    Ok(header) => Some(header),
                    Err(e) => {
                        tracing::warn!(domain = %domain, error = %e, "DKIM signing failed; sending unsigned");
                        None
                    }
                };
            }
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(domain = %domain, error = %e, "cannot read the DKIM key; sending unsigned");
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn names_and_from() {
        assert_eq!(
            dns_record_name("s1", "example.com."),
            "s1._domainkey.example.com"
        );
        assert_eq!(
            from_domain(b"Subject: x\r\nFrom: \"Ann\" <Ann@Example.COM>\r\n\r\nbody")
                .unwrap()
                .as_str(),
            "example.com"
        );
        assert_eq!(
            from_domain(b"From: bob@b.org (Bob)\r\n\r\n")
                .unwrap()
                .as_str(),
            "b.org"
        );
        assert!(from_domain(b"To: x@y.z\r\n\r\n").is_none());
        assert_eq!(record_public_key("v=DKIM1; k=rsa; p=ABC"), Some("ABC"));
    }
}
