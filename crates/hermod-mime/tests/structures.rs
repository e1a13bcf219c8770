//! Exact ENVELOPE / BODYSTRUCTURE / BODY / section output for hand-written messages.

mod common;

use hermod_mime::{
    BinaryError, PartKind, PartMap, SectionSpec, analyze, binary, header_end, search_text, section,
};

/// Writes a test message with CRLF line ends.
fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn sec(raw: &[u8], map: &PartMap, path: &[u32], spec: SectionSpec<'_>) -> Option<String> {
    section(raw, map, path, spec).map(|b| String::from_utf8(b).unwrap())
}

fn check_syntax(a: &hermod_mime::Analysis) {
    common::check_envelope(&common::parse(&a.envelope).unwrap()).unwrap();
    common::check_body(&common::parse(&a.body_structure).unwrap(), true).unwrap();
    common::check_body(&common::parse(&a.body).unwrap(), false).unwrap();
    assert_eq!(
        PartMap::from_text(&a.parts.to_text()).as_ref(),
        Some(&a.parts)
    );
}

const SIMPLE: &str = "From: Terry Gray <gray@cac.washington.edu>
To: imap@cac.washington.edu
Cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Subject: IMAP4rev1 WG mtg summary and minutes
Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
Message-ID: <B27397-0100000@cac.washington.edu>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello
World
";

#[test]
fn simple_text_plain() {
    let raw = crlf(SIMPLE);
    let a = analyze(&raw);
    check_syntax(&a);
    let gray = r#"(("Terry Gray" NIL "gray" "cac.washington.edu"))"#;
    assert_eq!(
        a.envelope,
        format!(
            r#"("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" {gray} {gray} {gray} ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")"#
        )
    );
    assert_eq!(
        a.body,
        r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 14 2)"#
    );
    assert_eq!(
        a.body_structure,
        r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 14 2 NIL NIL NIL NIL)"#
    );
    assert_eq!(a.sent_date, Some(837_595_405));
    assert_eq!(a.parts.root.kind, PartKind::Leaf);

    let m = &a.parts;
    let body_start = header_end(&raw);
    assert_eq!(
        sec(&raw, m, &[], SectionSpec::Full).unwrap().as_bytes(),
        &raw[..]
    );
    assert_eq!(
        sec(&raw, m, &[], SectionSpec::Header).unwrap().as_bytes(),
        &raw[..body_start]
    );
    assert_eq!(
        sec(&raw, m, &[], SectionSpec::Text).unwrap(),
        "Hello\r\nWorld\r\n"
    );
    assert_eq!(
        sec(&raw, m, &[1], SectionSpec::Full).unwrap(),
        "Hello\r\nWorld\r\n"
    );
    assert_eq!(
        sec(&raw, m, &[1], SectionSpec::Mime).unwrap().as_bytes(),
        &raw[..body_start]
    );
    let names = vec![
        "subject".to_string(),
        "FROM".to_string(),
        "X-None".to_string(),
    ];
    assert_eq!(
        sec(&raw, m, &[], SectionSpec::HeaderFields(&names)).unwrap(),
        "From: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev1 WG mtg summary and minutes\r\n\r\n"
    );
    let not = vec![
        "from".to_string(),
        "to".to_string(),
        "cc".to_string(),
        "subject".to_string(),
        "message-id".to_string(),
    ];
    assert_eq!(
        sec(&raw, m, &[], SectionSpec::HeaderFieldsNot(&not)).unwrap(),
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
    );
    assert_eq!(sec(&raw, m, &[], SectionSpec::Mime), None);
    assert_eq!(sec(&raw, m, &[2], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[0], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[1, 1], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[1], SectionSpec::Header), None);
    assert_eq!(
        binary(&raw, m, &[1]).unwrap().unwrap(),
        b"Hello\r\nWorld\r\n"
    );
    assert_eq!(binary(&raw, m, &[3]), Ok(None));
}

const MIXED: &str = "From: a@example.com
To: b@example.com
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"XX\"

preamble
--XX
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 =
au lait
--XX
Content-Type: application/pdf; name=\"r.pdf\"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=\"r.pdf\"
Content-ID: <pdf1@x>
Content-Description: The report
Content-Language: en, fr
Content-Location: http://x/r.pdf

aGVsbG8gd29y
bGQ=
--XX--
epilogue
";

#[test]
fn multipart_mixed_with_attachment() {
    let raw = crlf(MIXED);
    let a = analyze(&raw);
    check_syntax(&a);
    assert_eq!(
        a.body_structure,
        concat!(
            r#"(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 20 2 NIL NIL NIL NIL)"#,
            r#"("APPLICATION" "PDF" ("NAME" "r.pdf") "<pdf1@x>" "The report" "BASE64" 18 NIL ("ATTACHMENT" ("FILENAME" "r.pdf")) ("en" "fr") "http://x/r.pdf")"#,
            r#" "MIXED" ("BOUNDARY" "XX") NIL NIL NIL)"#
        )
    );
    assert_eq!(
        a.body,
        concat!(
            r#"(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 20 2)"#,
            r#"("APPLICATION" "PDF" ("NAME" "r.pdf") "<pdf1@x>" "The report" "BASE64" 18) "MIXED")"#
        )
    );
    assert_eq!(
        a.envelope,
        r#"(NIL "report" ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) ((NIL NIL "b" "example.com")) NIL NIL NIL NIL)"#
    );
    assert_eq!(a.sent_date, None);
    let m = &a.parts;
    assert_eq!(
        sec(&raw, m, &[1], SectionSpec::Full).unwrap(),
        "caf=C3=A9 =\r\nau lait"
    );
    assert_eq!(
        binary(&raw, m, &[1]).unwrap().unwrap(),
        "café au lait".as_bytes()
    );
    assert_eq!(
        sec(&raw, m, &[2], SectionSpec::Full).unwrap(),
        "aGVsbG8gd29y\r\nbGQ="
    );
    assert_eq!(binary(&raw, m, &[2]).unwrap().unwrap(), b"hello world");
    assert!(
        sec(&raw, m, &[2], SectionSpec::Mime)
            .unwrap()
            .starts_with("Content-Type: application/pdf; name=\"r.pdf\"\r\n")
    );
    assert!(
        sec(&raw, m, &[2], SectionSpec::Mime)
            .unwrap()
            .ends_with("Content-Location: http://x/r.pdf\r\n\r\n")
    );
    assert_eq!(sec(&raw, m, &[3], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[2, 1], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[2], SectionSpec::Text), None);
    // BODY[1] of a multipart message is its first part, BODY[TEXT] the whole body.
    assert!(
        sec(&raw, m, &[], SectionSpec::Text)
            .unwrap()
            .starts_with("preamble\r\n--XX\r\n")
    );
    let st = search_text(&raw);
    assert!(st.body.contains("café au lait"), "{:?}", st.body);
    assert!(!st.body.contains("hello world"));
}

const NESTED: &str = "From: a@example.com
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html; charset=us-ascii

<p>html <b>text</b></p>
--inner--

--outer
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw==
--outer--
";

#[test]
fn nested_alternative_in_mixed() {
    let raw = crlf(NESTED);
    let a = analyze(&raw);
    check_syntax(&a);
    assert_eq!(
        a.body,
        concat!(
            r#"((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1)"#,
            r#"("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 23 1) "ALTERNATIVE")"#,
            r#"("IMAGE" "PNG" NIL NIL NIL "BASE64" 8) "MIXED")"#
        )
    );
    assert_eq!(
        a.body_structure,
        concat!(
            r#"((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1 NIL NIL NIL NIL)"#,
            r#"("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 23 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL)"#,
            r#"("IMAGE" "PNG" NIL NIL NIL "BASE64" 8 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "outer") NIL NIL NIL)"#
        )
    );
    let m = &a.parts;
    assert_eq!(sec(&raw, m, &[1, 1], SectionSpec::Full).unwrap(), "plain");
    assert_eq!(
        sec(&raw, m, &[1, 2], SectionSpec::Full).unwrap(),
        "<p>html <b>text</b></p>"
    );
    assert_eq!(
        sec(&raw, m, &[1, 2], SectionSpec::Mime).unwrap(),
        "Content-Type: text/html; charset=us-ascii\r\n\r\n"
    );
    let alt = sec(&raw, m, &[1], SectionSpec::Full).unwrap();
    assert!(
        alt.starts_with("--inner\r\n") && alt.ends_with("--inner--\r\n"),
        "{alt:?}"
    );
    assert_eq!(sec(&raw, m, &[2], SectionSpec::Full).unwrap(), "iVBORw==");
    assert_eq!(binary(&raw, m, &[2]).unwrap().unwrap(), b"\x89PNG");
    assert_eq!(sec(&raw, m, &[1, 3], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[3], SectionSpec::Full), None);
    let st = search_text(&raw);
    assert!(st.body.contains("plain"));
    assert!(st.body.contains("html text"), "{:?}", st.body);
    assert!(!st.body.contains("<b>"));
}

const RFC822: &str = "From: x@y.example
Subject: fwd
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

see attached
--b
Content-Type: message/rfc822
Content-Disposition: attachment

From: Inner Person <inner@example.org>
Subject: inner subj
Message-ID: <inner@id>

inner body
--b
Content-Type: message/rfc822

Subject: second
Content-Type: multipart/alternative; boundary=c

--c

one
--c
Content-Type: text/html

<i>two</i>
--c--
--b--
";

#[test]
fn message_rfc822_attachment() {
    let raw = crlf(RFC822);
    let a = analyze(&raw);
    check_syntax(&a);
    let inner_from = r#"(("Inner Person" NIL "inner" "example.org"))"#;
    let inner_env = format!(
        r#"(NIL "inner subj" {inner_from} {inner_from} {inner_from} NIL NIL NIL NIL "<inner@id>")"#
    );
    let second_env = r#"(NIL "second" NIL NIL NIL NIL NIL NIL NIL NIL)"#;
    assert_eq!(
        a.body,
        format!(
            concat!(
                r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 12 1)"#,
                r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 97 {} ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1) 5)"#,
                r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 129 {} ((NIL NIL NIL NIL NIL "7BIT" 3 1)("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1) "ALTERNATIVE") 11)"#,
                r#" "MIXED")"#
            ),
            inner_env, second_env
        )
        .replace(
            "((NIL NIL NIL NIL NIL \"7BIT\" 3 1)",
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3 1)"
        )
    );
    assert_eq!(
        a.body_structure,
        format!(
            concat!(
                r#"(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)"#,
                r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 97 {} ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) 5 NIL ("ATTACHMENT" NIL) NIL NIL)"#,
                r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 129 {} (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3 1 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "c") NIL NIL NIL) 11 NIL NIL NIL NIL)"#,
                r#" "MIXED" ("BOUNDARY" "b") NIL NIL NIL)"#
            ),
            inner_env, second_env
        )
    );
    let m = &a.parts;
    let inner_header = "From: Inner Person <inner@example.org>\r\nSubject: inner subj\r\nMessage-ID: <inner@id>\r\n\r\n";
    assert_eq!(
        sec(&raw, m, &[2], SectionSpec::Full).unwrap(),
        format!("{inner_header}inner body")
    );
    assert_eq!(
        sec(&raw, m, &[2], SectionSpec::Header).unwrap(),
        inner_header
    );
    assert_eq!(sec(&raw, m, &[2], SectionSpec::Text).unwrap(), "inner body");
    assert_eq!(
        sec(&raw, m, &[2, 1], SectionSpec::Full).unwrap(),
        "inner body"
    );
    assert_eq!(
        sec(&raw, m, &[2], SectionSpec::Mime).unwrap(),
        "Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n"
    );
    let subj = vec!["Subject".to_string()];
    assert_eq!(
        sec(&raw, m, &[2], SectionSpec::HeaderFields(&subj)).unwrap(),
        "Subject: inner subj\r\n\r\n"
    );
    assert_eq!(sec(&raw, m, &[2, 2], SectionSpec::Full), None);
    assert_eq!(sec(&raw, m, &[2, 1], SectionSpec::Header), None);
    assert_eq!(sec(&raw, m, &[1], SectionSpec::Header), None);
    // Parts of an embedded multipart are numbered inside the embedded message.
    assert_eq!(sec(&raw, m, &[3, 1], SectionSpec::Full).unwrap(), "one");
    assert_eq!(sec(&raw, m, &[3, 1], SectionSpec::Mime).unwrap(), "\r\n");
    assert_eq!(
        sec(&raw, m, &[3, 2], SectionSpec::Full).unwrap(),
        "<i>two</i>"
    );
    assert_eq!(
        sec(&raw, m, &[3], SectionSpec::Header).unwrap(),
        "Subject: second\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
    );
    assert!(
        sec(&raw, m, &[3], SectionSpec::Text)
            .unwrap()
            .starts_with("--c\r\n\r\none\r\n--c\r\n")
    );
    assert_eq!(sec(&raw, m, &[3, 3], SectionSpec::Full), None);
    let st = search_text(&raw);
    assert!(st.body.contains("see attached"));
    assert!(st.body.contains("inner body"));
    assert!(st.body.contains("two"));
}

#[test]
fn top_level_message_rfc822() {
    let raw = crlf("Subject: outer\nContent-Type: message/rfc822\n\nSubject: inner\n\nhi\n");
    let a = analyze(&raw);
    check_syntax(&a);
    assert_eq!(
        a.body,
        r#"("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 22 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 4 1) 3)"#
    );
    let m = &a.parts;
    assert_eq!(
        sec(&raw, m, &[1], SectionSpec::Full).unwrap(),
        "Subject: inner\r\n\r\nhi\r\n"
    );
    assert_eq!(
        sec(&raw, m, &[1], SectionSpec::Header).unwrap(),
        "Subject: inner\r\n\r\n"
    );
    assert_eq!(sec(&raw, m, &[1, 1], SectionSpec::Full).unwrap(), "hi\r\n");
}

#[test]
fn groups_and_missing_headers() {
    let raw = crlf(
        "From: Alice <a@x.org>
To: Team: b@x.org, \"Carl C.\" <c@x.org>;, d@x.org
Cc: undisclosed-recipients:;
Reply-To:
Subject: say \"hi\" \\o/

body
",
    );
    let a = analyze(&raw);
    check_syntax(&a);
    let alice = r#"(("Alice" NIL "a" "x.org"))"#;
    assert_eq!(
        a.envelope,
        format!(
            concat!(
                r#"(NIL "say \"hi\" \\o/" {a} {a} {a} "#,
                r#"((NIL NIL "Team" NIL)(NIL NIL "b" "x.org")("Carl C." NIL "c" "x.org")(NIL NIL NIL NIL)(NIL NIL "d" "x.org")) "#,
                r#"((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)"#
            ),
            a = alice
        )
    );
    assert_eq!(
        a.body,
        r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 6 1)"#
    );

    // No header at all.
    let a = analyze(b"\r\nonly a body\r\n");
    check_syntax(&a);
    assert_eq!(a.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_eq!(
        a.body,
        r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 13 1)"#
    );
}

#[test]
fn encoded_words_raw_in_envelope_decoded_in_search() {
    let raw = crlf(
        "From: =?utf-8?q?J=C3=B6rg?= <j@x.de>
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
 aus Berlin
X-Plain: Grüße

Hallo
",
    );
    let a = analyze(&raw);
    check_syntax(&a);
    let from = r#"(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x.de"))"#;
    assert_eq!(
        a.envelope,
        format!(
            r#"(NIL "=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus Berlin" {from} {from} {from} NIL NIL NIL NIL NIL)"#
        )
    );
    let st = search_text(&raw);
    assert_eq!(
        st.headers,
        vec![
            ("from".to_string(), "Jörg <j@x.de>".to_string()),
            ("subject".to_string(), "Grüße aus Berlin".to_string()),
            ("x-plain".to_string(), "Grüße".to_string()),
        ]
    );
    assert_eq!(st.body.trim_end(), "Hallo");

    // Raw UTF-8 stays a quoted string.
    let a = analyze("Subject: Grüße\r\n\r\n".as_bytes());
    assert!(a.envelope.starts_with("(NIL \"Grüße\" "), "{}", a.envelope);
}

#[test]
fn digest_unknown_cte_and_encoded_message() {
    let raw = crlf(
        "Content-Type: multipart/digest; boundary=d

--d

Subject: first

one
--d
Content-Type: text/plain
Content-Transfer-Encoding: x-uuencode

begin 644 x
--d
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

U3ViamVjdDogZW5jCgpib2R5Cg==
--d--
",
    );
    let a = analyze(&raw);
    check_syntax(&a);
    assert_eq!(
        a.body,
        concat!(
            r#"(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 21 (NIL "first" NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3 1) 3)"#,
            r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "X-UUENCODE" 11 1)"#,
            r#"("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 28 (NIL "enc" NIL NIL NIL NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 5 1) 1)"#,
            r#" "DIGEST")"#
        )
    );
    let m = &a.parts;
    assert_eq!(sec(&raw, m, &[1, 1], SectionSpec::Full).unwrap(), "one");
    assert_eq!(
        sec(&raw, m, &[1], SectionSpec::Header).unwrap(),
        "Subject: first\r\n\r\n"
    );
    assert_eq!(binary(&raw, m, &[2]), Err(BinaryError::UnknownEncoding));
    assert_eq!(
        sec(&raw, m, &[2], SectionSpec::Full).unwrap(),
        "begin 644 x"
    );
    assert_eq!(
        binary(&raw, m, &[3]).unwrap().unwrap(),
        b"Subject: enc\n\nbody\n"
    );
}

#[test]
fn garbage_gives_text_plain() {
    for raw in [
        &b""[..],
        b"\x00\xff\xfe garbage without structure",
        b"no colon here\nnor here",
        b"\r\n\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno parts",
    ] {
        let a = analyze(raw);
        check_syntax(&a);
        assert!(
            a.body
                .starts_with(r#"("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" "#),
            "{:?}: {}",
            raw,
            a.body
        );
        assert_eq!(section(raw, &a.parts, &[], SectionSpec::Full).unwrap(), raw);
        assert!(section(raw, &a.parts, &[1], SectionSpec::Full).is_some());
    }
    assert_eq!(PartMap::from_text("not json"), None);
}

#[test]
fn header_fields_keep_folding() {
    let raw = crlf("Subject: a\n  folded\nX-A: 1\nx-a: 2\n\nbody\n");
    let a = analyze(&raw);
    let names = vec!["X-A".to_string(), "subject".to_string()];
    assert_eq!(
        sec(&raw, &a.parts, &[], SectionSpec::HeaderFields(&names)).unwrap(),
        "Subject: a\r\n  folded\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
    );
    let names = vec!["X-A".to_string()];
    assert_eq!(
        sec(&raw, &a.parts, &[], SectionSpec::HeaderFieldsNot(&names)).unwrap(),
        "Subject: a\r\n  folded\r\n\r\n"
    );
    let none = vec!["X-None".to_string()];
    assert_eq!(
        sec(&raw, &a.parts, &[], SectionSpec::HeaderFields(&none)).unwrap(),
        "\r\n"
    );
}

#[test]
fn deep_nesting_is_bounded() {
    let mut nested_messages = String::from("Subject: core\r\n\r\nbody\r\n");
    for i in 0..150 {
        nested_messages =
            format!("Subject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n{nested_messages}");
    }
    let mut nested_multiparts = String::from("Content-Type: text/plain\r\n\r\nleaf");
    for i in 0..150 {
        nested_multiparts = format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n{nested_multiparts}\r\n--b{i}--"
        );
    }
    for raw in [nested_messages, nested_multiparts] {
        let raw = raw.into_bytes();
        let a = analyze(&raw);
        check_syntax(&a);
        assert_eq!(
            section(&raw, &a.parts, &[], SectionSpec::Full).unwrap(),
            raw
        );
        assert!(section(&raw, &a.parts, &[1; 20], SectionSpec::Full).is_some());
    }
}
