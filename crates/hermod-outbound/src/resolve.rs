//! MX resolution (RFC 5321 §5.1, RFC 7505 null MX) with hickory.
//!
//! The nameservers come from `delivery.nameservers` (UDP and TCP); when the list is empty the
//! system's resolv.conf is used. Every answer is classified as the scheduler needs it: a
//! permanent failure (the domain does not exist, does not accept mail) bounces, anything
//! else (SERVFAIL, timeouts, unreachable nameservers) is temporary and retried.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use rand::seq::SliceRandom;

/// Why a lookup gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The answer is final: retrying will not help (NXDOMAIN, null MX, no mail server).
    Permanent(String),
    /// Try again later (SERVFAIL, timeout, unreachable nameserver).
    Temporary(String),
}

impl ResolveError {
    pub fn message(&self) -> &str {
        match self {
            ResolveError::Permanent(m) | ResolveError::Temporary(m) => m,
        }
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, ResolveError::Permanent(_))
    }
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// One mail exchanger of a domain, in the order to try it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    /// The host name, lower-case, without the trailing dot.
    pub name: String,
    pub preference: u16,
    /// No MX records: the domain itself is the mail host (RFC 5321 §5.1).
    pub implicit: bool,
}

/// The DNS resolver outbound delivery (and DKIM checks) use.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

/// What classifying a lookup error found.
enum Missing {
    /// NXDOMAIN.
    NoDomain,
    /// The name exists but has no records of the asked type.
    NoRecords,
}

fn classify(e: &NetError) -> Option<Missing> {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => Some(match nr.response_code {
            ResponseCode::NXDomain => Missing::NoDomain,
            _ => Missing::NoRecords,
        }),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => Some(Missing::NoDomain),
        _ => None,
    }
}

/// A name as an absolute DNS name, so no search domain is ever appended.
fn fqdn(name: &str) -> String {
    let name = name.trim();
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

impl Resolver {
    /// A resolver asking `nameservers` (UDP, then TCP for truncated answers), or the system's
    /// configuration when the list is empty. `timeout` bounds each query.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Result<Resolver, String> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if nameservers.is_empty() {
            TokioResolver::builder(provider).map_err(|e| {
                format!(
                    "cannot read the system DNS configuration (/etc/resolv.conf): {e}; \
                     set delivery.nameservers"
                )
            })?
        } else {
            let servers = nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            let mut b = TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                provider,
            );
            b.options_mut().use_hosts_file = ResolveHosts::Never;
            b
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = timeout.clamp(Duration::from_secs(1), Duration::from_secs(30));
        opts.attempts = 2;
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        opts.ndots = 0;
        let inner = builder
            .build()
            .map_err(|e| format!("cannot start the DNS resolver: {e}"))?;
        Ok(Resolver { inner })
    }

    /// From the settings: `delivery.nameservers`, `delivery.timeout`.
    pub fn from_settings(settings: &hermod_config::Settings) -> Result<Resolver, String> {
        Resolver::new(
            &settings.delivery_nameservers,
            settings
                .delivery_timeout
                .min(Duration::from_secs(10))
                .max(Duration::from_secs(1)),
        )
    }

    /// The hickory resolver underneath (the same version mail-auth uses, so it can back a
    /// `mail_auth::MessageAuthenticator`).
    pub fn hickory(&self) -> &TokioResolver {
        &self.inner
    }

    /// A `mail_auth::MessageAuthenticator` asking the same nameservers (DKIM, SPF, DMARC).
    pub fn authenticator(&self) -> mail_auth::MessageAuthenticator {
        mail_auth::MessageAuthenticator(self.inner.clone())
    }

    /// The mail exchangers of `domain`, best first (random order among equal preferences).
    pub async fn mx(&self, domain: &str) -> Result<Vec<MxHost>, ResolveError> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        match self.inner.mx_lookup(fqdn(&domain)).await {
            Ok(lookup) => {
                let mut hosts = Vec::new();
                let mut null_mx = false;
                for record in lookup.answers() {
                    if let RData::MX(mx) = &record.data {
                        if mx.exchange.is_root() {
                            null_mx = true;
                            continue;
                        }
                        let name = mx.exchange.to_ascii();
                        hosts.push(MxHost {
                            name: name.trim_end_matches('.').to_ascii_lowercase(),
                            preference: mx.preference,
                            implicit: false,
                        });
                    }
                }
                if hosts.is_empty() {
                    if null_mx {
                        return Err(ResolveError::Permanent(format!(
                            "{domain}: the domain does not accept mail (null MX)"
                        )));
                    }
                    // An answer with no MX in it (a CNAME chain to nothing): as no MX.
                    return self.implicit_mx(&domain).await;
                }
                hosts.shuffle(&mut rand::rng());
                hosts.sort_by_key(|h| h.preference);
                hosts.dedup_by(|a, b| a.name == b.name);
                Ok(hosts)
            }
            Err(e) => match classify(&e) {
                Some(Missing::NoDomain) => Err(ResolveError::Permanent(format!(
                    "{domain}: the domain does not exist"
                ))),
                Some(Missing::NoRecords) => self.implicit_mx(&domain).await,
                None => Err(ResolveError::Temporary(format!(
                    "{domain}: MX lookup failed: {e}"
                ))),
            },
        }
    }

    /// No MX records: the domain's own A/AAAA records, if it has any.
    async fn implicit_mx(&self, domain: &str) -> Result<Vec<MxHost>, ResolveError> {
        match self.addresses(domain).await {
            Ok(_) => Ok(vec![MxHost {
                name: domain.to_string(),
                preference: 0,
                implicit: true,
            }]),
            Err(ResolveError::Permanent(_)) => Err(ResolveError::Permanent(format!(
                "{domain}: the domain has no mail server (no MX, A or AAAA records)"
            ))),
            Err(e) => Err(e),
        }
    }

    /// A host's addresses (A and AAAA). Loopback and private addresses are returned as they
    /// are. Permanent when the name does not exist or has no address records.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let host = host.trim().trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        match self.inner.lookup_ip(fqdn(host)).await {
            Ok(lookup) => {
                let mut ips: Vec<IpAddr> = Vec::new();
                for ip in lookup.iter() {
                    if !ips.contains(&ip) {
                        ips.push(ip);
                    }
                }
                if ips.is_empty() {
                    Err(ResolveError::Permanent(format!(
                        "{host}: the host has no address (A or AAAA) records"
                    )))
                } else {
                    Ok(ips)
                }
            }
            Err(e) => match classify(&e) {
                Some(Missing::NoDomain) => Err(ResolveError::Permanent(format!(
                    "{host}: the host does not exist"
                ))),
                Some(Missing::NoRecords) => Err(ResolveError::Permanent(format!(
                    "{host}: the host has no address (A or AAAA) records"
                ))),
                None => Err(ResolveError::Temporary(format!(
                    "{host}: address lookup failed: {e}"
                ))),
            },
        }
    }

    /// The TXT records at `name`, each with its strings joined (as DKIM and SPF read them).
    /// An empty list when the name exists without TXT records; `Permanent` for NXDOMAIN.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, ResolveError> {
        let name = name.trim().trim_end_matches('.');
        match self.inner.lookup(fqdn(name), RecordType::TXT).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) => match classify(&e) {
                Some(Missing::NoDomain) => Err(ResolveError::Permanent(format!(
                    "{name}: the name does not exist"
                ))),
                Some(Missing::NoRecords) => Ok(Vec::new()),
                None => Err(ResolveError::Temporary(format!(
                    "{name}: TXT lookup failed: {e}"
                ))),
            },
        }
    }
}
