//! Data-driven test: client commands from the IMAP RFCs' examples (see rfc_examples.txt for
//! the format) must parse, or fail, as the file says.

use hermod_imap_proto::parse_command;

struct Entry {
    line: usize,
    command: Vec<u8>,
    expect: String,
}

fn entries(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, Vec<&str>)> = None;
    for (i, l) in text.lines().enumerate() {
        match &mut cur {
            None if l.is_empty() || l.starts_with('#') => {}
            None => cur = Some((i + 1, vec![l])),
            Some((line, lines)) => {
                if let Some(expect) = l.strip_prefix("=>") {
                    let mut command = lines.join("\r\n").into_bytes();
                    command.extend_from_slice(b"\r\n");
                    out.push(Entry {
                        line: *line,
                        command,
                        expect: expect.trim().to_string(),
                    });
                    cur = None;
                } else {
                    lines.push(l);
                }
            }
        }
    }
    assert!(cur.is_none(), "unterminated entry at the end of the file");
    out
}

#[test]
fn rfc_examples() {
    let all = entries(include_str!("rfc_examples.txt"));
    assert!(all.len() > 100, "only {} entries", all.len());
    let mut failures = Vec::new();
    for e in &all {
        let shown = String::from_utf8_lossy(&e.command);
        let (want_ok, snippets) = match e.expect.split_once(' ') {
            Some((kind, rest)) => (kind == "ok", rest.split(" && ").collect::<Vec<_>>()),
            None => (e.expect == "ok", Vec::new()),
        };
        assert!(
            e.expect.starts_with("ok") || e.expect.starts_with("err"),
            "line {}: bad expectation",
            e.line
        );
        match parse_command(&e.command) {
            Ok(t) if want_ok => {
                let debug = format!("{:?}", t.command);
                for s in snippets {
                    if !debug.contains(s) {
                        failures.push(format!(
                            "line {}: {shown:?}\n  missing {s:?}\n  in {debug}",
                            e.line
                        ));
                    }
                }
                let tag_end = e.command.iter().position(|&b| b == b' ').unwrap_or(0);
                assert_eq!(t.tag.as_bytes(), &e.command[..tag_end], "line {}", e.line);
            }
            Ok(t) => failures.push(format!(
                "line {}: {shown:?} parsed as {t:?}, expected an error",
                e.line
            )),
            Err(err) if want_ok => {
                failures.push(format!("line {}: {shown:?} failed: {err}", e.line))
            }
            Err(err) => {
                assert!(err.tag.is_some(), "line {}: no tag in {err:?}", e.line);
                for s in snippets {
                    if !err.message.contains(s) {
                        failures.push(format!(
                            "line {}: error {:?} lacks {s:?}",
                            e.line, err.message
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{} RFC examples checked", all.len());
}
