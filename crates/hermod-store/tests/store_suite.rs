//! One suite, run against both metadata stores.
//!
//! PostgreSQL: `HERMOD_TEST_PG` (default postgres://postgres@127.0.0.1:5432/test). Each test
//! gets its own schema. When PostgreSQL cannot be reached the PostgreSQL half FAILS, loudly,
//! unless HERMOD_SKIP_PG=1 is set, so CI can never pass without running it.

use hermod_model::*;
use hermod_store::*;

fn pg_base() -> String {
    std::env::var("HERMOD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

struct TestStore {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    TestStore {
        store: Store::open(&url, 4).await.unwrap(),
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<TestStore> {
    let base = pg_base();
    let schema = format!("t_{:016x}", rand_u64());
    let admin = match Store::open_raw_for_tests(&base).await {
        Ok(pool) => pool,
        Err(e) => {
            if std::env::var("HERMOD_SKIP_PG").as_deref() == Ok("1") {
                eprintln!(
                    "\n!!!!! PostgreSQL at {base} is not reachable ({e}); SKIPPING the PostgreSQL half !!!!!\n"
                );
                return None;
            }
            panic!(
                "PostgreSQL at {base} is not reachable: {e}. Start it, point HERMOD_TEST_PG at one, \
                 or set HERMOD_SKIP_PG=1 to skip the PostgreSQL half (never in CI)."
            );
        }
    };
    admin.create_schema(&schema).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options[search_path]={schema}");
    Some(TestStore {
        store: Store::open(&url, 4).await.unwrap(),
        _dir: None,
    })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}
/// An account with a throwaway password, for tests about something else.
async fn add_user(s: &Store, address: EmailAddress) {
    let new = NewAccount {
        address,
        display_name: String::new(),
        password: "12345678".into(),
        plan: None,
        quota_bytes: 0,
    };
    s.add_account(new).await.unwrap();
}

fn dom(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test] async fn $name() { let t = super::sqlite().await; super::$name(&t.store).await; } )* }
        mod on_postgres { $( #[tokio::test] async fn $name() { if let Some(t) = super::postgres().await { super::$name(&t.store).await; } } )* }
    };
}

both!(
    plans_start_with_the_faqs,
    domains_round_trip,
    accounts_round_trip,
    logins,
    aliases_and_send_as,
    filters_scopes_and_search,
    logs_and_counting,
    new_accounts_get_default_folders,
    removing_a_domain,
    reopening_keeps_data,
    group_commit_delivers_queues_and_logs,
);

async fn plans_start_with_the_faqs(s: &Store) {
    let plans = s.list_plans().await.unwrap();
    assert_eq!(plans, default_plans());
    s.set_plan("enhanced", 1500).await.unwrap();
    assert_eq!(s.get_plan("enhanced").await.unwrap().daily_limit, 1500);
    s.set_plan("pro", 5000).await.unwrap();
    assert_eq!(s.list_plans().await.unwrap().len(), 3);
    assert!(matches!(
        s.get_plan("gold").await,
        Err(StoreError::NotFound("plan", _))
    ));
    assert!(s.set_plan("Bad Name", 1).await.is_err());
}

async fn domains_round_trip(s: &Store) {
    let d = s
        .add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    assert!(d.local_delivery);
    assert_eq!(d.filter_mode, FilterMode::Everyone);
    assert!(matches!(
        s.add_domain(&dom("EXAMPLE.com"), true, "basic").await,
        Err(StoreError::Exists("domain", _))
    ));
    assert!(matches!(
        s.add_domain(&dom("b.com"), true, "gold").await,
        Err(StoreError::NotFound("plan", _))
    ));
    s.add_domain(&dom("bücher.example"), false, "enhanced")
        .await
        .unwrap();
    let names: Vec<String> = s
        .list_domains()
        .await
        .unwrap()
        .iter()
        .map(|d| d.name.to_string())
        .collect();
    assert_eq!(names, ["example.com", "xn--bcher-kva.example"]);
    let up = s
        .update_domain(
            &dom("example.com"),
            &DomainUpdate {
                local_delivery: Some(false),
                filter_mode: Some(FilterMode::WhitelistOnly),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!up.local_delivery);
    assert_eq!(up.filter_mode, FilterMode::WhitelistOnly);
    assert_eq!(up.default_plan, "basic");
    assert!(s.find_domain(&dom("nope.com")).await.unwrap().is_none());
}

async fn accounts_round_trip(s: &Store) {
    s.add_domain(&dom("example.com"), true, "enhanced")
        .await
        .unwrap();
    let new = |a: &str| NewAccount {
        address: addr(a),
        display_name: "Ann Example".into(),
        password: "s3cret-pass".into(),
        plan: None,
        quota_bytes: 0,
    };
    let a = s.add_account(new("ann@example.com")).await.unwrap();
    assert_eq!(a.plan, "enhanced", "the domain's default plan");
    assert!(a.password_hash.starts_with("$argon2id$"));
    assert!(matches!(
        s.add_account(new("Ann@Example.com")).await,
        Err(StoreError::Exists("user", _))
    ));
    assert!(matches!(
        s.add_account(new("ann@other.com")).await,
        Err(StoreError::NotFound("domain", _))
    ));
    let mut weak = new("bob@example.com");
    weak.password = "short".into();
    assert!(
        s.add_account(weak)
            .await
            .unwrap_err()
            .to_string()
            .contains("too short")
    );
    s.add_account(NewAccount {
        plan: Some("basic".into()),
        ..new("bob@example.com")
    })
    .await
    .unwrap();
    let listed = s
        .list_accounts(Some(&dom("example.com")), None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(s.list_accounts(None, Some("BOB")).await.unwrap().len(), 1);
    let up = s
        .update_account(
            &addr("bob@example.com"),
            &AccountUpdate {
                plan: Some("enhanced".into()),
                send_limit_override: Some(Some(5000)),
                display_name: Some("Bob B.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            up.plan.as_str(),
            up.send_limit_override,
            up.display_name.as_str()
        ),
        ("enhanced", Some(5000), "Bob B.")
    );
    assert_eq!(s.daily_limit(&up).await.unwrap(), 5000);
    let up = s
        .update_account(
            &addr("bob@example.com"),
            &AccountUpdate {
                send_limit_override: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(s.daily_limit(&up).await.unwrap(), 1200);
    s.remove_account(&addr("bob@example.com")).await.unwrap();
    assert!(
        s.find_account(&addr("bob@example.com"))
            .await
            .unwrap()
            .is_none()
    );
}

async fn logins(s: &Store) {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    let a = addr("ann@example.com");
    s.add_account(NewAccount {
        address: a.clone(),
        display_name: String::new(),
        password: "first-pass".into(),
        plan: None,
        quota_bytes: 0,
    })
    .await
    .unwrap();
    assert!(s.verify_login(&a, "first-pass").await.unwrap().is_some());
    assert!(s.verify_login(&a, "wrong-pass").await.unwrap().is_none());
    assert!(
        s.verify_login(&addr("ghost@example.com"), "first-pass")
            .await
            .unwrap()
            .is_none()
    );
    s.set_password(&a, "second-pass").await.unwrap();
    assert!(s.verify_login(&a, "first-pass").await.unwrap().is_none());
    assert!(s.verify_login(&a, "second-pass").await.unwrap().is_some());
    s.update_account(
        &a,
        &AccountUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        s.verify_login(&a, "second-pass").await.unwrap().is_none(),
        "disabled accounts cannot log in"
    );
}

async fn aliases_and_send_as(s: &Store) {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    let ann = addr("ann@example.com");
    add_user(s, ann.clone()).await;
    s.add_alias(&addr("sales@example.com"), &ann).await.unwrap();
    s.add_alias(&addr("sales@example.com"), &addr("boss@elsewhere.org"))
        .await
        .unwrap();
    assert!(matches!(
        s.add_alias(&addr("sales@example.com"), &ann).await,
        Err(StoreError::Exists(..))
    ));
    assert!(
        s.add_alias(&ann, &addr("x@elsewhere.org")).await.is_err(),
        "an account is not an alias"
    );
    assert!(s.add_alias(&addr("a@nothosted.com"), &ann).await.is_err());
    let aliases = s.list_aliases(Some(&dom("example.com"))).await.unwrap();
    assert_eq!(aliases.len(), 1);
    assert_eq!(
        aliases[0].targets,
        vec![ann.clone(), addr("boss@elsewhere.org")]
    );
    assert!(s.may_send_as(&ann, &ann).await.unwrap());
    assert!(
        s.may_send_as(&ann, &addr("ann+list@example.com"))
            .await
            .unwrap()
    );
    assert!(
        s.may_send_as(&ann, &addr("sales@example.com"))
            .await
            .unwrap(),
        "an alias of the login"
    );
    assert!(!s.may_send_as(&ann, &addr("ceo@example.com")).await.unwrap());
    s.grant_send_as(&ann, &addr("ceo@example.com"))
        .await
        .unwrap();
    s.grant_send_as(&ann, &addr("ceo@example.com"))
        .await
        .unwrap();
    assert_eq!(
        s.list_send_as(&ann).await.unwrap(),
        vec![addr("ceo@example.com")]
    );
    assert!(s.may_send_as(&ann, &addr("ceo@example.com")).await.unwrap());
    s.revoke_send_as(&ann, &addr("ceo@example.com"))
        .await
        .unwrap();
    assert!(!s.may_send_as(&ann, &addr("ceo@example.com")).await.unwrap());
    assert!(
        s.revoke_send_as(&ann, &addr("ceo@example.com"))
            .await
            .is_err()
    );
    s.remove_alias(
        &addr("sales@example.com"),
        Some(&addr("boss@elsewhere.org")),
    )
    .await
    .unwrap();
    assert_eq!(
        s.alias_targets(&addr("sales@example.com")).await.unwrap(),
        Some(vec![ann.clone()])
    );
    s.remove_alias(&addr("sales@example.com"), None)
        .await
        .unwrap();
    assert_eq!(
        s.alias_targets(&addr("sales@example.com")).await.unwrap(),
        None
    );
}

async fn filters_scopes_and_search(s: &Store) {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    s.add_domain(&dom("other.org"), true, "basic")
        .await
        .unwrap();
    for a in ["ann@example.com", "eve@other.org"] {
        add_user(s, addr(a)).await;
    }
    let p = |x: &str| FilterPattern::parse(x).unwrap();
    s.add_filter(&FilterScope::System, FilterKind::Block, &p("*.xyz"))
        .await
        .unwrap();
    s.add_filter(
        &FilterScope::Domain(dom("example.com")),
        FilterKind::Block,
        &p("spam.com"),
    )
    .await
    .unwrap();
    let user_entry = s
        .add_filter(
            &FilterScope::User(addr("ann@example.com")),
            FilterKind::Block,
            &p("pest@spam.com"),
        )
        .await
        .unwrap();
    s.add_filter(
        &FilterScope::User(addr("eve@other.org")),
        FilterKind::Block,
        &p("pest@spam.com"),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.add_filter(&FilterScope::System, FilterKind::Block, &p("*.XYZ"))
            .await,
        Err(StoreError::Exists(..))
    ));
    assert!(
        s.add_filter(
            &FilterScope::Domain(dom("nothere.com")),
            FilterKind::Block,
            &p("a.com")
        )
        .await
        .is_err()
    );

    let domain_only = s
        .list_filters(&FilterQuery {
            scope: Some(FilterScope::Domain(dom("example.com"))),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(domain_only.len(), 1);
    // "Include Users Blacklist": the domain's list and its users', never another domain's users.
    let with_users = s
        .list_filters(&FilterQuery {
            scope: Some(FilterScope::Domain(dom("example.com"))),
            include_users: true,
            search: Some("pest".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(with_users.len(), 1, "{with_users:?}");
    assert_eq!(
        with_users[0].scope,
        FilterScope::User(addr("ann@example.com"))
    );
    assert_eq!(
        s.list_filters(&FilterQuery::default()).await.unwrap().len(),
        4
    );

    // A domain admin of other.org cannot remove example.com's users' entries.
    assert!(
        s.remove_filter(user_entry.id, Some(&FilterScope::Domain(dom("other.org"))))
            .await
            .is_err()
    );
    s.remove_filter(
        user_entry.id,
        Some(&FilterScope::Domain(dom("example.com"))),
    )
    .await
    .unwrap();
    assert!(
        s.list_entries(&FilterScope::User(addr("ann@example.com")))
            .await
            .unwrap()
            .is_empty()
    );
    let system = s.list_entries(&FilterScope::System).await.unwrap();
    assert!(filter::system_blocks(&system, &addr("a@cheap.xyz")));
}

async fn logs_and_counting(s: &Store) {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    let ann = addr("ann@example.com");
    add_user(s, ann.clone()).await;
    let entry = |rcpt: &str, status| IncomingLogEntry {
        id: 0,
        at: now_ms(),
        client_ip: "192.0.2.1".into(),
        helo: "mx.sender.net".into(),
        sender: "a@sender.net".into(),
        recipient: rcpt.into(),
        domain: "example.com".into(),
        subject: Some("Hello <b>".into()),
        status,
        reply: "250 ok".into(),
    };
    s.log_incoming(&[
        entry("ann@example.com", LogStatus::Accepted),
        entry("nobody@example.com", LogStatus::Rejected),
    ])
    .await
    .unwrap();
    let all = s
        .list_incoming(&IncomingQuery {
            domain: Some(dom("example.com")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let rejected = s
        .list_incoming(&IncomingQuery {
            domain: Some(dom("example.com")),
            status: Some(LogStatus::Rejected),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].recipient, "nobody@example.com");
    let by_rcpt = s
        .list_incoming(&IncomingQuery {
            recipient: Some("ANN@".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_rcpt.len(), 1);
    assert!(
        s.list_incoming(&IncomingQuery {
            domain: Some(dom("other.com")),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );

    assert_eq!(s.sent_since(&ann, day_window_start()).await.unwrap(), 0);
    let id = s
        .record_outgoing(&NewOutgoing {
            account: ann.clone(),
            sender: ann.to_string(),
            subject: Some("hi".into()),
            size: 1234,
            counted: 1,
            recipients: vec![
                ("x@remote.net".into(), DeliveryStatus::Queued, None),
                (
                    "bob@example.com".into(),
                    DeliveryStatus::Delivered,
                    Some("local".into()),
                ),
            ],
        })
        .await
        .unwrap();
    s.record_outgoing(&NewOutgoing {
        account: ann.clone(),
        sender: ann.to_string(),
        subject: None,
        size: 10,
        counted: 3,
        recipients: vec![],
    })
    .await
    .unwrap();
    assert_eq!(s.sent_since(&ann, day_window_start()).await.unwrap(), 4);
    assert_eq!(s.sent_since(&ann, now_ms() + 1000).await.unwrap(), 0);
    s.set_recipient_status(
        id,
        "x@remote.net",
        DeliveryStatus::Deferred,
        Some("mx.remote.net"),
        Some("451 try later"),
    )
    .await
    .unwrap();
    let out = s.list_outgoing(Some(&ann), None, 0, 10).await.unwrap();
    assert_eq!(out.len(), 2);
    let first = out.iter().find(|m| m.id == id).unwrap();
    let x = first
        .recipients
        .iter()
        .find(|r| r.recipient == "x@remote.net")
        .unwrap();
    assert_eq!(
        (x.status, x.host.as_deref(), x.reply.as_deref()),
        (
            DeliveryStatus::Deferred,
            Some("mx.remote.net"),
            Some("451 try later")
        )
    );
    assert_eq!(
        s.list_outgoing(None, Some(&dom("example.com")), 0, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        s.list_outgoing(None, Some(&dom("other.com")), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn new_accounts_get_default_folders(s: &Store) {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    let ann = addr("ann@example.com");
    add_user(s, ann.clone()).await;
    let boxes = s.list_mailboxes(&ann).await.unwrap();
    let names: Vec<&str> = boxes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names[0], "INBOX");
    for want in ["Drafts", "Sent Items", "Junk", "Trash"] {
        assert!(names.contains(&want), "{names:?}");
    }
    let sent = boxes.iter().find(|m| m.name == "Sent Items").unwrap();
    assert_eq!(sent.special_use, Some(SpecialUse::Sent));
    assert_eq!(sent.uidnext, 1);
    assert!(boxes.iter().all(|m| m.uidvalidity > 0));
    s.add_contact(&ann, "Pat", &addr("pat@friends.net"))
        .await
        .unwrap();
    assert!(s.is_contact(&ann, &addr("Pat@Friends.net")).await.unwrap());
    assert!(
        !s.is_contact(&ann, &addr("stranger@friends.net"))
            .await
            .unwrap()
    );
}

async fn removing_a_domain(s: &Store) {
    let d = dom("example.com");
    s.add_domain(&d, true, "basic").await.unwrap();
    add_user(s, addr("ann@example.com")).await;
    s.add_alias(&addr("info@example.com"), &addr("ann@example.com"))
        .await
        .unwrap();
    let err = s.remove_domain(&d, false).await.unwrap_err().to_string();
    assert!(err.contains("still has 1 account"), "{err}");
    s.remove_domain(&d, true).await.unwrap();
    assert!(s.find_domain(&d).await.unwrap().is_none());
    assert!(
        s.find_account(&addr("ann@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.list_aliases(None).await.unwrap().is_empty());
    // The name can be used again.
    s.add_domain(&d, true, "basic").await.unwrap();
}

async fn reopening_keeps_data(s: &Store) {
    // Migrating an up-to-date store again is a no-op.
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    s.migrate_again_for_tests().await.unwrap();
    assert_eq!(s.list_domains().await.unwrap().len(), 1);
    assert_eq!(s.list_plans().await.unwrap().len(), 2);
}

#[tokio::test]
async fn blobs_are_content_addressed_and_durable() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::open(dir.path().join("blobs")).unwrap();
    let id = blobs.put(b"Subject: hi\r\n\r\nbody\r\n").await.unwrap();
    assert_eq!(id, BlobId::of(b"Subject: hi\r\n\r\nbody\r\n"));
    assert_eq!(
        blobs.put(b"Subject: hi\r\n\r\nbody\r\n").await.unwrap(),
        id,
        "same bytes, same id"
    );
    assert_eq!(
        blobs.get(&id).await.unwrap(),
        b"Subject: hi\r\n\r\nbody\r\n"
    );
    let path = blobs.path_of(&id);
    assert!(path.starts_with(dir.path().join("blobs").join(&id.as_str()[..2])));
    // A spooled file moves in without a copy.
    let spooled = blobs.spool_dir().join("incoming");
    std::fs::write(&spooled, b"second").unwrap();
    let id2 = BlobId::of(b"second");
    blobs.put_file(&spooled, &id2).await.unwrap();
    assert!(!spooled.exists());
    assert_eq!(blobs.get(&id2).await.unwrap(), b"second");
    blobs.delete(&id2).await.unwrap();
    assert!(!blobs.exists(&id2).await.unwrap());
    assert!(matches!(
        blobs.get(&id2).await,
        Err(StoreError::NotFound("blob", _))
    ));
    std::fs::write(blobs.spool_dir().join("left-by-a-crash"), b"partial").unwrap();
    assert_eq!(blobs.sweep_spool().unwrap(), 1);
    assert_eq!(std::fs::read_dir(blobs.spool_dir()).unwrap().count(), 0);
    assert!(
        blobs.exists(&id).await.unwrap(),
        "stored blobs are untouched"
    );
    assert!(BlobId::parse(id.as_str()).is_some());
    assert!(BlobId::parse("../../etc/passwd").is_none());
}

async fn group_commit_delivers_queues_and_logs(s: &Store) {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    for a in ["ann@example.com", "bob@example.com"] {
        add_user(s, addr(a)).await;
    }
    let log = |rcpt: &str| IncomingLogEntry {
        id: 0,
        at: now_ms(),
        client_ip: "127.0.0.1".into(),
        helo: "c".into(),
        sender: "x@remote.org".into(),
        recipient: rcpt.into(),
        domain: "example.com".into(),
        subject: Some("s".into()),
        status: LogStatus::Accepted,
        reply: "250 ok".into(),
    };
    let c1 = Commit {
        blob_id: "a".repeat(64),
        size: 10,
        index: IndexData::default(),
        sender: "x@remote.org".into(),
        local: vec![addr("ann@example.com"), addr("bob@example.com")],
        remote: vec![],
        outgoing: None,
        incoming_log: vec![log("ann@example.com"), log("bob@example.com")],
    };
    let c2 = Commit {
        blob_id: "b".repeat(64),
        size: 20,
        index: IndexData::default(),
        sender: "ann@example.com".into(),
        local: vec![addr("bob@example.com")],
        remote: vec![addr("friend@elsewhere.net")],
        outgoing: Some(NewOutgoing {
            account: addr("ann@example.com"),
            sender: "ann@example.com".into(),
            subject: None,
            size: 20,
            counted: 1,
            recipients: vec![
                (
                    "bob@example.com".into(),
                    DeliveryStatus::Delivered,
                    Some("local".into()),
                ),
                ("friend@elsewhere.net".into(), DeliveryStatus::Queued, None),
            ],
        }),
        incoming_log: vec![],
    };
    // A commit for an account that does not exist fails alone; the others still land.
    let bad = Commit {
        local: vec![addr("ghost@example.com")],
        ..c1.clone()
    };
    let results = s.commit_batch(&[c1, bad, c2]).await;
    assert!(
        results[0].is_ok() && results[1].is_err() && results[2].is_ok(),
        "{results:?}"
    );
    let bob = s.inbox_blobs(&addr("bob@example.com")).await.unwrap();
    assert_eq!(
        bob,
        vec![(1, "a".repeat(64)), (2, "b".repeat(64))],
        "UIDs grow from 1"
    );
    assert_eq!(s.inbox_count(&addr("ann@example.com")).await.unwrap(), 1);
    let inbox = s
        .list_mailboxes(&addr("bob@example.com"))
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.name == "INBOX")
        .unwrap();
    assert_eq!((inbox.uidnext, inbox.highest_modseq), (3, 3));
    let queue = s.list_queue().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (
            queue[0].recipient.as_str(),
            queue[0].domain.as_str(),
            queue[0].status.as_str()
        ),
        ("friend@elsewhere.net", "elsewhere.net", "queued")
    );
    assert!(queue[0].outgoing_id.is_some());
    assert_eq!(
        s.sent_since(&addr("ann@example.com"), day_window_start())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.list_incoming(&IncomingQuery::default())
            .await
            .unwrap()
            .len(),
        2,
        "the failed commit's logs are not kept"
    );
}
