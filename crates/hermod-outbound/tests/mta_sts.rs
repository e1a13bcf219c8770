//! MTA-STS against real parts on 127.0.0.x: a test CA (rcgen), the policy served over HTTPS,
//! the DNS responder with `_mta-sts` TXT and A records, SMTP receivers with STARTTLS using
//! CA-issued or self-signed certificates, and the scheduler with a real Store.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hermod_config::Settings;
use hermod_model::{DomainName, EmailAddress, IndexData};
use hermod_outbound::client::{ClientConfig, Connection, TlsMode};
use hermod_outbound::mta_sts::{MAX_AGE_LIMIT, Mode, Policy, mx_matches};
use hermod_outbound::{Delivery, MtaSts, Resolver};
use hermod_store::{BlobStore, Commit, FsBlobStore, NewAccount, QueueEntry, Store};

const ENFORCE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.example\r\nmax_age: 86400\r\n";
const TESTING: &str = "version: STSv1\nmode: testing\nmx: *.sts.example\nmax_age: 86400\n";

// ---------------------------------------------------------------- parsing

#[test]
fn policy_parsing() {
    let p = Policy::parse(ENFORCE).unwrap();
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.mx, ["mx.sts.example"]);
    assert_eq!(p.max_age, 86400);

    // LF only, several mx, unknown keys ignored, blank lines, surrounding blanks, case and
    // a trailing dot in the patterns.
    let p = Policy::parse(
        "version: STSv1\nmode: testing\nmx: MX1.Example.ORG.\nmx:*.backup.example.org\n\
         x_extension: whatever\n\nmax_age:\t604800  \n",
    )
    .unwrap();
    assert_eq!(p.mode, Mode::Testing);
    assert_eq!(p.mx, ["mx1.example.org", "*.backup.example.org"]);
    assert_eq!(p.max_age, 604800);

    // Mode none needs no mx.
    let p = Policy::parse("version: STSv1\nmode: none\nmax_age: 0\n").unwrap();
    assert_eq!((p.mode, p.max_age, p.mx.len()), (Mode::None, 0, 0));

    // max_age: capped at a year, at most 10 digits, digits only.
    let p = Policy::parse("version: STSv1\nmode: none\nmax_age: 9999999999\n").unwrap();
    assert_eq!(p.max_age, MAX_AGE_LIMIT);
    for bad in ["99999999999", "-1", "1d", "", " ", "1.5"] {
        let text = format!("version: STSv1\nmode: none\nmax_age: {bad}\n");
        assert!(Policy::parse(&text).is_err(), "max_age {bad:?}");
    }

    // The first of a repeated field counts (mx excepted).
    let p = Policy::parse(
        "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 5\nmax_age: 7\n",
    )
    .unwrap();
    assert_eq!((p.mode, p.max_age), (Mode::Testing, 5));

    for (bad, why) in [
        (
            "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n",
            "unknown policy version",
        ),
        (
            "version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 5\n",
            "unknown policy version",
        ),
        (
            "mode: enforce\nmx: a.example\nmax_age: 5\n",
            "no \"version\"",
        ),
        ("version: STSv1\nmx: a.example\nmax_age: 5\n", "no \"mode\""),
        (
            "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 5\n",
            "unknown mode",
        ),
        (
            "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 5\n",
            "unknown mode",
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.example\n",
            "no \"max_age\"",
        ),
        ("version: STSv1\nmode: enforce\nmax_age: 5\n", "no \"mx\""),
        ("version: STSv1\nmode: testing\nmax_age: 5\n", "no \"mx\""),
        (
            "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n",
            "invalid mx",
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 5\n",
            "invalid mx",
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a b.example\nmax_age: 5\n",
            "invalid mx",
        ),
        (
            "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 5\n",
            "invalid mx",
        ),
        (
            "version: STSv1\nmode: enforce\nmx:\nmax_age: 5\n",
            "invalid mx",
        ),
        (
            "version: STSv1\nmode enforce\nmx: a.example\nmax_age: 5\n",
            "not a \"key: value\"",
        ),
        ("<html>not a policy</html>", "not a \"key: value\""),
        ("", "no \"version\""),
    ] {
        let e = Policy::parse(bad).unwrap_err();
        assert!(e.contains(why), "{bad:?}: {e}");
    }
    // Keys are case-sensitive: "Mode" is an unknown key, so there is no mode.
    assert!(Policy::parse("version: STSv1\nMode: enforce\nmx: a.example\nmax_age: 5\n").is_err());
}

#[test]
fn mx_patterns_and_wildcards() {
    assert!(mx_matches("mx.example.org", "mx.example.org"));
    assert!(mx_matches("mx.example.org", "MX.Example.org."));
    assert!(!mx_matches("mx.example.org", "mx2.example.org"));
    assert!(!mx_matches("mx.example.org", "example.org"));
    // The wildcard is one whole leftmost label (RFC 8461 §4.1).
    assert!(mx_matches("*.example.org", "mx1.example.org"));
    assert!(mx_matches("*.Example.org.", "mx1.example.ORG"));
    assert!(!mx_matches("*.example.org", "example.org"));
    assert!(!mx_matches("*.example.org", "a.b.example.org"));
    assert!(!mx_matches("*.example.org", ".example.org"));
    assert!(!mx_matches("*.example.org", "mx.example.org.evil"));
    assert!(!mx_matches("*.example.org", "mxexample.org"));

    let p = Policy::parse(
        "version: STSv1\nmode: enforce\nmx: mail.example.org\nmx: *.backup.example.org\nmax_age: 5\n",
    )
    .unwrap();
    assert!(p.allows("mail.example.org"));
    assert!(p.allows("b1.backup.example.org"));
    assert!(!p.allows("backup.example.org"));
    assert!(!p.allows("other.example.org"));
}

// ---------------------------------------------------------------- discovery, fetch, cache

/// The DNS (TTL 0: changes are seen at once) and the HTTPS policy server of sts.example.
struct Sts {
    ca: TestCa,
    zone: Arc<Mutex<Zone>>,
    dns: SocketAddr,
    https: HttpsServer,
}

fn sts_zone() -> Zone {
    let mut z = Zone::default();
    z.ttl(0)
        .mx("sts.example", 10, "mx.sts.example")
        .a("mx.sts.example", "127.0.0.1")
        .a("mta-sts.sts.example", "127.0.0.1")
        .txt("_mta-sts.sts.example", "v=STSv1; id=1");
    z
}

async fn sts(zone: Zone, policy: &str) -> Sts {
    let ca = TestCa::new();
    let (dns, zone) = dns_server_shared(zone).await;
    let https = https_server(
        0,
        ca.https_acceptor(&["mta-sts.sts.example", "mta-sts.other.example"]),
        HttpAnswer::policy(policy),
    )
    .await;
    Sts {
        ca,
        zone,
        dns,
        https,
    }
}

impl Sts {
    fn resolver(&self) -> Resolver {
        Resolver::new(&[self.dns], Duration::from_secs(2)).unwrap()
    }
    fn mta_sts(&self) -> MtaSts {
        MtaSts::new(self.resolver(), Some(self.ca.pem()), self.https.addr.port())
            .unwrap()
            .with_timeout(Duration::from_secs(5))
            .with_retry_after(Duration::ZERO)
    }
    fn set_record(&self, value: Option<&str>) {
        self.zone
            .lock()
            .unwrap()
            .set_txt("_mta-sts.sts.example", value);
    }
}

#[tokio::test]
async fn policies_are_fetched_cached_and_fetched_again_when_the_id_changes() {
    let s = sts(sts_zone(), ENFORCE).await;
    let m = s.mta_sts();
    let p = m.policy("sts.example").await.expect("a policy");
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(s.https.hits(), 1);
    {
        let reqs = s.https.requests.lock().unwrap();
        assert_eq!(reqs[0].0, "GET /.well-known/mta-sts.txt HTTP/1.1");
        assert_eq!(
            reqs[0].1,
            format!("mta-sts.sts.example:{}", s.https.addr.port())
        );
    }

    // Same id: the cache answers (domain case and trailing dot do not matter).
    s.https.set(HttpAnswer::policy(TESTING));
    let p = m.policy("STS.example.").await.unwrap();
    assert_eq!((p.mode, s.https.hits()), (Mode::Enforce, 1));

    // A new id: fetched again.
    s.set_record(Some("v=STSv1; id=2"));
    let p = m.policy("sts.example").await.unwrap();
    assert_eq!((p.mode, s.https.hits()), (Mode::Testing, 2));
    assert_eq!(m.policy("sts.example").await.unwrap().mode, Mode::Testing);
    assert_eq!(s.https.hits(), 2);

    // Another new id, but the fetch fails: the cached policy stays in force.
    s.set_record(Some("v=STSv1; id=3"));
    s.https.set(HttpAnswer {
        status: "500 Internal Server Error".into(),
        ..HttpAnswer::policy("oops")
    });
    assert_eq!(m.policy("sts.example").await.unwrap().mode, Mode::Testing);
    assert_eq!(s.https.hits(), 3);

    // The record withdrawn (or unreadable): the unexpired cached policy still applies
    // (RFC 8461 §3.3), with no fetch.
    s.set_record(None);
    assert_eq!(m.policy("sts.example").await.unwrap().mode, Mode::Testing);
    s.set_record(Some("v=STSv1; id=bad-id!"));
    assert_eq!(m.policy("sts.example").await.unwrap().mode, Mode::Testing);
    assert_eq!(s.https.hits(), 3);

    // A fresh cache with the same failing server: no policy.
    s.set_record(Some("v=STSv1; id=4"));
    assert!(s.mta_sts().policy("sts.example").await.is_none());
}

#[tokio::test]
async fn an_expired_policy_is_fetched_again_and_not_used_when_that_fails() {
    let s = sts(
        sts_zone(),
        "version: STSv1\nmode: enforce\nmx: mx.sts.example\nmax_age: 0\n",
    )
    .await;
    let m = s.mta_sts();
    assert!(m.policy("sts.example").await.is_some());
    assert!(m.policy("sts.example").await.is_some());
    assert_eq!(
        s.https.hits(),
        2,
        "max_age 0: expired at once, fetched each time"
    );
    s.https.set(HttpAnswer::policy("garbage"));
    assert!(
        m.policy("sts.example").await.is_none(),
        "an expired policy is not used"
    );

    // A failed fetch is not repeated for the same id within the retry period.
    let m = MtaSts::new(s.resolver(), Some(s.ca.pem()), s.https.addr.port())
        .unwrap()
        .with_retry_after(Duration::from_secs(600));
    let before = s.https.hits();
    assert!(m.policy("sts.example").await.is_none());
    assert!(m.policy("sts.example").await.is_none());
    assert_eq!(s.https.hits(), before + 1);
    s.set_record(Some("v=STSv1; id=new"));
    assert!(m.policy("sts.example").await.is_none());
    assert_eq!(s.https.hits(), before + 2, "a new id is tried at once");
}

#[tokio::test]
async fn discovery_needs_exactly_one_valid_record() {
    let s = sts(sts_zone(), ENFORCE).await;
    let m = s.mta_sts();
    for record in [
        None,
        Some("v=spf1 -all"),
        Some("v=STSv1"),
        Some("v=STSv1; id=a_b"),
        Some("id=1; v=STSv1"),
    ] {
        s.set_record(record);
        assert!(m.policy("sts.example").await.is_none(), "{record:?}");
    }
    {
        let mut z = s.zone.lock().unwrap();
        z.set_txt("_mta-sts.sts.example", Some("v=STSv1; id=1"));
        z.txt("_mta-sts.sts.example", "v=STSv1; id=2");
    }
    assert!(m.policy("sts.example").await.is_none(), "two records: none");
    assert_eq!(s.https.hits(), 0);
    // Another TXT record beside the STS one is ignored.
    {
        let mut z = s.zone.lock().unwrap();
        z.set_txt("_mta-sts.sts.example", Some("something else"));
        z.txt("_mta-sts.sts.example", "v=STSv1; id=1");
    }
    assert!(m.policy("sts.example").await.is_some());
    // No record anywhere, NXDOMAIN: no policy.
    assert!(m.policy("elsewhere.example").await.is_none());
}

#[tokio::test]
async fn fetch_refusals() {
    let s = sts(sts_zone(), ENFORCE).await;
    let m = s.mta_sts();
    let cases = [
        (
            HttpAnswer {
                status: "301 Moved Permanently".into(),
                extra_headers: "Location: https://elsewhere.example/policy\r\n".into(),
                ..HttpAnswer::policy("")
            },
            "redirect",
        ),
        (
            HttpAnswer {
                status: "404 Not Found".into(),
                ..HttpAnswer::policy("no")
            },
            "HTTP 404",
        ),
        (
            HttpAnswer {
                content_type: Some("text/html".into()),
                ..HttpAnswer::policy(ENFORCE)
            },
            "not text/plain",
        ),
        (
            HttpAnswer {
                content_type: None,
                ..HttpAnswer::policy(ENFORCE)
            },
            "not text/plain",
        ),
        (
            HttpAnswer::policy(&format!("{ENFORCE}{}", "#\n".repeat(40 * 1024))),
            "larger than 65536",
        ),
        (
            HttpAnswer::policy("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 5\n"),
            "unknown policy version",
        ),
    ];
    for (answer, why) in cases {
        s.https.set(answer);
        let e = m.fetch("sts.example").await.unwrap_err();
        assert!(e.contains(why), "{why}: {e}");
    }
    s.https.set(HttpAnswer {
        content_type: Some("Text/Plain; charset=utf-8".into()),
        ..HttpAnswer::policy(ENFORCE)
    });
    assert_eq!(m.fetch("sts.example").await.unwrap().mode, Mode::Enforce);

    // Without the test CA the policy host's certificate is not trusted.
    let untrusting = MtaSts::new(s.resolver(), None, s.https.addr.port());
    if let Ok(u) = untrusting {
        let e = u.fetch("sts.example").await.unwrap_err();
        assert!(
            e.contains("certificate of mta-sts.sts.example is not valid"),
            "{e}"
        );
    }
    // A certificate for another name, from the trusted CA: refused too.
    let wrong = https_server(
        0,
        s.ca.https_acceptor(&["www.sts.example"]),
        HttpAnswer::policy(ENFORCE),
    )
    .await;
    let m2 = MtaSts::new(s.resolver(), Some(s.ca.pem()), wrong.addr.port()).unwrap();
    let e = m2.fetch("sts.example").await.unwrap_err();
    assert!(e.contains("is not valid"), "{e}");
    // No address for the policy host.
    let e = m.fetch("nohost.example").await.unwrap_err();
    assert!(e.contains("mta-sts.nohost.example"), "{e}");
    // Nothing listening.
    let port = closed_port().await;
    let m3 = MtaSts::new(s.resolver(), Some(s.ca.pem()), port).unwrap();
    let e = m3.fetch("sts.example").await.unwrap_err();
    assert!(e.contains("cannot connect"), "{e}");
    // Bad extra roots are refused.
    assert!(MtaSts::new(s.resolver(), Some(b"not a pem".to_vec()), 443).is_err());
}

// ---------------------------------------------------------------- verified STARTTLS

#[tokio::test]
async fn verified_starttls_in_the_client() {
    let ca = TestCa::new();
    let roots = Arc::new(hermod_outbound::mta_sts::root_store(Some(&ca.pem())).unwrap());
    let required =
        TlsMode::Required(hermod_outbound::client::VerifiedTls::new(roots, &[]).unwrap());
    let config = |port| ClientConfig::new("out.hermod.test", Duration::from_secs(5), port);
    let localhost = "127.0.0.1".parse().unwrap();

    // A CA-issued certificate for the MX name: a verified session.
    let good = Behavior {
        tls: Some(ca.acceptor(&["mx.sts.example"])),
        ..Behavior::default()
    };
    let (addr, log) = smtp_server("127.0.0.1", 0, good).await;
    let mut c =
        Connection::connect_with(&config(addr.port()), "mx.sts.example", localhost, &required)
            .await
            .unwrap();
    assert!(c.tls);
    let r = c
        .send(
            "a@src.test",
            &["ok@sts.example".into()],
            b"Subject: x\r\n\r\nhi\r\n",
        )
        .await;
    assert_eq!(r[0].kind, hermod_outbound::Kind::Delivered);
    c.quit().await;
    assert!(log.messages()[0].tls);

    // The same certificate checked against another MX name: refused.
    let e = Connection::connect_with(
        &config(addr.port()),
        "mx2.sts.example",
        localhost,
        &required,
    )
    .await
    .err()
    .unwrap();
    assert!(
        e.tls
            && e.reply
                .contains("certificate of mx2.sts.example is not valid"),
        "{e:?}"
    );

    // Self-signed: refused, and no plaintext retry.
    let bad = Behavior {
        tls: Some(self_signed_acceptor("mx.sts.example")),
        ..Behavior::default()
    };
    let (addr, log) = smtp_server("127.0.0.1", 0, bad).await;
    let e = Connection::connect_with(&config(addr.port()), "mx.sts.example", localhost, &required)
        .await
        .err()
        .unwrap();
    assert!(
        e.tls
            && !e.permanent
            && e.reply
                .contains("certificate of mx.sts.example is not valid"),
        "{e:?}"
    );
    assert_eq!(log.connections(), 1, "no second, plaintext connection");
    // While opportunistic TLS takes it.
    let c = Connection::connect(&config(addr.port()), "mx.sts.example", localhost)
        .await
        .unwrap();
    assert!(c.tls);
    let certs = c.peer_certificates().unwrap();
    let TlsMode::Required(v) = &required else {
        unreachable!()
    };
    assert!(v.check("mx.sts.example", &certs).is_err());
    c.quit().await;

    // No STARTTLS offered: refused.
    let (addr, _) = smtp_server("127.0.0.1", 0, Behavior::default()).await;
    let e = Connection::connect_with(&config(addr.port()), "mx.sts.example", localhost, &required)
        .await
        .err()
        .unwrap();
    assert!(
        e.tls && e.reply.contains("does not offer STARTTLS"),
        "{e:?}"
    );
}

// ---------------------------------------------------------------- the scheduler

struct Env {
    store: Store,
    blobs: FsBlobStore,
    settings: Settings,
    sts: Sts,
    _dir: tempfile::TempDir,
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

async fn env(zone: Zone, policy: &str, port: u16) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(&url, 4).await.unwrap();
    let blobs = FsBlobStore::open(dir.path().join("blobs")).unwrap();
    store
        .add_domain(&DomainName::parse("src.test").unwrap(), true, "basic")
        .await
        .unwrap();
    store
        .add_account(NewAccount {
            address: addr("ann@src.test"),
            display_name: "Ann".into(),
            password: "correct horse battery".into(),
            plan: None,
            quota_bytes: 0,
        })
        .await
        .unwrap();
    let sts = sts(zone, policy).await;
    let settings = Settings {
        hostname: "out.hermod.test".into(),
        delivery_nameservers: vec![sts.dns],
        delivery_remote_port: u32::from(port),
        delivery_retry_initial: Duration::from_millis(50),
        delivery_retry_max: Duration::from_millis(200),
        delivery_timeout: Duration::from_secs(5),
        ..Settings::default()
    };
    Env {
        store,
        blobs,
        settings,
        sts,
        _dir: dir,
    }
}

impl Env {
    fn delivery_with(&self, mta_sts: MtaSts) -> Arc<Delivery> {
        Arc::new(
            Delivery::new(
                self.store.clone(),
                self.blobs.clone(),
                self.settings.clone(),
                vec![],
            )
            .unwrap()
            .with_mta_sts(mta_sts),
        )
    }

    fn delivery(&self) -> Arc<Delivery> {
        self.delivery_with(self.sts.mta_sts())
    }

    async fn queue(&self, rcpts: &[&str]) {
        let body = format!(
            "From: Ann <ann@src.test>\r\nTo: {}\r\nSubject: sts\r\nMessage-ID: <{}@src.test>\r\n\r\nHello.\r\n",
            rcpts.join(", "),
            rand::random::<u64>(),
        )
        .into_bytes();
        let id = self.blobs.put(&body).await.unwrap();
        let commit = Commit {
            blob_id: id.to_string(),
            size: body.len() as u64,
            index: IndexData::default(),
            sender: "ann@src.test".into(),
            local: vec![],
            remote: rcpts.iter().map(|r| addr(r)).collect(),
            outgoing: None,
            derived: vec![],
            auto_replied: vec![],
            incoming_log: vec![],
        };
        assert!(self.store.commit_batch(&[commit]).await[0].is_ok());
    }

    async fn queue_rows(&self) -> Vec<QueueEntry> {
        self.store.list_queue().await.unwrap()
    }

    /// The single deferred entry's last reply.
    async fn deferred_reply(&self) -> String {
        let q = self.queue_rows().await;
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].status, "deferred");
        q[0].last_reply.clone().unwrap_or_default()
    }
}

fn with_tls(acceptor: tokio_rustls::TlsAcceptor) -> Behavior {
    Behavior {
        tls: Some(acceptor),
        ..Behavior::default()
    }
}

#[tokio::test]
async fn enforce_with_a_valid_certificate_delivers_over_tls() {
    let port = free_port().await;
    let e = env(sts_zone(), ENFORCE, port).await;
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(e.sts.ca.acceptor(&["mx.sts.example"])),
    )
    .await;
    e.queue(&["ok@sts.example"]).await;
    e.delivery().run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    let got = log.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(e.sts.https.hits(), 1);
}

#[tokio::test]
async fn enforce_with_a_self_signed_certificate_defers() {
    let port = free_port().await;
    let e = env(sts_zone(), ENFORCE, port).await;
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(self_signed_acceptor("mx.sts.example")),
    )
    .await;
    e.queue(&["ok@sts.example"]).await;
    e.delivery().run_due().await.unwrap();
    let reply = e.deferred_reply().await;
    assert!(
        reply.starts_with("MTA-STS: certificate of mx.sts.example is not valid"),
        "{reply}"
    );
    assert!(log.messages().is_empty(), "never delivered");
    assert_eq!(log.connections(), 1, "no plaintext retry");
}

#[tokio::test]
async fn enforce_without_starttls_defers() {
    let port = free_port().await;
    let e = env(sts_zone(), ENFORCE, port).await;
    let (_, log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    e.queue(&["ok@sts.example"]).await;
    e.delivery().run_due().await.unwrap();
    let reply = e.deferred_reply().await;
    assert!(
        reply.starts_with("MTA-STS: mx.sts.example[127.0.0.1]")
            && reply.contains("does not offer STARTTLS"),
        "{reply}"
    );
    assert!(log.messages().is_empty());
}

#[tokio::test]
async fn enforce_skips_mx_hosts_not_in_the_policy() {
    let port = free_port().await;
    // Only an unlisted MX: nothing is tried.
    let mut z = sts_zone();
    z.mx("other.example", 10, "mx.elsewhere.example")
        .a("mx.elsewhere.example", "127.0.0.1")
        .a("mta-sts.other.example", "127.0.0.1")
        .txt("_mta-sts.other.example", "v=STSv1; id=1");
    let e = env(z, ENFORCE, port).await;
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(e.sts.ca.acceptor(&["mx.elsewhere.example"])),
    )
    .await;
    // other.example's policy (the same server answers for it) lists mx.sts.example only.
    e.queue(&["ok@other.example"]).await;
    e.delivery().run_due().await.unwrap();
    let reply = e.deferred_reply().await;
    assert_eq!(
        reply,
        "MTA-STS policy of other.example allows none of its MX hosts (mx.elsewhere.example)"
    );
    assert_eq!(log.connections(), 0, "no MX host was tried");
}

#[tokio::test]
async fn enforce_goes_to_the_listed_mx_past_an_unlisted_better_one() {
    let port = free_port().await;
    let mut z = sts_zone();
    z.mx("sts.example", 5, "rogue.example")
        .a("rogue.example", "127.0.0.2");
    let e = env(z, ENFORCE, port).await;
    let (_, rogue) = smtp_server("127.0.0.2", port, Behavior::default()).await;
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(e.sts.ca.acceptor(&["mx.sts.example"])),
    )
    .await;
    e.queue(&["ok@sts.example"]).await;
    e.delivery().run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    assert_eq!(log.messages().len(), 1);
    assert_eq!(rogue.connections(), 0);
}

#[tokio::test]
async fn testing_mode_delivers_and_warns() {
    let (logs, _guard) = Logs::capture();
    let port = free_port().await;
    let mut z = sts_zone();
    z.mx("sts.example", 20, "mx.unlisted.example")
        .a("mx.unlisted.example", "127.0.0.1");
    let e = env(z, TESTING, port).await;
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(self_signed_acceptor("mx.sts.example")),
    )
    .await;
    e.queue(&["ok@sts.example"]).await;
    e.delivery().run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    assert_eq!(log.messages().len(), 1);
    assert!(log.messages()[0].tls, "opportunistic TLS as usual");
    let text = logs.text();
    assert!(
        text.contains("MTA-STS policy in testing mode: enforce would refuse this host")
            && text.contains("certificate of mx.sts.example is not valid"),
        "{text}"
    );
    assert!(
        text.contains("enforce would skip it") && text.contains("mx.unlisted.example"),
        "{text}"
    );
}

#[tokio::test]
async fn without_a_record_or_a_reachable_policy_delivery_is_as_before() {
    let (logs, _guard) = Logs::capture();
    let port = free_port().await;
    let mut z = sts_zone();
    z.set_txt("_mta-sts.sts.example", None);
    let e = env(z, ENFORCE, port).await;
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(self_signed_acceptor("mx.sts.example")),
    )
    .await;
    let d = e.delivery();

    // No TXT record: opportunistic TLS takes the self-signed certificate.
    e.queue(&["ok@sts.example"]).await;
    d.run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    assert_eq!(log.messages().len(), 1);
    assert_eq!(e.sts.https.hits(), 0);

    // A record, but the policy host is down and nothing is cached: as before.
    e.sts.set_record(Some("v=STSv1; id=1"));
    let down = closed_port().await;
    let d2 = e.delivery_with(MtaSts::new(e.sts.resolver(), Some(e.sts.ca.pem()), down).unwrap());
    e.queue(&["ok@sts.example"]).await;
    d2.run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    assert_eq!(log.messages().len(), 2);
    // (The fetch failure is logged as a warning; whether this run fetched at all depends on
    // the resolver's negative cache from the first half, so only the delivery is asserted.)
    drop(logs);
}

#[tokio::test]
async fn from_settings_reads_the_ca_file() {
    let port = free_port().await;
    let mut e = env(sts_zone(), ENFORCE, port).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, e.sts.ca.pem()).unwrap();
    e.settings.delivery_tls_ca_file = Some(ca_file.clone());
    let m = MtaSts::from_settings(e.sts.resolver(), &e.settings).unwrap();
    // The CA is trusted for MX certificates (policies are fetched from port 443 only).
    let (chain, _) = e.sts.ca.issue(&["mx.sts.example"]);
    assert!(m.verified_tls().check("mx.sts.example", &chain).is_ok());
    assert!(m.verified_tls().check("mx.other.example", &chain).is_err());

    std::fs::write(&ca_file, "no certificates here\n").unwrap();
    let err = MtaSts::from_settings(e.sts.resolver(), &e.settings)
        .err()
        .unwrap();
    assert!(err.contains("delivery.tls_ca_file"), "{err}");
    e.settings.delivery_tls_ca_file = Some(dir.path().join("missing.pem"));
    let err = MtaSts::from_settings(e.sts.resolver(), &e.settings)
        .err()
        .unwrap();
    assert!(err.contains("cannot read delivery.tls_ca_file"), "{err}");
}

#[tokio::test]
async fn the_cached_policy_applies_when_a_later_fetch_fails() {
    let port = free_port().await;
    let e = env(sts_zone(), ENFORCE, port).await;
    let (_, good) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(e.sts.ca.acceptor(&["mx.sts.example"])),
    )
    .await;
    let (_, bad) = smtp_server(
        "127.0.0.2",
        port,
        with_tls(self_signed_acceptor("mx.sts.example")),
    )
    .await;
    let d = e.delivery();
    e.queue(&["ok@sts.example"]).await;
    d.run_due().await.unwrap();
    assert_eq!(good.messages().len(), 1);

    // Now: a new policy id, the policy server down, and the MX moved to a host with a
    // self-signed certificate. The cached enforce policy still protects the mail.
    let sts = &e.sts;
    {
        let mut z = sts.zone.lock().unwrap();
        z.set_txt("_mta-sts.sts.example", Some("v=STSv1; id=2"));
        z.set_a("mx.sts.example", "127.0.0.2");
    }
    let hits = sts.https.hits();
    sts.https.set(HttpAnswer {
        status: "503 Service Unavailable".into(),
        ..HttpAnswer::policy("")
    });
    e.queue(&["ok@sts.example"]).await;
    d.run_due().await.unwrap();
    assert_eq!(
        sts.https.hits(),
        hits + 1,
        "a fetch was tried for the new id"
    );
    let reply = e.deferred_reply().await;
    assert!(
        reply.starts_with("MTA-STS: certificate of mx.sts.example is not valid"),
        "{reply}"
    );
    assert!(bad.messages().is_empty());
    assert_eq!(good.messages().len(), 1);
}

#[tokio::test]
async fn the_default_delivery_has_mta_sts_and_it_can_be_turned_off() {
    let port = free_port().await;
    let e = env(sts_zone(), ENFORCE, port).await;
    let d = Delivery::new(e.store.clone(), e.blobs.clone(), e.settings.clone(), vec![]).unwrap();
    // The system store may be empty on a bare machine; then MTA-STS is off with an error.
    let _ = d.mta_sts().is_some();
    let d = d.without_mta_sts();
    assert!(d.mta_sts().is_none());
    let (_, log) = smtp_server(
        "127.0.0.1",
        port,
        with_tls(self_signed_acceptor("mx.sts.example")),
    )
    .await;
    e.queue(&["ok@sts.example"]).await;
    Arc::new(d).run_due().await.unwrap();
    assert_eq!(log.messages().len(), 1, "no MTA-STS: delivered as before");
}
