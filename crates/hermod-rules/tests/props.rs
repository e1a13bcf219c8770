//! Property tests: nothing panics or hangs on hostile input.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hermod_model::rules::{Action, Condition, MatchMode, Rule};
use hermod_rules::{
    MessageFacts, build_auto_reply, evaluate, may_auto_reply, srs, to_sieve, validate,
};
use proptest::prelude::*;

const HOSTILE: &[&str] = &[
    "(a+)+$",
    "(a|aa)+$",
    "(.*a){20}",
    "(x+x+)+y",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
    "(?:a*)*b",
    "\\",
    "[",
    "(",
    "a{1000}{1000}",
    "(((a{50}){50}){50})",
    "\\p{Greek}+",
    "",
];

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "from",
            "To",
            "cc",
            "to-or-cc",
            "Subject",
            "body",
            "list-id",
            "size",
            "has-attachment",
            "X-Priority",
            "Reply-To",
            "Delivered-To",
        ])
        .prop_map(String::from),
        ".{0,12}",
    ]
}

fn op() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "contains",
            "not-contains",
            "is",
            "is-not",
            "begins-with",
            "ends-with",
            "matches",
            "greater-than",
            "less-than",
        ])
        .prop_map(String::from),
        ".{0,12}",
    ]
}

fn term() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(HOSTILE.to_vec()).prop_map(String::from),
        "[a-z@.<>()|*+?\\\\\\[\\]{}^$ 0-9kKmM-]{0,30}",
        ".{0,40}",
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        prop_oneof!["[A-Za-z/ ]{1,10}", ".{0,10}"].prop_map(|folder| Action::Folder { folder }),
        (
            prop_oneof!["[a-z]{1,5}@[a-z]{1,5}\\.example", ".{0,20}"],
            any::<bool>()
        )
            .prop_map(|(to, keep_copy)| Action::Forward { to, keep_copy }),
        Just(Action::Delete),
        Just(Action::MarkRead),
        Just(Action::Flag),
        (
            ".{0,10}",
            ".{0,30}",
            any::<Option<i64>>(),
            any::<Option<i64>>(),
            any::<u32>()
        )
            .prop_map(
                |(subject, body, start, end, interval_days)| Action::AutoReply {
                    subject,
                    body,
                    start,
                    end,
                    interval_days
                }
            ),
        Just(Action::Stop),
    ]
}

fn rules() -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(
                (field(), op(), term()).prop_map(|(field, op, term)| Condition { field, op, term }),
                0..4,
            ),
            prop::collection::vec(action(), 0..4),
            prop_oneof!["[a-z][a-z0-9_-]{0,9}", ".{0,10}"],
        )
            .prop_map(|(enabled, all, conditions, actions, name)| Rule {
                id: 0,
                owner: ME.into(),
                name,
                enabled,
                position: 0,
                match_mode: if all { MatchMode::All } else { MatchMode::Any },
                conditions,
                actions,
            }),
        0..5,
    )
}

fn raw_message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        (
            prop::sample::select(vec![
                NEWSLETTER,
                VIP,
                ATTACHMENT,
                UTF8_SUBJECT,
                BOUNCE,
                LIST_POST,
                PERSONAL,
                HTML_PROMO,
                CC_ONLY,
                BARE,
                LARGE_HEADER,
            ]),
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(m, at, noise)| {
                // splice noise into a real message
                let mut v = m.as_bytes().to_vec();
                let i = at.index(v.len() + 1);
                v.splice(i..i, noise);
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(raw in raw_message(), size in any::<u64>(), rules in rules()) {
        let facts = MessageFacts::from_raw(&raw, size);
        let started = Instant::now();
        let plan = evaluate(&rules, &facts);
        prop_assert!(started.elapsed() < Duration::from_secs(5));
        for r in &rules {
            let _ = validate(r);
        }
        let _ = to_sieve(&rules);
        if let Some(spec) = &plan.auto_reply {
            let _ = may_auto_reply(&facts, Some("a@b.example"), &[ME.to_string()], spec, 0);
            let reply = build_auto_reply(&facts, spec, ME, "a@b.example", "d", "m@x");
            prop_assert!(!reply.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        }
        prop_assert!(!plan.keep || plan.folders.iter().all(|f| !f.is_empty()));
    }

    #[test]
    fn validated_rules_evaluate_consistently(rules in rules(), raw in raw_message()) {
        let facts = MessageFacts::from_raw(&raw, raw.len() as u64);
        let valid: Vec<Rule> = rules.into_iter().filter(|r| validate(r).is_ok()).collect();
        for r in &valid {
            // a valid rule survives JSON and gives Sieve text
            let back = hermod_rules::rules_from_json(&hermod_rules::rules_to_json(std::slice::from_ref(r)));
            prop_assert_eq!(back, Ok(vec![r.clone()]));
            prop_assert!(to_sieve(std::slice::from_ref(r)).contains("if "));
        }
        let plan = evaluate(&valid, &facts);
        prop_assert!(plan.matched.len() <= valid.len());
        let deletes = valid.iter().any(|r| plan.matched.contains(&r.name) && r.actions.contains(&Action::Delete));
        if deletes {
            prop_assert!(!plan.keep && plan.folders.is_empty());
        }
    }

    #[test]
    fn srs_round_trip(
        local in "[A-Za-z0-9._%+=-]{1,30}",
        domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}",
        secret in prop::collection::vec(any::<u8>(), 0..80),
        now in 0i64..4_000_000_000,
        age in 0i64..=21,
    ) {
        let sender = format!("{local}@{domain}");
        let f = srs::forward(&sender, "fwd.example", &secret, now);
        prop_assert!(f.ends_with("@fwd.example"));
        let back = srs::reverse(&f, &secret, now + age * 86_400, 21);
        prop_assert_eq!(back, Ok(sender));
    }

    #[test]
    fn srs_reverse_never_panics(addr in ".{0,60}", now in any::<i64>(), age in any::<u32>()) {
        let _ = srs::reverse(&addr, b"k", now, age);
        let _ = srs::forward(&addr, "fwd.example", b"k", now);
    }
}

#[test]
fn hostile_regexes_on_big_body_are_fast() {
    let mut raw = String::from("Subject: x\r\n\r\n");
    raw.push_str(&"a".repeat(200_000));
    raw.push('!');
    let facts = MessageFacts::from_raw(raw.as_bytes(), raw.len() as u64);
    let rules: Vec<Rule> = HOSTILE
        .iter()
        .map(|t| {
            rule(
                "r",
                vec![cond("body", "matches", t), cond("subject", "matches", t)],
                vec![Action::Flag],
            )
        })
        .collect();
    let started = Instant::now();
    let _ = evaluate(&rules, &facts);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
