//! Export of delivery rules as an RFC 5228 Sieve script, for users who move
//! to another provider.
//!
//! * The `require` line lists exactly the extensions the enabled rules use
//!   (`body`, `copy`, `fileinto`, `imap4flags`, `regex`, `vacation`), sorted;
//!   it is left out when none is needed.
//! * Each rule starts with a comment naming it. Disabled rules are written
//!   too, but commented out line by line (marked `disabled`), so that they
//!   can be switched on by removing the `#`s; their extensions are not
//!   required.
//! * Conditions: From/To/Cc/To-or-Cc use `address :all` (To-or-Cc tests
//!   `["to", "cc"]`); Subject, List-Id and other headers use `header`; Body
//!   uses `body :text`; size uses `size :over` / `:under` (`is` becomes
//!   `allof (not size :over N, not size :under N)`). `contains`/`is` map to
//!   `:contains`/`:is`, `begins-with`/`ends-with` to `:matches` with `*`
//!   (wildcards in the term escaped), `matches` to `:regex`, and the
//!   negative operators to `not`. `has-attachment` cannot be tested in Sieve:
//!   a comment says so and it is approximated by
//!   `header :contains "content-type" "multipart/mixed"`. Several conditions
//!   are joined with `allof` (match all) or `anyof` (match any).
//! * Actions: flags first (`addflag "\\Seen"` / `"\\Flagged"`, so that they
//!   apply to the rule's `fileinto`), then in order `fileinto`,
//!   `redirect :copy` (forward keeping a copy) or `redirect`, `discard`,
//!   `vacation :days N :subject "…" "…"` (a start/end window is written as a
//!   comment), and `stop` last.
//!
//! Differences that Sieve cannot express: display names are not matched by
//! `address` tests; Sieve's default comparator folds ASCII case only;
//! regular expressions are in Rust syntax, which POSIX engines mostly but
//! not fully share; Hermod's `Delete` also cancels folder copies from other
//! rules, while `discard` only cancels the implicit keep; flags set by a
//! later rule do not reach copies filed by an earlier one.

use std::collections::BTreeSet;

use hermod_model::rules::{Action, Condition, MatchMode, Rule};

use crate::engine::{Field, Op, parse_field, parse_op, parse_size};

/// Quotes a string per RFC 5228 section 2.4.2 (`\` and `"` escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Escapes the `:matches` wildcards `*`, `?` and `\` in a literal.
fn escape_wildcards(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text safe to put in a `#` comment (one line).
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn size_literal(n: u64) -> String {
    if n > 0 && n.is_multiple_of(1 << 30) {
        format!("{}G", n >> 30)
    } else if n > 0 && n.is_multiple_of(1 << 20) {
        format!("{}M", n >> 20)
    } else if n > 0 && n.is_multiple_of(1 << 10) {
        format!("{}K", n >> 10)
    } else {
        n.to_string()
    }
}

struct Test {
    text: String,
    comments: Vec<String>,
}

fn convert_condition(c: &Condition, req: &mut BTreeSet<&'static str>) -> Test {
    let fail = |why: &str| Test {
        text: "false".into(),
        comments: vec![format!(
            "condition {} {} {} cannot be converted ({why}); it never matches",
            comment_text(&c.field),
            comment_text(&c.op),
            comment_text(&c.term)
        )],
    };
    let (Some(field), Some(op)) = (parse_field(&c.field), parse_op(&c.op)) else {
        return fail("unknown field or condition");
    };
    match field {
        Field::Size => {
            let Ok(n) = parse_size(&c.term) else {
                return fail("bad size");
            };
            let n = size_literal(n);
            let text = match op {
                Op::GreaterThan => format!("size :over {n}"),
                Op::LessThan => format!("size :under {n}"),
                Op::Is => format!("allof (not size :over {n}, not size :under {n})"),
                _ => return fail("size takes greater-than, less-than or is"),
            };
            return Test {
                text,
                comments: Vec::new(),
            };
        }
        Field::HasAttachment => {
            let yes = match c.term.trim().to_lowercase().as_str() {
                "yes" | "true" => true,
                "no" | "false" => false,
                _ => return fail("has-attachment takes yes or no"),
            };
            let want = match op {
                Op::Is => yes,
                Op::IsNot => !yes,
                _ => return fail("has-attachment takes is or is-not"),
            };
            let test = "header :contains \"content-type\" \"multipart/mixed\"";
            return Test {
                text: if want {
                    test.to_string()
                } else {
                    format!("not {test}")
                },
                comments: vec![
                    "has-attachment cannot be tested in Sieve; approximated by a multipart/mixed Content-Type"
                        .into(),
                ],
            };
        }
        _ => {}
    }
    let address_field = matches!(field, Field::From | Field::To | Field::Cc | Field::ToOrCc);
    let term = if address_field && matches!(op, Op::Is | Op::IsNot) {
        let t = c.term.trim();
        t.strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(t)
            .trim()
            .to_string()
    } else {
        c.term.clone()
    };
    let (match_type, keys, negate) = match op {
        Op::Contains => (":contains", vec![quote(&term)], false),
        Op::NotContains => (":contains", vec![quote(&term)], true),
        Op::Is | Op::IsNot if field == Field::ListId => (
            ":matches",
            vec![
                quote(&escape_wildcards(&term)),
                quote(&format!("*<{}>", escape_wildcards(&term))),
            ],
            op == Op::IsNot,
        ),
        Op::Is => (":is", vec![quote(&term)], false),
        Op::IsNot => (":is", vec![quote(&term)], true),
        Op::BeginsWith => (
            ":matches",
            vec![quote(&format!("{}*", escape_wildcards(&term)))],
            false,
        ),
        Op::EndsWith => (
            ":matches",
            vec![quote(&format!("*{}", escape_wildcards(&term)))],
            false,
        ),
        Op::Matches => {
            req.insert("regex");
            (":regex", vec![quote(&term)], false)
        }
        Op::GreaterThan | Op::LessThan => {
            return fail("greater-than and less-than only work with size");
        }
    };
    let keys = if keys.len() == 1 {
        keys.into_iter().next().unwrap_or_default()
    } else {
        format!("[{}]", keys.join(", "))
    };
    let text = match field {
        Field::From => format!("address :all {match_type} \"from\" {keys}"),
        Field::To => format!("address :all {match_type} \"to\" {keys}"),
        Field::Cc => format!("address :all {match_type} \"cc\" {keys}"),
        Field::ToOrCc => format!("address :all {match_type} [\"to\", \"cc\"] {keys}"),
        Field::Subject => format!("header {match_type} \"subject\" {keys}"),
        Field::ListId => format!("header {match_type} \"list-id\" {keys}"),
        Field::Body => {
            req.insert("body");
            format!("body :text {match_type} {keys}")
        }
        Field::Header(name) => format!(
            "header {match_type} {} {keys}",
            quote(&name.to_ascii_lowercase())
        ),
        Field::Size | Field::HasAttachment => unreachable!("handled above"),
    };
    Test {
        text: if negate { format!("not {text}") } else { text },
        comments: Vec::new(),
    }
}

fn convert_actions(actions: &[Action], req: &mut BTreeSet<&'static str>) -> Vec<String> {
    let mut lines = Vec::new();
    for a in actions {
        match a {
            Action::MarkRead => {
                req.insert("imap4flags");
                lines.push("addflag \"\\\\Seen\";".to_string());
            }
            Action::Flag => {
                req.insert("imap4flags");
                lines.push("addflag \"\\\\Flagged\";".to_string());
            }
            _ => {}
        }
    }
    let mut stop = false;
    for a in actions {
        match a {
            Action::Folder { folder } => {
                req.insert("fileinto");
                lines.push(format!("fileinto {};", quote(folder)));
            }
            Action::Forward { to, keep_copy } => {
                if *keep_copy {
                    req.insert("copy");
                    lines.push(format!("redirect :copy {};", quote(to.trim())));
                } else {
                    lines.push(format!("redirect {};", quote(to.trim())));
                }
            }
            Action::Delete => lines.push("discard;".into()),
            Action::AutoReply {
                subject,
                body,
                start,
                end,
                interval_days,
            } => {
                req.insert("vacation");
                if start.is_some() || end.is_some() {
                    let f = |t: &Option<i64>| t.map_or("-".to_string(), |t| t.to_string());
                    lines.push(format!(
                        "# auto-reply window (Unix time, not exported): from {} until {}",
                        f(start),
                        f(end)
                    ));
                }
                lines.push(format!(
                    "vacation :days {} :subject {} {};",
                    (*interval_days).max(1),
                    quote(subject),
                    quote(body)
                ));
            }
            Action::Stop => stop = true,
            Action::MarkRead | Action::Flag => {}
        }
    }
    if stop {
        lines.push("stop;".into());
    }
    lines
}

/// Writes one rule's `if` block (without its name comment).
fn convert_rule(rule: &Rule, req: &mut BTreeSet<&'static str>) -> String {
    let mut out = String::new();
    let tests: Vec<Test> = rule
        .conditions
        .iter()
        .map(|c| convert_condition(c, req))
        .collect();
    for t in &tests {
        for c in &t.comments {
            out.push_str(&format!("# {c}\n"));
        }
    }
    let cond = match tests.len() {
        0 => {
            out.push_str("# this rule has no conditions, so it never runs\n");
            "false".to_string()
        }
        1 => tests[0].text.clone(),
        _ => {
            let joiner = match rule.match_mode {
                MatchMode::All => "allof",
                MatchMode::Any => "anyof",
            };
            let inner: Vec<String> = tests.iter().map(|t| format!("    {}", t.text)).collect();
            format!("{joiner} (\n{}\n)", inner.join(",\n"))
        }
    };
    out.push_str(&format!("if {cond} {{\n"));
    for line in convert_actions(&rule.actions, req) {
        out.push_str(&format!("    {line}\n"));
    }
    out.push_str("}\n");
    out
}

/// Writes `rules` (in run order) as a Sieve script (see the module documentation).
pub fn to_sieve(rules: &[Rule]) -> String {
    let mut req = BTreeSet::new();
    let mut body = String::new();
    for rule in rules {
        body.push('\n');
        let name = comment_text(&rule.name);
        if rule.enabled {
            body.push_str(&format!("# rule: {name}\n"));
            body.push_str(&convert_rule(rule, &mut req));
        } else {
            body.push_str(&format!("# rule: {name} (disabled)\n"));
            let mut ignored = BTreeSet::new();
            for line in convert_rule(rule, &mut ignored).lines() {
                body.push_str(&format!(
                    "#{}{line}\n",
                    if line.is_empty() { "" } else { " " }
                ));
            }
        }
    }
    let mut out = String::from("# Sieve script (RFC 5228) exported from Hermod delivery rules.\n");
    if !req.is_empty() {
        let list: Vec<String> = req.iter().map(|r| quote(r)).collect();
        out.push_str(&format!("require [{}];\n", list.join(", ")));
    }
    out.push_str(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(escape_wildcards("a*b?c\\"), "a\\*b\\?c\\\\");
        assert_eq!(size_literal(10 * 1024), "10K");
        assert_eq!(size_literal(2 << 20), "2M");
        assert_eq!(size_literal(1500), "1500");
        assert_eq!(size_literal(0), "0");
    }
}
