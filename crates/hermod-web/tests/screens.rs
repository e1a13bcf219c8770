//! The newer screens: Incoming Logs, domain Filtering, Aliases, the Auto-reply action, the
//! user's accept policy and the operator console — all through `hermod_web::app`.

mod common;

use axum::http::{StatusCode, header};
use common::*;
use hermod_model::{IncomingLogEntry, LogStatus};

async fn page(t: &TestApp, c: &Client, path: &str) -> String {
    let r = t.get(c, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.text
}

fn entry(
    at: i64,
    sender: &str,
    recipient: &str,
    domain: &str,
    status: LogStatus,
    reply: &str,
) -> IncomingLogEntry {
    IncomingLogEntry {
        id: 0,
        at,
        client_ip: "192.0.2.1".into(),
        helo: "mx.remote.example".into(),
        sender: sender.into(),
        recipient: recipient.into(),
        domain: domain.into(),
        subject: Some("<b>hello</b>".into()),
        status,
        reply: reply.into(),
    }
}

/// 2024-03-01T12:00:00Z and 2024-03-05T12:00:00Z in Unix milliseconds.
const MAR_1: i64 = 1_709_294_400_000;
const MAR_5: i64 = 1_709_640_000_000;

#[tokio::test]
async fn incoming_logs_filter_and_stay_within_the_tenant() {
    let t = setup().await;
    t.store
        .log_incoming(&[
            entry(
                MAR_1,
                "friend@good.example",
                "ann@a.example",
                "a.example",
                LogStatus::Accepted,
                "250 ok",
            ),
            entry(
                MAR_5,
                "spam@bad.xyz",
                "ann@a.example",
                "a.example",
                LogStatus::Rejected,
                "550 That sender cannot send mail here <x>",
            ),
            entry(
                MAR_5,
                "friend@good.example",
                "joann@a.example",
                "a.example",
                LogStatus::Accepted,
                "250 ok",
            ),
            entry(
                MAR_5,
                "spam@bad.xyz",
                "bob@b.example",
                "b.example",
                LogStatus::Rejected,
                "550 secret-of-b",
            ),
        ])
        .await
        .unwrap();
    let admin = t.login("admin@a.example").await;
    let all = page(&t, &admin, "/admin/logs").await;
    assert!(all.contains("joann@a.example") && all.contains("ann@a.example"));
    assert!(!all.contains("bob@b.example") && !all.contains("secret-of-b"));
    // The reason is shown, escaped.
    assert!(all.contains("550 That sender cannot send mail here &#60;x&#62;"));
    assert!(all.contains("&#60;b&#62;hello&#60;/b&#62;") && !all.contains("<b>hello</b>"));
    assert!(all.contains("<label for=\"log-from\">") && all.contains("<label for=\"log-status\">"));
    // Status filter.
    let rejected = page(&t, &admin, "/admin/logs?status=Rejected").await;
    assert!(rejected.contains("bad.xyz") && !rejected.contains("good.example"));
    // Date range: only 1 March.
    let day = page(&t, &admin, "/admin/logs?from=2024-03-01&until=2024-03-01").await;
    assert!(day.contains("2024-03-01 12:00:00 UTC") && !day.contains("2024-03-05"));
    // Sender and recipient filters.
    let s = page(&t, &admin, "/admin/logs?sender=friend&recipient=joann").await;
    assert!(s.contains("joann@a.example") && !s.contains("bad.xyz"));
    // A bad date is explained, not a crash.
    let r = t.get(&admin, "/admin/logs?from=yesterday").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("YYYY-MM-DD"));
    // Another tenant's domain is not there at all.
    assert_eq!(
        t.get(&admin, "/admin/logs?domain=b.example").await.status,
        StatusCode::NOT_FOUND
    );
    // The operator sees everything.
    let op = t.login("op@a.example").await;
    assert!(page(&t, &op, "/admin/logs").await.contains("secret-of-b"));
    // A user has no Admin Panel, but sees their own entries in the User Panel.
    let ann = t.login("ann@a.example").await;
    assert_eq!(
        t.get(&ann, "/admin/logs").await.status,
        StatusCode::NOT_FOUND
    );
    let own = page(&t, &ann, "/panel/logs").await;
    assert!(
        own.contains("bad.xyz")
            && !own.contains("joann@a.example")
            && !own.contains("bob@b.example")
    );
    // An admin's User Panel view is their own too.
    assert!(
        !page(&t, &admin, "/panel/logs")
            .await
            .contains("ann@a.example")
    );
    let anon = Client {
        cookie: String::new(),
        csrf: String::new(),
    };
    assert_eq!(
        t.get(&anon, "/admin/logs").await.headers[header::LOCATION],
        "/login"
    );
}

#[tokio::test]
async fn domain_filtering_include_users_blacklist_and_the_minus_sign() {
    use hermod_model::{FilterKind, FilterMode, FilterPattern, FilterScope};
    let t = setup().await;
    let block = |scope: FilterScope, p: &str| {
        let store = t.store.clone();
        let p = FilterPattern::parse(p).unwrap();
        async move {
            store
                .add_filter(&scope, FilterKind::Block, &p)
                .await
                .unwrap()
        }
    };
    block(
        FilterScope::User(addr("ann@a.example")),
        "pest@spam.example",
    )
    .await;
    block(
        FilterScope::User(addr("bob@b.example")),
        "pest@spam.example",
    )
    .await;
    block(FilterScope::Domain(dom("a.example")), "other.example").await;
    let admin = t.login("admin@a.example").await;
    // Admin Panel → Filtering opens the admin's domain.
    let r = t.get(&admin, "/admin/filtering").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers[header::LOCATION],
        "/admin/domains/a.example/filtering"
    );
    let own = page(&t, &admin, "/admin/domains/a.example/filtering").await;
    assert!(own.contains("other.example") && !own.contains("pest@spam.example"));
    assert!(own.contains("Include Users Blacklist") && own.contains("Accept e-mails from"));
    // Include Users Blacklist → search → only this domain's users' entries.
    let found = page(
        &t,
        &admin,
        "/admin/domains/a.example/filtering?search=spam.example&include_users=on",
    )
    .await;
    assert!(found.contains("pest@spam.example") && found.contains("ann@a.example"));
    assert!(!found.contains("bob@b.example") && !found.contains("other.example"));
    let ann_entry = t
        .store
        .list_filters(&hermod_store::FilterQuery {
            scope: Some(FilterScope::User(addr("ann@a.example"))),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    let bob_entry = t
        .store
        .list_filters(&hermod_store::FilterQuery {
            scope: Some(FilterScope::User(addr("bob@b.example"))),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id;
    assert!(found.contains(&format!(
        "/admin/domains/a.example/filtering/{ann_entry}/remove"
    )));
    // The minus sign removes ann's entry and shows the same search again.
    let r = t
        .form(
            &admin,
            &format!("/admin/domains/a.example/filtering/{ann_entry}/remove"),
            &[
                ("search", "spam.example"),
                ("kind", ""),
                ("include_users", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let back = r.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(
        back.contains("include_users=on") && back.contains("search=spam.example"),
        "{back}"
    );
    assert!(!page(&t, &admin, &back).await.contains("pest@spam.example"));
    // Another tenant's entry cannot be removed through this domain, nor its page opened.
    let r = t
        .form(
            &admin,
            &format!("/admin/domains/a.example/filtering/{bob_entry}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .form(
            &admin,
            &format!("/admin/domains/b.example/filtering/{bob_entry}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.get(&admin, "/admin/domains/b.example/filtering")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Add an entry, with markup escaped on the way back; a bad pattern is explained.
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/filtering",
            &[("kind", "block"), ("pattern", "*.xyz")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(
        page(&t, &admin, "/admin/domains/a.example/filtering")
            .await
            .contains("*.xyz")
    );
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/filtering",
            &[("kind", "block"), ("pattern", "<script>")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text.contains("<script>") && r.text.contains("&#60;script&#62;"));
    // The domain's accept policy.
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/filtering/mode",
            &[("filter_mode", "whitelist_only")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.store
            .get_domain(&dom("a.example"))
            .await
            .unwrap()
            .filter_mode,
        FilterMode::WhitelistOnly
    );
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/filtering/mode",
            &[("filter_mode", "nobody")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A user has no Admin Panel Filtering.
    let ann = t.login("ann@a.example").await;
    assert_eq!(
        t.get(&ann, "/admin/filtering").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&ann, "/admin/domains/a.example/filtering")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .form(
            &ann,
            "/admin/domains/a.example/filtering/mode",
            &[("filter_mode", "everyone")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn aliases_list_add_remove() {
    let t = setup().await;
    let admin = t.login("admin@a.example").await;
    let r = t.get(&admin, "/admin/aliases").await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/admin/domains/a.example/aliases"
    );
    assert!(
        page(&t, &admin, "/admin/domains/a.example/aliases")
            .await
            .contains("has no aliases")
    );
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/aliases",
            &[("address", "sales@a.example"), ("target", "ann@a.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    t.form(
        &admin,
        "/admin/domains/a.example/aliases",
        &[
            ("address", "sales@a.example"),
            ("target", "crm@remote.example"),
        ],
    )
    .await;
    let list = page(&t, &admin, "/admin/domains/a.example/aliases").await;
    assert!(list.contains("sales@a.example") && list.contains("crm@remote.example"));
    assert!(list.contains("<label for=\"alias-address\">"));
    // An alias outside the domain, or over a user, is refused with the reason.
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/aliases",
            &[("address", "x@b.example"), ("target", "ann@a.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text
            .contains("an alias must be an address of this domain")
    );
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/aliases",
            &[("address", "ann@a.example"), ("target", "x@remote.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Remove one target.
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example/aliases/remove",
            &[
                ("address", "sales@a.example"),
                ("target", "crm@remote.example"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let aliases = t.store.list_aliases(Some(&dom("a.example"))).await.unwrap();
    assert_eq!(aliases[0].targets, vec![addr("ann@a.example")]);
    // Another tenant's aliases are not there.
    assert_eq!(
        t.get(&admin, "/admin/domains/b.example/aliases")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .form(
            &admin,
            "/admin/domains/b.example/aliases",
            &[("address", "x@b.example"), ("target", "ann@a.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let bob = t.login("bob@b.example").await;
    assert_eq!(
        t.get(&bob, "/admin/aliases").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The `action` value of every action the engine knows. The match has no wildcard, so a
/// new action in the model fails to compile here until the editor offers it too.
fn every_engine_action() -> Vec<&'static str> {
    use hermod_model::rules::Action;
    let all = [
        Action::Folder {
            folder: String::new(),
        },
        Action::Forward {
            to: String::new(),
            keep_copy: false,
        },
        Action::Delete,
        Action::MarkRead,
        Action::Flag,
        Action::AutoReply {
            subject: String::new(),
            body: String::new(),
            start: None,
            end: None,
            interval_days: 1,
        },
        Action::Stop,
    ];
    all.iter()
        .map(|a| {
            let tag = match a {
                Action::Folder { .. } => "folder",
                Action::Forward { .. } => "forward",
                Action::Delete => "delete",
                Action::MarkRead => "mark_read",
                Action::Flag => "flag",
                Action::AutoReply { .. } => "auto_reply",
                Action::Stop => "stop",
            };
            // The form's value is the model's own serde tag.
            assert_eq!(serde_json::to_value(a).unwrap()["action"], tag);
            tag
        })
        .collect()
}

#[tokio::test]
async fn the_rule_editor_offers_every_action_including_auto_reply() {
    use hermod_model::rules::Action;
    use hermod_store::RuleOwner;
    let t = setup().await;
    let ann = t.login("ann@a.example").await;
    t.form(&ann, "/panel/rules", &[("name", "away")]).await;
    let editor = page(&t, &ann, "/panel/rules/away").await;
    for tag in every_engine_action() {
        assert!(
            editor.contains(&format!("name=\"action\" value=\"{tag}\"")),
            "the editor does not offer {tag}"
        );
    }
    for label in [
        "reply-subject",
        "reply-body",
        "reply-start",
        "reply-end",
        "reply-interval",
    ] {
        assert!(
            editor.contains(&format!("<label for=\"{label}\">")),
            "{label} has no label"
        );
    }
    t.form(
        &ann,
        "/panel/rules/away/conditions",
        &[("field", "to"), ("op", "contains"), ("term", "ann")],
    )
    .await;
    // The engine's checks are explained: interval out of range, end before start, bad date.
    for (field, value, says) in [
        ("interval_days", "0", "between 1 and 365"),
        ("interval_days", "soon", "not a number of days"),
        ("start", "2024-04-01", ""),
        ("end", "someday", "YYYY-MM-DD"),
    ] {
        let mut fields = vec![
            ("action", "auto_reply"),
            ("subject", "Away"),
            ("body", "Away."),
            ("start", "2024-03-01"),
            ("end", "2024-03-10"),
            ("interval_days", "3"),
        ];
        for f in fields.iter_mut() {
            if f.0 == field {
                f.1 = value;
            }
        }
        let r = t.form(&ann, "/panel/rules/away/actions", &fields).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={value}"
        );
        assert!(r.text.contains(says), "{field}={value}: {}", r.text);
    }
    let r = t
        .form(
            &ann,
            "/panel/rules/away/actions",
            &[
                ("action", "auto_reply"),
                ("subject", "Away <until> Monday"),
                ("body", "I am away.\r\nBack on Monday."),
                ("start", "2024-03-01"),
                ("end", "2024-03-10"),
                ("interval_days", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let rule = t
        .store
        .get_rule(&RuleOwner::User(addr("ann@a.example")), "away")
        .await
        .unwrap();
    assert_eq!(
        rule.actions,
        vec![Action::AutoReply {
            subject: "Away <until> Monday".into(),
            body: "I am away.\nBack on Monday.".into(),
            start: Some(1_709_251_200),
            // Through the end of 10 March.
            end: Some(1_710_115_200),
            interval_days: 3,
        }]
    );
    let editor = page(&t, &ann, "/panel/rules/away").await;
    assert!(editor.contains("Away &#60;until&#62; Monday") && !editor.contains("<until>"));
    assert!(editor.contains("from 2024-03-01, until 2024-03-10"));
    // Enabled and saved whole.
    let r = t
        .form(&ann, "/panel/rules/away", &[("enabled", "on")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
}

#[tokio::test]
async fn a_user_changes_their_own_accept_policy() {
    use hermod_model::FilterMode;
    let t = setup().await;
    let ann = t.login("ann@a.example").await;
    let before = page(&t, &ann, "/panel/filtering").await;
    assert!(before.contains("<label for=\"user-filter-mode\">Accept e-mails from</label>"));
    assert!(before.contains("<option value=\"everyone\" selected>Everyone</option>"));
    let r = t
        .form(
            &ann,
            "/panel/filtering/mode",
            &[("filter_mode", "whitelist_only")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        t.store
            .get_account(&addr("ann@a.example"))
            .await
            .unwrap()
            .filter_mode,
        FilterMode::WhitelistOnly
    );
    let after = page(&t, &ann, "/panel/filtering?flash=policy-saved").await;
    assert!(after.contains("<option value=\"whitelist_only\" selected>"));
    assert!(after.contains("Accept e-mails from saved."));
    // Back to Everyone, as the FAQ's solution says; nonsense is explained.
    let r = t
        .form(
            &ann,
            "/panel/filtering/mode",
            &[("filter_mode", "everyone")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = t
        .form(&ann, "/panel/filtering/mode", &[("filter_mode", "nobody")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("whitelist and address book only"));
    assert_eq!(
        t.store
            .get_account(&addr("ann@a.example"))
            .await
            .unwrap()
            .filter_mode,
        FilterMode::Everyone
    );
    // Only one's own: nobody else's account changed.
    assert_eq!(
        t.store
            .get_account(&addr("admin@a.example"))
            .await
            .unwrap()
            .filter_mode,
        FilterMode::Everyone
    );
}

#[tokio::test]
async fn operator_console_plans_system_list_and_domain_switches() {
    use hermod_model::{FilterKind, FilterPattern, FilterScope};
    let t = setup().await;
    let op = t.login("op@a.example").await;
    let console = page(&t, &op, "/operator").await;
    assert!(console.contains("href=\"/operator\""), "no nav link");
    assert!(console.contains("Daily limit of plan basic"));
    assert!(console.contains("href=\"/admin/domains/b.example\""));
    // Plans: change a limit, add a plan; a bad number is explained.
    let r = t
        .form(
            &op,
            "/operator/plans",
            &[("name", "basic"), ("daily_limit", "250")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(t.store.get_plan("basic").await.unwrap().daily_limit, 250);
    t.form(
        &op,
        "/operator/plans",
        &[("name", "bulk"), ("daily_limit", "5000")],
    )
    .await;
    assert_eq!(t.store.get_plan("bulk").await.unwrap().daily_limit, 5000);
    let r = t
        .form(
            &op,
            "/operator/plans",
            &[("name", "basic"), ("daily_limit", "lots")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("whole number"));
    let r = t
        .form(
            &op,
            "/operator/plans",
            &[("name", "<Bad>"), ("daily_limit", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text.contains("<Bad>"));
    // The system block list: add *.xyz, then remove it with the minus sign.
    let r = t
        .form(
            &op,
            "/operator/filters",
            &[("kind", "block"), ("pattern", "*.xyz")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    t.form(
        &op,
        "/operator/filters",
        &[("kind", "block"), ("pattern", "spam.example")],
    )
    .await;
    let list = t
        .store
        .list_filters(&hermod_store::FilterQuery {
            scope: Some(FilterScope::System),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    let xyz = list
        .iter()
        .find(|e| e.pattern.to_string() == "*.xyz")
        .unwrap()
        .id;
    assert!(
        page(&t, &op, "/operator")
            .await
            .contains("Remove *.xyz from the system list")
    );
    let r = t
        .form(&op, &format!("/operator/filters/{xyz}/remove"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !page(&t, &op, "/operator")
            .await
            .contains("Remove *.xyz from the system list")
    );
    // A user's entry cannot be removed through the system list.
    let anns = t
        .store
        .add_filter(
            &FilterScope::User(addr("ann@a.example")),
            FilterKind::Block,
            &FilterPattern::parse("x.example").unwrap(),
        )
        .await
        .unwrap();
    let r = t
        .form(&op, &format!("/operator/filters/{}/remove", anns.id), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // S/MIME per domain.
    let r = t
        .form(
            &op,
            "/operator/domains/b.example/smime",
            &[("smime_allowed", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        t.store
            .get_domain(&dom("b.example"))
            .await
            .unwrap()
            .smime_allowed
    );
    t.form(&op, "/operator/domains/b.example/smime", &[]).await;
    assert!(
        !t.store
            .get_domain(&dom("b.example"))
            .await
            .unwrap()
            .smime_allowed
    );
    // Into any domain's Admin Panel.
    assert!(
        page(&t, &op, "/admin/domains/b.example")
            .await
            .contains("Local Delivery")
    );
    // Nobody else has a console, or can change what it changes.
    for who in ["admin@a.example", "ann@a.example"] {
        let c = t.login(who).await;
        assert_eq!(
            t.get(&c, "/operator").await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
        assert!(!page(&t, &c, "/panel").await.contains("href=\"/operator\""));
        for (path, fields) in [
            (
                "/operator/plans",
                vec![("name", "basic"), ("daily_limit", "99999")],
            ),
            (
                "/operator/filters",
                vec![("kind", "block"), ("pattern", "*.com")],
            ),
            (
                "/operator/domains/a.example/smime",
                vec![("smime_allowed", "on")],
            ),
        ] {
            let r = t.form(&c, path, &fields).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{who} {path}");
        }
    }
    assert_eq!(t.store.get_plan("basic").await.unwrap().daily_limit, 250);
    assert!(
        !t.store
            .get_domain(&dom("a.example"))
            .await
            .unwrap()
            .smime_allowed
    );
}
