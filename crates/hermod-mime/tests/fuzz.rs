//! Property tests: analysis is total and its output well-formed on any input.

mod common;

use hermod_mime::{
    PartKind, PartMap, PartNode, SectionSpec, analyze, binary, search_text, section,
};
use proptest::prelude::*;

/// All section paths of a part map (bounded).
fn paths(map: &PartMap) -> Vec<Vec<u32>> {
    fn in_message(root: &PartNode, prefix: &[u32], out: &mut Vec<Vec<u32>>) {
        if root.kind == PartKind::Multipart {
            for (i, c) in root.children.iter().enumerate() {
                let mut p = prefix.to_vec();
                p.push(i as u32 + 1);
                in_part(c, &p, out);
            }
        } else {
            let mut p = prefix.to_vec();
            p.push(1);
            in_part(root, &p, out);
        }
    }
    fn in_part(node: &PartNode, path: &[u32], out: &mut Vec<Vec<u32>>) {
        if out.len() > 200 {
            return;
        }
        out.push(path.to_vec());
        match node.kind {
            PartKind::Multipart => {
                for (i, c) in node.children.iter().enumerate() {
                    let mut p = path.to_vec();
                    p.push(i as u32 + 1);
                    in_part(c, &p, out);
                }
            }
            PartKind::Message => {
                if let Some(root) = node.children.first() {
                    in_message(root, path, out);
                }
            }
            PartKind::Leaf => {}
        }
    }
    let mut out = Vec::new();
    in_message(&map.root, &[], &mut out);
    out
}

fn check(raw: &[u8]) {
    let a = analyze(raw);
    if std::env::var_os("FUZZ_STATS").is_some() {
        eprintln!(
            "STAT {} {}",
            paths(&a.parts).len(),
            a.body.matches("MESSAGE").count()
        );
    }
    let env = common::parse(&a.envelope).unwrap_or_else(|e| panic!("envelope {e}: {}", a.envelope));
    common::check_envelope(&env).unwrap();
    let bs = common::parse(&a.body_structure)
        .unwrap_or_else(|e| panic!("bodystructure {e}: {}", a.body_structure));
    common::check_body(&bs, true).unwrap_or_else(|e| panic!("{e}: {}", a.body_structure));
    let body = common::parse(&a.body).unwrap_or_else(|e| panic!("body {e}: {}", a.body));
    common::check_body(&body, false).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    assert_eq!(
        PartMap::from_text(&a.parts.to_text()).as_ref(),
        Some(&a.parts)
    );
    assert_eq!(section(raw, &a.parts, &[], SectionSpec::Full).unwrap(), raw);
    let header = section(raw, &a.parts, &[], SectionSpec::Header).unwrap();
    let text = section(raw, &a.parts, &[], SectionSpec::Text).unwrap();
    assert_eq!([header, text].concat(), raw);
    let names = vec!["subject".to_string(), "content-type".to_string()];
    for path in paths(&a.parts) {
        assert!(
            section(raw, &a.parts, &path, SectionSpec::Full).is_some(),
            "{path:?}"
        );
        assert!(
            section(raw, &a.parts, &path, SectionSpec::Mime).is_some(),
            "{path:?}"
        );
        let _ = section(raw, &a.parts, &path, SectionSpec::HeaderFields(&names));
        let _ = section(raw, &a.parts, &path, SectionSpec::Text);
        let _ = binary(raw, &a.parts, &path);
    }
    let _ = section(
        raw,
        &a.parts,
        &[7, 3, 1],
        SectionSpec::HeaderFieldsNot(&names),
    );
    let st = search_text(raw);
    assert!(st.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));
}

fn header_line() -> impl Strategy<Value = String> + Clone {
    let name = prop_oneof![
        Just("From"),
        Just("To"),
        Just("Cc"),
        Just("Sender"),
        Just("Reply-To"),
        Just("Subject"),
        Just("Date"),
        Just("Message-ID"),
        Just("In-Reply-To"),
        Just("Content-Type"),
        Just("Content-Transfer-Encoding"),
        Just("Content-Disposition"),
        Just("Content-Language"),
        Just("Content-ID"),
        Just("X-Other"),
    ];
    let value = prop_oneof![
        Just("multipart/mixed; boundary=b".to_string()),
        Just("multipart/alternative; boundary=\"c\"".to_string()),
        Just("multipart/digest; boundary=b".to_string()),
        Just("message/rfc822".to_string()),
        Just("text/plain; charset=utf-8".to_string()),
        Just("base64".to_string()),
        Just("quoted-printable".to_string()),
        Just("attachment; filename=\"a\\\"b.txt\"; filename*=utf-8''%C3%A9".to_string()),
        Just("Group: a@b.c, \"Q, R\" <q@r.s>;, <@route:x@y>".to_string()),
        Just("=?utf-8?q?caf=C3=A9?= <c@d.e>".to_string()),
        Just("Mon, 1 Jan 2024 10:00:00 +0000".to_string()),
        "[ -~]{0,40}",
        "[a-z\"<>@,;:()\\\\=?. \t]{0,30}",
        any::<String>().prop_map(|s| s.chars().take(20).collect()),
    ];
    (name, value, prop::bool::ANY).prop_map(|(n, v, fold)| {
        if fold {
            format!("{n}: {v}\r\n\t{v}")
        } else {
            format!("{n}: {v}")
        }
    })
}

fn mailish() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        4 => header_line(),
        2 => Just(String::new()),
        2 => Just("--b".to_string()),
        1 => Just("--b--".to_string()),
        1 => Just("--c".to_string()),
        1 => Just("--c--".to_string()),
        2 => "[ -~]{0,60}",
        1 => Just("aGVsbG8gd29ybGQ=".to_string()),
        1 => Just("caf=C3=A9 =".to_string()),
    ];
    (prop::collection::vec(line, 0..60), prop::bool::ANY)
        .prop_map(|(lines, lf)| lines.join(if lf { "\n" } else { "\r\n" }).into_bytes())
}

/// A randomly structured MIME entity, rendered with random defects.
#[derive(Debug, Clone)]
enum Entity {
    Leaf(Vec<String>, Vec<String>),
    Multipart(Vec<String>, String, Vec<Entity>, bool),
    Message(Vec<String>, Box<Entity>),
}

impl Entity {
    fn render(&self, out: &mut String) {
        match self {
            Entity::Leaf(headers, body) => {
                for h in headers {
                    out.push_str(h);
                    out.push_str("\r\n");
                }
                out.push_str("\r\n");
                out.push_str(&body.join("\r\n"));
            }
            Entity::Multipart(headers, boundary, parts, close) => {
                for h in headers {
                    out.push_str(h);
                    out.push_str("\r\n");
                }
                out.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\npre\r\n"
                ));
                for p in parts {
                    out.push_str(&format!("--{boundary}\r\n"));
                    p.render(out);
                    out.push_str("\r\n");
                }
                if *close {
                    out.push_str(&format!("--{boundary}--\r\nepilogue"));
                }
            }
            Entity::Message(headers, inner) => {
                for h in headers {
                    out.push_str(h);
                    out.push_str("\r\n");
                }
                out.push_str("Content-Type: message/rfc822\r\n\r\n");
                inner.render(out);
            }
        }
    }
}

fn entity() -> impl Strategy<Value = Entity> {
    let headers = prop::collection::vec(header_line(), 0..4);
    let body = prop::collection::vec("[ -~]{0,30}", 0..4);
    let leaf = (headers.clone(), body).prop_map(|(h, b)| Entity::Leaf(h, b));
    leaf.prop_recursive(5, 40, 4, move |inner| {
        let headers = prop::collection::vec(header_line(), 0..3);
        prop_oneof![
            (
                headers.clone(),
                prop_oneof![Just("b".to_string()), Just("c".to_string()), "[a-z]{1,5}"],
                prop::collection::vec(inner.clone(), 0..4),
                prop::bool::weighted(0.8),
            )
                .prop_map(|(h, b, p, c)| Entity::Multipart(h, b, p, c)),
            (headers, inner).prop_map(|(h, i)| Entity::Message(h, Box::new(i))),
        ]
    })
}

fn structured() -> impl Strategy<Value = Vec<u8>> {
    (
        entity(),
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.2),
        prop::bool::ANY,
    )
        .prop_map(|(e, cut, truncate, lf)| {
            let mut s = String::new();
            e.render(&mut s);
            if lf {
                s = s.replace("\r\n", "\n");
            }
            let mut raw = s.into_bytes();
            if truncate && !raw.is_empty() {
                raw.truncate(cut.index(raw.len()));
            }
            raw
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&raw);
    }

    #[test]
    fn header_ish_text_never_panics(raw in mailish()) {
        check(&raw);
    }

    #[test]
    fn structured_mime_never_panics(raw in structured()) {
        check(&raw);
    }
}
