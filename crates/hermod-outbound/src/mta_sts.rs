//! MTA-STS (RFC 8461): a recipient domain's published demand for verified TLS.
//!
//! * Discovery: the TXT record `_mta-sts.<domain>` (`v=STSv1; id=...`).
//! * The policy: `https://mta-sts.<domain>/.well-known/mta-sts.txt`, fetched with a small
//!   HTTP/1.1 client over verified TLS (the system's CA certificates plus any given; the host
//!   resolved through our [`Resolver`]); no redirects, status 200 and `text/plain` only, at
//!   most 64 KiB, one timeout over the whole fetch.
//! * The cache: per domain in memory, with the record id and the expiry (`max_age`); fetched
//!   again when the id changes or the policy expires; when a fetch fails the cached,
//!   unexpired policy still applies, else there is no policy (§3.3, §5.1).
//!
//! Enforcement is the scheduler's: with `enforce` only MX hosts the policy names are tried,
//! with STARTTLS and a certificate valid for the MX name ([`crate::client::TlsMode::Required`]).
//!
//! Not done: TLS-RPT (RFC 8460) reports, proactive refresh of cached policies (§10.2), and
//! a shared (multi-node) cache: each node fetches for itself.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::client::{VerifiedTls, describe_tls_error};
use crate::resolve::Resolver;

/// The largest policy body read (RFC 8461 §3.2: 64 KiB).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// The longest a policy is cached (RFC 8461 §3.2: `max_age` is at most 31557600).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;
/// Longest header block of the HTTPS answer.
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Most cached domains before expired entries are swept.
const CACHE_SWEEP: usize = 50_000;
/// Most addresses of the policy host tried.
const MAX_ADDRESSES: usize = 3;

/// What a policy asks of senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deliver only to the listed MX hosts, with verified TLS.
    Enforce,
    /// Deliver as without a policy; report (here: log) what `enforce` would have refused.
    Testing,
    /// No MTA-STS (a domain withdrawing its policy).
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

/// A parsed policy (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// The allowed MX patterns, lower-case, without trailing dots: "mx.example.org" or
    /// "*.example.org".
    pub mx: Vec<String>,
    /// How long the policy may be cached, in seconds (at most [`MAX_AGE_LIMIT`]).
    pub max_age: u64,
}

impl Policy {
    /// Parses a policy body: `key: value` lines (LF or CRLF); `version: STSv1`, `mode`,
    /// `max_age` (1 to 10 digits, larger values are capped) and, unless the mode is `none`,
    /// at least one `mx`. Keys and values are case-sensitive (RFC 8461 ABNF `%s`); unknown
    /// keys are ignored; of a repeated key other than `mx` the first counts.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let mut version: Option<&str> = None;
        let mut mode: Option<&str> = None;
        let mut max_age: Option<&str> = None;
        let mut mx = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(format!("line {} is not a \"key: value\" pair", n + 1));
            };
            let value = value.trim_matches([' ', '\t']);
            match key {
                "version" => {
                    version.get_or_insert(value);
                }
                "mode" => {
                    mode.get_or_insert(value);
                }
                "max_age" => {
                    max_age.get_or_insert(value);
                }
                "mx" => mx.push(parse_mx_pattern(value)?),
                _ => {}
            }
        }
        match version {
            Some("STSv1") => {}
            Some(v) => return Err(format!("unknown policy version {v:?}")),
            None => return Err("no \"version\" field".into()),
        }
        let mode = match mode {
            Some("enforce") => Mode::Enforce,
            Some("testing") => Mode::Testing,
            Some("none") => Mode::None,
            Some(m) => return Err(format!("unknown mode {m:?}")),
            None => return Err("no \"mode\" field".into()),
        };
        let max_age = match max_age {
            Some(v) if (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) => {
                v.parse::<u64>().unwrap_or(u64::MAX).min(MAX_AGE_LIMIT)
            }
            Some(v) => return Err(format!("invalid max_age {v:?}")),
            None => return Err("no \"max_age\" field".into()),
        };
        if mx.is_empty() && mode != Mode::None {
            return Err(format!(
                "no \"mx\" field in a policy in mode {}",
                mode.as_str()
            ));
        }
        Ok(Policy { mode, mx, max_age })
    }

    /// Whether the policy allows the MX host `host`.
    pub fn allows(&self, host: &str) -> bool {
        self.mx.iter().any(|p| mx_matches(p, host))
    }
}

/// An `mx` value: a host name, or `*.` and a domain (the wildcard stands for one label).
fn parse_mx_pattern(value: &str) -> Result<String, String> {
    let bad = || format!("invalid mx pattern {value:?}");
    let p = value.trim_end_matches('.').to_ascii_lowercase();
    let name = p.strip_prefix("*.").unwrap_or(&p);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(p)
}

/// Whether `host` matches an mx pattern (RFC 8461 §4.1): equal names, or `*.rest` with
/// `host` being one label followed by `rest` ("*.example.com" matches "mx.example.com", not
/// "example.com" nor "a.b.example.com"). Case and trailing dots do not matter.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => match host.split_once('.') {
            Some((first, rest)) => !first.is_empty() && rest == suffix,
            None => false,
        },
        None => host == pattern,
    }
}

/// The policy id of an MTA-STS TXT record (RFC 8461 §3.1): `v=STSv1` first, then fields
/// separated by ";", `id` being 1 to 32 letters and digits; other fields are ignored.
pub fn parse_record(txt: &str) -> Result<String, String> {
    let mut fields = txt.split(';').map(|f| f.trim_matches([' ', '\t']));
    if fields.next() != Some("v=STSv1") {
        return Err("the record does not start with v=STSv1".into());
    }
    let mut id = None;
    for f in fields {
        if let Some(v) = f.strip_prefix("id=") {
            if id.is_some() {
                continue;
            }
            if !(1..=32).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("invalid id {v:?}"));
            }
            id = Some(v.to_string());
        }
    }
    id.ok_or_else(|| "the record has no id".into())
}

/// The system's trusted CA certificates, read once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "cannot read some of the system's CA certificates");
        }
        if found.certs.is_empty() {
            tracing::warn!(
                "no system CA certificates found; MTA-STS and verified TLS trust only \
                 the configured CA file"
            );
        }
        found.certs
    })
}

/// The roots verified TLS trusts: the system's plus `extra_pem` (PEM certificates).
pub fn root_store(extra_pem: Option<&[u8]>) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(pem) = extra_pem {
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("cannot read the extra CA certificates: {e}"))?;
            store
                .add(cert)
                .map_err(|e| format!("cannot use an extra CA certificate: {e}"))?;
            n += 1;
        }
        if n == 0 {
            return Err("the extra CA certificates hold no PEM certificate".into());
        }
    }
    if store.is_empty() {
        return Err("no trusted CA certificates: the system has none and none were given".into());
    }
    Ok(store)
}

/// The policy fetch timeout for the settings: `delivery.timeout`, 1 to 60 s.
pub(crate) fn fetch_timeout(settings: &hermod_config::Settings) -> Duration {
    settings
        .delivery_timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// A cached policy.
#[derive(Clone)]
struct Cached {
    id: String,
    policy: Arc<Policy>,
    expires: Instant,
}

#[derive(Default)]
struct Entry {
    policy: Option<Cached>,
    /// The last failed fetch: for which id, and when to try again.
    failed: Option<(String, Instant)>,
}

/// MTA-STS discovery, policy fetching and caching; cheap to clone (the cache is shared).
#[derive(Clone)]
pub struct MtaSts {
    resolver: Resolver,
    https_port: u16,
    timeout: Duration,
    retry_after: Duration,
    https: VerifiedTls,
    smtp: VerifiedTls,
    cache: Arc<Mutex<HashMap<String, Entry>>>,
}

impl MtaSts {
    /// `extra_roots_pem`: CA certificates (PEM) trusted besides the system's, for the policy
    /// host and the MX hosts; `https_port`: where policies are fetched (443; tests use
    /// another). Fails when a given PEM is unusable or no root is trusted at all.
    pub fn new(
        resolver: Resolver,
        extra_roots_pem: Option<Vec<u8>>,
        https_port: u16,
    ) -> Result<MtaSts, String> {
        let roots = Arc::new(root_store(extra_roots_pem.as_deref())?);
        Ok(MtaSts {
            resolver,
            https_port,
            timeout: Duration::from_secs(60),
            retry_after: Duration::from_secs(300),
            https: VerifiedTls::new(roots.clone(), &[b"http/1.1"])?,
            smtp: VerifiedTls::new(roots, &[])?,
            cache: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// From the settings: the system's CA certificates plus those of `delivery.tls_ca_file`,
    /// policies on port 443, a fetch timeout of `delivery.timeout` (1 to 60 s). Fails when the
    /// CA file cannot be read or holds no usable certificate.
    pub fn from_settings(
        resolver: Resolver,
        settings: &hermod_config::Settings,
    ) -> Result<MtaSts, String> {
        let extra = match &settings.delivery_tls_ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                format!("cannot read delivery.tls_ca_file {}: {e}", path.display())
            })?),
            None => None,
        };
        let m = MtaSts::new(resolver, extra, 443).map_err(|e| {
            match &settings.delivery_tls_ca_file {
                Some(path) => format!("delivery.tls_ca_file {}: {e}", path.display()),
                None => e,
            }
        })?;
        Ok(m.with_timeout(fetch_timeout(settings)))
    }

    /// The time allowed for one policy fetch, connect to last byte (default 60 s).
    pub fn with_timeout(mut self, t: Duration) -> MtaSts {
        self.timeout = t.max(Duration::from_millis(100));
        self
    }

    /// How long after a failed fetch the same policy id is not fetched again (default
    /// 5 minutes; a new id is fetched at once).
    pub fn with_retry_after(mut self, t: Duration) -> MtaSts {
        self.retry_after = t;
        self
    }

    /// The verified TLS used with MX hosts (the same trusted roots).
    pub fn verified_tls(&self) -> &VerifiedTls {
        &self.smtp
    }

    /// The policy in force for `domain`, if any: looks up the TXT record, fetches the policy
    /// when it is not cached, is expired or its id changed; a failed lookup or fetch falls
    /// back to the cached unexpired policy, else to none.
    pub async fn policy(&self, domain: &str) -> Option<Arc<Policy>> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let id = self.discover(&domain).await;
        let now = Instant::now();
        let (cached, failed_recently) = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            match cache.get_mut(&domain) {
                Some(e) => {
                    if e.policy.as_ref().is_some_and(|c| c.expires <= now) {
                        e.policy = None;
                    }
                    let failed = matches!((&e.failed, &id),
                        (Some((fid, until)), Some(id)) if fid == id && *until > now);
                    (e.policy.clone(), failed)
                }
                None => (None, false),
            }
        };
        let Some(id) = id else {
            return cached.map(|c| c.policy);
        };
        if let Some(c) = &cached
            && c.id == id
        {
            return Some(c.policy.clone());
        }
        if failed_recently {
            return cached.map(|c| c.policy);
        }
        match self.fetch(&domain).await {
            Ok(policy) => {
                let policy = Arc::new(policy);
                tracing::info!(
                    domain,
                    id,
                    mode = policy.mode.as_str(),
                    max_age = policy.max_age,
                    "MTA-STS policy fetched"
                );
                let expires = Instant::now() + Duration::from_secs(policy.max_age);
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_SWEEP {
                    let now = Instant::now();
                    cache.retain(|_, e| {
                        e.policy.as_ref().is_some_and(|c| c.expires > now)
                            || e.failed.as_ref().is_some_and(|(_, t)| *t > now)
                    });
                }
                cache.insert(
                    domain,
                    Entry {
                        policy: Some(Cached {
                            id,
                            policy: policy.clone(),
                            expires,
                        }),
                        failed: None,
                    },
                );
                Some(policy)
            }
            Err(e) => {
                tracing::warn!(domain, id, error = %e, using_cached = cached.is_some(), "cannot fetch the MTA-STS policy");
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                cache.entry(domain).or_default().failed =
                    Some((id, Instant::now() + self.retry_after));
                cached.map(|c| c.policy)
            }
        }
    }

    /// The policy id published for `domain`, if exactly one valid STSv1 record is there.
    async fn discover(&self, domain: &str) -> Option<String> {
        let name = format!("_mta-sts.{domain}");
        let records = match self.resolver.txt(&name).await {
            Ok(r) => r,
            Err(e) => {
                if !e.is_permanent() {
                    tracing::info!(domain, error = %e, "MTA-STS record lookup failed");
                }
                return None;
            }
        };
        let sts: Vec<&String> = records
            .iter()
            .filter(|r| r.starts_with("v=STSv1"))
            .collect();
        match sts.as_slice() {
            [] => None,
            [one] => match parse_record(one) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::info!(domain, record = %one, error = %e, "invalid MTA-STS record");
                    None
                }
            },
            _ => {
                tracing::info!(domain, "several MTA-STS records; none is used");
                None
            }
        }
    }

    /// Fetches and parses the policy of `domain` (no cache).
    pub async fn fetch(&self, domain: &str) -> Result<Policy, String> {
        let host = format!(
            "mta-sts.{}",
            domain.trim_end_matches('.').to_ascii_lowercase()
        );
        let ips = self
            .resolver
            .addresses(&host)
            .await
            .map_err(|e| e.to_string())?;
        let mut last = String::new();
        for ip in ips.into_iter().take(MAX_ADDRESSES) {
            match timeout(self.timeout, self.fetch_from(&host, ip)).await {
                Ok(Ok(body)) => {
                    return Policy::parse(&body)
                        .map_err(|e| format!("the policy at {host} is invalid: {e}"));
                }
                Ok(Err(Fetch::Connect(e))) => last = e,
                Ok(Err(Fetch::Other(e))) => return Err(e),
                Err(_) => {
                    return Err(format!(
                        "fetching the policy from {host}[{ip}] timed out after {} s",
                        self.timeout.as_secs_f32()
                    ));
                }
            }
        }
        Err(last)
    }

    /// One HTTPS GET of the policy from one address: the body.
    async fn fetch_from(&self, host: &str, ip: IpAddr) -> Result<String, Fetch> {
        let where_ = format!("https://{host}:{}[{ip}]", self.https_port);
        let tcp = TcpStream::connect((ip, self.https_port))
            .await
            .map_err(|e| Fetch::Connect(format!("cannot connect to {where_}: {e}")))?;
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| Fetch::Other(format!("{host:?} is not a valid host name")))?;
        let mut tls = self
            .https
            .connector()
            .connect(name, tcp)
            .await
            .map_err(|e| Fetch::Other(describe_tls_error(host, ip, &e)))?;
        let host_header = if self.https_port == 443 {
            host.to_string()
        } else {
            format!("{host}:{}", self.https_port)
        };
        let request = format!(
            "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host_header}\r\n\
             User-Agent: hermod\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
        );
        let io = |e: std::io::Error| Fetch::Other(format!("{where_}: {e}"));
        tls.write_all(request.as_bytes()).await.map_err(io)?;
        tls.flush().await.map_err(io)?;
        let mut r = BufReader::new(tls);
        read_response(&mut r)
            .await
            .map_err(|e| Fetch::Other(format!("{where_}: {e}")))
    }
}

enum Fetch {
    /// No connection: the next address may do.
    Connect(String),
    Other(String),
}

/// Reads an HTTP/1.1 response to the policy GET: the body of a 200 `text/plain` answer.
async fn read_response<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Result<String, String> {
    let mut header_bytes = 0usize;
    let status = read_line(r, &mut header_bytes).await?;
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(format!(
            "not an HTTP/1.x answer: {:?}",
            truncate(&status, 80)
        ));
    }
    let code: u16 = code
        .parse()
        .map_err(|_| format!("not an HTTP status: {:?}", truncate(&status, 80)))?;
    let mut content_type = None;
    let mut length = None;
    let mut chunked = false;
    loop {
        let line = read_line(r, &mut header_bytes).await?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("malformed header line {:?}", truncate(&line, 80)));
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_string()),
            "content-length" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| format!("invalid Content-Length {value:?}"))?;
                if length.is_some_and(|l| l != n) {
                    return Err("conflicting Content-Length headers".into());
                }
                length = Some(n);
            }
            "transfer-encoding" => {
                let last = value.rsplit(',').next().unwrap_or("").trim();
                if last.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                } else {
                    return Err(format!("unsupported Transfer-Encoding {value:?}"));
                }
            }
            _ => {}
        }
    }
    if (300..400).contains(&code) {
        return Err(format!(
            "the policy host answered with a redirect (HTTP {code}), which MTA-STS does not follow"
        ));
    }
    if code != 200 {
        return Err(format!("the policy host answered HTTP {code}"));
    }
    let media = content_type.as_deref().map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if media.as_deref() != Some("text/plain") {
        return Err(format!(
            "the policy is served as {}, not text/plain",
            content_type.as_deref().unwrap_or("(no Content-Type)")
        ));
    }
    let too_big = || format!("the policy is larger than {MAX_POLICY_BYTES} bytes");
    let io = |e: std::io::Error| format!("reading the policy: {e}");
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let line = read_line(r, &mut 0).await?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| format!("invalid chunk size {:?}", truncate(&line, 40)))?;
            if size == 0 {
                // Trailers, up to the empty line.
                let mut trailer_bytes = 0;
                while !read_line(r, &mut trailer_bytes).await?.is_empty() {}
                break;
            }
            if body.len() + size > MAX_POLICY_BYTES {
                return Err(too_big());
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..]).await.map_err(io)?;
            if !read_line(r, &mut 0).await?.is_empty() {
                return Err("a chunk does not end with CRLF".into());
            }
        }
        body
    } else if let Some(n) = length {
        if n > MAX_POLICY_BYTES {
            return Err(too_big());
        }
        let mut body = vec![0; n];
        r.read_exact(&mut body).await.map_err(io)?;
        body
    } else {
        // Delimited by the end of the connection (a clean TLS close is required).
        let mut body = Vec::new();
        r.take(MAX_POLICY_BYTES as u64 + 1)
            .read_to_end(&mut body)
            .await
            .map_err(io)?;
        if body.len() > MAX_POLICY_BYTES {
            return Err(too_big());
        }
        body
    };
    String::from_utf8(body).map_err(|_| "the policy is not UTF-8 text".into())
}

/// One header line without its line end; `used` counts the bytes of the header block.
async fn read_line<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    used: &mut usize,
) -> Result<String, String> {
    let room = MAX_HEADER_BYTES.saturating_sub(*used).max(1);
    let mut buf = Vec::new();
    let n = (&mut *r)
        .take(room as u64)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    if n == 0 {
        return Err("the connection closed before the answer was complete".into());
    }
    if buf.last() != Some(&b'\n') {
        return Err(format!(
            "the answer's header is longer than {MAX_HEADER_BYTES} bytes"
        ));
    }
    *used += n;
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        assert_eq!(
            parse_record("v=STSv1; id=20160831085700Z;").unwrap(),
            "20160831085700Z"
        );
        assert_eq!(parse_record("v=STSv1;id=abc").unwrap(), "abc");
        assert_eq!(parse_record("v=STSv1; foo=bar; id=X1 ").unwrap(), "X1");
        assert!(
            parse_record("id=abc; v=STSv1").is_err(),
            "v= must come first"
        );
        assert!(parse_record("v=STSv2; id=abc").is_err());
        assert!(parse_record("v=STSv1").is_err());
        assert!(parse_record("v=STSv1; id=").is_err());
        assert!(parse_record("v=STSv1; id=a-b").is_err());
        assert!(parse_record(&format!("v=STSv1; id={}", "a".repeat(33))).is_err());
    }

    #[tokio::test]
    async fn http_answers() {
        async fn read(raw: &str) -> Result<String, String> {
            let mut r = BufReader::new(raw.as_bytes());
            read_response(&mut r).await
        }
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(read(ok).await.unwrap(), "hello");
        let chunked = "HTTP/1.1 200 OK\r\ncontent-type: TEXT/PLAIN\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\nX-T: 1\r\n\r\n";
        assert_eq!(read(chunked).await.unwrap(), "hello");
        let to_eof = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
        assert_eq!(read(to_eof).await.unwrap(), "hello");
        let redirect = "HTTP/1.1 301 Moved\r\nLocation: https://x/\r\nContent-Length: 0\r\n\r\n";
        assert!(read(redirect).await.unwrap_err().contains("redirect"));
        let html = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n";
        assert!(read(html).await.unwrap_err().contains("not text/plain"));
        let none = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert!(read(none).await.unwrap_err().contains("not text/plain"));
        let missing = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n";
        assert!(read(missing).await.unwrap_err().contains("HTTP 404"));
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            MAX_POLICY_BYTES + 1
        );
        assert!(read(&big).await.unwrap_err().contains("larger than"));
        let big_eof = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{}",
            "x".repeat(MAX_POLICY_BYTES + 1)
        );
        assert!(read(&big_eof).await.unwrap_err().contains("larger than"));
        let big_chunk = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n";
        assert!(read(big_chunk).await.unwrap_err().contains("larger than"));
        let short = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nabc";
        assert!(read(short).await.is_err());
        assert!(read("SSH-2.0-OpenSSH\r\n").await.is_err());
        assert!(read("").await.is_err());
        let long_header = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(40_000));
        assert!(
            read(&long_header)
                .await
                .unwrap_err()
                .contains("longer than")
        );
    }
}
