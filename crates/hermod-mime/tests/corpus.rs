//! Runs the analysis over the shared corpus (real, RFC-example and malformed
//! mail from stalwartlabs/mail-parser, Apache-2.0 OR MIT) and checks the
//! invariants the IMAP server relies on.

mod common;

use std::path::{Path, PathBuf};

use hermod_mime::{PartMap, SectionSpec, analyze, binary, search_text, section};
use mail_parser::{Encoding, Message, MessageParser, PartType};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/eml")
}

fn corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["rfc", "legacy", "thirdparty", "malformed"] {
        let dir = corpus_dir().join(sub);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus folder {} missing: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).unwrap();
                out.push((path, raw));
            }
        }
    }
    out.sort();
    out
}

/// A leaf part as mail-parser sees it, with its IMAP section path.
struct Leaf {
    path: Vec<u32>,
    start: usize,
    end: usize,
    base64: Option<Vec<u8>>,
}

fn walk_message(msg: &Message<'_>, path: &[u32], out: &mut Vec<Leaf>) {
    let Some(root) = msg.parts.first() else {
        return;
    };
    match &root.body {
        PartType::Multipart(ids) if !ids.is_empty() => {
            for (i, &id) in ids.iter().enumerate() {
                let mut p = path.to_vec();
                p.push(i as u32 + 1);
                walk_part(msg, id as usize, &p, out);
            }
        }
        _ => {
            let mut p = path.to_vec();
            p.push(1);
            walk_part(msg, 0, &p, out);
        }
    }
}

fn walk_part(msg: &Message<'_>, idx: usize, path: &[u32], out: &mut Vec<Leaf>) {
    let part = &msg.parts[idx];
    match &part.body {
        PartType::Multipart(ids) if !ids.is_empty() => {
            for (i, &id) in ids.iter().enumerate() {
                let mut p = path.to_vec();
                p.push(i as u32 + 1);
                walk_part(msg, id as usize, &p, out);
            }
        }
        PartType::Message(nested) if part.encoding == Encoding::None => {
            walk_message(nested, path, out)
        }
        PartType::Message(_) => {}
        body => out.push(Leaf {
            path: path.to_vec(),
            start: part.offset_body as usize,
            end: part.offset_end as usize,
            base64: match body {
                PartType::Binary(b) | PartType::InlineBinary(b)
                    if part.encoding == Encoding::Base64 && !part.is_encoding_problem =>
                {
                    Some(b.to_vec())
                }
                _ => None,
            },
        }),
    }
}

#[test]
fn corpus_invariants() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 100,
        "corpus has only {} messages",
        corpus.len()
    );
    let mut leaves_checked = 0;
    let mut base64_checked = 0;
    for (path, raw) in &corpus {
        let name = path.display();
        let a = analyze(raw);

        let env = common::parse(&a.envelope).unwrap_or_else(|e| panic!("{name}: envelope {e}"));
        common::check_envelope(&env).unwrap_or_else(|e| panic!("{name}: envelope {e}"));
        let bs = common::parse(&a.body_structure)
            .unwrap_or_else(|e| panic!("{name}: bodystructure {e}: {}", a.body_structure));
        common::check_body(&bs, true)
            .unwrap_or_else(|e| panic!("{name}: bodystructure {e}: {}", a.body_structure));
        let body = common::parse(&a.body).unwrap_or_else(|e| panic!("{name}: body {e}"));
        common::check_body(&body, false).unwrap_or_else(|e| panic!("{name}: body {e}"));

        let text = a.parts.to_text();
        assert_eq!(PartMap::from_text(&text).as_ref(), Some(&a.parts), "{name}");

        assert_eq!(
            section(raw, &a.parts, &[], SectionSpec::Full).as_deref(),
            Some(&raw[..]),
            "{name}"
        );
        let header = section(raw, &a.parts, &[], SectionSpec::Header).unwrap();
        let text_part = section(raw, &a.parts, &[], SectionSpec::Text).unwrap();
        assert_eq!([header, text_part].concat(), *raw, "{name}: HEADER + TEXT");

        let msg = MessageParser::default().parse(raw);
        let mut leaves = Vec::new();
        if let Some(msg) = &msg {
            walk_message(msg, &[], &mut leaves);
        }
        for leaf in &leaves {
            let got = section(raw, &a.parts, &leaf.path, SectionSpec::Full)
                .unwrap_or_else(|| panic!("{name}: part {:?} missing", leaf.path));
            assert!(
                got == raw[leaf.start..leaf.end],
                "{name}: part {:?} bytes differ: got {} bytes {:?}, want {} bytes {:?}",
                leaf.path,
                got.len(),
                String::from_utf8_lossy(&got[got.len().saturating_sub(80)..]),
                leaf.end - leaf.start,
                String::from_utf8_lossy(&raw[leaf.end.saturating_sub(80)..leaf.end]),
            );
            assert!(section(raw, &a.parts, &leaf.path, SectionSpec::Mime).is_some());
            leaves_checked += 1;
            if let Some(expected) = &leaf.base64 {
                let decoded = binary(raw, &a.parts, &leaf.path)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .unwrap();
                assert_eq!(&decoded, expected, "{name}: part {:?} base64", leaf.path);
                base64_checked += 1;
            }
        }

        let st = search_text(raw);
        assert!(st.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()));
    }
    assert!(leaves_checked > 200, "only {leaves_checked} leaves");
    assert!(base64_checked > 20, "only {base64_checked} base64 parts");
}
