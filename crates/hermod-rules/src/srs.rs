//! Sender Rewriting Scheme for forwarded mail, in the format of libsrs2 and
//! postsrsd, so that SPF checks pass at the next hop and bounces come back.
//!
//! * `user@orig.example` forwarded by `fwd.example` becomes
//!   `SRS0=HHHH=TT=orig.example=user@fwd.example`: `TT` is the day number
//!   (Unix days mod 1024) in base32 (`A-Z2-7`, 2 characters), `HHHH` the
//!   first 4 characters of the base64 HMAC-SHA1, keyed with the secret, of
//!   `TT`, the domain and the local part, ASCII lower-cased — the way
//!   libsrs2 computes it (not checked against a postsrsd test vector). The
//!   hash is checked without regard to case, because some hops change the
//!   case of local parts.
//! * An address that is already `SRS0=…@hop.example` is not wrapped again:
//!   it becomes `SRS1=HHHH=hop.example==…@fwd.example`, keeping the first
//!   forwarder's SRS0 part intact (hash over `hop.example` and the SRS0 part),
//!   so its bounce goes back through `hop.example`. An `SRS1` address keeps
//!   its first hop and gets a new hash.
//! * The null sender stays null (`""`); an address without `@` and an address
//!   already in `forwarder_domain` are returned unchanged.
//!
//! [`reverse`] undoes one step: for `SRS0` it checks hash and age and gives
//! the original address; for `SRS1` it checks the hash and gives the `SRS0`
//! address at the first forwarder.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::util::base64;

const SEPARATORS: [char; 3] = ['=', '+', '-'];
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HASH_LEN: usize = 4;
const SECONDS_PER_DAY: i64 = 86_400;
const STAMP_WRAP: i64 = 1024;

fn hash(secret: &[u8], parts: &[&str]) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for p in parts {
        mac.update(p.to_ascii_lowercase().as_bytes());
    }
    let digest = mac.finalize().into_bytes();
    base64(&digest)[..HASH_LEN].to_string()
}

fn day(now_unix: i64) -> i64 {
    now_unix.div_euclid(SECONDS_PER_DAY).rem_euclid(STAMP_WRAP)
}

fn timestamp(now_unix: i64) -> String {
    let d = day(now_unix) as usize;
    let mut s = String::with_capacity(2);
    s.push(BASE32[(d >> 5) & 31] as char);
    s.push(BASE32[d & 31] as char);
    s
}

fn decode_timestamp(stamp: &str) -> Option<i64> {
    if stamp.len() != 2 {
        return None;
    }
    let mut v = 0i64;
    for c in stamp.bytes() {
        let c = c.to_ascii_uppercase();
        let i = BASE32.iter().position(|&b| b == c)?;
        v = (v << 5) | i as i64;
    }
    Some(v)
}

fn strip_angle(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s)
        .trim()
}

/// `local` begins with `tag` (any case) followed by a separator; returns the
/// rest after the tag (the separator included).
fn tagged<'a>(local: &'a str, tag: &str) -> Option<&'a str> {
    let head = local.get(..4)?;
    let rest = &local[4..];
    (head.eq_ignore_ascii_case(tag) && rest.starts_with(SEPARATORS)).then_some(rest)
}

/// Rewrites the envelope sender of a message forwarded by `forwarder_domain`.
pub fn forward(sender: &str, forwarder_domain: &str, secret: &[u8], now_unix: i64) -> String {
    let s = strip_angle(sender);
    if s.is_empty() {
        return String::new();
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return s.to_string();
    };
    if local.is_empty() || domain.is_empty() || domain.eq_ignore_ascii_case(forwarder_domain) {
        return s.to_string();
    }
    if let Some(rest) = tagged(local, "SRS1") {
        // SRS1<sep>hash=firsthop=srs0rest: keep the first hop, rehash.
        let body = &rest[1..];
        if let Some((_, after_hash)) = body.split_once('=')
            && let Some((host, srs0rest)) = after_hash.split_once('=')
            && !host.is_empty()
        {
            let h = hash(secret, &[host, srs0rest]);
            return format!("SRS1={h}={host}={srs0rest}@{forwarder_domain}");
        }
    } else if let Some(rest) = tagged(local, "SRS0") {
        let h = hash(secret, &[domain, rest]);
        return format!("SRS1={h}={domain}={rest}@{forwarder_domain}");
    }
    let stamp = timestamp(now_unix);
    let h = hash(secret, &[&stamp, domain, local]);
    format!("SRS0={h}={stamp}={domain}={local}@{forwarder_domain}")
}

/// Undoes [`forward`] for a bounce to `address`: checks the hash (and, for
/// SRS0, that the address is at most `max_age_days` old) and returns the
/// address to send the bounce on to.
pub fn reverse(
    address: &str,
    secret: &[u8],
    now_unix: i64,
    max_age_days: u32,
) -> Result<String, &'static str> {
    let s = strip_angle(address);
    let local = s.rsplit_once('@').map_or(s, |(l, _)| l);
    if let Some(rest) = tagged(local, "SRS0") {
        let body = &rest[1..];
        let mut it = body.splitn(4, '=');
        let (Some(h), Some(stamp), Some(host), Some(user)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err("malformed SRS0 address");
        };
        if host.is_empty() || user.is_empty() {
            return Err("malformed SRS0 address");
        }
        let Some(then) = decode_timestamp(stamp) else {
            return Err("bad SRS timestamp");
        };
        if !h.eq_ignore_ascii_case(&hash(secret, &[stamp, host, user])) {
            return Err("SRS hash does not match (forged or damaged address)");
        }
        let mut today = day(now_unix);
        if then > today {
            today += STAMP_WRAP;
        }
        if today - then > i64::from(max_age_days) {
            return Err("SRS address has expired");
        }
        return Ok(format!("{user}@{host}"));
    }
    if let Some(rest) = tagged(local, "SRS1") {
        let body = &rest[1..];
        let Some((h, after_hash)) = body.split_once('=') else {
            return Err("malformed SRS1 address");
        };
        let Some((host, srs0rest)) = after_hash.split_once('=') else {
            return Err("malformed SRS1 address");
        };
        if host.is_empty() || srs0rest.is_empty() {
            return Err("malformed SRS1 address");
        }
        if !h.eq_ignore_ascii_case(&hash(secret, &[host, srs0rest])) {
            return Err("SRS hash does not match (forged or damaged address)");
        }
        return Ok(format!("SRS0{srs0rest}@{host}"));
    }
    Err("not an SRS address")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"tops3cr3t";
    const NOW: i64 = 1_700_000_000;
    const DAY: i64 = 86_400;

    #[test]
    fn srs0_round_trip() {
        let f = forward("Ann.Lee@Orig.Example", "fwd.example", SECRET, NOW);
        assert!(f.starts_with("SRS0="), "{f}");
        assert!(f.ends_with("=Orig.Example=Ann.Lee@fwd.example"), "{f}");
        let parts: Vec<&str> = f.split('=').collect();
        assert_eq!(parts[1].len(), 4);
        assert_eq!(parts[2].len(), 2);
        assert_eq!(
            reverse(&f, SECRET, NOW, 21).as_deref(),
            Ok("Ann.Lee@Orig.Example")
        );
        // case changed by a hop: still valid
        assert_eq!(
            reverse(&f.to_lowercase(), SECRET, NOW, 21).as_deref(),
            Ok("ann.lee@orig.example")
        );
        assert_eq!(
            reverse(&format!("<{f}>"), SECRET, NOW + 3 * DAY, 21).as_deref(),
            Ok("Ann.Lee@Orig.Example")
        );
    }

    #[test]
    fn known_timestamp() {
        // 1_700_000_000 / 86400 = 19675; 19675 mod 1024 = 219 = 6*32 + 27 → "G3"
        assert_eq!(timestamp(NOW), "G3");
        assert_eq!(decode_timestamp("g3"), Some(219));
        assert_eq!(decode_timestamp("G1"), None);
    }

    #[test]
    fn null_and_local_and_plain() {
        assert_eq!(forward("", "fwd.example", SECRET, NOW), "");
        assert_eq!(forward("<>", "fwd.example", SECRET, NOW), "");
        assert_eq!(
            forward("postmaster", "fwd.example", SECRET, NOW),
            "postmaster"
        );
        assert_eq!(
            forward("me@FWD.example", "fwd.example", SECRET, NOW),
            "me@FWD.example"
        );
        assert_eq!(
            reverse("ann@example.com", SECRET, NOW, 21),
            Err("not an SRS address")
        );
    }

    #[test]
    fn tamper() {
        let f = forward("ann@orig.example", "fwd.example", SECRET, NOW);
        let forged = f.replace("ann@", "bob@").replace("=ann", "=bob");
        assert!(
            reverse(&forged, SECRET, NOW, 21)
                .unwrap_err()
                .contains("hash")
        );
        let other_domain = f.replace("orig.example", "evil.example");
        assert!(reverse(&other_domain, SECRET, NOW, 21).is_err());
        assert!(reverse(&f, b"other secret", NOW, 21).is_err());
        let stamp = &f[10..12];
        let restamped = f.replacen(&format!("={stamp}="), "=AA=", 1);
        assert!(reverse(&restamped, SECRET, NOW, 21).is_err());
        assert_eq!(
            reverse("SRS0=abcd=Z1=x=y@fwd.example", SECRET, NOW, 21),
            Err("bad SRS timestamp")
        );
        assert_eq!(
            reverse("SRS0=abcd=G3@fwd.example", SECRET, NOW, 21),
            Err("malformed SRS0 address")
        );
        assert_eq!(
            reverse("SRS1=abcd@fwd.example", SECRET, NOW, 21),
            Err("malformed SRS1 address")
        );
    }

    #[test]
    fn expiry_and_wrap() {
        let f = forward("ann@orig.example", "fwd.example", SECRET, NOW);
        assert!(reverse(&f, SECRET, NOW + 21 * DAY, 21).is_ok());
        assert_eq!(
            reverse(&f, SECRET, NOW + 22 * DAY, 21),
            Err("SRS address has expired")
        );
        // Stamp written on day 1023 of the cycle, read on day 2 of the next.
        let t = 1023 * DAY;
        let f = forward("ann@orig.example", "fwd.example", SECRET, t);
        assert!(reverse(&f, SECRET, t + 3 * DAY, 21).is_ok());
        assert!(reverse(&f, SECRET, t + 30 * DAY, 21).is_err());
        // A future stamp (clock skew beyond the window) counts as old.
        assert!(reverse(&f, SECRET, t - DAY, 21).is_err());
    }

    #[test]
    fn srs1_chain() {
        let first = forward("ann@orig.example", "hop1.example", SECRET, NOW);
        let second = forward(&first, "hop2.example", b"hop2 secret", NOW);
        assert!(second.starts_with("SRS1="), "{second}");
        assert!(second.contains("=hop1.example==") && second.ends_with("@hop2.example"));
        let third = forward(&second, "hop3.example", b"hop3 secret", NOW);
        assert!(third.starts_with("SRS1=") && third.contains("=hop1.example=="));
        // hop3 undoes its step to the SRS0 address at hop1 …
        let back = reverse(&third, b"hop3 secret", NOW, 21).unwrap();
        assert_eq!(back, first);
        // … as does hop2; hop1 gives the original.
        assert_eq!(reverse(&second, b"hop2 secret", NOW, 21).unwrap(), first);
        assert_eq!(
            reverse(&first, SECRET, NOW, 21).as_deref(),
            Ok("ann@orig.example")
        );
        assert!(reverse(&second, SECRET, NOW, 21).is_err());
    }

    #[test]
    fn separators_and_at_in_local() {
        let f = forward("a=b+c-d@orig.example", "fwd.example", SECRET, NOW);
        assert_eq!(
            reverse(&f, SECRET, NOW, 21).as_deref(),
            Ok("a=b+c-d@orig.example")
        );
        let f = forward("\"x@y\"@orig.example", "fwd.example", SECRET, NOW);
        assert_eq!(
            reverse(&f, SECRET, NOW, 21).as_deref(),
            Ok("\"x@y\"@orig.example")
        );
    }
}
