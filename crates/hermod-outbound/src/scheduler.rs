//! The outbound scheduler: leases due queue entries, delivers them to their domains' mail
//! exchangers and records each recipient's outcome (delivered, deferred, bounced with a DSN).
//!
//! Entries of one message for one domain travel in one SMTP transaction. Domains are worked
//! concurrently under a global limit (`delivery.concurrency` connections) and a per-domain
//! one (`delivery.per_domain`); the connections a domain's worker opens are reused for the
//! next message of that domain in the batch (RSET between).
//!
//! MTA-STS (RFC 8461, [`crate::mta_sts`]): once a domain's MX hosts are known its policy is
//! looked up; with `enforce` only the MX hosts the policy lists are tried, each with verified
//! STARTTLS (a host failing that is a temporary failure, and the next host is tried); with
//! `testing` delivery goes on as without a policy and what `enforce` would refuse is logged.
//!
//! Crash safety comes from the store: an entry is leased, not taken, and every outcome is one
//! transaction; a crash mid-delivery leaves the entry leased until the lease runs out, then
//! it is sent again (at worst a duplicate, never a loss).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hermod_config::Settings;
use hermod_model::{DomainName, EmailAddress};
use hermod_store::{BlobId, BlobStore, Derived, FsBlobStore, LocalCopy, QueueEntry, Store, now_ms};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::client::{ClientConfig, Connection, Kind, RcptResult, TlsMode};
use crate::dsn::{DsnFailure, DsnKind, build_dsn, status_for};
use crate::mta_sts::{Mode, MtaSts, Policy};
use crate::resolve::{ResolveError, Resolver};

/// Entries leased per round.
const BATCH: u32 = 100;
/// Most recipients in one SMTP transaction (RFC 5321 §4.5.3.1.8: servers take at least 100).
const MAX_RCPTS: usize = 100;
/// Longest sleep between two looks at the queue (rows queued by other nodes are seen then).
const POLL: Duration = Duration::from_secs(5);

/// One message for one domain: the entries that share a transaction.
#[derive(Debug, Clone)]
struct Group {
    blob_id: String,
    sender: String,
    entries: Vec<QueueEntry>,
}

/// Where a domain's mail goes: its MX hosts (best first) with their addresses, and the
/// domain's MTA-STS policy when it has one.
#[derive(Debug, Clone)]
struct Route {
    domain: String,
    hosts: Vec<(String, Vec<IpAddr>)>,
    policy: Option<Arc<Policy>>,
}

/// A failure of a whole route or connection.
#[derive(Debug, Clone)]
struct Failure {
    permanent: bool,
    host: Option<String>,
    reply: String,
}

/// Everything a delivery needs; shared by the scheduler's tasks.
pub struct Delivery {
    store: Store,
    blobs: FsBlobStore,
    settings: Settings,
    resolver: Resolver,
    client: ClientConfig,
    mta_sts: Option<MtaSts>,
    smtp_listeners: Vec<SocketAddr>,
    global: Arc<Semaphore>,
    per_domain: Mutex<HashMap<String, Arc<Semaphore>>>,
    inflight: Mutex<HashSet<i64>>,
}

impl Delivery {
    /// `smtp_listeners`: the addresses this server accepts SMTP on (the MX loop guard).
    pub fn new(
        store: Store,
        blobs: FsBlobStore,
        settings: Settings,
        smtp_listeners: Vec<SocketAddr>,
    ) -> Result<Delivery, String> {
        let resolver = Resolver::from_settings(&settings)?;
        Ok(Delivery::with_resolver(
            store,
            blobs,
            settings,
            smtp_listeners,
            resolver,
        ))
    }

    /// As [`Delivery::new`], with a resolver of the caller's.
    ///
    /// MTA-STS is on, trusting the system's CA certificates (see [`Delivery::with_mta_sts`]
    /// to trust more, [`Delivery::without_mta_sts`] to turn it off); if the system has no CA
    /// certificates it is off, with an error logged.
    pub fn with_resolver(
        store: Store,
        blobs: FsBlobStore,
        settings: Settings,
        smtp_listeners: Vec<SocketAddr>,
        resolver: Resolver,
    ) -> Delivery {
        let port = u16::try_from(settings.delivery_remote_port).unwrap_or(25);
        let client = ClientConfig::new(&settings.hostname, settings.delivery_timeout, port);
        let global = Arc::new(Semaphore::new(settings.delivery_concurrency.max(1) as usize));
        let mta_sts = match MtaSts::new(resolver.clone(), None, 443) {
            Ok(m) => Some(m.with_timeout(crate::mta_sts::fetch_timeout(&settings))),
            Err(e) => {
                tracing::error!(error = %e, "MTA-STS is off");
                None
            }
        };
        Delivery {
            store,
            blobs,
            settings,
            resolver,
            client,
            mta_sts,
            smtp_listeners,
            global,
            per_domain: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashSet::new()),
        }
    }

    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Uses `mta_sts` for MTA-STS (say one built with extra trusted CA certificates), as it
    /// is configured (its fetch timeout included).
    pub fn with_mta_sts(mut self, mta_sts: MtaSts) -> Delivery {
        self.mta_sts = Some(mta_sts);
        self
    }

    /// Turns MTA-STS off: every domain is delivered to as if it had no policy.
    pub fn without_mta_sts(mut self) -> Delivery {
        self.mta_sts = None;
        self
    }

    pub fn mta_sts(&self) -> Option<&MtaSts> {
        self.mta_sts.as_ref()
    }

    fn lease_ms(&self) -> i64 {
        let t = self.settings.delivery_timeout.saturating_mul(3);
        t.max(Duration::from_secs(15 * 60)).as_millis() as i64
    }

    /// Leases the due entries and groups them by domain; entries already being worked on
    /// this node are skipped.
    async fn lease(&self) -> Result<Vec<(String, Vec<Group>)>, String> {
        let leased = self
            .store
            .lease_due(BATCH, self.lease_ms())
            .await
            .map_err(|e| format!("cannot lease queue entries: {e}"))?;
        let leased: Vec<QueueEntry> = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            leased
                .into_iter()
                .filter(|e| inflight.insert(e.id))
                .collect()
        };
        Ok(group(leased))
    }

    /// One round, start to finish: leases what is due, delivers it and records the
    /// outcomes. Returns how many entries were worked. (The scheduler overlaps rounds; this
    /// is for tests and tools.)
    pub async fn run_due(self: &Arc<Self>) -> Result<usize, String> {
        let domains = self.lease().await?;
        let n = domains
            .iter()
            .map(|(_, g)| g.iter().map(|g| g.entries.len()).sum::<usize>())
            .sum();
        let mut set = JoinSet::new();
        for (domain, groups) in domains {
            set.spawn(self.clone().run_domain(domain, groups));
        }
        while set.join_next().await.is_some() {}
        Ok(n)
    }

    fn domain_semaphore(&self, domain: &str) -> Arc<Semaphore> {
        let mut map = self.per_domain.lock().unwrap_or_else(|p| p.into_inner());
        let limit = self.settings.delivery_per_domain.max(1) as usize;
        if map.len() > 1000 {
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        map.entry(domain.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit)))
            .clone()
    }

    /// Delivers every group of one domain: resolves once, then up to `per_domain` workers
    /// each with its own (reused) connection.
    async fn run_domain(self: Arc<Self>, domain: String, groups: Vec<Group>) {
        let route = match self.route(&domain).await {
            Ok(r) => self.apply_mta_sts(r).await,
            Err(f) => Err(f),
        };
        let route = match route {
            Ok(r) => Arc::new(r),
            Err(f) => {
                for g in groups {
                    let results = g
                        .entries
                        .iter()
                        .map(|e| RcptResult {
                            recipient: e.recipient.clone(),
                            kind: if f.permanent {
                                Kind::Permanent
                            } else {
                                Kind::Temporary
                            },
                            host: f.host.clone(),
                            reply: f.reply.clone(),
                            tls: false,
                        })
                        .collect();
                    let original = self.read_blob(&g.blob_id).await.unwrap_or_default();
                    self.record(&g, results, &original).await;
                }
                return;
            }
        };
        let workers = groups
            .len()
            .min(self.settings.delivery_per_domain.max(1) as usize);
        let queue = Arc::new(Mutex::new(VecDeque::from(groups)));
        let domain_limit = self.domain_semaphore(&domain);
        let mut set = JoinSet::new();
        for _ in 0..workers {
            let this = self.clone();
            let queue = queue.clone();
            let route = route.clone();
            let domain_limit = domain_limit.clone();
            set.spawn(async move {
                let Ok(_d) = domain_limit.acquire_owned().await else {
                    return;
                };
                let Ok(_g) = this.global.clone().acquire_owned().await else {
                    return;
                };
                let mut conn: Option<Connection> = None;
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some(g) = next else { break };
                    this.deliver_group(&route, &mut conn, g).await;
                }
                if let Some(c) = conn {
                    c.quit().await;
                }
            });
        }
        while set.join_next().await.is_some() {}
    }

    async fn read_blob(&self, blob_id: &str) -> Result<Vec<u8>, String> {
        let id = BlobId::parse(blob_id)
            .ok_or_else(|| format!("the queue entry names an invalid blob id {blob_id:?}"))?;
        self.blobs
            .get(&id)
            .await
            .map_err(|e| format!("cannot read the message body: {e}"))
    }

    /// One message to one domain: sign, send (reusing `conn` when it is open), record.
    async fn deliver_group(&self, route: &Route, conn: &mut Option<Connection>, g: Group) {
        let raw = match self.read_blob(&g.blob_id).await {
            Ok(raw) => raw,
            Err(e) => {
                tracing::error!(blob = %g.blob_id, error = %e, "cannot read a queued message");
                let results = g
                    .entries
                    .iter()
                    .map(|en| RcptResult {
                        recipient: en.recipient.clone(),
                        kind: Kind::Temporary,
                        host: None,
                        reply: e.clone(),
                        tls: false,
                    })
                    .collect();
                self.record(&g, results, &[]).await;
                return;
            }
        };
        let mut message = Vec::with_capacity(raw.len() + 1024);
        if let Some(sig) = crate::dkim::sign_for(&self.store, &raw, &g.sender).await {
            message.extend_from_slice(sig.as_bytes());
        }
        message.extend_from_slice(&raw);
        let recipients: Vec<String> = g.entries.iter().map(|e| e.recipient.clone()).collect();

        // Reuse the open session when it takes an RSET.
        if let Some(c) = conn.as_mut()
            && !c.reset().await
        {
            *conn = None;
        }
        if conn.is_none() {
            match self.connect(route).await {
                Ok(c) => *conn = Some(c),
                Err(f) => {
                    let results = recipients
                        .iter()
                        .map(|r| RcptResult {
                            recipient: r.clone(),
                            kind: if f.permanent {
                                Kind::Permanent
                            } else {
                                Kind::Temporary
                            },
                            host: f.host.clone(),
                            reply: f.reply.clone(),
                            tls: false,
                        })
                        .collect();
                    self.record(&g, results, &raw).await;
                    return;
                }
            }
        }
        let Some(c) = conn.as_mut() else { return };
        let results = c.send(&g.sender, &recipients, &message).await;
        if !c.is_usable() {
            *conn = None;
        }
        self.record(&g, results, &raw).await;
    }

    /// Connects to the first mail exchanger that answers (next host on connection failure
    /// or a refusing greeting).
    async fn connect(&self, route: &Route) -> Result<Connection, Failure> {
        let mode = route.policy.as_ref().map(|p| p.mode);
        let verified = self.mta_sts.as_ref().map(|m| m.verified_tls().clone());
        let tls = match (mode, verified) {
            (Some(Mode::Enforce), Some(v)) => TlsMode::Required(v),
            _ => TlsMode::Opportunistic,
        };
        let mut last: Option<Failure> = None;
        let mut all_permanent = true;
        for (host, ips) in &route.hosts {
            for ip in ips {
                match Connection::connect_with(&self.client, host, *ip, &tls).await {
                    Ok(c) => {
                        if mode == Some(Mode::Testing) {
                            self.check_testing(route, host, &c);
                        }
                        return Ok(c);
                    }
                    Err(e) => {
                        let reply = if e.tls && matches!(tls, TlsMode::Required(_)) {
                            format!("MTA-STS: {}", e.reply)
                        } else {
                            e.reply
                        };
                        tracing::info!(host, %ip, reason = %reply, "mail exchanger not usable; trying the next");
                        all_permanent &= e.permanent;
                        last = Some(Failure {
                            permanent: e.permanent,
                            host: e.permanent.then(|| host.clone()),
                            reply,
                        });
                    }
                }
            }
        }
        let mut f = last.unwrap_or(Failure {
            permanent: false,
            host: None,
            reply: "no mail exchanger to connect to".into(),
        });
        f.permanent = f.permanent && all_permanent;
        Err(f)
    }

    /// MTA-STS `testing`: logs what `enforce` would have refused in a session just opened.
    fn check_testing(&self, route: &Route, host: &str, c: &Connection) {
        let Some(m) = &self.mta_sts else { return };
        let domain = route.domain.as_str();
        let refusal = match c.peer_certificates() {
            None => Some(format!(
                "{host} gave no TLS session (STARTTLS not offered or failed)"
            )),
            Some(certs) => m
                .verified_tls()
                .check(host, &certs)
                .err()
                .map(|e| format!("certificate of {host} is not valid: {e}")),
        };
        if let Some(why) = refusal {
            tracing::warn!(
                domain,
                host,
                reason = %why,
                "MTA-STS policy in testing mode: enforce would refuse this host; delivering anyway"
            );
        }
    }

    /// Looks up the domain's MTA-STS policy and applies it to the route: with `enforce` only
    /// the MX hosts the policy lists stay (none left: a temporary failure); with `testing`
    /// the hosts it does not list are logged.
    async fn apply_mta_sts(&self, mut route: Route) -> Result<Route, Failure> {
        let Some(m) = &self.mta_sts else {
            return Ok(route);
        };
        let Some(policy) = m.policy(&route.domain).await else {
            return Ok(route);
        };
        let domain = route.domain.clone();
        match policy.mode {
            Mode::None => {}
            Mode::Testing => {
                for (host, _) in &route.hosts {
                    if !policy.allows(host) {
                        tracing::warn!(
                            domain,
                            host,
                            "MTA-STS policy in testing mode does not list this MX host;                              enforce would skip it"
                        );
                    }
                }
            }
            Mode::Enforce => {
                let (allowed, refused): (Vec<_>, Vec<_>) = route
                    .hosts
                    .into_iter()
                    .partition(|(host, _)| policy.allows(host));
                for (host, _) in &refused {
                    tracing::info!(
                        domain,
                        host,
                        "MX host not listed in the MTA-STS policy; skipped"
                    );
                }
                if allowed.is_empty() {
                    let names: Vec<&str> = refused.iter().map(|(h, _)| h.as_str()).collect();
                    return Err(Failure {
                        permanent: false,
                        host: None,
                        reply: format!(
                            "MTA-STS policy of {domain} allows none of its MX hosts ({})",
                            names.join(", ")
                        ),
                    });
                }
                route.hosts = allowed;
            }
        }
        route.policy = Some(policy);
        Ok(route)
    }

    /// Resolves a domain's MX hosts and their addresses, dropping this server and every
    /// less preferred host (RFC 5321 §5.1) so mail never loops back here.
    async fn route(&self, domain: &str) -> Result<Route, Failure> {
        let to_failure = |e: ResolveError| Failure {
            permanent: e.is_permanent(),
            host: None,
            reply: e.message().to_string(),
        };
        let mx = self.resolver.mx(domain).await.map_err(to_failure)?;
        let mut hosts = Vec::new();
        let mut last_error: Option<ResolveError> = None;
        let mut looped = false;
        for h in mx {
            let ips = match self.resolver.addresses(&h.name).await {
                Ok(ips) => ips,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            if self.is_us(&h.name, &ips) {
                looped = true;
                break;
            }
            hosts.push((h.name, ips));
        }
        if !hosts.is_empty() {
            return Ok(Route {
                domain: domain.to_string(),
                hosts,
                policy: None,
            });
        }
        if looped {
            let hosted = match DomainName::parse(domain) {
                Ok(d) => self.store.find_domain(&d).await.ok().flatten().is_some(),
                Err(_) => false,
            };
            let reply = if hosted {
                format!(
                    "the MX of {domain} is this server; local delivery is off for {domain}, \
                     so delivering would loop"
                )
            } else {
                format!(
                    "the MX of {domain} is this server, which does not host {domain}, \
                     so delivering would loop"
                )
            };
            return Err(Failure {
                permanent: false,
                host: None,
                reply,
            });
        }
        // MX hosts without addresses: a DNS problem on their side, worth retrying.
        Err(Failure {
            permanent: false,
            host: None,
            reply: match last_error {
                Some(e) => format!("no MX host of {domain} has an address: {e}"),
                None => format!("{domain} has no usable mail exchanger"),
            },
        })
    }

    /// Whether a mail exchanger is this server: its name is our hostname, or one of its
    /// addresses is one we listen on for SMTP at the port deliveries go to.
    fn is_us(&self, name: &str, ips: &[IpAddr]) -> bool {
        if name.eq_ignore_ascii_case(self.settings.hostname.trim_end_matches('.')) {
            return true;
        }
        let port = self.client.port;
        ips.iter().any(|ip| {
            self.smtp_listeners.iter().any(|l| {
                l.port() == port
                    && (l.ip() == *ip
                        || (l.ip().is_unspecified()
                            && (l.is_ipv6() || ip.is_ipv4())
                            && is_local_address(*ip)))
            })
        })
    }

    /// Records each recipient's outcome: delivered, deferred (with backoff) or failed (with
    /// one DSN for all failed recipients of the message, unless the sender is null).
    async fn record(&self, g: &Group, results: Vec<RcptResult>, original: &[u8]) {
        let now = now_ms();
        let max_age = self.settings.delivery_max_age.as_millis() as i64;
        let mut failed: Vec<(&QueueEntry, RcptResult, DsnKind)> = Vec::new();
        for r in results {
            let Some(entry) = g.entries.iter().find(|e| e.recipient == r.recipient) else {
                continue;
            };
            let host = r.host.as_deref().unwrap_or("-");
            let tls = if r.tls { "yes" } else { "no" };
            match r.kind {
                Kind::Delivered => {
                    tracing::info!(queue_id = entry.id, recipient = %r.recipient, host, reply = %r.reply, tls, "delivered");
                    if let Err(e) = self.store.queue_delivered(entry, host, &r.reply).await {
                        tracing::error!(queue_id = entry.id, error = %e, "cannot record a delivery");
                    }
                }
                Kind::Temporary if now - entry.created_at <= max_age => {
                    let next = now + self.backoff(entry.attempts).as_millis() as i64;
                    tracing::info!(queue_id = entry.id, recipient = %r.recipient, host, reply = %r.reply, tls, retry_in_s = (next - now) / 1000, "deferred");
                    if let Err(e) = self
                        .store
                        .queue_deferred(entry, next, r.host.as_deref(), &r.reply)
                        .await
                    {
                        tracing::error!(queue_id = entry.id, error = %e, "cannot record a deferral");
                    }
                }
                Kind::Temporary => {
                    tracing::info!(queue_id = entry.id, recipient = %r.recipient, host, reply = %r.reply, tls, "expired");
                    failed.push((entry, r, DsnKind::Expired));
                }
                Kind::Permanent => {
                    tracing::info!(queue_id = entry.id, recipient = %r.recipient, host, reply = %r.reply, tls, "bounced");
                    failed.push((entry, r, DsnKind::Permanent));
                }
            }
        }
        if !failed.is_empty() {
            let failures: Vec<(&QueueEntry, DsnFailure, String)> = failed
                .into_iter()
                .map(|(e, r, kind)| {
                    let track = match kind {
                        DsnKind::Expired => format!(
                            "gave up after {} attempts (delivery time expired): {}",
                            e.attempts + 1,
                            r.reply
                        ),
                        DsnKind::Permanent => r.reply.clone(),
                    };
                    let f = DsnFailure {
                        status: status_for(&r.reply, kind),
                        recipient: r.recipient,
                        remote_host: r.host,
                        reply: r.reply,
                    };
                    (e, f, track)
                })
                .collect();
            let kind = if failures.iter().all(|(_, f, _)| f.status == "4.4.7") {
                DsnKind::Expired
            } else {
                DsnKind::Permanent
            };
            fail_with_dsn(
                &self.store,
                &self.blobs,
                &self.settings,
                &g.sender,
                &failures,
                original,
                kind,
            )
            .await;
        }
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        for e in &g.entries {
            inflight.remove(&e.id);
        }
    }

    /// The wait before the next attempt: retry_initial × 2^attempts, at most retry_max.
    fn backoff(&self, attempts: i64) -> Duration {
        let factor = 1u32 << attempts.clamp(0, 20);
        self.settings
            .delivery_retry_initial
            .saturating_mul(factor)
            .min(self.settings.delivery_retry_max)
    }
}

/// Whether `ip` is an address of this host (it can be bound to).
fn is_local_address(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// Groups entries by (blob, sender, domain), at most `MAX_RCPTS` distinct recipients each,
/// then by domain.
fn group(entries: Vec<QueueEntry>) -> Vec<(String, Vec<Group>)> {
    let mut by_domain: Vec<(String, Vec<Group>)> = Vec::new();
    for e in entries {
        let domain = e.domain.to_ascii_lowercase();
        let idx = match by_domain.iter().position(|(d, _)| *d == domain) {
            Some(i) => i,
            None => {
                by_domain.push((domain.clone(), Vec::new()));
                by_domain.len() - 1
            }
        };
        let groups = &mut by_domain[idx].1;
        let slot = groups.iter_mut().find(|g| {
            g.blob_id == e.blob_id
                && g.sender == e.sender
                && g.entries.len() < MAX_RCPTS
                && !g.entries.iter().any(|x| x.recipient == e.recipient)
        });
        match slot {
            Some(g) => g.entries.push(e),
            None => groups.push(Group {
                blob_id: e.blob_id.clone(),
                sender: e.sender.clone(),
                entries: vec![e],
            }),
        }
    }
    by_domain
}

/// Fails the entries and commits one DSN to the sender with the first of them (none for the
/// null sender). If the DSN cannot be committed (say the sender's mailbox is gone), the
/// entries fail without it rather than stay queued forever.
async fn fail_with_dsn(
    store: &Store,
    blobs: &FsBlobStore,
    settings: &Settings,
    sender: &str,
    failures: &[(&QueueEntry, DsnFailure, String)],
    original: &[u8],
    kind: DsnKind,
) {
    let Some((first, _, _)) = failures.first() else {
        return;
    };
    let dsn = if sender.is_empty() {
        None
    } else {
        let list: Vec<DsnFailure> = failures.iter().map(|(_, f, _)| f.clone()).collect();
        match make_dsn(
            store,
            blobs,
            settings,
            sender,
            first.created_at / 1000,
            &list,
            original,
            kind,
        )
        .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(sender, error = %e, "cannot build the bounce; failing without it");
                None
            }
        }
    };
    let mut dsn_sent = dsn.is_none();
    for (entry, f, track) in failures {
        let with = if dsn_sent { None } else { dsn.as_ref() };
        match store
            .queue_failed(entry, f.remote_host.as_deref(), track, with)
            .await
        {
            Ok(()) => dsn_sent |= with.is_some(),
            Err(e) if with.is_some() => {
                tracing::error!(queue_id = entry.id, error = %e, "cannot commit the bounce; failing without it");
                if let Err(e) = store
                    .queue_failed(entry, f.remote_host.as_deref(), track, None)
                    .await
                {
                    tracing::error!(queue_id = entry.id, error = %e, "cannot record a failure");
                }
            }
            Err(e) => {
                tracing::error!(queue_id = entry.id, error = %e, "cannot record a failure");
            }
        }
    }
}

/// Builds and stores a DSN; where it goes: the sender's INBOX when the sender is a local
/// account (or an alias of local accounts), else the queue (with the null sender). A sender
/// rewritten by SRS when we forwarded the message is turned back into the original sender
/// first. `None` when there is no one to tell.
#[allow(clippy::too_many_arguments)]
async fn make_dsn(
    store: &Store,
    blobs: &FsBlobStore,
    settings: &Settings,
    sender: &str,
    arrival_unix: i64,
    failures: &[DsnFailure],
    original: &[u8],
    kind: DsnKind,
) -> Result<Option<Derived>, String> {
    let Some((local, remote)) = dsn_recipients(store, settings, sender).await? else {
        tracing::warn!(sender, "no one to send the bounce to");
        return Ok(None);
    };
    let to = local
        .first()
        .map(|l| l.account.to_string())
        .or_else(|| remote.first().map(|r| r.to_string()))
        .unwrap_or_else(|| sender.to_string());
    let bytes = build_dsn(
        &settings.hostname,
        &to,
        arrival_unix,
        failures,
        original,
        kind,
    );
    let blob_id = blobs
        .put(&bytes)
        .await
        .map_err(|e| format!("cannot store the bounce: {e}"))?;
    Ok(Some(Derived {
        blob_id: blob_id.to_string(),
        size: bytes.len() as u64,
        index: hermod_mime::index(&bytes),
        sender: String::new(),
        local,
        remote,
        outgoing: None,
    }))
}

/// Who gets a bounce for `sender`: local copies and remote addresses.
async fn dsn_recipients(
    store: &Store,
    settings: &Settings,
    sender: &str,
) -> Result<Option<(Vec<LocalCopy>, Vec<EmailAddress>)>, String> {
    let lookup = |e: hermod_store::StoreError| format!("cannot look up {sender}: {e}");
    let Ok(mut to) = EmailAddress::parse(sender) else {
        return Ok(None);
    };
    let local_part = to.to_string();
    let hosted = store
        .find_domain(to.domain())
        .await
        .map_err(lookup)?
        .is_some();
    if hosted
        && (local_part.to_ascii_uppercase().starts_with("SRS0=")
            || local_part.to_ascii_uppercase().starts_with("SRS1="))
    {
        let secret = hermod_delivery::srs_secret(&settings.data_dir)
            .map_err(|e| format!("cannot read the SRS key: {e}"))?;
        let now = hermod_store::now_ms() / 1000;
        match hermod_rules::srs::reverse(sender, &secret, now, 21) {
            Ok(original) => match EmailAddress::parse(&original) {
                Ok(a) => to = a,
                Err(_) => return Ok(None),
            },
            Err(why) => {
                tracing::warn!(
                    sender,
                    why,
                    "a bounce for a forwarded message has a bad SRS address; dropped"
                );
                return Ok(None);
            }
        }
    }
    if store.find_account(&to).await.map_err(lookup)?.is_some() {
        return Ok(Some((vec![LocalCopy::inbox(to)], Vec::new())));
    }
    if let Some(targets) = store.alias_targets(&to).await.map_err(lookup)? {
        let mut local = Vec::new();
        let mut remote = Vec::new();
        for t in targets {
            if store.find_account(&t).await.map_err(lookup)?.is_some() {
                local.push(LocalCopy::inbox(t));
            } else {
                remote.push(t);
            }
        }
        return Ok(Some((local, remote)));
    }
    if store
        .find_domain(to.domain())
        .await
        .map_err(lookup)?
        .is_some()
    {
        // A hosted domain with no such address: nobody to tell, and queueing it would loop.
        return Ok(None);
    }
    Ok(Some((Vec::new(), vec![to])))
}

/// `hermod queue bounce ID`: fails the entry now with "bounced by the operator" and sends the
/// sender a DSN (none for a null sender).
pub async fn bounce_entry(
    store: &Store,
    blobs: &FsBlobStore,
    settings: &Settings,
    id: i64,
) -> Result<QueueEntry, String> {
    let entry = store
        .get_queue_entry(id)
        .await
        .map_err(|e| format!("cannot find queue entry {id}: {e}"))?;
    let original = match BlobId::parse(&entry.blob_id) {
        Some(b) => blobs.get(&b).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let reply = "bounced by the operator".to_string();
    let failure = DsnFailure {
        recipient: entry.recipient.clone(),
        remote_host: None,
        reply: reply.clone(),
        status: "5.0.0".into(),
    };
    tracing::info!(queue_id = entry.id, recipient = %entry.recipient, reply, "bounced");
    let failures = [(&entry, failure, reply.clone())];
    if entry.sender.is_empty() {
        store
            .queue_failed(&entry, None, &reply, None)
            .await
            .map_err(|e| format!("cannot fail queue entry {id}: {e}"))?;
    } else {
        fail_with_dsn(
            store,
            blobs,
            settings,
            &entry.sender,
            &failures,
            &original,
            DsnKind::Permanent,
        )
        .await;
    }
    Ok(entry)
}

/// The running scheduler.
pub struct Outbound {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
    delivery: Arc<Delivery>,
}

impl Outbound {
    /// Starts the scheduler on the current tokio runtime. `smtp_listeners` are this server's
    /// SMTP (port 25) listener addresses, for the loop guard.
    pub fn start(
        store: Store,
        blobs: FsBlobStore,
        settings: Settings,
        smtp_listeners: Vec<SocketAddr>,
    ) -> Result<Outbound, String> {
        let delivery = Arc::new(Delivery::new(store, blobs, settings, smtp_listeners)?);
        Ok(Outbound::start_with(delivery))
    }

    /// Starts the scheduler with a prepared [`Delivery`].
    pub fn start_with(delivery: Arc<Delivery>) -> Outbound {
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(run(delivery.clone(), stopped));
        Outbound {
            stop,
            handle,
            delivery,
        }
    }

    pub fn delivery(&self) -> &Arc<Delivery> {
        &self.delivery
    }

    /// Stops leasing, gives deliveries in flight up to `grace` to finish, then aborts them
    /// (their entries become due again when their leases run out).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut handle = self.handle;
        if tokio::time::timeout(grace, &mut handle).await.is_err() {
            handle.abort();
            let _ = handle.await;
        }
    }
}

async fn run(d: Arc<Delivery>, mut stopped: watch::Receiver<bool>) {
    tracing::info!("outbound delivery started");
    let mut tasks = JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        while tasks.try_join_next().is_some() {}
        // Lease only when a connection slot is free, so leased mail does not wait long.
        if d.global.available_permits() == 0 {
            tokio::select! {
                p = d.global.clone().acquire_owned() => drop(p),
                _ = stopped.changed() => continue,
            }
        }
        let leased = match d.lease().await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "outbound queue unavailable; retrying in 5 s");
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stopped.changed() => {}
                }
                continue;
            }
        };
        if !leased.is_empty() {
            for (domain, groups) in leased {
                tasks.spawn(d.clone().run_domain(domain, groups));
            }
            continue;
        }
        let wait = match d.store.next_due().await {
            Ok(Some(t)) => {
                Duration::from_millis((t - now_ms()).clamp(0, POLL.as_millis() as i64) as u64)
            }
            _ => POLL,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = d.store.queue_changed() => {}
            _ = stopped.changed() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Let deliveries in flight finish (the caller bounds this with its grace period).
    while tasks.join_next().await.is_some() {}
    tracing::info!("outbound delivery stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, blob: &str, rcpt: &str) -> QueueEntry {
        QueueEntry {
            id,
            blob_id: blob.into(),
            sender: "a@b.c".into(),
            recipient: rcpt.into(),
            domain: rcpt.split('@').nth(1).unwrap().into(),
            outgoing_id: None,
            created_at: 0,
            next_attempt: 0,
            attempts: 0,
            status: "queued".into(),
            last_reply: None,
        }
    }

    #[test]
    fn grouping() {
        let groups = group(vec![
            entry(1, "x", "a@one.org"),
            entry(2, "x", "b@one.org"),
            entry(3, "x", "a@two.org"),
            entry(4, "y", "c@one.org"),
            entry(5, "x", "a@one.org"),
        ]);
        assert_eq!(groups.len(), 2);
        let one = &groups[0].1;
        assert_eq!(one.len(), 3, "{one:?}");
        assert_eq!(
            one[0].entries.iter().map(|e| e.id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(
            one[2].entries[0].id, 5,
            "a repeated recipient gets its own transaction"
        );
        assert_eq!(groups[1].1[0].entries[0].id, 3);
    }
}
