//! Web sessions: random 256-bit ids in an HttpOnly, SameSite=Strict cookie, a CSRF token per
//! session, idle expiry.
//!
//! Sessions live behind [`SessionStore`] so a store shared by several nodes can replace the
//! in-memory one ([`MemorySessions`]) without touching the handlers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hermod_model::EmailAddress;

/// The cookie that carries the session id.
pub const COOKIE: &str = "hermod_session";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// 64 hex digits (256 random bits).
    pub id: String,
    pub account: EmailAddress,
    /// Required on every state-changing request of this session.
    pub csrf: String,
}

/// A boxed future, so the stores can be trait objects.
pub type BoxFut<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where sessions are kept. Implementations expire sessions idle for longer than their TTL.
pub trait SessionStore: Send + Sync + 'static {
    /// A new session; `Err` says why it could not be kept.
    fn create(&self, account: EmailAddress) -> BoxFut<'_, Result<Session, String>>;
    /// The live session with this id, its idle timer restarted.
    fn get<'a>(&'a self, id: &'a str) -> BoxFut<'a, Option<Session>>;
    fn remove<'a>(&'a self, id: &'a str) -> BoxFut<'a, ()>;
    /// Ends every session of an account (after a password change by an admin).
    fn remove_account<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, ()>;
}

/// Sessions in the metadata store (`hermod-store`): they survive restarts and every node
/// sharing the store knows them. Only the SHA-256 of a session id is stored.
pub struct StoreSessions {
    store: hermod_store::Store,
    ttl: Duration,
}

impl StoreSessions {
    pub fn new(store: hermod_store::Store, ttl: Duration) -> StoreSessions {
        StoreSessions { store, ttl }
    }
}

fn id_hash(id: &str) -> String {
    crate::tokens::hash(id)
}

impl SessionStore for StoreSessions {
    fn create(&self, account: EmailAddress) -> BoxFut<'_, Result<Session, String>> {
        Box::pin(async move {
            let session = Session {
                id: random_token(),
                account,
                csrf: random_token(),
            };
            self.store
                .web_session_create(&id_hash(&session.id), &session.account, &session.csrf)
                .await
                .map_err(|e| format!("cannot keep the session: {e}"))?;
            Ok(session)
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFut<'a, Option<Session>> {
        Box::pin(async move {
            let idle = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
            match self.store.web_session_get(&id_hash(id), idle).await {
                Ok(Some((account, csrf))) => Some(Session {
                    id: id.to_string(),
                    account,
                    csrf,
                }),
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read a web session");
                    None
                }
            }
        })
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.store.web_session_remove(&id_hash(id)).await {
                tracing::error!(error = %e, "cannot end a web session");
            }
        })
    }

    fn remove_account<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.store.web_sessions_remove_account(account).await {
                tracing::error!(error = %e, "cannot end an account's web sessions");
            }
        })
    }
}

/// 256 random bits as hex. `rand`'s thread RNG is a CSPRNG seeded from the OS.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Sessions in this process's memory: lost on restart, not shared between nodes.
pub struct MemorySessions {
    ttl: Duration,
    map: Mutex<HashMap<String, (Session, Instant)>>,
}

impl MemorySessions {
    pub fn new(ttl: Duration) -> MemorySessions {
        MemorySessions {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Session, Instant)>> {
        // A poisoned lock only means another request panicked while holding it; the map
        // itself is always whole (each operation is one insert or remove).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl MemorySessions {
    fn create_now(&self, account: EmailAddress) -> Session {
        let session = Session {
            id: random_token(),
            account,
            csrf: random_token(),
        };
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, (_, seen)| now.duration_since(*seen) < self.ttl);
        map.insert(session.id.clone(), (session.clone(), now));
        session
    }

    fn get_now(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.lock();
        let expired = match map.get_mut(id) {
            None => return None,
            Some((_, seen)) if now.duration_since(*seen) >= self.ttl => true,
            Some((session, seen)) => {
                *seen = now;
                return Some(session.clone());
            }
        };
        if expired {
            map.remove(id);
        }
        None
    }
}

impl SessionStore for MemorySessions {
    fn create(&self, account: EmailAddress) -> BoxFut<'_, Result<Session, String>> {
        let s = self.create_now(account);
        Box::pin(std::future::ready(Ok(s)))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFut<'a, Option<Session>> {
        let s = self.get_now(id);
        Box::pin(std::future::ready(s))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFut<'a, ()> {
        self.lock().remove(id);
        Box::pin(std::future::ready(()))
    }

    fn remove_account<'a>(&'a self, account: &'a EmailAddress) -> BoxFut<'a, ()> {
        self.lock().retain(|_, (s, _)| &s.account != account);
        Box::pin(std::future::ready(()))
    }
}

/// Constant-time comparison for tokens, so timing does not reveal a prefix.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_ids_are_random() {
        let store = MemorySessions::new(Duration::from_millis(50));
        let a = EmailAddress::parse("a@example.com").unwrap();
        let s1 = store.create_now(a.clone());
        let s2 = store.create_now(a.clone());
        assert_ne!(s1.id, s2.id);
        assert_eq!(s1.id.len(), 64);
        assert_ne!(s1.id, s1.csrf);
        assert_eq!(store.get_now(&s1.id).unwrap().account, a);
        std::thread::sleep(Duration::from_millis(80));
        assert!(store.get_now(&s1.id).is_none());
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "ab"));
    }
}
