//! Sieve export and JSON export/import.

mod common;

use common::*;
use hermod_model::rules::{Action, Rule};
use hermod_rules::{rules_from_json, rules_to_json, to_sieve};

fn representative() -> Vec<Rule> {
    vec![
        rule(
            "newsletters",
            vec![cond("List-Id", "contains", "weekly.news.example.com")],
            vec![folder("Newsletters"), Action::MarkRead, Action::Stop],
        ),
        match_any(rule(
            "vip",
            vec![
                cond("From", "ends-with", "@bigclient.example"),
                cond("Subject", "contains", "\"urgent\""),
            ],
            vec![Action::Flag],
        )),
        rule(
            "forward_and_delete",
            vec![cond("To", "contains", ME)],
            vec![forward("me@home.example", true), Action::Delete],
        ),
        disabled(rule(
            "large_mail",
            vec![
                cond("size", "greater-than", "10M"),
                cond("has-attachment", "is", "yes"),
            ],
            vec![folder("Large")],
        )),
        rule(
            "away",
            vec![cond("To-or-Cc", "is", ME)],
            vec![Action::AutoReply {
                subject: "Out of office".into(),
                body: "Back on Monday.\nC:\\Users is not here.".into(),
                start: Some(1_715_000_000),
                end: Some(1_715_600_000),
                interval_days: 7,
            }],
        ),
    ]
}

#[test]
fn sieve_representative_exact() {
    let want = r#"# Sieve script (RFC 5228) exported from Hermod delivery rules.
require ["copy", "fileinto", "imap4flags", "vacation"];

# rule: newsletters
if header :contains "list-id" "weekly.news.example.com" {
    addflag "\\Seen";
    fileinto "Newsletters";
    stop;
}

# rule: vip
if anyof (
    address :all :matches "from" "*@bigclient.example",
    header :contains "subject" "\"urgent\""
) {
    addflag "\\Flagged";
}

# rule: forward_and_delete
if address :all :contains "to" "me@hermod.example" {
    redirect :copy "me@home.example";
    discard;
}

# rule: large_mail (disabled)
# # has-attachment cannot be tested in Sieve; approximated by a multipart/mixed Content-Type
# if allof (
#     size :over 10M,
#     header :contains "content-type" "multipart/mixed"
# ) {
#     fileinto "Large";
# }

# rule: away
if address :all :is ["to", "cc"] "me@hermod.example" {
    # auto-reply window (Unix time, not exported): from 1715000000 until 1715600000
    vacation :days 7 :subject "Out of office" "Back on Monday.
C:\\Users is not here.";
}
"#;
    let got = to_sieve(&representative());
    assert_eq!(got, want, "\n--- got ---\n{got}");
}

#[test]
fn sieve_every_kind() {
    let rules = vec![
        rule(
            "fields",
            vec![
                cond("From", "is", "<Ann@Example.com>"),
                cond("To", "not-contains", "x"),
                cond("Cc", "is-not", "b@example.com"),
                cond("To-or-Cc", "begins-with", "team*"),
                cond("Subject", "matches", r"^\[list\] (a|b)$"),
                cond("Body", "contains", "hello"),
                cond("List-Id", "is", "l.example.org"),
                cond("List-Id", "is-not", "m.example.org"),
                cond("size", "less-than", "500"),
                cond("size", "is", "2k"),
                cond("has-attachment", "is", "no"),
                cond("X-Priority", "ends-with", "1?"),
                cond("Subject", "equals", "broken"),
            ],
            vec![
                folder("Inbox/Sub \"q\""),
                forward("a@example.com", false),
                Action::Delete,
                Action::MarkRead,
                Action::Flag,
                auto_reply("Away", "Gone"),
                Action::Stop,
            ],
        ),
        rule("no_conditions", vec![], vec![Action::Flag]),
    ];
    let s = to_sieve(&rules);
    for want in [
        r#"require ["body", "fileinto", "imap4flags", "regex", "vacation"];"#,
        r#"address :all :is "from" "Ann@Example.com""#,
        r#"not address :all :contains "to" "x""#,
        r#"not address :all :is "cc" "b@example.com""#,
        r#"address :all :matches ["to", "cc"] "team\\**""#,
        r#"header :regex "subject" "^\\[list\\] (a|b)$""#,
        r#"body :text :contains "hello""#,
        r#"header :matches "list-id" ["l.example.org", "*<l.example.org>"]"#,
        r#"not header :matches "list-id" ["m.example.org", "*<m.example.org>"]"#,
        "size :under 500",
        "allof (not size :over 2K, not size :under 2K)",
        r#"not header :contains "content-type" "multipart/mixed""#,
        "# has-attachment cannot be tested in Sieve",
        r#"header :matches "x-priority" "*1\\?""#,
        "# condition Subject equals broken cannot be converted",
        "    false",
        r#"fileinto "Inbox/Sub \"q\"";"#,
        r#"redirect "a@example.com";"#,
        "discard;",
        r#"addflag "\\Seen";"#,
        r#"addflag "\\Flagged";"#,
        r#"vacation :days 7 :subject "Away" "Gone";"#,
        "stop;\n}",
        "# this rule has no conditions, so it never runs\nif false {",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    // flags come before the filing actions of the same rule
    assert!(s.find("addflag").unwrap() < s.find("fileinto \"").unwrap());
}

#[test]
fn sieve_requires_nothing_for_plain_rules() {
    let rules = vec![rule(
        "drop",
        vec![cond("Subject", "contains", "spam")],
        vec![Action::Delete],
    )];
    assert_eq!(
        to_sieve(&rules),
        "# Sieve script (RFC 5228) exported from Hermod delivery rules.\n\n# rule: drop\nif header :contains \"subject\" \"spam\" {\n    discard;\n}\n"
    );
    assert_eq!(
        to_sieve(&[]),
        "# Sieve script (RFC 5228) exported from Hermod delivery rules.\n"
    );
}

#[test]
fn json_round_trip() {
    let mut rules = representative();
    for (i, r) in rules.iter_mut().enumerate() {
        r.id = i as i64 + 10;
        r.position = i as i32;
    }
    let text = rules_to_json(&rules);
    assert!(text.ends_with("]\n"));
    assert!(text.contains("\"action\": \"auto_reply\""));
    assert!(text.contains("\"match_mode\": \"any\""));
    assert_eq!(rules_from_json(&text), Ok(rules));
    assert_eq!(rules_from_json("[]"), Ok(vec![]));
}

#[test]
fn json_import_errors() {
    let e = rules_from_json("{not json").unwrap_err();
    assert!(e.contains("not a valid rules export"), "{e}");
    let e = rules_from_json("{}").unwrap_err();
    assert!(e.contains("JSON array"), "{e}");

    let mut rules = representative();
    rules[2].actions = vec![forward("not-an-address", true)];
    let e = rules_from_json(&rules_to_json(&rules)).unwrap_err();
    assert!(
        e.starts_with("rule 3 (\"forward_and_delete\"): action 1:"),
        "{e}"
    );

    let mut rules = representative();
    rules[1].name = "bad name".into();
    let e = rules_from_json(&rules_to_json(&rules)).unwrap_err();
    assert!(e.starts_with("rule 2 (\"bad name\")"), "{e}");
    assert!(e.contains("underscores or hyphens"), "{e}");

    let mut rules = representative();
    rules[4].name = "vip".into();
    let e = rules_from_json(&rules_to_json(&rules)).unwrap_err();
    assert!(e.contains("rule 5 (\"vip\")"), "{e}");
    assert!(e.contains("already used by rule 2"), "{e}");

    let text = r#"[{"id":1,"owner":"me@hermod.example","name":"x","enabled":true,"position":0,
        "match_mode":"all","conditions":[{"field":"To","op":"contains","term":"me"}],
        "actions":[{"action":"explode"}]}]"#;
    let e = rules_from_json(text).unwrap_err();
    assert!(e.contains("explode"), "{e}");
}
