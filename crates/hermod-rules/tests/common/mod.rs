//! Realistic message fixtures and rule builders shared by the tests.
#![allow(dead_code)]

use hermod_model::rules::{Action, Condition, MatchMode, Rule};
use hermod_rules::MessageFacts;

pub const ME: &str = "me@hermod.example";

pub const NEWSLETTER: &str = "Return-Path: <bounce-123@news.example.com>\r
Delivered-To: me@hermod.example\r
From: \"Weekly Digest\" <news@news.example.com>\r
To: me@hermod.example\r
Subject: Your weekly digest\r
Date: Mon, 06 May 2024 08:00:00 +0000\r
Message-ID: <digest-19@news.example.com>\r
List-Id: Weekly Digest <weekly.news.example.com>\r
List-Unsubscribe: <mailto:unsub@news.example.com>\r
Precedence: bulk\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
\r
This week's top stories.\r
To stop receiving these, UNSUBSCRIBE here.\r
";

pub const VIP: &str = "From: Victoria Client <victoria@bigclient.example>\r
To: Me <me@hermod.example>\r
Cc: boss@hermod.example\r
Reply-To: accounts@bigclient.example\r
Subject: Contract renewal\r
X-Priority: 1 (Highest)\r
Date: Tue, 07 May 2024 09:30:00 +0200\r
Message-ID: <c0ffee@bigclient.example>\r
\r
Please review the quote before Friday.\r
";

pub const ATTACHMENT: &str = "From: billing@vendor.example\r
To: me@hermod.example\r
Subject: Invoice 2024-117\r
Message-ID: <inv-117@vendor.example>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"b1\"\r
\r
--b1\r
Content-Type: text/plain; charset=us-ascii\r
\r
Your invoice is attached.\r
--b1\r
Content-Type: application/pdf; name=\"invoice.pdf\"\r
Content-Disposition: attachment; filename=\"invoice.pdf\"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\r
--b1--\r
";

pub const UTF8_SUBJECT: &str = "From: =?UTF-8?Q?Zo=C3=AB?= <zoe@exemple.fr>\r
To: me@hermod.example\r
Subject: =?UTF-8?Q?R=C3=A9union_d=27=C3=A9quipe?=\r
Message-ID: <r1@exemple.fr>\r
MIME-Version: 1.0\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
Caf=C3=A9 =C3=A0 10h dans la grande salle.\r
";

/// Only the header of a 30 MB message is given.
pub const LARGE_HEADER: &str = "From: photos@family.example\r
To: me@hermod.example\r
Subject: Holiday photos\r
Message-ID: <big@family.example>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"zz\"\r
";
pub const LARGE_SIZE: u64 = 30 * 1024 * 1024;

pub const BOUNCE: &str = "Return-Path: <>\r
From: MAILER-DAEMON@mx.example (Mail Delivery System)\r
To: me@hermod.example\r
Subject: Undelivered Mail Returned to Sender\r
Auto-Submitted: auto-replied\r
Message-ID: <bounce-1@mx.example>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r
\r
--r\r
Content-Type: text/plain\r
\r
I'm sorry to have to inform you that your message could not be delivered.\r
--r\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.example\r
Final-Recipient: rfc822; nobody@nowhere.example\r
Action: failed\r
Status: 5.1.1\r
--r--\r
";

pub const LIST_POST: &str = "From: Dev Person <dev@person.example>\r
To: rust-dev@lists.example.org\r
Sender: rust-dev-bounces@lists.example.org\r
Subject: [rust-dev] borrow checker question\r
List-Id: <rust-dev.lists.example.org>\r
List-Post: <mailto:rust-dev@lists.example.org>\r
Message-ID: <q1@person.example>\r
\r
Why does this not compile?\r
";

pub const PERSONAL: &str = "From: Ann Lee <ann@friends.example>\r
To: me@hermod.example\r
Subject: Dinner on Friday?\r
Message-ID: <d1@friends.example>\r
References: <d0@friends.example>\r
\r
Shall we meet at 8?\r
";

pub const HTML_PROMO: &str = "From: Deals <deals@shop.example>\r
To: me@hermod.example\r
Subject: Spring sale\r
X-Spam-Flag: YES\r
MIME-Version: 1.0\r
Content-Type: text/html; charset=utf-8\r
\r
<html><body><h1>Spring sale</h1><p>Everything <b>50% off</b> today.</p></body></html>\r
";

pub const CC_ONLY: &str = "From: lead@hermod.example\r
To: team@hermod.example\r
Cc: ME@Hermod.Example\r
Subject: Standup notes\r
Message-ID: <s1@hermod.example>\r
\r
Notes attached inline.\r
";

pub const BARE: &str = "From: ann@example.com\r
To: Ann <ann@example.com>\r
Subject: note to self\r
\r
remember the milk\r
";

pub fn facts(raw: &str) -> MessageFacts {
    MessageFacts::from_raw(raw.as_bytes(), raw.len() as u64)
}

pub fn large() -> MessageFacts {
    MessageFacts::from_raw(LARGE_HEADER.as_bytes(), LARGE_SIZE)
}

/// A fixture by name.
pub fn fixture(name: &str) -> MessageFacts {
    match name {
        "newsletter" => facts(NEWSLETTER),
        "vip" => facts(VIP),
        "attachment" => facts(ATTACHMENT),
        "utf8" => facts(UTF8_SUBJECT),
        "large" => large(),
        "bounce" => facts(BOUNCE),
        "list" => facts(LIST_POST),
        "personal" => facts(PERSONAL),
        "html" => facts(HTML_PROMO),
        "cc_only" => facts(CC_ONLY),
        "bare" => facts(BARE),
        other => panic!("no fixture {other}"),
    }
}

pub const ALL_FIXTURES: &[&str] = &[
    "newsletter",
    "vip",
    "attachment",
    "utf8",
    "large",
    "bounce",
    "list",
    "personal",
    "html",
    "cc_only",
    "bare",
];

pub fn cond(field: &str, op: &str, term: &str) -> Condition {
    Condition {
        field: field.into(),
        op: op.into(),
        term: term.into(),
    }
}

pub fn rule(name: &str, conditions: Vec<Condition>, actions: Vec<Action>) -> Rule {
    Rule {
        id: 0,
        owner: ME.into(),
        name: name.into(),
        enabled: true,
        position: 0,
        match_mode: MatchMode::All,
        conditions,
        actions,
    }
}

pub fn match_any(mut r: Rule) -> Rule {
    r.match_mode = MatchMode::Any;
    r
}

pub fn disabled(mut r: Rule) -> Rule {
    r.enabled = false;
    r
}

pub fn folder(f: &str) -> Action {
    Action::Folder { folder: f.into() }
}

pub fn forward(to: &str, keep_copy: bool) -> Action {
    Action::Forward {
        to: to.into(),
        keep_copy,
    }
}

pub fn auto_reply(subject: &str, body: &str) -> Action {
    Action::AutoReply {
        subject: subject.into(),
        body: body.into(),
        start: None,
        end: None,
        interval_days: 7,
    }
}
