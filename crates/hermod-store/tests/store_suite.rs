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
    mailboxes_are_created_and_deleted,
    renaming_mailboxes,
    uids_grow_and_are_never_reused,
    storing_flags,
    changes_since_a_modseq,
    copying_and_moving,
    expunge_removes_only_deleted_messages,
    counts_and_quota,
    fetching_more_than_a_chunk,
    watchers_wake_on_changes,
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
        local: vec![
            LocalCopy::inbox(addr("ann@example.com")),
            LocalCopy::inbox(addr("bob@example.com")),
        ],
        remote: vec![],
        outgoing: None,
        derived: Vec::new(),
        auto_replied: Vec::new(),
        incoming_log: vec![log("ann@example.com"), log("bob@example.com")],
    };
    let c2 = Commit {
        blob_id: "b".repeat(64),
        size: 20,
        index: IndexData::default(),
        sender: "ann@example.com".into(),
        local: vec![LocalCopy::inbox(addr("bob@example.com"))],
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
        derived: Vec::new(),
        auto_replied: Vec::new(),
        incoming_log: vec![],
    };
    // A commit for an account that does not exist fails alone; the others still land.
    let bad = Commit {
        local: vec![LocalCopy::inbox(addr("ghost@example.com"))],
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

// The IMAP message index (messages.rs).

/// example.com with one account, ann@example.com, and its default folders.
async fn mail_account(s: &Store) -> EmailAddress {
    s.add_domain(&dom("example.com"), true, "basic")
        .await
        .unwrap();
    let ann = addr("ann@example.com");
    add_user(s, ann.clone()).await;
    ann
}

/// A mailbox as stored now (its uidnext and highest_modseq move on; a `Mailbox` does not).
async fn mailbox(s: &Store, account: &EmailAddress, name: &str) -> Mailbox {
    s.get_mailbox(account, name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no mailbox {name}"))
}

fn flags(f: &[&str]) -> Vec<String> {
    f.iter().map(|s| s.to_string()).collect()
}

/// Message `n`: its own blob id, dates and index data, so copies can be told apart.
fn message(n: u32, size: u64, with_flags: &[&str]) -> NewMessage {
    NewMessage {
        blob_id: format!("{n:064x}"),
        size,
        flags: flags(with_flags),
        internal_date: 1_700_000_000_000 + i64::from(n) * 1000,
        index: IndexData {
            envelope: format!("(\"envelope {n}\")"),
            body_structure: format!("(\"body structure {n}\")"),
            body: format!("(\"body {n}\")"),
            parts: format!("0-{size}"),
            sent_date: n.is_multiple_of(2).then_some(1_600_000_000 + i64::from(n)),
        },
    }
}

async fn uids_in(s: &Store, mailbox_id: i64) -> Vec<u32> {
    let states = s.message_states(mailbox_id).await.unwrap();
    states.iter().map(|m| m.uid).collect()
}

async fn sorted_names(s: &Store, account: &EmailAddress) -> Vec<String> {
    let mut names: Vec<String> = s
        .list_mailboxes(account)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    // list_mailboxes sorts by the database's collation; compare as sets.
    names.sort();
    names
}

async fn mailboxes_are_created_and_deleted(s: &Store) {
    let ann = mail_account(s).await;
    let defaults = s.list_mailboxes(&ann).await.unwrap();
    let work = s
        .create_mailbox(&ann, "Work", Some(SpecialUse::Archive))
        .await
        .unwrap();
    assert_eq!(
        (work.name.as_str(), work.uidnext, work.highest_modseq),
        ("Work", 1, 1)
    );
    assert_eq!(work.special_use, Some(SpecialUse::Archive));
    assert!(work.subscribed);
    assert!(
        defaults.iter().all(|m| work.uidvalidity > m.uidvalidity),
        "a new UIDVALIDITY is higher than any the account has had"
    );
    assert_eq!(
        s.get_mailbox(&ann, "Work").await.unwrap(),
        Some(work.clone())
    );
    assert_eq!(s.get_mailbox(&ann, "Play").await.unwrap(), None);
    assert!(matches!(
        s.create_mailbox(&ann, "Work", None).await,
        Err(StoreError::Exists("mailbox", _))
    ));

    // Deleting takes the messages with it; a session still holding the mailbox cannot add more.
    s.append_messages(&work, &[message(1, 10, &[])])
        .await
        .unwrap();
    s.delete_mailbox(&ann, "Work").await.unwrap();
    assert_eq!(s.get_mailbox(&ann, "Work").await.unwrap(), None);
    assert_eq!(s.quota_usage(&ann).await.unwrap(), 0);
    assert!(matches!(
        s.delete_mailbox(&ann, "Work").await,
        Err(StoreError::NotFound("mailbox", _))
    ));
    assert!(
        s.append_messages(&work, &[message(2, 10, &[])])
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Re-created under the same name, it must not look like the old one to a client's cache.
    let again = s.create_mailbox(&ann, "Work", None).await.unwrap();
    assert!(
        again.uidvalidity > work.uidvalidity,
        "re-created UIDVALIDITY {} is not above the deleted one's {}",
        again.uidvalidity,
        work.uidvalidity
    );
    assert_eq!((again.uidnext, again.special_use), (1, None));
    assert!(s.message_states(again.id).await.unwrap().is_empty());

    // Deleting a parent leaves its children.
    s.create_mailbox(&ann, "Work/2024", None).await.unwrap();
    s.delete_mailbox(&ann, "Work").await.unwrap();
    assert!(s.get_mailbox(&ann, "Work/2024").await.unwrap().is_some());
}

async fn renaming_mailboxes(s: &Store) {
    let ann = mail_account(s).await;
    for name in ["a", "a/x", "a/x/y", "ab", "c/x"] {
        s.create_mailbox(&ann, name, None).await.unwrap();
    }
    let ax = mailbox(s, &ann, "a/x").await;
    s.append_messages(&ax, &[message(1, 10, &["\\Seen"])])
        .await
        .unwrap();

    // Children move along; "ab" only shares a prefix and stays.
    s.rename_mailbox(&ann, "a", "b").await.unwrap();
    let after = sorted_names(s, &ann).await;
    let mut want: Vec<String> = [
        "INBOX",
        "Drafts",
        "Sent Items",
        "Junk",
        "Trash",
        "ab",
        "b",
        "b/x",
        "b/x/y",
        "c/x",
    ]
    .map(String::from)
    .to_vec();
    want.sort();
    assert_eq!(after, want);
    let bx = mailbox(s, &ann, "b/x").await;
    assert_eq!(
        (bx.id, bx.uidvalidity),
        (ax.id, ax.uidvalidity),
        "a renamed mailbox is the same mailbox"
    );
    assert_eq!(uids_in(s, bx.id).await, [1]);

    // Onto an existing name, or one of whose children would collide: refused, nothing moved.
    assert!(matches!(
        s.rename_mailbox(&ann, "b", "ab").await,
        Err(StoreError::Exists("mailbox", _))
    ));
    assert!(matches!(
        s.rename_mailbox(&ann, "b", "c").await,
        Err(StoreError::Exists("mailbox", _))
    ));
    assert_eq!(sorted_names(s, &ann).await, want);
    assert!(matches!(
        s.rename_mailbox(&ann, "nope", "nope2").await,
        Err(StoreError::NotFound("mailbox", _))
    ));

    // Renaming INBOX moves its messages to the new mailbox; INBOX stays, empty.
    let inbox = mailbox(s, &ann, "INBOX").await;
    let uids = s
        .append_messages(
            &inbox,
            &[message(2, 20, &["\\Flagged"]), message(3, 30, &[])],
        )
        .await
        .unwrap();
    assert!(matches!(
        s.rename_mailbox(&ann, "INBOX", "ab").await,
        Err(StoreError::Exists("mailbox", _))
    ));
    s.rename_mailbox(&ann, "INBOX", "Old Mail").await.unwrap();
    let old = mailbox(s, &ann, "Old Mail").await;
    let moved: Vec<(String, Vec<String>)> = s
        .fetch_messages(old.id, &[1, 2])
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.blob_id, m.flags))
        .collect();
    assert_eq!(
        moved,
        [
            (message(2, 0, &[]).blob_id, flags(&["\\Flagged"])),
            (message(3, 0, &[]).blob_id, flags(&[])),
        ]
    );
    let still = mailbox(s, &ann, "INBOX").await;
    assert_eq!(
        (still.id, still.uidvalidity, still.uidnext),
        (inbox.id, inbox.uidvalidity, 3)
    );
    assert!(s.message_states(still.id).await.unwrap().is_empty());
    assert_eq!(
        s.expunged_since(inbox.id, inbox.highest_modseq)
            .await
            .unwrap(),
        uids,
        "sessions on INBOX see the messages go"
    );
}

async fn uids_grow_and_are_never_reused(s: &Store) {
    let ann = mail_account(s).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    assert_eq!((inbox.uidnext, inbox.highest_modseq), (1, 1));
    let mut modseqs = vec![inbox.highest_modseq];

    let uids = s
        .append_messages(
            &inbox,
            &[
                message(1, 10, &[]),
                message(2, 10, &[]),
                message(3, 10, &[]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(uids, [1, 2, 3]);
    let now = mailbox(s, &ann, "INBOX").await;
    assert_eq!(now.uidnext, 4);
    modseqs.push(now.highest_modseq);
    let states = s.message_states(inbox.id).await.unwrap();
    assert!(
        states.iter().all(|m| m.modseq == now.highest_modseq),
        "{states:?}"
    );

    // The highest UID goes; it is not handed out again.
    s.store_flags(&inbox, &[3], FlagOp::Add, &flags(&["\\Deleted"]), None)
        .await
        .unwrap();
    modseqs.push(mailbox(s, &ann, "INBOX").await.highest_modseq);
    assert_eq!(s.expunge(&inbox, None).await.unwrap(), [3]);
    modseqs.push(mailbox(s, &ann, "INBOX").await.highest_modseq);
    assert_eq!(
        s.append_messages(&inbox, &[message(4, 10, &[])])
            .await
            .unwrap(),
        [4]
    );
    let now = mailbox(s, &ann, "INBOX").await;
    modseqs.push(now.highest_modseq);
    assert_eq!(now.uidnext, 5);
    assert_eq!(uids_in(s, inbox.id).await, [1, 2, 4]);

    // Not even when the mailbox is emptied.
    s.store_flags(
        &inbox,
        &[1, 2, 4],
        FlagOp::Add,
        &flags(&["\\Deleted"]),
        None,
    )
    .await
    .unwrap();
    s.expunge(&inbox, None).await.unwrap();
    assert_eq!(
        s.append_messages(&inbox, &[message(5, 10, &[]), message(6, 10, &[])])
            .await
            .unwrap(),
        [5, 6]
    );
    let now = mailbox(s, &ann, "INBOX").await;
    modseqs.push(now.highest_modseq);
    assert_eq!(now.uidnext, 7);
    assert!(
        modseqs.windows(2).all(|w| w[0] < w[1]),
        "HIGHESTMODSEQ only grows: {modseqs:?}"
    );
}

async fn storing_flags(s: &Store) {
    let ann = mail_account(s).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    s.append_messages(
        &inbox,
        &[
            message(1, 10, &[]),
            message(2, 10, &["\\Seen"]),
            message(3, 10, &["Work"]),
        ],
    )
    .await
    .unwrap();
    let m0 = mailbox(s, &ann, "INBOX").await.highest_modseq;
    let state = |uid, modseq, f: &[&str]| MessageState {
        uid,
        modseq,
        flags: flags(f),
    };

    // Add, in any case: one new MODSEQ shared by the messages that changed; 2 already had it.
    let r = s
        .store_flags(&inbox, &[1, 2, 3], FlagOp::Add, &flags(&["\\SEEN"]), None)
        .await
        .unwrap();
    let m1 = mailbox(s, &ann, "INBOX").await.highest_modseq;
    assert!(m1 > m0);
    assert_eq!(
        r,
        FlagResult {
            changed: vec![state(1, m1, &["\\Seen"]), state(3, m1, &["Work", "\\Seen"])],
            failed: vec![],
        }
    );
    assert_eq!(
        s.message_states(inbox.id).await.unwrap(),
        [
            state(1, m1, &["\\Seen"]),
            state(2, m0, &["\\Seen"]),
            state(3, m1, &["Work", "\\Seen"]),
        ],
        "an unchanged message keeps its MODSEQ"
    );

    // Remove, case-insensitively.
    let r = s
        .store_flags(&inbox, &[1], FlagOp::Remove, &flags(&["\\seen"]), None)
        .await
        .unwrap();
    let m2 = mailbox(s, &ann, "INBOX").await.highest_modseq;
    assert!(m2 > m1);
    assert_eq!(r.changed, [state(1, m2, &[])]);

    // Replace; \Recent cannot be set by a client.
    let r = s
        .store_flags(
            &inbox,
            &[2],
            FlagOp::Replace,
            &flags(&["\\flagged", "\\Recent", "$Label"]),
            None,
        )
        .await
        .unwrap();
    let m3 = mailbox(s, &ann, "INBOX").await.highest_modseq;
    assert!(m3 > m2);
    assert_eq!(r.changed, [state(2, m3, &["\\Flagged", "$Label"])]);

    // Nothing to change, or no such message: no new MODSEQ.
    for (uids, f) in [(&[3][..], "work"), (&[99][..], "\\Seen")] {
        let r = s
            .store_flags(&inbox, uids, FlagOp::Add, &flags(&[f]), None)
            .await
            .unwrap();
        assert_eq!(r, FlagResult::default());
    }
    assert_eq!(mailbox(s, &ann, "INBOX").await.highest_modseq, m3);

    // UNCHANGEDSINCE m2: message 2 changed later (m3), so it fails and is left alone.
    let r = s
        .store_flags(
            &inbox,
            &[1, 2, 3],
            FlagOp::Add,
            &flags(&["\\Answered"]),
            Some(m2),
        )
        .await
        .unwrap();
    let m4 = mailbox(s, &ann, "INBOX").await.highest_modseq;
    assert!(m4 > m3);
    assert_eq!(
        r,
        FlagResult {
            changed: vec![
                state(1, m4, &["\\Answered"]),
                state(3, m4, &["Work", "\\Seen", "\\Answered"]),
            ],
            failed: vec![2],
        }
    );
    assert_eq!(
        s.message_states(inbox.id).await.unwrap()[1],
        state(2, m3, &["\\Flagged", "$Label"])
    );
}

async fn changes_since_a_modseq(s: &Store) {
    let ann = mail_account(s).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    s.append_messages(
        &inbox,
        &[
            message(1, 10, &[]),
            message(2, 10, &[]),
            message(3, 10, &[]),
        ],
    )
    .await
    .unwrap();
    let before = mailbox(s, &ann, "INBOX").await.highest_modseq;

    s.store_flags(&inbox, &[1], FlagOp::Add, &flags(&["\\Seen"]), None)
        .await
        .unwrap();
    s.append_messages(&inbox, &[message(4, 10, &["\\Draft"])])
        .await
        .unwrap();
    s.store_flags(&inbox, &[2], FlagOp::Add, &flags(&["\\Deleted"]), None)
        .await
        .unwrap();
    s.expunge(&inbox, None).await.unwrap();

    let now = mailbox(s, &ann, "INBOX").await;
    let states = s.message_states(inbox.id).await.unwrap();
    let c = s.changes_since(inbox.id, before).await.unwrap();
    assert_eq!(
        c,
        Changes {
            changed: vec![states[0].clone(), states[2].clone()],
            expunged: vec![2],
            highest_modseq: now.highest_modseq,
        },
        "message 3 did not change; message 2 is gone, not changed"
    );
    assert_eq!((c.changed[0].uid, c.changed[1].uid), (1, 4));
    assert_eq!(
        s.changes_since(inbox.id, now.highest_modseq).await.unwrap(),
        Changes {
            highest_modseq: now.highest_modseq,
            ..Changes::default()
        }
    );
    assert!(
        s.changes_since(-1, 0).await.unwrap_err().is_not_found(),
        "no such mailbox"
    );
}

async fn copying_and_moving(s: &Store) {
    let ann = mail_account(s).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    let work = s.create_mailbox(&ann, "Work", None).await.unwrap();
    s.append_messages(
        &inbox,
        &[
            message(1, 100, &["\\Seen"]),
            message(2, 200, &["\\Flagged", "Project"]),
            message(3, 300, &[]),
        ],
    )
    .await
    .unwrap();
    s.append_messages(&work, &[message(9, 900, &[])])
        .await
        .unwrap();

    // COPY: COPYUID pairs for the messages that exist; each copy is the same message.
    let pairs = s.copy_messages(inbox.id, &[1, 3, 99], &work).await.unwrap();
    assert_eq!(pairs, [(1, 2), (3, 3)]);
    let work_now = mailbox(s, &ann, "Work").await;
    assert_eq!(work_now.uidnext, 4);
    let sources = s.fetch_messages(inbox.id, &[1, 3]).await.unwrap();
    let copies = s.fetch_messages(work.id, &[2, 3]).await.unwrap();
    assert_eq!(copies.len(), 2);
    for (copy, source) in copies.iter().zip(&sources) {
        let want = MessageMeta {
            mailbox_id: work.id,
            uid: copy.uid,
            modseq: work_now.highest_modseq,
            ..source.clone()
        };
        assert_eq!(*copy, want);
    }
    assert_eq!(
        uids_in(s, inbox.id).await,
        [1, 2, 3],
        "COPY leaves the source"
    );

    // Copying messages that do not exist copies nothing and changes nothing.
    assert!(
        s.copy_messages(inbox.id, &[7, 8], &work)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(mailbox(s, &ann, "Work").await, work_now);

    // MOVE: the message arrives in Work and is expunged from INBOX.
    let inbox_before = mailbox(s, &ann, "INBOX").await;
    let pairs = s.move_messages(inbox.id, &[2, 99], work.id).await.unwrap();
    assert_eq!(pairs, [(2, 4)]);
    assert_eq!(uids_in(s, inbox.id).await, [1, 3]);
    assert_eq!(
        s.expunged_since(inbox.id, inbox_before.highest_modseq)
            .await
            .unwrap(),
        [2]
    );
    let moved = &s.fetch_messages(work.id, &[4]).await.unwrap()[0];
    let original = message(2, 200, &["\\Flagged", "Project"]);
    assert_eq!(
        (
            moved.flags.clone(),
            moved.blob_id.as_str(),
            moved.internal_date,
            moved.size
        ),
        (
            original.flags,
            original.blob_id.as_str(),
            original.internal_date,
            200
        )
    );
    assert_eq!(mailbox(s, &ann, "Work").await.uidnext, 5);
    assert_eq!(
        s.quota_usage(&ann).await.unwrap(),
        100 + 200 + 300 + 900 + 100 + 300,
        "moved once, not duplicated"
    );
}

async fn expunge_removes_only_deleted_messages(s: &Store) {
    let ann = mail_account(s).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    s.append_messages(
        &inbox,
        &[
            message(1, 10, &["\\Deleted"]),
            message(2, 10, &["\\Seen", "\\Deleted"]),
            message(3, 10, &["\\Seen"]),
            message(4, 10, &["\\Deleted"]),
            message(5, 10, &[]),
        ],
    )
    .await
    .unwrap();

    // UID EXPUNGE 2,3,5: only 2 is both listed and \Deleted.
    assert_eq!(s.expunge(&inbox, Some(&[2, 3, 5])).await.unwrap(), [2]);
    assert_eq!(uids_in(s, inbox.id).await, [1, 3, 4, 5]);

    assert_eq!(s.expunge(&inbox, None).await.unwrap(), [1, 4]);
    assert_eq!(uids_in(s, inbox.id).await, [3, 5]);

    let quiet = mailbox(s, &ann, "INBOX").await;
    assert!(s.expunge(&inbox, None).await.unwrap().is_empty());
    assert_eq!(
        mailbox(s, &ann, "INBOX").await.highest_modseq,
        quiet.highest_modseq,
        "nothing expunged, no new MODSEQ"
    );
    assert_eq!(s.expunged_since(inbox.id, 0).await.unwrap(), [1, 2, 4]);
}

async fn counts_and_quota(s: &Store) {
    let ann = mail_account(s).await;
    add_user(s, addr("bob@example.com")).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    let work = s.create_mailbox(&ann, "Work", None).await.unwrap();
    assert_eq!(
        s.mailbox_counts(work.id).await.unwrap(),
        MailboxCounts::default()
    );
    assert_eq!(s.quota_usage(&ann).await.unwrap(), 0);

    s.append_messages(
        &inbox,
        &[
            message(1, 100, &[]),
            message(2, 200, &["\\Seen"]),
            message(3, 300, &["\\Seen", "\\Deleted"]),
        ],
    )
    .await
    .unwrap();
    s.append_messages(&work, &[message(4, 1000, &["\\Deleted"])])
        .await
        .unwrap();
    let bob_inbox = mailbox(s, &addr("bob@example.com"), "INBOX").await;
    s.append_messages(&bob_inbox, &[message(5, 5000, &[])])
        .await
        .unwrap();

    assert_eq!(
        s.mailbox_counts(inbox.id).await.unwrap(),
        MailboxCounts {
            messages: 3,
            unseen: 1,
            deleted: 1,
            size: 600
        }
    );
    assert_eq!(
        s.mailbox_counts(work.id).await.unwrap(),
        MailboxCounts {
            messages: 1,
            unseen: 1,
            deleted: 1,
            size: 1000
        }
    );
    assert_eq!(s.quota_usage(&ann).await.unwrap(), 1600);
    assert_eq!(s.quota_usage(&addr("bob@example.com")).await.unwrap(), 5000);

    // Reading a message and expunging one are reflected at once.
    s.store_flags(&inbox, &[1], FlagOp::Add, &flags(&["\\Seen"]), None)
        .await
        .unwrap();
    s.expunge(&work, None).await.unwrap();
    assert_eq!(s.mailbox_counts(inbox.id).await.unwrap().unseen, 0);
    assert_eq!(
        s.mailbox_counts(work.id).await.unwrap(),
        MailboxCounts::default()
    );
    assert_eq!(s.quota_usage(&ann).await.unwrap(), 600);
}

async fn fetching_more_than_a_chunk(s: &Store) {
    const N: u32 = 1200;
    let ann = mail_account(s).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    let new: Vec<NewMessage> = (1..=N)
        .map(|n| message(n, 100 + u64::from(n), &[]))
        .collect();
    let uids = s.append_messages(&inbox, &new).await.unwrap();
    assert_eq!(uids, (1..=N).collect::<Vec<_>>());
    let modseq = mailbox(s, &ann, "INBOX").await.highest_modseq;
    let expected: Vec<MessageMeta> = new
        .iter()
        .zip(&uids)
        .map(|(m, &uid)| MessageMeta {
            mailbox_id: inbox.id,
            uid,
            modseq,
            flags: vec![],
            internal_date: m.internal_date,
            size: m.size,
            blob_id: m.blob_id.clone(),
            envelope: m.index.envelope.clone(),
            body_structure: m.index.body_structure.clone(),
            body: m.index.body.clone(),
            parts: m.index.parts.clone(),
            sent_date: m.index.sent_date,
        })
        .collect();

    let mut asked = uids.clone();
    asked.push(N + 100); // never existed: simply absent
    let got = s.fetch_messages(inbox.id, &asked).await.unwrap();
    assert_eq!(got.len(), N as usize);
    assert_eq!(got, expected);

    let odd: Vec<u32> = (1..=N).step_by(2).collect();
    let got = s.fetch_messages(inbox.id, &odd).await.unwrap();
    assert_eq!(got.iter().map(|m| m.uid).collect::<Vec<_>>(), odd);
    assert!(s.fetch_messages(inbox.id, &[]).await.unwrap().is_empty());
}

async fn watchers_wake_on_changes(s: &Store) {
    use std::time::Duration;
    use tokio::sync::watch;

    async fn woken(rx: &mut watch::Receiver<u64>, after: &str) {
        tokio::time::timeout(Duration::from_secs(2), rx.changed())
            .await
            .unwrap_or_else(|_| panic!("no wake-up within 2 s after {after}"))
            .unwrap();
    }

    let ann = mail_account(s).await;
    add_user(s, addr("bob@example.com")).await;
    let inbox = mailbox(s, &ann, "INBOX").await;
    let mut rx = s.watch_account(&ann);
    let bob_rx = s.watch_account(&addr("bob@example.com"));

    s.append_messages(&inbox, &[message(1, 10, &[]), message(2, 10, &[])])
        .await
        .unwrap();
    woken(&mut rx, "APPEND").await;

    s.store_flags(&inbox, &[1], FlagOp::Add, &flags(&["\\Deleted"]), None)
        .await
        .unwrap();
    woken(&mut rx, "STORE").await;

    // A STORE that changes nothing wakes nobody.
    s.store_flags(&inbox, &[1], FlagOp::Add, &flags(&["\\Deleted"]), None)
        .await
        .unwrap();
    assert!(!rx.has_changed().unwrap());

    s.expunge(&inbox, None).await.unwrap();
    woken(&mut rx, "EXPUNGE").await;

    let delivery = Commit {
        blob_id: "c".repeat(64),
        size: 10,
        index: IndexData::default(),
        sender: "x@remote.org".into(),
        local: vec![LocalCopy::inbox(ann.clone())],
        remote: vec![],
        outgoing: None,
        derived: Vec::new(),
        auto_replied: Vec::new(),
        incoming_log: vec![],
    };
    let results = s.commit_batch(&[delivery]).await;
    assert!(results[0].is_ok(), "{results:?}");
    woken(&mut rx, "a delivery").await;
    assert_eq!(uids_in(s, inbox.id).await, [2, 3]);

    assert!(
        !bob_rx.has_changed().unwrap(),
        "another account's watcher is not woken"
    );
}
