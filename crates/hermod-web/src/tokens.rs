//! API tokens for scripts: `Authorization: Bearer hmd_…` on `/api/v1` instead of a session
//! cookie. Only the SHA-256 of a token is kept; the token itself is shown once, when created.
//!
//! Tokens live behind [`TokenStore`]. [`MemoryTokens`] keeps them in this process's memory,
//! like [`crate::MemorySessions`]: they end when the server restarts and are not shared between
//! nodes. A durable store (in `hermod-store`) can replace it without touching the handlers.

use std::collections::HashMap;
use std::sync::Mutex;

use hermod_model::EmailAddress;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What every token starts with, so a leaked one is easy to recognise (and to scan for).
pub const PREFIX: &str = "hmd_";

/// The most live tokens one account may have.
pub const MAX_PER_ACCOUNT: usize = 20;

/// A token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Public id (16 hex digits), used to revoke the token.
    pub id: String,
    #[serde(skip)]
    pub account: EmailAddress,
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Where API tokens are kept, by the SHA-256 of the secret.
pub trait TokenStore: Send + Sync + 'static {
    /// A new token: its record and the secret to show once. `None` when the account already
    /// has [`MAX_PER_ACCOUNT`] tokens.
    fn create(&self, account: EmailAddress, name: String) -> Option<(ApiToken, String)>;
    /// The account's tokens, oldest first.
    fn list(&self, account: &EmailAddress) -> Vec<ApiToken>;
    /// Revokes one of the account's tokens; false when it has no token with this id.
    fn revoke(&self, account: &EmailAddress, id: &str) -> bool;
    /// The token a secret belongs to, if it is live.
    fn resolve(&self, secret: &str) -> Option<ApiToken>;
    /// Revokes every token of an account (disabled, or its password reset by an admin).
    fn remove_account(&self, account: &EmailAddress);
}

/// The stored form of a secret: hex SHA-256.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Tokens in this process's memory (see the module documentation).
#[derive(Default)]
pub struct MemoryTokens {
    map: Mutex<HashMap<String, ApiToken>>,
}

impl MemoryTokens {
    pub fn new() -> MemoryTokens {
        MemoryTokens::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ApiToken>> {
        // Every operation is one insert or retain, so a poisoned map is still whole.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TokenStore for MemoryTokens {
    fn create(&self, account: EmailAddress, name: String) -> Option<(ApiToken, String)> {
        let secret = format!("{PREFIX}{}", crate::session::random_token());
        let token = ApiToken {
            id: hex::encode(rand::random::<[u8; 8]>()),
            account,
            name,
            created_at: hermod_store::now_ms(),
        };
        let mut map = self.lock();
        if map.values().filter(|t| t.account == token.account).count() >= MAX_PER_ACCOUNT {
            return None;
        }
        map.insert(hash(&secret), token.clone());
        Some((token, secret))
    }

    fn list(&self, account: &EmailAddress) -> Vec<ApiToken> {
        let mut out: Vec<ApiToken> = self
            .lock()
            .values()
            .filter(|t| &t.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    fn revoke(&self, account: &EmailAddress, id: &str) -> bool {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, t| !(&t.account == account && t.id == id));
        map.len() != before
    }

    fn resolve(&self, secret: &str) -> Option<ApiToken> {
        if !secret.starts_with(PREFIX) {
            return None;
        }
        self.lock().get(&hash(secret)).cloned()
    }

    fn remove_account(&self, account: &EmailAddress) {
        self.lock().retain(|_, t| &t.account != account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hash_is_kept_and_revoking_works() {
        let store = MemoryTokens::new();
        let a = EmailAddress::parse("a@example.com").unwrap();
        let (t, secret) = store.create(a.clone(), "backup".into()).unwrap();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 64);
        assert!(
            store
                .lock()
                .keys()
                .all(|k| k != &secret && k == &hash(&secret))
        );
        assert_eq!(store.resolve(&secret).unwrap().id, t.id);
        assert!(store.resolve("hmd_00").is_none());
        let other = EmailAddress::parse("b@example.com").unwrap();
        assert!(!store.revoke(&other, &t.id));
        assert!(store.revoke(&a, &t.id));
        assert!(store.resolve(&secret).is_none());
        for i in 0..MAX_PER_ACCOUNT {
            assert!(store.create(a.clone(), format!("t{i}")).is_some());
        }
        assert!(store.create(a.clone(), "one too many".into()).is_none());
        store.remove_account(&a);
        assert!(store.list(&a).is_empty());
    }
}
