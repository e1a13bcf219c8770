//! Delivery Status Notifications (RFC 3464, RFC 6522): the bounce a sender gets when a
//! message could not be delivered.
//!
//! A DSN is a `multipart/report; report-type=delivery-status` with three parts: a text a
//! person understands, the machine-readable `message/delivery-status`, and the original's
//! header as `text/rfc822-headers`. It is sent with the null sender, so it is never bounced.

use chrono::{DateTime, Utc};

/// Why the recipients failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnKind {
    /// The remote server (or DNS) refused for good.
    Permanent,
    /// Temporary failures went on until `delivery.max_age`.
    Expired,
}

/// One recipient that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnFailure {
    pub recipient: String,
    /// The mail exchanger that gave the reply, if one was reached.
    pub remote_host: Option<String>,
    /// The reply ("550 5.1.1 no such user") or what went wrong.
    pub reply: String,
    /// RFC 3463 status, e.g. "5.1.1".
    pub status: String,
}

/// The status of a failure: the enhanced code in the reply when it has one, else 5.0.0 for
/// a permanent failure and 4.4.7 (delivery time expired) for an expired one.
pub fn status_for(reply: &str, kind: DsnKind) -> String {
    match kind {
        DsnKind::Expired => "4.4.7".to_string(),
        DsnKind::Permanent => crate::client::enhanced_code(reply)
            .filter(|c| c.starts_with('5'))
            .unwrap_or_else(|| "5.0.0".to_string()),
    }
}

/// Longest diagnostic text kept in a DSN line.
const MAX_DIAGNOSTIC: usize = 900;

/// One line, printable, bounded: what a header field or a DSN field may hold.
fn one_line(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if out.len() > MAX_DIAGNOSTIC {
        let mut cut = MAX_DIAGNOSTIC;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

fn rfc2822(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_else(Utc::now)
        .to_rfc2822()
}

/// The original's header block with CRLF line ends (the body is not returned).
fn original_header(original: &[u8]) -> Vec<u8> {
    let end = hermod_mime::header_end(original);
    let block = &original[..end.min(original.len())];
    let mut out = Vec::with_capacity(block.len() + 64);
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn boundary(hostname: &str, arrival_unix: i64) -> String {
    format!(
        "=_dsn_{:016x}_{arrival_unix}_{}",
        rand::random::<u64>(),
        hostname.len()
    )
}

/// Builds the DSN for `failures` of the message `original` (its raw bytes) sent by
/// `original_sender`, which arrived at `arrival_unix` (seconds).
pub fn build_dsn(
    hostname: &str,
    original_sender: &str,
    arrival_unix: i64,
    failures: &[DsnFailure],
    original: &[u8],
    kind: DsnKind,
) -> Vec<u8> {
    let hostname = one_line(hostname);
    let b = boundary(&hostname, arrival_unix);
    let now = Utc::now();
    let mut m = String::with_capacity(2048);
    let push = |m: &mut String, line: &str| {
        m.push_str(line);
        m.push_str("\r\n");
    };
    push(
        &mut m,
        &format!("From: Mail Delivery System <MAILER-DAEMON@{hostname}>"),
    );
    push(&mut m, &format!("To: <{}>", one_line(original_sender)));
    push(&mut m, "Subject: Undelivered Mail Returned to Sender");
    push(&mut m, &format!("Date: {}", now.to_rfc2822()));
    push(
        &mut m,
        &format!(
            "Message-ID: <dsn.{}.{:016x}@{hostname}>",
            now.timestamp(),
            rand::random::<u64>()
        ),
    );
    push(&mut m, "Auto-Submitted: auto-replied");
    push(&mut m, "MIME-Version: 1.0");
    push(
        &mut m,
        &format!(
            "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{b}\""
        ),
    );
    push(&mut m, "");
    push(&mut m, "This is a MIME-encapsulated message.");
    push(&mut m, "");

    // 1. For a person.
    push(&mut m, &format!("--{b}"));
    push(&mut m, "Content-Type: text/plain; charset=utf-8");
    push(&mut m, "Content-Transfer-Encoding: 8bit");
    push(&mut m, "Content-Description: Notification");
    push(&mut m, "");
    push(&mut m, &format!("This is the mail system at {hostname}."));
    push(&mut m, "");
    match kind {
        DsnKind::Permanent => {
            push(
                &mut m,
                "Your message could not be delivered to the recipients below. The receiving",
            );
            push(
                &mut m,
                "side refused it for good, so it will not be tried again.",
            );
        }
        DsnKind::Expired => {
            push(
                &mut m,
                "Your message could not be delivered to the recipients below. Delivery was",
            );
            push(
                &mut m,
                "tried again and again but kept failing, and the time allowed for it has run",
            );
            push(&mut m, "out, so it has been given up.");
        }
    }
    push(&mut m, "");
    for f in failures {
        let rcpt = one_line(&f.recipient);
        let reply = one_line(&f.reply);
        match &f.remote_host {
            Some(host) => push(
                &mut m,
                &format!(
                    "<{rcpt}>: the mail server {} answered: {reply}",
                    one_line(host)
                ),
            ),
            None => push(&mut m, &format!("<{rcpt}>: {reply}")),
        }
    }
    push(&mut m, "");
    push(
        &mut m,
        "The header of your message is attached. If you need help, forward this notice",
    );
    push(&mut m, "to your mail administrator.");
    push(&mut m, "");

    // 2. For machines.
    push(&mut m, &format!("--{b}"));
    push(&mut m, "Content-Type: message/delivery-status");
    push(&mut m, "Content-Description: Delivery report");
    push(&mut m, "");
    push(&mut m, &format!("Reporting-MTA: dns; {hostname}"));
    push(&mut m, &format!("Arrival-Date: {}", rfc2822(arrival_unix)));
    for f in failures {
        push(&mut m, "");
        push(
            &mut m,
            &format!("Final-Recipient: rfc822; {}", one_line(&f.recipient)),
        );
        push(&mut m, "Action: failed");
        push(&mut m, &format!("Status: {}", one_line(&f.status)));
        if let Some(host) = &f.remote_host {
            push(&mut m, &format!("Remote-MTA: dns; {}", one_line(host)));
        }
        let reply = one_line(&f.reply);
        let smtp = reply.len() >= 3 && reply.as_bytes()[..3].iter().all(u8::is_ascii_digit);
        let diag_type = if smtp { "smtp" } else { "X-Hermod" };
        push(&mut m, &format!("Diagnostic-Code: {diag_type}; {reply}"));
        push(&mut m, &format!("Last-Attempt-Date: {}", now.to_rfc2822()));
    }
    push(&mut m, "");

    // 3. The original's header.
    push(&mut m, &format!("--{b}"));
    push(&mut m, "Content-Type: text/rfc822-headers");
    push(&mut m, "Content-Description: Undelivered message header");
    push(&mut m, "");
    let mut out = m.into_bytes();
    out.extend_from_slice(&original_header(original));
    out.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    out
}
