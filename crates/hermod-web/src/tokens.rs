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

use crate::session::BoxFut;

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
    /// A new token: its record and the secret to show once. `Ok(None)` when the account
    /// already has [`MAX_PER_ACCOUNT`] tokens.
    fn create(
        &self,
        account: EmailAddress,
        name: String,
    ) -> BoxFut<'_, Result<Option<(ApiToken, String)>, String>>;
    /// The account's tokens, oldest first.
    fn list<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, Vec<ApiToken>>;
    /// Revokes one of the account's tokens; false when it has no token with this id.
    fn revoke<'a>(&'a self, account: &'a EmailAddress, id: &'a str) -> BoxFut<'a, bool>;
    /// The token a secret belongs to, if it is live.
    fn resolve<'a>(&'a self, secret: &'a str) -> BoxFut<'a, Option<ApiToken>>;
    /// Revokes every token of an account (disabled, or its password reset by an admin).
    fn remove_account<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, ()>;
}

fn new_token(account: EmailAddress, name: String) -> (ApiToken, String) {
    let secret = format!("{PREFIX}{}", crate::session::random_token());
    let token = ApiToken {
        id: hex::encode(rand::random::<[u8; 8]>()),
        account,
        name,
        created_at: hermod_store::now_ms(),
    };
    (token, secret)
}

/// Tokens in the metadata store: durable and shared by every node; only hashes are stored.
pub struct StoreTokens {
    store: hermod_store::Store,
}

impl StoreTokens {
    pub fn new(store: hermod_store::Store) -> StoreTokens {
        StoreTokens { store }
    }
}

fn from_stored(t: hermod_store::StoredToken) -> ApiToken {
    ApiToken {
        id: t.id,
        account: t.account,
        name: t.name,
        created_at: t.created_at,
    }
}

impl TokenStore for StoreTokens {
    fn create(
        &self,
        account: EmailAddress,
        name: String,
    ) -> BoxFut<'_, Result<Option<(ApiToken, String)>, String>> {
        Box::pin(async move {
            let (token, secret) = new_token(account, name);
            let stored = hermod_store::StoredToken {
                id: token.id.clone(),
                account: token.account.clone(),
                name: token.name.clone(),
                created_at: token.created_at,
            };
            match self
                .store
                .api_token_create(&stored, &hash(&secret), MAX_PER_ACCOUNT)
                .await
            {
                Ok(true) => Ok(Some((token, secret))),
                Ok(false) => Ok(None),
                Err(e) => Err(format!("cannot keep the token: {e}")),
            }
        })
    }

    fn list<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, Vec<ApiToken>> {
        Box::pin(async move {
            match self.store.api_tokens(account).await {
                Ok(list) => list.into_iter().map(from_stored).collect(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot list API tokens");
                    Vec::new()
                }
            }
        })
    }

    fn revoke<'a>(&'a self, account: &'a EmailAddress, id: &'a str) -> BoxFut<'a, bool> {
        Box::pin(async move {
            self.store
                .api_token_revoke(account, id)
                .await
                .unwrap_or(false)
        })
    }

    fn resolve<'a>(&'a self, secret: &'a str) -> BoxFut<'a, Option<ApiToken>> {
        Box::pin(async move {
            if !secret.starts_with(PREFIX) {
                return None;
            }
            match self.store.api_token_by_hash(&hash(secret)).await {
                Ok(t) => t.map(from_stored),
                Err(e) => {
                    tracing::error!(error = %e, "cannot look up an API token");
                    None
                }
            }
        })
    }

    fn remove_account<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.store.api_tokens_remove_account(account).await {
                tracing::error!(error = %e, "cannot revoke an account's API tokens");
            }
        })
    }
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

impl MemoryTokens {
    fn create_now(&self, account: EmailAddress, name: String) -> Option<(ApiToken, String)> {
        let (token, secret) = new_token(account, name);
        let mut map = self.lock();
        if map.values().filter(|t| t.account == token.account).count() >= MAX_PER_ACCOUNT {
            return None;
        }
        map.insert(hash(&secret), token.clone());
        Some((token, secret))
    }

    fn list_now(&self, account: &EmailAddress) -> Vec<ApiToken> {
        let mut out: Vec<ApiToken> = self
            .lock()
            .values()
            .filter(|t| &t.account == account)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    fn revoke_now(&self, account: &EmailAddress, id: &str) -> bool {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, t| !(&t.account == account && t.id == id));
        map.len() != before
    }

    fn resolve_now(&self, secret: &str) -> Option<ApiToken> {
        if !secret.starts_with(PREFIX) {
            return None;
        }
        self.lock().get(&hash(secret)).cloned()
    }

    fn remove_account_now(&self, account: &EmailAddress) {
        self.lock().retain(|_, t| &t.account != account);
    }
}

impl TokenStore for MemoryTokens {
    fn create(
        &self,
        account: EmailAddress,
        name: String,
    ) -> BoxFut<'_, Result<Option<(ApiToken, String)>, String>> {
        let r = self.create_now(account, name);
        Box::pin(std::future::ready(Ok(r)))
    }
    fn list<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, Vec<ApiToken>> {
        let r = self.list_now(account);
        Box::pin(std::future::ready(r))
    }
    fn revoke<'a>(&'a self, account: &'a EmailAddress, id: &'a str) -> BoxFut<'a, bool> {
        let r = self.revoke_now(account, id);
        Box::pin(std::future::ready(r))
    }
    fn resolve<'a>(&'a self, secret: &'a str) -> BoxFut<'a, Option<ApiToken>> {
        let r = self.resolve_now(secret);
        Box::pin(std::future::ready(r))
    }
    fn remove_account<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, ()> {
        self.remove_account_now(account);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hash_is_kept_and_revoking_works() {
        let store = MemoryTokens::new();
        let a = EmailAddress::parse("a@example.com").unwrap();
        let (t, secret) = store.create_now(a.clone(), "backup".into()).unwrap();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 64);
        assert!(
            store
                .lock()
                .keys()
                .all(|k| k != &secret && k == &hash(&secret))
        );
        assert_eq!(store.resolve_now(&secret).unwrap().id, t.id);
        assert!(store.resolve_now("hmd_00").is_none());
        let other = EmailAddress::parse("b@example.com").unwrap();
        assert!(!store.revoke_now(&other, &t.id));
        assert!(store.revoke_now(&a, &t.id));
        assert!(store.resolve_now(&secret).is_none());
        for i in 0..MAX_PER_ACCOUNT {
            assert!(store.create_now(a.clone(), format!("t{i}")).is_some());
        }
        assert!(store.create_now(a.clone(), "one too many".into()).is_none());
        store.remove_account_now(&a);
        assert!(store.list_now(&a).is_empty());
    }
}
