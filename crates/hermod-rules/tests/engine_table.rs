//! Data-driven tests of conditions, actions and validation.

mod common;

use common::*;
use hermod_model::rules::{Action, Rule};
use hermod_rules::{AutoReplySpec, Plan, evaluate, validate};

/// (fixture, field, op, term, expected)
const CONDITIONS: &[(&str, &str, &str, &str, bool)] = &[
    // from: addresses and the field text, any case
    (
        "vip",
        "From",
        "contains",
        "victoria@bigclient.example",
        true,
    ),
    ("vip", "from", "contains", "Victoria Client", true),
    ("vip", "FROM", "contains", "BIGCLIENT", true),
    ("newsletter", "From", "contains", "bigclient", false),
    ("bare", "From", "contains", "ann@example.com", true),
    ("vip", "From", "is", "Victoria@BigClient.example", true),
    ("vip", "From", "is", "<victoria@bigclient.example>", true),
    ("vip", "From", "is", "Victoria Client", false),
    ("vip", "From", "is", "bigclient.example", false),
    ("vip", "From", "is-not", "victoria@bigclient.example", false),
    (
        "newsletter",
        "From",
        "is-not",
        "victoria@bigclient.example",
        true,
    ),
    ("vip", "From", "not-contains", "bigclient", false),
    ("newsletter", "From", "not-contains", "bigclient", true),
    ("vip", "From", "begins-with", "victoria@", true),
    ("vip", "From", "begins-with", "victoria client", true),
    ("vip", "From", "begins-with", "client", false),
    ("vip", "From", "ends-with", "@bigclient.example", true),
    ("vip", "From", "ends-with", "bigclient", false),
    (
        "vip",
        "From",
        "matches",
        r"^v[a-z]+@bigclient\.example$",
        true,
    ),
    ("vip", "From", "matches", "^x", false),
    ("utf8", "From", "contains", "zoë", true),
    ("bounce", "From", "begins-with", "mailer-daemon@", true),
    // to
    ("personal", "To", "contains", "me@hermod.example", true),
    ("cc_only", "To", "contains", "me@hermod.example", false),
    ("cc_only", "To", "is", "team@hermod.example", true),
    ("vip", "To", "is", "me@hermod.example", true),
    ("vip", "To", "contains", "Me <me@", true),
    ("bare", "To", "is", "ann@example.com", true),
    ("list", "To", "is-not", "me@hermod.example", true),
    ("personal", "To", "not-contains", "hermod.example", false),
    ("personal", "To", "begins-with", "me@", true),
    ("personal", "To", "ends-with", ".example", true),
    ("personal", "To", "matches", "^me@", true),
    // cc (absent in most fixtures)
    ("cc_only", "Cc", "is", "me@hermod.example", true),
    ("vip", "Cc", "contains", "boss@", true),
    ("personal", "Cc", "not-contains", "me@", true),
    ("personal", "Cc", "contains", "me@", false),
    ("personal", "Cc", "is-not", "me@hermod.example", true),
    ("cc_only", "Cc", "is-not", "me@hermod.example", false),
    // to-or-cc
    ("cc_only", "To-or-Cc", "is", "me@hermod.example", true),
    ("personal", "to_or_cc", "is", "me@hermod.example", true),
    ("list", "To-or-Cc", "contains", "me@hermod.example", false),
    ("vip", "To-or-Cc", "contains", "boss@hermod", true),
    (
        "list",
        "To-or-Cc",
        "not-contains",
        "me@hermod.example",
        true,
    ),
    // subject
    ("utf8", "Subject", "contains", "réunion", true),
    ("utf8", "Subject", "contains", "RÉUNION", true),
    ("utf8", "Subject", "is", "réunion d'équipe", true),
    ("utf8", "Subject", "is-not", "Réunion d'équipe", false),
    ("utf8", "Subject", "is-not", "Réunion", true),
    ("list", "Subject", "begins-with", "[rust-dev]", true),
    ("list", "Subject", "begins-with", "rust-dev", false),
    ("attachment", "Subject", "ends-with", "2024-117", true),
    (
        "attachment",
        "Subject",
        "matches",
        r"invoice \d{4}-\d+",
        true,
    ),
    ("vip", "Subject", "matches", r"invoice \d{4}-\d+", false),
    ("vip", "Subject", "not-contains", "invoice", true),
    ("attachment", "Subject", "not-contains", "INVOICE", false),
    // body
    ("utf8", "Body", "contains", "café à 10h", true),
    ("newsletter", "Body", "contains", "unsubscribe", true),
    ("html", "Body", "contains", "50% off", true),
    ("html", "Body", "contains", "<b>", false),
    ("large", "Body", "contains", "photo", false),
    ("large", "Body", "not-contains", "photo", true),
    ("personal", "Body", "matches", r"meet at \d+", true),
    ("personal", "Body", "begins-with", "shall we", true),
    ("personal", "Body", "ends-with", "at 8?", true),
    ("personal", "Body", "is", "Shall we meet at 8?", true),
    ("personal", "Body", "is-not", "Shall we meet at 8?", false),
    ("attachment", "Body", "contains", "attached", true),
    ("attachment", "Body", "contains", "JVBERi0", false),
    ("bounce", "Body", "contains", "could not be delivered", true),
    ("vip", "Body", "matches", "(a+)+$", false),
    // list-id: the field and the id inside <>
    ("newsletter", "List-Id", "contains", "weekly.news", true),
    (
        "newsletter",
        "List-Id",
        "is",
        "weekly.news.example.com",
        true,
    ),
    (
        "newsletter",
        "List-Id",
        "is",
        "Weekly Digest <weekly.news.example.com>",
        true,
    ),
    ("list", "List-Id", "is", "rust-dev.lists.example.org", true),
    (
        "list",
        "list_id",
        "is",
        "<rust-dev.lists.example.org>",
        true,
    ),
    ("list", "List-Id", "ends-with", "example.org>", true),
    ("list", "List-Id", "begins-with", "rust-dev", true),
    ("list", "List-Id", "matches", r"^rust-\w+\.lists", true),
    ("personal", "List-Id", "contains", "x", false),
    ("personal", "List-Id", "not-contains", "x", true),
    ("personal", "List-Id", "is-not", "x", true),
    (
        "newsletter",
        "List-Id",
        "is-not",
        "weekly.news.example.com",
        false,
    ),
    // size (K = 1024)
    ("large", "size", "greater-than", "10M", true),
    ("large", "size", "less-than", "10M", false),
    ("large", "Size", "is", "30M", true),
    ("large", "size", "greater-than", "30M", false),
    ("personal", "size", "less-than", "10k", true),
    ("personal", "size", "greater-than", "10k", false),
    ("personal", "size", "greater-than", "10", true),
    ("personal", "size", "is", "1", false),
    // has-attachment
    ("attachment", "has-attachment", "is", "yes", true),
    ("attachment", "has-attachment", "is", "no", false),
    ("attachment", "has-attachment", "is-not", "yes", false),
    ("attachment", "has-attachment", "is-not", "no", true),
    ("personal", "has-attachment", "is", "false", true),
    ("personal", "Has_Attachment", "is", "TRUE", false),
    ("large", "has-attachment", "is", "true", true),
    ("html", "has-attachment", "is", "no", true),
    ("utf8", "has-attachment", "is", "no", true),
    // any other header
    ("vip", "X-Priority", "begins-with", "1", true),
    ("vip", "x-priority", "contains", "highest", true),
    ("vip", "X-Priority", "is", "1 (highest)", true),
    ("personal", "X-Priority", "contains", "1", false),
    ("personal", "X-Priority", "not-contains", "1", true),
    ("personal", "X-Priority", "is-not", "1", true),
    ("vip", "Reply-To", "is", "accounts@bigclient.example", true),
    ("vip", "Reply-To", "is", "ACCOUNTS@bigclient.example", true),
    ("vip", "Reply-To", "ends-with", "@bigclient.example", true),
    (
        "list",
        "Sender",
        "ends-with",
        "-bounces@lists.example.org",
        true,
    ),
    ("html", "X-Spam-Flag", "is", "yes", true),
    ("html", "X-Spam-Flag", "is-not", "yes", false),
    ("newsletter", "Precedence", "matches", "^(bulk|list)$", true),
    ("bounce", "Auto-Submitted", "begins-with", "auto-", true),
    (
        "newsletter",
        "Delivered-To",
        "is",
        "me@hermod.example",
        true,
    ),
    ("newsletter", "Return-Path", "contains", "bounce-123", true),
    ("personal", "X-Foo", "contains", "a", false),
    ("personal", "X-Foo", "matches", ".*", false),
    // conditions that cannot be evaluated are false (validate rejects them)
    ("personal", "Subject", "equals", "Dinner on Friday?", false),
    ("personal", "Subject", "greater-than", "1", false),
    ("personal", "Subject", "matches", "(unclosed", false),
    ("personal", "size", "greater-than", "ten", false),
    ("personal", "size", "contains", "1", false),
    ("personal", "has-attachment", "is", "maybe", false),
    ("personal", "has-attachment", "contains", "no", false),
    ("personal", "bad field", "contains", "a", false),
    ("personal", "Subject", "contains", "", false),
];

#[test]
fn condition_table() {
    let mut failures = Vec::new();
    for &(fx, field, op, term, expected) in CONDITIONS {
        let f = fixture(fx);
        let r = rule("t", vec![cond(field, op, term)], vec![folder("Hit")]);
        let got = !evaluate(&[r], &f).matched.is_empty();
        if got != expected {
            failures.push(format!(
                "{fx}: {field} {op} {term:?} → {got}, want {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exact_size() {
    let f = facts(PERSONAL);
    let n = PERSONAL.len().to_string();
    let r = rule("t", vec![cond("size", "is", &n)], vec![folder("Hit")]);
    assert_eq!(evaluate(&[r], &f).matched, vec!["t"]);
}

#[test]
fn every_field_and_operator_is_covered() {
    let fields = [
        "from",
        "to",
        "cc",
        "to-or-cc",
        "subject",
        "body",
        "list-id",
        "size",
        "has-attachment",
        "x-priority",
    ];
    let ops = [
        "contains",
        "not-contains",
        "is",
        "is-not",
        "begins-with",
        "ends-with",
        "matches",
        "greater-than",
        "less-than",
    ];
    let norm = |s: &str| s.to_lowercase().replace('_', "-");
    for f in fields {
        for want in [true, false] {
            assert!(
                CONDITIONS
                    .iter()
                    .any(|c| norm(c.1) == f && c.4 == want && c.0 != "x"),
                "field {f} lacks a {want} case"
            );
        }
    }
    for op in ops {
        for want in [true, false] {
            assert!(
                CONDITIONS.iter().any(|c| c.2 == op && c.4 == want),
                "operator {op} lacks a {want} case"
            );
        }
    }
}

struct Case {
    what: &'static str,
    fixture: &'static str,
    rules: Vec<Rule>,
    want: Plan,
}

fn plan() -> Plan {
    Plan::default()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn spec(subject: &str, body: &str) -> AutoReplySpec {
    AutoReplySpec {
        subject: subject.into(),
        body: body.into(),
        start: None,
        end: None,
        interval_days: 7,
    }
}

fn cases() -> Vec<Case> {
    let to_me = || cond("To", "contains", ME);
    vec![
        Case {
            what: "no rules: INBOX",
            fixture: "personal",
            rules: vec![],
            want: plan(),
        },
        Case {
            what: "no matching rule: INBOX",
            fixture: "personal",
            rules: vec![rule(
                "news",
                vec![cond("List-Id", "contains", "weekly")],
                vec![folder("Newsletters")],
            )],
            want: plan(),
        },
        Case {
            what: "newsletter filed and marked read",
            fixture: "newsletter",
            rules: vec![rule(
                "news",
                vec![cond("List-Id", "contains", "weekly.news")],
                vec![folder("Newsletters"), Action::MarkRead],
            )],
            want: Plan {
                folders: names(&["Newsletters"]),
                mark_read: true,
                matched: names(&["news"]),
                ..plan()
            },
        },
        Case {
            what: "VIP flagged in INBOX",
            fixture: "vip",
            rules: vec![rule(
                "vip",
                vec![cond("From", "ends-with", "@bigclient.example")],
                vec![Action::Flag],
            )],
            want: Plan {
                flag: true,
                matched: names(&["vip"]),
                ..plan()
            },
        },
        Case {
            what: "FAQ forward and delete (Deliver to E-mail + Delete)",
            fixture: "personal",
            rules: vec![rule(
                "forward_and_delete",
                vec![to_me()],
                vec![forward("Me@Home.Example", true), Action::Delete],
            )],
            want: Plan {
                keep: false,
                forwards: names(&["me@home.example"]),
                matched: names(&["forward_and_delete"]),
                ..plan()
            },
        },
        Case {
            what: "forward without copy + delete",
            fixture: "personal",
            rules: vec![rule(
                "fwd",
                vec![to_me()],
                vec![forward("me@home.example", false), Action::Delete],
            )],
            want: Plan {
                keep: false,
                forwards: names(&["me@home.example"]),
                matched: names(&["fwd"]),
                ..plan()
            },
        },
        Case {
            what: "forward keeping a copy",
            fixture: "personal",
            rules: vec![rule(
                "fwd",
                vec![to_me()],
                vec![forward("me@home.example", true)],
            )],
            want: Plan {
                forwards: names(&["me@home.example"]),
                matched: names(&["fwd"]),
                ..plan()
            },
        },
        Case {
            what: "forward without copy cancels INBOX",
            fixture: "personal",
            rules: vec![rule(
                "fwd",
                vec![to_me()],
                vec![forward("me@home.example", false)],
            )],
            want: Plan {
                keep: false,
                forwards: names(&["me@home.example"]),
                matched: names(&["fwd"]),
                ..plan()
            },
        },
        Case {
            what: "forward without copy still files explicit folders",
            fixture: "personal",
            rules: vec![rule(
                "fwd",
                vec![to_me()],
                vec![forward("me@home.example", false), folder("Archive")],
            )],
            want: Plan {
                folders: names(&["Archive"]),
                forwards: names(&["me@home.example"]),
                matched: names(&["fwd"]),
                ..plan()
            },
        },
        Case {
            what: "stop ends processing after its rule",
            fixture: "newsletter",
            rules: vec![
                rule("first", vec![to_me()], vec![folder("A"), Action::Stop]),
                rule("second", vec![to_me()], vec![folder("B")]),
            ],
            want: Plan {
                folders: names(&["A"]),
                matched: names(&["first"]),
                ..plan()
            },
        },
        Case {
            what: "stop written first still runs the rule's other actions",
            fixture: "newsletter",
            rules: vec![
                rule(
                    "first",
                    vec![to_me()],
                    vec![Action::Stop, folder("A"), Action::Flag],
                ),
                rule("second", vec![to_me()], vec![folder("B")]),
            ],
            want: Plan {
                folders: names(&["A"]),
                flag: true,
                matched: names(&["first"]),
                ..plan()
            },
        },
        Case {
            what: "without stop actions accumulate: a copy in each folder",
            fixture: "newsletter",
            rules: vec![
                rule("first", vec![to_me()], vec![folder("A")]),
                rule("second", vec![to_me()], vec![folder("B"), folder("A")]),
            ],
            want: Plan {
                folders: names(&["A", "B"]),
                matched: names(&["first", "second"]),
                ..plan()
            },
        },
        Case {
            what: "explicit INBOX plus a folder",
            fixture: "personal",
            rules: vec![rule(
                "both",
                vec![to_me()],
                vec![folder("inbox"), folder("Friends")],
            )],
            want: Plan {
                folders: names(&["INBOX", "Friends"]),
                matched: names(&["both"]),
                ..plan()
            },
        },
        Case {
            what: "disabled rules are skipped",
            fixture: "personal",
            rules: vec![
                disabled(rule("off", vec![to_me()], vec![Action::Delete])),
                rule("on", vec![to_me()], vec![Action::Flag]),
            ],
            want: Plan {
                flag: true,
                matched: names(&["on"]),
                ..plan()
            },
        },
        Case {
            what: "order: domain rule with stop runs before the user's",
            fixture: "html",
            rules: vec![
                rule(
                    "domain_spam",
                    vec![cond("X-Spam-Flag", "is", "yes")],
                    vec![folder("Junk"), Action::Stop],
                ),
                rule(
                    "user_all",
                    vec![to_me()],
                    vec![forward("x@y.example", true)],
                ),
            ],
            want: Plan {
                folders: names(&["Junk"]),
                matched: names(&["domain_spam"]),
                ..plan()
            },
        },
        Case {
            what: "order: the same rules the other way round",
            fixture: "html",
            rules: vec![
                rule(
                    "user_all",
                    vec![to_me()],
                    vec![forward("x@y.example", true)],
                ),
                rule(
                    "domain_spam",
                    vec![cond("X-Spam-Flag", "is", "yes")],
                    vec![folder("Junk"), Action::Stop],
                ),
            ],
            want: Plan {
                folders: names(&["Junk"]),
                forwards: names(&["x@y.example"]),
                matched: names(&["user_all", "domain_spam"]),
                ..plan()
            },
        },
        Case {
            what: "match all: one condition fails",
            fixture: "attachment",
            rules: vec![rule(
                "both",
                vec![
                    cond("Subject", "contains", "invoice"),
                    cond("From", "contains", "nobody"),
                ],
                vec![folder("Bills")],
            )],
            want: plan(),
        },
        Case {
            what: "match any: one condition suffices",
            fixture: "attachment",
            rules: vec![match_any(rule(
                "either",
                vec![
                    cond("Subject", "contains", "invoice"),
                    cond("From", "contains", "nobody"),
                ],
                vec![folder("Bills")],
            ))],
            want: Plan {
                folders: names(&["Bills"]),
                matched: names(&["either"]),
                ..plan()
            },
        },
        Case {
            what: "match all: every condition holds",
            fixture: "attachment",
            rules: vec![rule(
                "bills",
                vec![
                    cond("Subject", "contains", "invoice"),
                    cond("has-attachment", "is", "yes"),
                    cond("size", "less-than", "1M"),
                ],
                vec![folder("Bills"), Action::MarkRead],
            )],
            want: Plan {
                folders: names(&["Bills"]),
                mark_read: true,
                matched: names(&["bills"]),
                ..plan()
            },
        },
        Case {
            what: "match any: no condition holds",
            fixture: "personal",
            rules: vec![match_any(rule(
                "either",
                vec![
                    cond("Subject", "contains", "invoice"),
                    cond("has-attachment", "is", "yes"),
                ],
                vec![folder("Bills")],
            ))],
            want: plan(),
        },
        Case {
            what: "delete in a later rule discards earlier folder copies",
            fixture: "newsletter",
            rules: vec![
                rule("file", vec![to_me()], vec![folder("A"), Action::MarkRead]),
                rule(
                    "drop",
                    vec![cond("Precedence", "is", "bulk")],
                    vec![Action::Delete],
                ),
            ],
            want: Plan {
                keep: false,
                mark_read: true,
                matched: names(&["file", "drop"]),
                ..plan()
            },
        },
        Case {
            what: "delete alone discards silently",
            fixture: "bounce",
            rules: vec![rule(
                "no_bounces",
                vec![cond("From", "begins-with", "mailer-daemon@")],
                vec![Action::Delete],
            )],
            want: Plan {
                keep: false,
                matched: names(&["no_bounces"]),
                ..plan()
            },
        },
        Case {
            what: "the first matching auto-reply wins",
            fixture: "personal",
            rules: vec![
                rule(
                    "away",
                    vec![to_me()],
                    vec![auto_reply("Away", "Back Monday.")],
                ),
                rule(
                    "also_away",
                    vec![to_me()],
                    vec![auto_reply("Other", "Other text.")],
                ),
            ],
            want: Plan {
                auto_reply: Some(spec("Away", "Back Monday.")),
                matched: names(&["away", "also_away"]),
                ..plan()
            },
        },
        Case {
            what: "forwards are normalised and deduplicated",
            fixture: "personal",
            rules: vec![
                rule(
                    "a",
                    vec![to_me()],
                    vec![forward("Boss@Hermod.Example", true)],
                ),
                rule(
                    "b",
                    vec![to_me()],
                    vec![
                        forward("boss@hermod.example", true),
                        forward("second@hermod.example", true),
                    ],
                ),
            ],
            want: Plan {
                forwards: names(&["boss@hermod.example", "second@hermod.example"]),
                matched: names(&["a", "b"]),
                ..plan()
            },
        },
        Case {
            what: "invalid forward addresses are not used",
            fixture: "personal",
            rules: vec![rule(
                "bad",
                vec![to_me()],
                vec![forward("not an address", true)],
            )],
            want: Plan {
                matched: names(&["bad"]),
                ..plan()
            },
        },
        Case {
            what: "an invalid forward without copy does not lose the message",
            fixture: "personal",
            rules: vec![rule(
                "bad",
                vec![to_me()],
                vec![forward("nobody", false), folder("")],
            )],
            want: Plan {
                matched: names(&["bad"]),
                ..plan()
            },
        },
        Case {
            what: "a rule without conditions never matches",
            fixture: "personal",
            rules: vec![rule("empty", vec![], vec![Action::Delete])],
            want: plan(),
        },
        Case {
            what: "stop alone ends processing and keeps",
            fixture: "personal",
            rules: vec![
                rule("halt", vec![to_me()], vec![Action::Stop]),
                rule("never", vec![to_me()], vec![Action::Delete]),
            ],
            want: Plan {
                matched: names(&["halt"]),
                ..plan()
            },
        },
        Case {
            what: "a rule that does not match does not stop",
            fixture: "personal",
            rules: vec![
                rule(
                    "halt",
                    vec![cond("Subject", "contains", "zzz")],
                    vec![Action::Stop],
                ),
                rule("flag", vec![to_me()], vec![Action::Flag]),
            ],
            want: Plan {
                flag: true,
                matched: names(&["flag"]),
                ..plan()
            },
        },
    ]
}

#[test]
fn plan_table() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = evaluate(&case.rules, &fixture(case.fixture));
        if got != case.want {
            failures.push(format!(
                "{}:\n  got  {:?}\n  want {:?}",
                case.what, got, case.want
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_action_is_covered() {
    let all: Vec<Action> = cases()
        .into_iter()
        .flat_map(|c| c.rules)
        .flat_map(|r| r.actions)
        .collect();
    let has = |f: &dyn Fn(&Action) -> bool| all.iter().any(f);
    assert!(has(&|a| matches!(a, Action::Folder { .. })));
    assert!(has(&|a| matches!(
        a,
        Action::Forward {
            keep_copy: true,
            ..
        }
    )));
    assert!(has(&|a| matches!(
        a,
        Action::Forward {
            keep_copy: false,
            ..
        }
    )));
    assert!(has(&|a| matches!(a, Action::Delete)));
    assert!(has(&|a| matches!(a, Action::MarkRead)));
    assert!(has(&|a| matches!(a, Action::Flag)));
    assert!(has(&|a| matches!(a, Action::AutoReply { .. })));
    assert!(has(&|a| matches!(a, Action::Stop)));
}

#[test]
fn mailboxes() {
    let p = Plan::default();
    assert_eq!(p.mailboxes(), vec!["INBOX"]);
    let p = Plan {
        folders: names(&["A", "B"]),
        ..Plan::default()
    };
    assert_eq!(p.mailboxes(), vec!["A", "B"]);
    let p = Plan {
        keep: false,
        ..Plan::default()
    };
    assert!(p.mailboxes().is_empty());
}

fn faq_rule() -> Rule {
    rule(
        "forward_and_delete",
        vec![cond("To", "contains", ME)],
        vec![forward("me@home.example", true), Action::Delete],
    )
}

#[test]
fn validation_accepts_good_rules() {
    assert_eq!(validate(&faq_rule()), Ok(()));
    let r = rule(
        "everything",
        vec![
            cond("From", "matches", r"^[a-z]+@bigclient\.example$"),
            cond("size", "greater-than", "10K"),
            cond("size", "is", "1.5M"),
            cond("has-attachment", "is-not", "no"),
            cond("X-Priority", "begins-with", "1"),
            cond("Subject", "is", ""),
        ],
        vec![
            folder("Clients/Big Client"),
            forward("<Boss@Hermod.Example>", false),
            Action::MarkRead,
            Action::Flag,
            Action::AutoReply {
                subject: "Away".into(),
                body: "Back soon".into(),
                start: Some(1),
                end: Some(2),
                interval_days: 365,
            },
            Action::Stop,
        ],
    );
    assert_eq!(validate(&r), Ok(()));
}

#[test]
fn validation_errors() {
    let with_cond = |c| rule("r", vec![c], vec![Action::Flag]);
    let with_action = |a| rule("r", vec![cond("To", "contains", ME)], vec![a]);
    let ar = |subject: &str, body: &str, start, end, days| Action::AutoReply {
        subject: subject.into(),
        body: body.into(),
        start,
        end,
        interval_days: days,
    };
    let table: Vec<(Rule, &str)> = vec![
        (
            rule("forward and delete", vec![], vec![]),
            "underscores or hyphens",
        ),
        (
            rule("r", vec![], vec![Action::Flag]),
            "add at least one condition",
        ),
        (
            with_cond(cond("Subject", "equals", "x")),
            "condition 1: \"equals\" is not a known condition",
        ),
        (with_cond(cond("Subject", "", "x")), "choose a condition"),
        (
            with_cond(cond("To or Cc or", "contains", "x")),
            "is not a field or header name",
        ),
        (with_cond(cond("", "contains", "x")), "choose a field"),
        (
            with_cond(cond("size", "contains", "5")),
            "size can only be compared",
        ),
        (with_cond(cond("size", "greater-than", "big")), "not a size"),
        (
            with_cond(cond("has-attachment", "contains", "yes")),
            "is or is-not",
        ),
        (
            with_cond(cond("has-attachment", "is", "maybe")),
            "takes yes or no",
        ),
        (
            with_cond(cond("Subject", "greater-than", "5")),
            "only works with the size field",
        ),
        (
            with_cond(cond("Subject", "matches", "(unclosed")),
            "not a valid regular expression",
        ),
        (
            with_cond(cond("Subject", "matches", r"\p{Nope}")),
            "not a valid regular expression",
        ),
        (
            with_cond(cond("Body", "matches", "(((a{100}){100}){100})")),
            "too complex",
        ),
        (
            with_cond(cond("Subject", "contains", &"x".repeat(1001))),
            "longer than 1000",
        ),
        (with_cond(cond("Subject", "contains", "")), "term is empty"),
        (
            with_cond(cond("Subject", "matches", "")),
            "regular expression",
        ),
        (
            rule("r", vec![cond("To", "contains", ME)], vec![]),
            "add at least one action",
        ),
        (with_action(folder("  ")), "action 1: choose the folder"),
        (with_action(folder("a\nb")), "control character"),
        (
            with_action(folder(" Archive")),
            "begins or ends with a space",
        ),
        (with_action(forward("", true)), "enter the address"),
        (
            with_action(forward("nobody", true)),
            "not an e-mail address",
        ),
        (
            with_action(forward("a@b@c.example", true)),
            "not an e-mail address",
        ),
        (
            with_action(forward("ann@", true)),
            "not a valid e-mail address",
        ),
        (
            with_action(ar("Away", "Back", None, None, 0)),
            "between 1 and 365",
        ),
        (
            with_action(ar("Away", "Back", None, None, 366)),
            "between 1 and 365",
        ),
        (
            with_action(ar(" ", "Back", None, None, 7)),
            "enter a subject",
        ),
        (
            with_action(ar("Away\r\nBcc: x@y", "Back", None, None, 7)),
            "single line",
        ),
        (
            with_action(ar("Away", "\n", None, None, 7)),
            "enter the text",
        ),
        (
            with_action(ar("Away", "Back", Some(10), Some(10), 7)),
            "ends before it starts",
        ),
        (
            rule(
                "r",
                vec![cond("To", "contains", ME)],
                vec![Action::Flag, auto_reply("a", "b"), auto_reply("c", "d")],
            ),
            "action 3: a rule can send only one auto-reply",
        ),
    ];
    let mut failures = Vec::new();
    for (r, want) in table {
        match validate(&r) {
            Ok(()) => failures.push(format!("{r:?} was accepted, want {want:?}")),
            Err(e) if !e.contains(want) => failures.push(format!("got {e:?}, want {want:?}")),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
