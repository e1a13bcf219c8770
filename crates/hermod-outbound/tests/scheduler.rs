//! The scheduler end to end: a real Store (SQLite in a temporary directory), real blobs, the
//! test DNS server and SMTP receivers on 127.0.0.x.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use hermod_config::Settings;
use hermod_model::{DomainName, EmailAddress, IndexData};
use hermod_outbound::{Delivery, Outbound, bounce_entry, dkim};
use hermod_store::{BlobId, BlobStore, Commit, FsBlobStore, NewAccount, QueueEntry, Store};

struct Env {
    store: Store,
    blobs: FsBlobStore,
    settings: Settings,
    _dir: tempfile::TempDir,
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

/// A store with src.test hosted (ann@src.test, a DKIM key), DNS for dst.test → 127.0.0.1
/// and the receivers' port.
async fn env(zone: Zone, port: u16) -> Env {
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
    let dns = dns_server(zone).await;
    let settings = Settings {
        hostname: "out.hermod.test".into(),
        delivery_nameservers: vec![dns],
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
        _dir: dir,
    }
}

fn zone() -> Zone {
    let mut z = Zone::default();
    z.mx("dst.test", 10, "mx.dst.test")
        .a("mx.dst.test", "127.0.0.1")
        .mx("other.test", 10, "mx.dst.test");
    z
}

impl Env {
    fn delivery(&self, listeners: Vec<SocketAddr>) -> Arc<Delivery> {
        Arc::new(
            Delivery::new(
                self.store.clone(),
                self.blobs.clone(),
                self.settings.clone(),
                listeners,
            )
            .unwrap(),
        )
    }

    /// Queues a message from `sender` to `rcpts` the way SMTP acceptance does.
    async fn queue(&self, sender: &str, rcpts: &[&str]) -> Vec<u8> {
        let body = format!(
            "From: Ann <{}>\r\nTo: {}\r\nSubject: test {}\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <{}@src.test>\r\n\r\nHello.\r\n.dot line\r\n",
            if sender.is_empty() { "ann@src.test" } else { sender },
            rcpts.join(", "),
            rand::random::<u32>(),
            rand::random::<u64>(),
        )
        .into_bytes();
        let id = self.blobs.put(&body).await.unwrap();
        let commit = Commit {
            blob_id: id.to_string(),
            size: body.len() as u64,
            index: IndexData::default(),
            sender: sender.into(),
            local: vec![],
            remote: rcpts.iter().map(|r| addr(r)).collect(),
            outgoing: None,
            derived: vec![],
            auto_replied: vec![],
            incoming_log: vec![],
        };
        let r = self.store.commit_batch(&[commit]).await;
        assert!(r[0].is_ok(), "{r:?}");
        body
    }

    async fn queue_rows(&self) -> Vec<QueueEntry> {
        self.store.list_queue().await.unwrap()
    }

    async fn inbox(&self, who: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (_, blob) in self.store.inbox_blobs(&addr(who)).await.unwrap() {
            out.push(
                self.blobs
                    .get(&BlobId::parse(&blob).unwrap())
                    .await
                    .unwrap(),
            );
        }
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn delivered_signed_and_through_the_second_mx() {
    let port = free_port().await;
    let mut z = zone();
    // The best MX refuses connections; the second takes the mail.
    z.mx("two.test", 5, "down.two.test")
        .a("down.two.test", "127.0.0.2")
        .mx("two.test", 10, "mx.dst.test");
    let e = env(z, port).await;
    let (pem, record) = dkim::generate_key().unwrap();
    e.store
        .set_domain_dkim(&DomainName::parse("src.test").unwrap(), "sel", &pem)
        .await
        .unwrap();
    let (_, log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    let original = e
        .queue(
            "ann@src.test",
            &["ok1@dst.test", "ok2@dst.test", "ok@two.test"],
        )
        .await;
    let d = e.delivery(vec![]);
    assert_eq!(d.run_due().await.unwrap(), 3);
    assert!(e.queue_rows().await.is_empty());
    let got = log.messages();
    assert_eq!(got.len(), 2, "one transaction per domain");
    let mut all: Vec<String> = got.iter().flat_map(|g| g.rcpts.clone()).collect();
    all.sort();
    assert_eq!(all, ["ok1@dst.test", "ok2@dst.test", "ok@two.test"]);
    assert!(got.iter().all(|g| g.dkim_signed()));
    assert!(
        got[0].data.ends_with(&original),
        "the stored blob follows the signature"
    );
    // The signature verifies against the published key.
    let mut z = Zone::default();
    z.txt(&dkim::dns_record_name("sel", "src.test"), &record);
    let r = hermod_outbound::Resolver::new(&[dns_server(z).await], Duration::from_secs(2)).unwrap();
    let msg = hermod_outbound::mail_auth::AuthenticatedMessage::parse(&got[0].data).unwrap();
    let out = r.authenticator().verify_dkim(&msg).await;
    assert_eq!(
        out[0].result(),
        &hermod_outbound::mail_auth::DkimResult::Pass
    );
    // The stored blob stays unsigned.
    assert!(!text(&original).contains("DKIM-Signature"));
}

#[tokio::test]
async fn temporary_failure_then_delivered_on_retry() {
    let port = free_port().await;
    let e = env(zone(), port).await;
    let (_, log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    e.queue("ann@src.test", &["temp@dst.test"]).await;
    let d = e.delivery(vec![]);
    d.run_due().await.unwrap();
    let q = e.queue_rows().await;
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].status, "deferred");
    assert_eq!(q[0].attempts, 1);
    assert!(q[0].last_reply.as_deref().unwrap().starts_with("450 4.2.1"));
    assert_eq!(d.run_due().await.unwrap(), 0, "not due yet");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(d.run_due().await.unwrap(), 1);
    assert!(e.queue_rows().await.is_empty());
    assert_eq!(log.messages().len(), 1);
    assert!(e.inbox("ann@src.test").await.is_empty(), "no bounce");
}

#[tokio::test]
async fn permanent_failure_bounces_to_the_local_sender() {
    let port = free_port().await;
    let e = env(zone(), port).await;
    let (_, log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    e.queue(
        "ann@src.test",
        &["ok@dst.test", "bad1@dst.test", "bad2@dst.test"],
    )
    .await;
    e.delivery(vec![]).run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    assert_eq!(log.messages()[0].rcpts, ["ok@dst.test"]);
    let inbox = e.inbox("ann@src.test").await;
    assert_eq!(inbox.len(), 1, "one DSN for the message");
    let dsn = text(&inbox[0]);
    assert!(dsn.contains("Subject: Undelivered Mail Returned to Sender"));
    assert!(dsn.contains("Final-Recipient: rfc822; bad1@dst.test"));
    assert!(dsn.contains("Final-Recipient: rfc822; bad2@dst.test"));
    assert!(!dsn.contains("Final-Recipient: rfc822; ok@dst.test"));
    assert!(dsn.contains("Status: 5.1.1"));
    assert!(dsn.contains("Remote-MTA: dns; mx.dst.test"));
}

#[tokio::test]
async fn a_remote_sender_gets_the_bounce_through_the_queue() {
    let port = free_port().await;
    let e = env(zone(), port).await;
    let (_, _log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    e.queue("someone@other.test", &["bad@dst.test"]).await;
    e.delivery(vec![]).run_due().await.unwrap();
    let q = e.queue_rows().await;
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].sender, "", "bounces go with the null sender");
    assert_eq!(q[0].recipient, "someone@other.test");
}

#[tokio::test]
async fn unreachable_until_max_age_then_an_expiry_bounce() {
    let port = closed_port().await;
    let mut e = env(zone(), port).await;
    e.queue("ann@src.test", &["ok@dst.test"]).await;
    e.delivery(vec![]).run_due().await.unwrap();
    let q = e.queue_rows().await;
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].status, "deferred");
    assert!(
        q[0].last_reply
            .as_deref()
            .unwrap()
            .contains("cannot connect")
    );
    // Later: past the maximum age.
    e.settings.delivery_max_age = Duration::ZERO;
    tokio::time::sleep(Duration::from_millis(60)).await;
    e.delivery(vec![]).run_due().await.unwrap();
    assert!(e.queue_rows().await.is_empty());
    let inbox = e.inbox("ann@src.test").await;
    assert_eq!(inbox.len(), 1);
    let dsn = text(&inbox[0]);
    assert!(dsn.contains("Status: 4.4.7"), "{dsn}");
    assert!(dsn.contains("cannot connect"), "the last reply is included");
    assert!(dsn.contains("time allowed"));
}

#[tokio::test]
async fn no_bounce_for_a_null_sender() {
    let port = free_port().await;
    let e = env(zone(), port).await;
    let (_, _log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    e.queue("", &["bad@dst.test"]).await;
    e.delivery(vec![]).run_due().await.unwrap();
    assert!(
        e.queue_rows().await.is_empty(),
        "failed, and nothing new queued"
    );
    assert!(e.inbox("ann@src.test").await.is_empty());
}

#[tokio::test]
async fn the_loop_guard_defers_mail_whose_mx_is_this_server() {
    let port = free_port().await;
    let mut z = zone();
    z.mx("self.test", 10, "out.hermod.test")
        .a("out.hermod.test", "127.0.0.9");
    let e = env(z, port).await;
    // dst.test is hosted here with Local Delivery = No, and its MX is our listener.
    e.store
        .add_domain(&DomainName::parse("dst.test").unwrap(), false, "basic")
        .await
        .unwrap();
    let (_, log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    e.queue("ann@src.test", &["ok@dst.test", "ok@self.test"])
        .await;
    let listener: SocketAddr = format!("0.0.0.0:{port}").parse().unwrap();
    e.delivery(vec![listener]).run_due().await.unwrap();
    assert!(log.messages().is_empty());
    let mut q = e.queue_rows().await;
    q.sort_by(|a, b| a.recipient.cmp(&b.recipient));
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].status, "deferred");
    assert_eq!(
        q[0].last_reply.as_deref(),
        Some(
            "the MX of dst.test is this server; local delivery is off for dst.test, so delivering would loop"
        )
    );
    assert!(
        q[1].last_reply
            .as_deref()
            .unwrap()
            .contains("the MX of self.test is this server"),
        "the MX named as our hostname: {q:?}"
    );
}

#[tokio::test]
async fn dns_failures_bounce_or_defer() {
    let port = free_port().await;
    let mut z = zone();
    z.mx("null.test", 0, ".").servfail("broken.test");
    let e = env(z, port).await;
    e.queue(
        "ann@src.test",
        &["a@null.test", "b@nxdomain.test", "c@broken.test"],
    )
    .await;
    e.delivery(vec![]).run_due().await.unwrap();
    let q = e.queue_rows().await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].recipient, "c@broken.test");
    let inbox = e.inbox("ann@src.test").await;
    assert_eq!(inbox.len(), 2, "one DSN per message and domain");
    let all = inbox.iter().map(|m| text(m)).collect::<String>();
    assert!(all.contains("the domain does not accept mail (null MX)"));
    assert!(all.contains("the domain does not exist"));
}

#[tokio::test]
async fn the_operator_bounces_an_entry() {
    let port = closed_port().await;
    let e = env(zone(), port).await;
    e.queue("ann@src.test", &["ok@dst.test"]).await;
    let id = e.queue_rows().await[0].id;
    let entry = bounce_entry(&e.store, &e.blobs, &e.settings, id)
        .await
        .unwrap();
    assert_eq!(entry.recipient, "ok@dst.test");
    assert!(e.queue_rows().await.is_empty());
    let inbox = e.inbox("ann@src.test").await;
    assert_eq!(inbox.len(), 1);
    assert!(text(&inbox[0]).contains("bounced by the operator"));
    assert!(
        bounce_entry(&e.store, &e.blobs, &e.settings, id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_running_scheduler_picks_up_new_mail() {
    let port = free_port().await;
    let e = env(zone(), port).await;
    let (_, log) = smtp_server("127.0.0.1", port, Behavior::default()).await;
    let outbound =
        Outbound::start(e.store.clone(), e.blobs.clone(), e.settings.clone(), vec![]).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    e.queue("ann@src.test", &["ok@dst.test", "temp@dst.test"])
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !e.queue_rows().await.is_empty() || log.messages().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered: {:?}",
            e.queue_rows().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    outbound.stop(Duration::from_secs(5)).await;
}
