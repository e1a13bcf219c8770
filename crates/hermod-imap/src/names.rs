//! Mailbox names: the client's encoding (modified UTF-7 for IMAP4rev1 clients, UTF-8 once
//! IMAP4rev2 or UTF8=ACCEPT is enabled) against the store's UTF-8, INBOX's case, and LIST
//! patterns.

use hermod_imap_proto::{encode, mutf7};

/// The hierarchy separator.
pub const SEP: char = '/';

/// A client's mailbox name in the store's form. `Err` says why it is not a name.
pub fn from_client(raw: &str, utf8: bool) -> Result<String, String> {
    let decoded = if utf8 {
        raw.to_string()
    } else {
        mutf7::decode(raw).ok_or_else(|| format!("{raw:?} is not valid modified UTF-7"))?
    };
    let trimmed = decoded.trim_end_matches(SEP);
    if trimmed.is_empty() {
        return Err("the mailbox name is empty".into());
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err("mailbox names cannot hold control characters".into());
    }
    if trimmed.split(SEP).any(str::is_empty) {
        return Err("mailbox names cannot hold an empty level (\"//\")".into());
    }
    Ok(normalise_inbox(trimmed))
}

/// INBOX is case-insensitive, also as the top of a hierarchy.
pub fn normalise_inbox(name: &str) -> String {
    match name.split_once(SEP) {
        Some((top, rest)) if top.eq_ignore_ascii_case("INBOX") => format!("INBOX{SEP}{rest}"),
        None if name.eq_ignore_ascii_case("INBOX") => "INBOX".into(),
        _ => name.to_string(),
    }
}

/// A store name as the client expects it, ready to send (quoted or literal).
pub fn to_client(name: &str, utf8: bool) -> String {
    if utf8 {
        encode::string_utf8(name, true)
    } else {
        encode::string(&mutf7::encode(name))
    }
}

/// LIST pattern matching: `*` matches anything, `%` anything but the separator.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with backtracking over the last wildcard; `%` cannot cross `/`.
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('%') => {
                let mut i = 0;
                loop {
                    if go(&p[1..], &n[i..]) {
                        return true;
                    }
                    if i == n.len() || n[i] == SEP {
                        return false;
                    }
                    i += 1;
                }
            }
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    // Patterns are short; cap the work anyway so a hostile pattern cannot spin.
    if p.iter().filter(|c| **c == '*' || **c == '%').count() > 10 {
        return false;
    }
    go(&p, &n)
}

/// The pattern a LIST reference and pattern make together.
pub fn join_reference(reference: &str, pattern: &str) -> String {
    if reference.is_empty() || pattern.starts_with(SEP) {
        pattern.to_string()
    } else if reference.ends_with(SEP) {
        format!("{reference}{pattern}")
    } else {
        format!("{reference}{SEP}{pattern}")
    }
}

/// Every ancestor of a name: "a/b/c" gives "a", "a/b".
pub fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices(SEP).map(move |(i, _)| &name[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "a"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a*c", "a/b/c"));
        assert!(matches("INBOX", "INBOX"));
        assert!(!matches("IN", "INBOX"));
        assert!(matches("Sent*", "Sent Items"));
    }

    #[test]
    fn inbox_and_encoding() {
        assert_eq!(from_client("inbox", false).unwrap(), "INBOX");
        assert_eq!(from_client("Inbox/Sub", false).unwrap(), "INBOX/Sub");
        assert_eq!(from_client("Entw&APw-rfe", false).unwrap(), "Entwürfe");
        assert_eq!(from_client("Entwürfe", true).unwrap(), "Entwürfe");
        assert!(from_client("a//b", false).is_err());
        assert_eq!(from_client("a/", false).unwrap(), "a");
        assert_eq!(to_client("Entwürfe", false), "\"Entw&APw-rfe\"");
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), vec!["a", "a/b"]);
    }
}
