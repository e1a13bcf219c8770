//! IMAP string syntax and the ENVELOPE structure (RFC 3501 / RFC 9051 7.4.2 / 7.5.2).

use crate::headers::{HeaderField, first_field, header_fields, unfold};

/// Appends `s` as an IMAP string: a quoted string, or a literal
/// (`{n}\r\n...`) when it contains CR or LF. NUL characters are dropped (they
/// are representable in neither form).
pub(crate) fn push_string(out: &mut String, s: &str) {
    let cleaned;
    let s = if s.contains('\0') {
        cleaned = s.replace('\0', "");
        cleaned.as_str()
    } else {
        s
    };
    if s.contains(['\r', '\n']) {
        out.push('{');
        out.push_str(&s.len().to_string());
        out.push_str("}\r\n");
        out.push_str(s);
    } else {
        out.push('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
}

/// Appends `NIL` or the string.
pub(crate) fn push_nstring(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_string(out, s),
        None => out.push_str("NIL"),
    }
}

/// One element of an address list, as ENVELOPE encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddrItem {
    /// A mailbox: display name, source route, local part, domain.
    Mailbox {
        name: Option<String>,
        adl: Option<String>,
        mailbox: String,
        host: Option<String>,
    },
    /// `name:` starting a group.
    GroupStart(String),
    /// `;` ending a group.
    GroupEnd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Comment(String),
    Special(char),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                it.next();
            }
            '"' => {
                it.next();
                let mut q = String::new();
                while let Some(c) = it.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = it.next() {
                                q.push(n);
                            }
                        }
                        _ => q.push(c),
                    }
                }
                toks.push(Tok::Quoted(q));
            }
            '(' => {
                it.next();
                let mut depth = 1;
                let mut q = String::new();
                while let Some(c) = it.next() {
                    match c {
                        '(' => {
                            depth += 1;
                            q.push(c);
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            q.push(c);
                        }
                        '\\' => {
                            if let Some(n) = it.next() {
                                q.push(n);
                            }
                        }
                        _ => q.push(c),
                    }
                }
                toks.push(Tok::Comment(q));
            }
            '[' => {
                // Domain literal, kept with its brackets.
                let mut w = String::new();
                for c in it.by_ref() {
                    w.push(c);
                    if c == ']' {
                        break;
                    }
                }
                toks.push(Tok::Word(w));
            }
            '<' | '>' | ':' | ';' | '@' | ',' | ')' => {
                it.next();
                if c != ')' {
                    toks.push(Tok::Special(c));
                }
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = it.peek() {
                    if matches!(
                        c,
                        ' ' | '\t'
                            | '\r'
                            | '\n'
                            | '"'
                            | '('
                            | ')'
                            | '<'
                            | '>'
                            | ':'
                            | ';'
                            | '@'
                            | ','
                    ) {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                toks.push(Tok::Word(w));
            }
        }
    }
    toks
}

fn phrase(toks: &[Tok]) -> Option<String> {
    let words: Vec<&str> = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) | Tok::Quoted(w) => Some(w.as_str()),
            Tok::Special(c) if *c == '@' || *c == ':' => None,
            _ => None,
        })
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

fn first_comment(toks: &[Tok]) -> Option<String> {
    toks.iter().find_map(|t| match t {
        Tok::Comment(c) if !c.trim().is_empty() => Some(c.trim().to_string()),
        _ => None,
    })
}

fn addr_spec(toks: &[Tok]) -> (String, Option<String>) {
    let toks: Vec<&Tok> = toks
        .iter()
        .filter(|t| !matches!(t, Tok::Comment(_)))
        .collect();
    let at = toks.iter().rposition(|t| **t == Tok::Special('@'));
    let join = |ts: &[&Tok]| -> String {
        ts.iter()
            .map(|t| match t {
                Tok::Word(w) | Tok::Quoted(w) => w.clone(),
                Tok::Special(c) => c.to_string(),
                Tok::Comment(_) => String::new(),
            })
            .collect()
    };
    match at {
        Some(at) => {
            let domain = join(&toks[at + 1..]);
            (
                join(&toks[..at]),
                if domain.is_empty() {
                    None
                } else {
                    Some(domain)
                },
            )
        }
        None => (join(&toks), None),
    }
}

/// Parses an RFC 5322 address list (tolerantly) into envelope items. Display
/// names are kept as sent (encoded-words are not decoded).
pub(crate) fn parse_address_list(value: &str) -> Vec<AddrItem> {
    let toks = tokenize(value);
    let n = toks.len();
    let mut items = Vec::new();
    let mut in_group = false;
    let mut i = 0;
    while i < n {
        match toks[i] {
            Tok::Special(',') => {
                i += 1;
                continue;
            }
            Tok::Special(';') => {
                if in_group {
                    items.push(AddrItem::GroupEnd);
                    in_group = false;
                }
                i += 1;
                continue;
            }
            Tok::Special('>') => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let j = (i..n)
            .find(|&j| match toks[j] {
                Tok::Special(',' | ';' | '<') => true,
                Tok::Special(':') => !in_group,
                _ => false,
            })
            .unwrap_or(n);
        if j < n && toks[j] == Tok::Special(':') {
            items.push(AddrItem::GroupStart(
                phrase(&toks[i..j]).unwrap_or_default(),
            ));
            in_group = true;
            i = j + 1;
            continue;
        }
        if j < n && toks[j] == Tok::Special('<') {
            let name = phrase(&toks[i..j]);
            let mut k = j + 1;
            let close = (k..n).find(|&m| toks[m] == Tok::Special('>')).unwrap_or(n);
            // Obsolete source route: <@a,@b:user@host>
            let mut adl = None;
            if k < close
                && toks[k] == Tok::Special('@')
                && let Some(colon) = (k..close).find(|&m| toks[m] == Tok::Special(':'))
            {
                let route: String = toks[k..colon]
                    .iter()
                    .map(|t| match t {
                        Tok::Word(w) | Tok::Quoted(w) => w.clone(),
                        Tok::Special(c) => c.to_string(),
                        Tok::Comment(_) => String::new(),
                    })
                    .collect();
                adl = Some(route);
                k = colon + 1;
            }
            let (mailbox, host) = addr_spec(&toks[k.min(close)..close]);
            if name.is_some() || !mailbox.is_empty() || host.is_some() {
                items.push(mailbox_item(name, adl, mailbox, host));
            }
            i = close.saturating_add(1);
            // Skip whatever trails the angle address up to the next separator.
            while i < n && !matches!(toks[i], Tok::Special(',' | ';')) {
                i += 1;
            }
            continue;
        }
        let segment = &toks[i..j];
        let (mailbox, host) = addr_spec(segment);
        if !mailbox.is_empty() || host.is_some() {
            items.push(mailbox_item(first_comment(segment), None, mailbox, host));
        }
        i = j;
    }
    if in_group {
        items.push(AddrItem::GroupEnd);
    }
    items
}

fn mailbox_item(
    name: Option<String>,
    adl: Option<String>,
    mailbox: String,
    host: Option<String>,
) -> AddrItem {
    AddrItem::Mailbox {
        name,
        adl,
        mailbox: if mailbox.is_empty() {
            "MISSING_MAILBOX".to_string()
        } else {
            mailbox
        },
        host: Some(host.unwrap_or_else(|| "MISSING_DOMAIN".to_string())),
    }
}

fn push_addresses(out: &mut String, items: &[AddrItem]) {
    if items.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for item in items {
        out.push('(');
        match item {
            AddrItem::Mailbox {
                name,
                adl,
                mailbox,
                host,
            } => {
                push_nstring(out, name.as_deref());
                out.push(' ');
                push_nstring(out, adl.as_deref());
                out.push(' ');
                push_string(out, mailbox);
                out.push(' ');
                push_nstring(out, host.as_deref());
            }
            AddrItem::GroupStart(name) => {
                out.push_str("NIL NIL ");
                push_string(out, name);
                out.push_str(" NIL");
            }
            AddrItem::GroupEnd => out.push_str("NIL NIL NIL NIL"),
        }
        out.push(')');
    }
    out.push(')');
}

fn raw_value(block: &[u8], fields: &[HeaderField], name: &str) -> Option<String> {
    first_field(fields, name).map(|f| unfold(f.raw_value(block)))
}

fn addresses(block: &[u8], fields: &[HeaderField], name: &str) -> Vec<AddrItem> {
    raw_value(block, fields, name)
        .map(|v| parse_address_list(&v))
        .unwrap_or_default()
}

/// Builds the ENVELOPE list for the message whose header block is `block`.
pub fn envelope(block: &[u8]) -> String {
    let fields = header_fields(block);
    let mut out = String::with_capacity(256);
    out.push('(');
    push_nstring(&mut out, raw_value(block, &fields, "Date").as_deref());
    out.push(' ');
    push_nstring(&mut out, raw_value(block, &fields, "Subject").as_deref());
    let from = addresses(block, &fields, "From");
    let mut sender = addresses(block, &fields, "Sender");
    if sender.is_empty() {
        sender = from.clone();
    }
    let mut reply_to = addresses(block, &fields, "Reply-To");
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    for list in [
        &from,
        &sender,
        &reply_to,
        &addresses(block, &fields, "To"),
        &addresses(block, &fields, "Cc"),
        &addresses(block, &fields, "Bcc"),
    ] {
        out.push(' ');
        push_addresses(&mut out, list);
    }
    out.push(' ');
    push_nstring(
        &mut out,
        raw_value(block, &fields, "In-Reply-To").as_deref(),
    );
    out.push(' ');
    push_nstring(&mut out, raw_value(block, &fields, "Message-ID").as_deref());
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(s: &str) -> String {
        let mut out = String::new();
        push_addresses(&mut out, &parse_address_list(s));
        out
    }

    #[test]
    fn address_forms() {
        assert_eq!(
            addrs("Terry Gray <gray@cac.washington.edu>"),
            r#"(("Terry Gray" NIL "gray" "cac.washington.edu"))"#
        );
        assert_eq!(
            addrs("\"Doe, John\" <j@x.org>, b@y.org (Bee)"),
            r#"(("Doe, John" NIL "j" "x.org")("Bee" NIL "b" "y.org"))"#
        );
        assert_eq!(
            addrs("friends: a@b.c, Me <m@e.f>; x@y.z"),
            r#"((NIL NIL "friends" NIL)(NIL NIL "a" "b.c")("Me" NIL "m" "e.f")(NIL NIL NIL NIL)(NIL NIL "x" "y.z"))"#
        );
        assert_eq!(
            addrs("undisclosed-recipients:;"),
            r#"((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))"#
        );
        assert_eq!(
            addrs("<@a.b,@c.d:u@h.i>"),
            r#"((NIL "@a.b,@c.d" "u" "h.i"))"#
        );
        assert_eq!(
            addrs("=?utf-8?q?J=C3=B6rg?= <j@x>"),
            r#"(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x"))"#
        );
        assert_eq!(addrs("joe"), r#"((NIL NIL "joe" "MISSING_DOMAIN"))"#);
        assert_eq!(addrs(""), "NIL");
        assert_eq!(addrs("<>"), "NIL");
    }

    #[test]
    fn strings() {
        let mut s = String::new();
        push_string(&mut s, "a\"b\\c");
        assert_eq!(s, r#""a\"b\\c""#);
        s.clear();
        push_string(&mut s, "a\nb");
        assert_eq!(s, "{3}\r\na\nb");
    }
}
