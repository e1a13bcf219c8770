//! Vacation eligibility (each refusal reason and the accept case) and the
//! reply message.

mod common;

use common::*;
use hermod_rules::{AutoReplySpec, MessageFacts, build_auto_reply, may_auto_reply, reply_key};

const NOW: i64 = 1_715_000_000;

fn spec() -> AutoReplySpec {
    AutoReplySpec {
        subject: "Out of office".into(),
        body: "I am away until Monday.\nFor urgent matters call the office.".into(),
        start: Some(NOW - 3600),
        end: Some(NOW + 3600),
        interval_days: 7,
    }
}

/// PERSONAL with extra header lines inserted at the top.
fn personal_with(extra: &str) -> MessageFacts {
    facts(&format!("{extra}{PERSONAL}"))
}

fn own() -> Vec<String> {
    vec![ME.to_string(), "me.alias@hermod.example".to_string()]
}

/// (what, facts, envelope sender, own addresses, spec, expected: Ok or part of Err)
type Row<'a> = (
    &'a str,
    MessageFacts,
    Option<&'a str>,
    Vec<String>,
    AutoReplySpec,
    Result<(), &'a str>,
);

#[test]
fn eligibility_table() {
    let sender = Some("ann@friends.example");
    let personal = facts(PERSONAL);
    let mut window_future = spec();
    window_future.start = Some(NOW + 1);
    let mut window_past = spec();
    window_past.end = Some(NOW);
    let mut open = spec();
    open.start = None;
    open.end = None;
    let table: Vec<Row> = vec![
        ("accept", facts(PERSONAL), sender, own(), spec(), Ok(())),
        (
            "accept without window",
            facts(PERSONAL),
            sender,
            own(),
            open.clone(),
            Ok(()),
        ),
        (
            "accept Cc",
            facts(CC_ONLY),
            Some("lead@hermod.example"),
            own(),
            spec(),
            Ok(()),
        ),
        (
            "accept Auto-Submitted: no",
            personal_with("Auto-Submitted: no\r\n"),
            sender,
            own(),
            spec(),
            Ok(()),
        ),
        (
            "accept Precedence first-class",
            personal_with("Precedence: first-class\r\n"),
            sender,
            own(),
            spec(),
            Ok(()),
        ),
        (
            "accept +detail in To",
            facts("From: a@b.example\r\nTo: Me+Travel@Hermod.Example\r\n\r\nhi\r\n"),
            Some("a@b.example"),
            own(),
            spec(),
            Ok(()),
        ),
        (
            "accept alias in Bcc",
            facts(
                "From: a@b.example\r\nTo: x@y.example\r\nBcc: me.alias@hermod.example\r\n\r\nhi\r\n",
            ),
            Some("a@b.example"),
            own(),
            spec(),
            Ok(()),
        ),
        (
            "accept <sender>",
            facts(PERSONAL),
            Some("<Ann@Friends.Example>"),
            own(),
            spec(),
            Ok(()),
        ),
        (
            "before start",
            facts(PERSONAL),
            sender,
            own(),
            window_future,
            Err("not active"),
        ),
        (
            "after end",
            facts(PERSONAL),
            sender,
            own(),
            window_past,
            Err("not active"),
        ),
        (
            "no sender",
            personal.clone(),
            None,
            own(),
            spec(),
            Err("null sender"),
        ),
        (
            "empty sender",
            personal.clone(),
            Some(""),
            own(),
            spec(),
            Err("null sender"),
        ),
        (
            "<> sender",
            personal.clone(),
            Some("<>"),
            own(),
            spec(),
            Err("null sender"),
        ),
        (
            "MAILER-DAEMON",
            facts(BOUNCE),
            Some("MAILER-DAEMON@mx.example"),
            own(),
            spec(),
            Err("system or mailing-list"),
        ),
        (
            "postmaster",
            personal.clone(),
            Some("postmaster@friends.example"),
            own(),
            spec(),
            Err("system or mailing-list"),
        ),
        (
            "owner-",
            personal.clone(),
            Some("owner-rust@lists.example.org"),
            own(),
            spec(),
            Err("system or mailing-list"),
        ),
        (
            "-request",
            personal.clone(),
            Some("rust-request@lists.example.org"),
            own(),
            spec(),
            Err("system or mailing-list"),
        ),
        (
            "-bounces",
            facts(LIST_POST),
            Some("rust-dev-bounces@lists.example.org"),
            own(),
            spec(),
            Err("system or mailing-list"),
        ),
        (
            "noreply",
            personal.clone(),
            Some("noreply@shop.example"),
            own(),
            spec(),
            Err("no-reply"),
        ),
        (
            "no-reply+detail",
            personal.clone(),
            Some("No-Reply+x7@shop.example"),
            own(),
            spec(),
            Err("no-reply"),
        ),
        (
            "do-not-reply",
            personal.clone(),
            Some("do-not-reply@shop.example"),
            own(),
            spec(),
            Err("no-reply"),
        ),
        (
            "own address",
            personal.clone(),
            Some("me@hermod.example"),
            own(),
            spec(),
            Err("own addresses"),
        ),
        (
            "Auto-Submitted",
            personal_with("Auto-Submitted: auto-generated\r\n"),
            sender,
            own(),
            spec(),
            Err("Auto-Submitted"),
        ),
        (
            "Auto-Submitted auto-replied",
            facts(BOUNCE),
            Some("ann@friends.example"),
            own(),
            spec(),
            Err("Auto-Submitted"),
        ),
        (
            "List-Id",
            personal_with("List-Id: <x.lists.example>\r\n"),
            sender,
            own(),
            spec(),
            Err("mailing list"),
        ),
        (
            "List-Unsubscribe",
            personal_with("List-Unsubscribe: <mailto:u@x.example>\r\n"),
            sender,
            own(),
            spec(),
            Err("mailing list"),
        ),
        (
            "List-Post",
            personal_with("List-Post: <mailto:l@x.example>\r\n"),
            sender,
            own(),
            spec(),
            Err("mailing list"),
        ),
        (
            "newsletter",
            facts(NEWSLETTER),
            Some("bounce-123@news.example.com"),
            own(),
            spec(),
            Err("mailing list"),
        ),
        (
            "Precedence bulk",
            personal_with("Precedence: bulk\r\n"),
            sender,
            own(),
            spec(),
            Err("Precedence"),
        ),
        (
            "Precedence list",
            personal_with("Precedence: List\r\n"),
            sender,
            own(),
            spec(),
            Err("Precedence"),
        ),
        (
            "Precedence junk",
            personal_with("Precedence: junk\r\n"),
            sender,
            own(),
            spec(),
            Err("Precedence"),
        ),
        (
            "X-Auto-Response-Suppress",
            personal_with("X-Auto-Response-Suppress: DR, OOF\r\n"),
            sender,
            own(),
            spec(),
            Err("X-Auto-Response-Suppress"),
        ),
        (
            "X-Autoreply",
            personal_with("X-Autoreply: yes\r\n"),
            sender,
            own(),
            spec(),
            Err("itself an automatic reply"),
        ),
        (
            "not addressed",
            facts("From: a@b.example\r\nTo: someone@else.example\r\n\r\nhi\r\n"),
            Some("a@b.example"),
            own(),
            spec(),
            Err("none of the recipient's addresses"),
        ),
        (
            "other own address",
            facts(PERSONAL),
            sender,
            vec!["other@hermod.example".into()],
            spec(),
            Err("none of the recipient's addresses"),
        ),
        (
            "other domain same local",
            facts(PERSONAL),
            sender,
            vec!["me@elsewhere.example".into()],
            spec(),
            Err("none of the recipient's addresses"),
        ),
    ];
    let mut failures = Vec::new();
    for (what, f, sender, own, spec, want) in table {
        let got = may_auto_reply(&f, sender, &own, &spec, NOW);
        let ok = match (&got, want) {
            (Ok(()), Ok(())) => true,
            (Err(e), Err(w)) => e.contains(w),
            _ => false,
        };
        if !ok {
            failures.push(format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn window_bounds() {
    let s = spec();
    assert!(s.is_active(NOW - 3600));
    assert!(!s.is_active(NOW - 3601));
    assert!(s.is_active(NOW + 3599));
    assert!(!s.is_active(NOW + 3600));
}

#[test]
fn reply_keys() {
    assert_eq!(reply_key("Ann@Friends.Example"), "ann@friends.example");
    assert_eq!(reply_key(" <ann@friends.example> "), "ann@friends.example");
    assert_eq!(reply_key(""), "");
}

#[test]
fn reply_message_exact() {
    let f = facts(PERSONAL);
    let msg = build_auto_reply(
        &f,
        &spec(),
        "Me <me@hermod.example>",
        "ann@friends.example",
        "Mon, 06 May 2024 12:00:00 +0000",
        "ar-1@hermod.example",
    );
    let want = "From: Me <me@hermod.example>\r
To: ann@friends.example\r
Subject: Out of office\r
Date: Mon, 06 May 2024 12:00:00 +0000\r
Message-ID: <ar-1@hermod.example>\r
In-Reply-To: <d1@friends.example>\r
References: <d0@friends.example>\r
 <d1@friends.example>\r
Auto-Submitted: auto-replied\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
I am away until Monday.\r
For urgent matters call the office.\r
";
    assert_eq!(String::from_utf8(msg).unwrap(), want);
}

#[test]
fn reply_message_utf8_and_injection() {
    let f = facts(UTF8_SUBJECT);
    let mut s = spec();
    s.subject = "Abwesenheitsnotiz – zurück am Montag".into();
    s.body = "Grüße,\r\nZoë = 100% weg".into();
    let msg = build_auto_reply(
        &f,
        &s,
        "me@hermod.example",
        "zoe@exemple.fr\r\nBcc: victim@x.example",
        "Mon, 06 May 2024 12:00:00 +0000",
        "<ar-2@hermod.example>",
    );
    let text = String::from_utf8(msg.clone()).unwrap();
    assert!(text.is_ascii(), "{text}");
    assert!(!text.contains("\r\nBcc:"), "{text}");
    assert!(text.contains("Subject: =?UTF-8?B?"), "{text}");
    assert!(text.contains("Message-ID: <ar-2@hermod.example>\r\n"));
    // no bare LF anywhere
    assert!(!text.replace("\r\n", "").contains('\n'));
    // read it back
    let back = MessageFacts::from_raw(&msg, msg.len() as u64);
    assert_eq!(back.subject, "Abwesenheitsnotiz – zurück am Montag");
    assert_eq!(back.auto_submitted.as_deref(), Some("auto-replied"));
    assert_eq!(
        back.header_values("in-reply-to").next(),
        Some("<r1@exemple.fr>")
    );
    assert_eq!(back.body.replace("\r\n", "\n"), "Grüße,\nZoë = 100% weg\n");
}

#[test]
fn reply_without_message_id_or_subject() {
    let f = facts("From: a@b.example\r\nTo: me@hermod.example\r\nSubject: Hi\r\n\r\nx\r\n");
    let mut s = spec();
    s.subject = String::new();
    let msg = String::from_utf8(build_auto_reply(
        &f,
        &s,
        "me@hermod.example",
        "a@b.example",
        "d",
        "m@x",
    ))
    .unwrap();
    assert!(msg.contains("Subject: Auto: Hi\r\n"));
    assert!(!msg.contains("In-Reply-To"));
    assert!(!msg.contains("References"));
}
