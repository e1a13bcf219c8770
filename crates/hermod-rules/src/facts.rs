//! What the rules look at: the facts of one message, extracted once.
//!
//! [`MessageFacts::from_raw`] is total: any byte string gives facts (garbage
//! gives mostly empty ones) and it never panics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use hermod_mime::{decode_value, header_end, header_fields};
use mail_parser::parsers::MessageStream;
use mail_parser::{Address, HeaderValue, Message, MessageParser};

/// The decoded body text kept for matching is cut at this many bytes.
pub const BODY_CAP: usize = 256 * 1024;

/// Headers whose values are address lists; for them the facts (and the
/// engine) also know the bare addresses.
pub(crate) const ADDRESS_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "resent-from",
    "resent-to",
    "resent-cc",
    "resent-sender",
    "delivered-to",
    "return-path",
    "x-original-to",
    "envelope-to",
];

/// The facts of one message that rules and the vacation checks use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageFacts {
    /// Addresses in the From field(s), lower-case.
    pub from: Vec<String>,
    /// The From field as decoded text (display names included), empty when absent.
    pub from_raw: String,
    /// Addresses in the To field(s), lower-case.
    pub to: Vec<String>,
    /// Addresses in the Cc field(s), lower-case.
    pub cc: Vec<String>,
    /// The Subject, RFC 2047-decoded; empty when absent.
    pub subject: String,
    /// The List-Id field as decoded text, when present.
    pub list_id: Option<String>,
    /// Every top-level header field in order: lower-case name, decoded unfolded value.
    pub headers: Vec<(String, String)>,
    /// The decoded text of the text parts (HTML reduced to text), at most
    /// [`BODY_CAP`] bytes; empty when the raw data has no body.
    pub body: String,
    /// The message size in bytes (as given by the caller).
    pub size: u64,
    /// True when the message has an attachment (a part that is not body text).
    pub has_attachment: bool,
    /// The Auto-Submitted field, when present.
    pub auto_submitted: Option<String>,
    /// The Precedence field, when present.
    pub precedence: Option<String>,
    /// The Message-ID field as written (normally `<id@host>`), when present.
    pub message_id: Option<String>,
    /// Addresses in Delivered-To fields, lower-case.
    pub delivered_to: Vec<String>,
}

impl MessageFacts {
    /// Extracts the facts of a raw message. `size` is the real size of the
    /// message: `raw` may be only its header (for very large messages), then
    /// the body is empty and `has_attachment` is guessed from a top-level
    /// `multipart/mixed` Content-Type.
    pub fn from_raw(raw: &[u8], size: u64) -> MessageFacts {
        let hdr_end = header_end(raw).min(raw.len());
        let block = &raw[..hdr_end];
        let fields = header_fields(block);
        let mut headers = Vec::with_capacity(fields.len());
        let mut from = Vec::new();
        let mut to = Vec::new();
        let mut cc = Vec::new();
        let mut delivered_to = Vec::new();
        for f in fields.iter().filter(|f| !f.name.is_empty()) {
            let name = f.name.to_ascii_lowercase();
            let value_raw = f.raw_value(block);
            let value = decode_value(value_raw);
            match name.as_str() {
                "from" => from.extend(addresses_of(value_raw, &value)),
                "to" => to.extend(addresses_of(value_raw, &value)),
                "cc" => cc.extend(addresses_of(value_raw, &value)),
                "delivered-to" => delivered_to.extend(addresses_of(value_raw, &value)),
                _ => {}
            }
            headers.push((name, value));
        }
        let first = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let from_raw = first("from").unwrap_or_default();
        let subject = first("subject").unwrap_or_default();
        let list_id = first("list-id");
        let auto_submitted = first("auto-submitted");
        let precedence = first("precedence");
        let message_id = first("message-id").filter(|m| !m.is_empty());

        let has_body = hdr_end < raw.len();
        let (body, mut has_attachment) = if has_body {
            body_and_attachments(raw)
        } else {
            (String::new(), false)
        };
        if !has_body && size > raw.len() as u64 {
            // Only the header was given: guess from the top-level type.
            has_attachment = first("content-type").is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/mixed")
            });
        }
        MessageFacts {
            from,
            from_raw,
            to,
            cc,
            subject,
            list_id,
            headers,
            body,
            size,
            has_attachment,
            auto_submitted,
            precedence,
            message_id,
            delivered_to,
        }
    }

    /// The decoded values of every header field named `name` (any case), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when a header field named `name` (any case) is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header_values(name).next().is_some()
    }
}

/// The addresses (lower-case) of an address-list header value. Uses
/// mail-parser's address parser and falls back to picking `x@y` tokens.
pub(crate) fn addresses_of(value_raw: &[u8], decoded: &str) -> Vec<String> {
    let mut buf = Vec::with_capacity(value_raw.len() + 1);
    buf.extend_from_slice(value_raw);
    if buf.last() != Some(&b'\n') {
        buf.push(b'\n');
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let mut out = Vec::new();
        if let HeaderValue::Address(a) = MessageStream::new(&buf).parse_address() {
            collect_address(&a, &mut out);
        }
        out
    }))
    .unwrap_or_default();
    if !parsed.is_empty() {
        return parsed;
    }
    scan_addresses(decoded)
}

fn collect_address(a: &Address<'_>, out: &mut Vec<String>) {
    for addr in a.iter() {
        if let Some(s) = addr.address() {
            let s = s.trim().to_lowercase();
            if s.contains('@') && !out.contains(&s) {
                out.push(s);
            }
        }
    }
}

/// Picks address-looking tokens (`local@domain`) out of free text.
pub(crate) fn scan_addresses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"' | '(' | ')' | '[' | ']')
    }) {
        let t = token.trim_matches(|c: char| c == '.' || c == ':' || c == '\'');
        if let Some((l, d)) = t.rsplit_once('@')
            && !l.is_empty()
            && !d.is_empty()
        {
            let s = t.to_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The decoded body text (capped) and whether there is an attachment.
fn body_and_attachments(raw: &[u8]) -> (String, bool) {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        MessageParser::default().parse(raw).map(|m| {
            let has_attachment = m.attachment_count() > 0;
            (collect_text(&m), has_attachment)
        })
    }));
    match parsed {
        Ok(Some((Some(text), att))) => (text, att),
        Ok(Some((None, att))) => (raw_body(raw), att),
        _ => (raw_body(raw), false),
    }
}

/// The text of all text parts (capped), or None when the message has no leaf part at all.
fn collect_text(msg: &Message<'_>) -> Option<String> {
    let mut body = hermod_mime::body_text(msg, BODY_CAP)?;
    cap(&mut body);
    Some(body)
}

fn raw_body(raw: &[u8]) -> String {
    let start = header_end(raw).min(raw.len());
    let end = raw.len().min(start.saturating_add(BODY_CAP));
    let mut s = String::from_utf8_lossy(&raw[start..end]).into_owned();
    cap(&mut s);
    s
}

/// Cuts `s` to at most [`BODY_CAP`] bytes at a character boundary.
fn cap(s: &mut String) {
    if s.len() > BODY_CAP {
        let mut cut = BODY_CAP;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_facts() {
        let raw = b"From: \"Ann Example\" <Ann@Example.COM>\r\n\
To: bob@example.org, \"Carl, Jr.\" <carl@example.net>\r\n\
Cc: dora@example.org\r\n\
Subject: =?UTF-8?B?Q2Fmw6k=?= news\r\n\
List-Id: Weekly <weekly.example.com>\r\n\
Message-ID: <abc@example.com>\r\n\
Delivered-To: bob@example.org\r\n\
Auto-Submitted: no\r\n\
\r\n\
Hello there\r\n";
        let f = MessageFacts::from_raw(raw, raw.len() as u64);
        assert_eq!(f.from, vec!["ann@example.com"]);
        assert_eq!(f.from_raw, "\"Ann Example\" <Ann@Example.COM>");
        assert_eq!(f.to, vec!["bob@example.org", "carl@example.net"]);
        assert_eq!(f.cc, vec!["dora@example.org"]);
        assert_eq!(f.subject, "Café news");
        assert_eq!(f.list_id.as_deref(), Some("Weekly <weekly.example.com>"));
        assert_eq!(f.message_id.as_deref(), Some("<abc@example.com>"));
        assert_eq!(f.delivered_to, vec!["bob@example.org"]);
        assert_eq!(f.auto_submitted.as_deref(), Some("no"));
        assert!(f.body.contains("Hello there"));
        assert!(!f.has_attachment);
        assert_eq!(f.size, raw.len() as u64);
        assert_eq!(f.header_values("SUBJECT").next(), Some("Café news"));
    }

    #[test]
    fn header_only_guesses_attachment() {
        let raw = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n";
        let f = MessageFacts::from_raw(raw, 50_000_000);
        assert!(f.body.is_empty());
        assert!(f.has_attachment);
        assert_eq!(f.size, 50_000_000);
        let f = MessageFacts::from_raw(b"From: a@b.example\r\n\r\n", 50_000_000);
        assert!(!f.has_attachment);
        assert!(f.body.is_empty());
    }

    #[test]
    fn body_is_capped() {
        let mut raw = b"Subject: big\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'\xc3', 1).chain(std::iter::repeat_n(b'a', 10)));
        raw.extend(std::iter::repeat_n("é".as_bytes(), 200_000).flatten());
        let f = MessageFacts::from_raw(&raw, raw.len() as u64);
        assert!(f.body.len() <= BODY_CAP);
        assert!(f.body.len() > BODY_CAP - 8);
    }

    #[test]
    fn garbage_does_not_panic() {
        for raw in [
            &b""[..],
            b"\r\n",
            b"\xff\xfe\x00",
            b"From:\r\n\r\n",
            b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
            b"From: <@>, ,,, \"\r\n",
        ] {
            let _ = MessageFacts::from_raw(raw, 0);
        }
    }

    #[test]
    fn scan_fallback() {
        assert_eq!(
            scan_addresses("Ann <ANN@x.example>; bob@y.example."),
            vec!["ann@x.example", "bob@y.example"]
        );
    }
}
