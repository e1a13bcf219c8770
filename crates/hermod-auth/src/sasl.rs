//! SASL PLAIN and LOGIN decoding (pure), and the brute-force limiter shared by every
//! listener that checks passwords.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Decodes a base64 SASL response; `None` for bad base64 or non-UTF-8.
pub fn decode_b64(s: &str) -> Option<String> {
    let bytes = STANDARD.decode(s.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`. Returns (login, password).
pub fn decode_plain(b64: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(b64.trim()).ok()?;
    let mut parts = bytes.split(|&b| b == 0);
    let authzid = parts.next()?;
    let authcid = parts.next()?;
    let passwd = parts.next()?;
    if parts.next().is_some() || authcid.is_empty() {
        return None;
    }
    let login = String::from_utf8(authcid.to_vec()).ok()?;
    // Acting as another identity is not offered: the authzid must be empty or the login.
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(login.as_bytes()) {
        return None;
    }
    Some((login, String::from_utf8(passwd.to_vec()).ok()?))
}

pub fn encode_b64(s: &str) -> String {
    STANDARD.encode(s)
}

#[derive(Debug)]
struct Entry {
    failures: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

/// Counts failed logins per client IP and per account. Each failure slows the next answer;
/// after `max_failures` the key is refused for `lockout`.
#[derive(Debug)]
pub struct AuthLimiter {
    max_failures: u32,
    lockout: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl AuthLimiter {
    pub fn new(max_failures: u32, lockout: Duration) -> AuthLimiter {
        AuthLimiter {
            max_failures: max_failures.max(1),
            lockout,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A poisoned lock only means another thread panicked mid-update of a counter.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when any key is blocked.
    pub fn check(&self, keys: &[&str]) -> Result<(), Duration> {
        let now = Instant::now();
        let map = self.lock();
        for key in keys {
            if let Some(until) = map.get(*key).and_then(|e| e.blocked_until)
                && until > now
            {
                return Err(until - now);
            }
        }
        Ok(())
    }

    /// Records a failure for each key; returns how long to wait before answering.
    pub fn fail(&self, keys: &[&str]) -> Duration {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > 100_000 {
            // Forget stale entries so a scan of many IPs cannot grow this without bound.
            map.retain(|_, e| now.duration_since(e.last) < self.lockout);
        }
        let mut worst = 0;
        for key in keys {
            let e = map.entry(key.to_string()).or_insert(Entry {
                failures: 0,
                last: now,
                blocked_until: None,
            });
            if now.duration_since(e.last) > self.lockout {
                e.failures = 0;
                e.blocked_until = None;
            }
            e.failures += 1;
            e.last = now;
            if e.failures >= self.max_failures {
                e.blocked_until = Some(now + self.lockout);
            }
            worst = worst.max(e.failures);
        }
        Duration::from_millis(250 * u64::from(worst.min(8)))
    }

    pub fn succeed(&self, keys: &[&str]) {
        let mut map = self.lock();
        for key in keys {
            map.remove(*key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let b = encode_b64("\0ann@example.com\0secret");
        assert_eq!(
            decode_plain(&b),
            Some(("ann@example.com".into(), "secret".into()))
        );
        let b = encode_b64("ann@example.com\0ann@example.com\0secret");
        assert!(decode_plain(&b).is_some());
        let b = encode_b64("boss@example.com\0ann@example.com\0secret");
        assert_eq!(decode_plain(&b), None, "no proxy authorisation");
        assert_eq!(decode_plain("!!!not base64"), None);
        assert_eq!(decode_plain(&encode_b64("no-nuls")), None);
        assert_eq!(decode_plain(&encode_b64("\0\0pw")), None);
    }

    #[test]
    fn limiter_blocks_after_max_failures() {
        let l = AuthLimiter::new(3, Duration::from_secs(60));
        let keys = ["ip:192.0.2.1", "user:ann@example.com"];
        assert!(l.check(&keys).is_ok());
        let d1 = l.fail(&keys);
        let d2 = l.fail(&keys);
        assert!(d2 > d1, "each failure slows the next answer");
        assert!(l.check(&keys).is_ok());
        l.fail(&keys);
        assert!(l.check(&["ip:192.0.2.1"]).is_err());
        assert!(l.check(&["user:ann@example.com"]).is_err());
        assert!(l.check(&["ip:192.0.2.2"]).is_ok());
        l.succeed(&["ip:192.0.2.1"]);
        assert!(l.check(&["ip:192.0.2.1"]).is_ok());
    }
}
