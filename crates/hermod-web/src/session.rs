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

/// Where sessions are kept. Implementations expire sessions idle for longer than their TTL.
pub trait SessionStore: Send + Sync + 'static {
    fn create(&self, account: EmailAddress) -> Session;
    /// The live session with this id, its idle timer restarted.
    fn get(&self, id: &str) -> Option<Session>;
    fn remove(&self, id: &str);
    /// Ends every session of an account (after a password change by an admin).
    fn remove_account(&self, account: &EmailAddress);
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

impl SessionStore for MemorySessions {
    fn create(&self, account: EmailAddress) -> Session {
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

    fn get(&self, id: &str) -> Option<Session> {
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

    fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn remove_account(&self, account: &EmailAddress) {
        self.lock().retain(|_, (s, _)| &s.account != account);
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
        let s1 = store.create(a.clone());
        let s2 = store.create(a.clone());
        assert_ne!(s1.id, s2.id);
        assert_eq!(s1.id.len(), 64);
        assert_ne!(s1.id, s1.csrf);
        assert_eq!(store.get(&s1.id).unwrap().account, a);
        std::thread::sleep(Duration::from_millis(80));
        assert!(store.get(&s1.id).is_none());
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "ab"));
    }
}
