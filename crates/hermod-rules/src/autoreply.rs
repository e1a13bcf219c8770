//! Automatic replies (vacation / out-of-office) following RFC 3834 and the
//! RFC 5230 vacation rules.
//!
//! [`may_auto_reply`] decides whether a message may be answered at all;
//! the per-sender interval ("at most one reply per sender every N days") is
//! kept by the caller, keyed by [`reply_key`]. [`build_auto_reply`] writes
//! the reply.
//!
//! A reply is refused when:
//! * the auto-reply is outside its start/end window (active when
//!   `start <= now < end`, each bound optional);
//! * the envelope sender is null or empty (bounces, notifications);
//! * the sender is a system or list address: local part `MAILER-DAEMON`,
//!   `postmaster`, `listserv`, `majordomo`, `owner-*`, `*-owner`,
//!   `*-request`, `*-bounces` (RFC 3834 section 2 and common practice);
//! * the sender is a no-reply address (`noreply`, `no-reply`,
//!   `do-not-reply`, `donotreply`, with or without `+detail`);
//! * the sender is one of the user's own addresses (loop);
//! * `Auto-Submitted` is present with any value but `no` (RFC 3834 section 5);
//! * the message comes from a list: `List-Id`, `List-Unsubscribe` or
//!   `List-Post` present, or `Precedence: bulk`, `list` or `junk`;
//! * `X-Auto-Response-Suppress` asks for no out-of-office replies
//!   (`All` or `OOF`), or `X-Autoreply` / `X-Autorespond` mark an auto-reply;
//! * none of the user's own addresses (ignoring case and `+detail`) is in
//!   To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc (RFC 5230 section 4.5).

use hermod_model::rules::Action;
use serde::{Deserialize, Serialize};

use crate::facts::{MessageFacts, addresses_of};
use crate::util::base64;

/// An auto-reply to send, as configured in a rule's `AutoReply` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReplySpec {
    /// The reply's subject (empty: `Auto: ` and the original subject).
    pub subject: String,
    /// The reply's text.
    pub body: String,
    /// Active from this Unix time on, when set.
    pub start: Option<i64>,
    /// Active until (before) this Unix time, when set.
    pub end: Option<i64>,
    /// At most one reply per sender in this many days (the caller enforces it).
    pub interval_days: u32,
}

impl AutoReplySpec {
    /// The spec of an `Action::AutoReply`; None for any other action.
    pub fn from_action(action: &Action) -> Option<AutoReplySpec> {
        match action {
            Action::AutoReply {
                subject,
                body,
                start,
                end,
                interval_days,
            } => Some(AutoReplySpec {
                subject: subject.clone(),
                body: body.clone(),
                start: *start,
                end: *end,
                interval_days: *interval_days,
            }),
            _ => None,
        }
    }

    /// True when `now_unix` is inside the start/end window.
    pub fn is_active(&self, now_unix: i64) -> bool {
        self.start.is_none_or(|s| now_unix >= s) && self.end.is_none_or(|e| now_unix < e)
    }
}

/// The normalised form of a sender address, for the caller's store of who
/// got a reply when: trimmed, without `<>`, lower-case.
pub fn reply_key(sender: &str) -> String {
    let s = sender.trim();
    let s = s
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s);
    s.trim().to_lowercase()
}

/// The local part of a normalised address, without `+detail`.
fn base_local(addr: &str) -> &str {
    let local = addr.rsplit_once('@').map_or(addr, |(l, _)| l);
    local.split_once('+').map_or(local, |(l, _)| l)
}

/// Address equality ignoring case and a `+detail` on the local part.
fn same_address(a: &str, own: &str) -> bool {
    if a == own {
        return true;
    }
    match (a.rsplit_once('@'), own.rsplit_once('@')) {
        (Some((_, da)), Some((_, dov))) => da == dov && base_local(a) == base_local(own),
        _ => false,
    }
}

/// Decides whether `facts` may get the auto-reply `spec` (see the module
/// documentation). `Err` says why not, for the log.
pub fn may_auto_reply(
    facts: &MessageFacts,
    envelope_sender: Option<&str>,
    own_addresses: &[String],
    spec: &AutoReplySpec,
    now_unix: i64,
) -> Result<(), &'static str> {
    if !spec.is_active(now_unix) {
        return Err("the auto-reply is not active at this time");
    }
    let sender = reply_key(envelope_sender.unwrap_or(""));
    if sender.is_empty() {
        return Err("null sender (a bounce or notification)");
    }
    let local = base_local(&sender);
    if matches!(
        local,
        "mailer-daemon" | "postmaster" | "listserv" | "majordomo"
    ) || local.starts_with("owner-")
        || local.ends_with("-owner")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
    {
        return Err("the sender is a system or mailing-list address");
    }
    if matches!(
        local,
        "noreply" | "no-reply" | "no_reply" | "do-not-reply" | "donotreply" | "do_not_reply"
    ) {
        return Err("the sender is a no-reply address");
    }
    let own: Vec<String> = own_addresses.iter().map(|a| reply_key(a)).collect();
    if own.iter().any(|o| same_address(&sender, o)) {
        return Err("the sender is one of the recipient's own addresses");
    }
    if let Some(a) = &facts.auto_submitted {
        let token = a
            .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
            .find(|t| !t.is_empty())
            .unwrap_or("");
        if !token.eq_ignore_ascii_case("no") {
            return Err("the message was sent automatically (Auto-Submitted)");
        }
    }
    if facts.list_id.is_some()
        || facts.has_header("list-unsubscribe")
        || facts.has_header("list-post")
    {
        return Err("the message comes from a mailing list");
    }
    if let Some(p) = &facts.precedence {
        let p = p.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "bulk" | "list" | "junk") {
            return Err("the message is bulk mail (Precedence)");
        }
    }
    if facts.header_values("x-auto-response-suppress").any(|v| {
        v.split(|c: char| c == ',' || c.is_whitespace())
            .any(|t| t.eq_ignore_ascii_case("all") || t.eq_ignore_ascii_case("oof"))
    }) {
        return Err("the sender asked for no automatic replies (X-Auto-Response-Suppress)");
    }
    if facts.has_header("x-autoreply") || facts.has_header("x-autorespond") {
        return Err("the message is itself an automatic reply");
    }
    let mut recipients: Vec<String> = facts.to.iter().chain(&facts.cc).cloned().collect();
    for name in ["bcc", "resent-to", "resent-cc", "resent-bcc"] {
        for v in facts.header_values(name) {
            recipients.extend(addresses_of(v.as_bytes(), v));
        }
    }
    if !recipients
        .iter()
        .any(|r| own.iter().any(|o| same_address(r, o)))
    {
        return Err("none of the recipient's addresses is in To or Cc");
    }
    Ok(())
}

/// Removes CR, LF and other control characters from a header value.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// `<id>` from a Message-ID value or bare id.
fn angle(id: &str) -> String {
    let id = one_line(id);
    let id = id.trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

/// Encodes a header text per RFC 2047 (UTF-8, B encoding) when it is not
/// plain ASCII; long encodings are folded over several encoded-words.
pub(crate) fn encode_header_text(text: &str) -> String {
    let needs = !text.is_ascii() || text.contains("=?");
    if !needs {
        return text.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// Quoted-printable (RFC 2045 section 6.7) of UTF-8 text with CRLF line ends.
pub(crate) fn quoted_printable(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len() + normalized.len() / 8);
    for line in normalized.split('\n') {
        let bytes = line.as_bytes();
        let mut col = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let piece = if literal {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if col + piece.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            out.push_str(&piece);
            col += piece.len();
        }
        out.push_str("\r\n");
    }
    out
}

/// Writes the auto-reply to the message `facts` describes: an RFC 5322
/// message with CRLF line ends, `Auto-Submitted: auto-replied`, In-Reply-To
/// and References to the original, and the text quoted-printable in UTF-8.
/// `from` and `to` are addresses (or `Name <addr>` forms), `date_rfc2822`
/// the Date value, `message_id` the new Message-ID (with or without `<>`).
pub fn build_auto_reply(
    facts: &MessageFacts,
    spec: &AutoReplySpec,
    from: &str,
    to: &str,
    date_rfc2822: &str,
    message_id: &str,
) -> Vec<u8> {
    let subject = if spec.subject.trim().is_empty() {
        let orig = one_line(&facts.subject);
        if orig.is_empty() {
            "Auto: (no subject)".to_string()
        } else {
            format!("Auto: {orig}")
        }
    } else {
        one_line(&spec.subject)
    };
    let mut h = String::new();
    h.push_str(&format!("From: {}\r\n", one_line(from)));
    h.push_str(&format!("To: {}\r\n", one_line(to)));
    h.push_str(&format!("Subject: {}\r\n", encode_header_text(&subject)));
    h.push_str(&format!("Date: {}\r\n", one_line(date_rfc2822)));
    h.push_str(&format!("Message-ID: {}\r\n", angle(message_id)));
    if let Some(orig) = facts.message_id.as_deref().map(one_line)
        && !orig.is_empty()
    {
        let orig = angle(&orig);
        let mut refs: Vec<String> = facts
            .header_values("references")
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .filter(|r| r.starts_with('<') && r.ends_with('>') && r.len() <= 250)
            .collect();
        if refs.len() > 20 {
            refs.drain(..refs.len() - 20);
        }
        refs.retain(|r| *r != orig);
        refs.push(orig.clone());
        h.push_str(&format!("In-Reply-To: {orig}\r\n"));
        h.push_str(&format!("References: {}\r\n", refs.join("\r\n ")));
    }
    h.push_str("Auto-Submitted: auto-replied\r\n");
    h.push_str("MIME-Version: 1.0\r\n");
    h.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    h.push_str("Content-Transfer-Encoding: quoted-printable\r\n");
    h.push_str("\r\n");
    h.push_str(&quoted_printable(&spec.body));
    h.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qp() {
        assert_eq!(quoted_printable("a=b \nc"), "a=3Db=20\r\nc\r\n");
        assert_eq!(quoted_printable("Café"), "Caf=C3=A9\r\n");
        let long = "x".repeat(200);
        for line in quoted_printable(&long).split("\r\n") {
            assert!(line.len() <= 76);
        }
        assert_eq!(
            hermod_mime_decode_qp(&quoted_printable(&long)),
            format!("{long}\r\n")
        );
    }

    fn hermod_mime_decode_qp(s: &str) -> String {
        s.replace("=\r\n", "")
    }

    #[test]
    fn rfc2047() {
        assert_eq!(encode_header_text("Out of office"), "Out of office");
        assert_eq!(
            encode_header_text("Abwesenheit: Grüße"),
            "=?UTF-8?B?QWJ3ZXNlbmhlaXQ6IEdyw7zDn2U=?="
        );
        let long = "é".repeat(60);
        let enc = encode_header_text(&long);
        assert!(enc.lines().all(|l| l.len() < 78), "{enc}");
        assert_eq!(hermod_mime::decode_value(enc.as_bytes()), long);
    }

    #[test]
    fn keys() {
        assert_eq!(reply_key(" <Ann@Example.COM> "), "ann@example.com");
        assert!(same_address("ann+x@example.com", "ann@example.com"));
        assert!(!same_address("ann@example.org", "ann@example.com"));
    }
}
