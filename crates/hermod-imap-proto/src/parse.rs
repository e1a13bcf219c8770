//! The command grammar: one complete command (its line(s), with every literal inline) in,
//! a [`Tagged`] command or a [`ParseError`] out.
//!
//! Covers RFC 3501 (IMAP4rev1) and RFC 9051 (IMAP4rev2) plus UIDPLUS, LITERAL+/LITERAL-,
//! BINARY (literal8 and the BINARY fetch items), MULTIAPPEND, SASL-IR, ENABLE, ID, IDLE,
//! NAMESPACE, UNSELECT, MOVE, COMPRESS, QUOTA (RFC 9208), CONDSTORE/QRESYNC (RFC 7162),
//! LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154),
//! ESEARCH/SEARCHRES (RFC 4731/5182), WITHIN (RFC 5032) and UTF8=ACCEPT's `UTF8 (~{n})`
//! APPEND data (RFC 6855).
//!
//! Normalisations done here: protocol keywords are case-insensitive; the system flags
//! (`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, `\Recent`) are returned in that
//! canonical case whatever the client wrote; ENABLE capabilities, AUTHENTICATE and COMPRESS
//! mechanism names and SETQUOTA resource names are upper-cased. Everything else (mailbox
//! names, keywords, search strings, header names, charsets) is returned exactly as sent.
//!
//! The parser never panics and never recurses more than [`MAX_DEPTH`] levels.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

use crate::command::*;

/// How deeply search keys may nest (parentheses, NOT, OR) before the command is refused.
pub const MAX_DEPTH: usize = 100;

/// Why a command could not be parsed. `tag` is set whenever a valid tag was read, so the
/// server can answer `tag BAD message`; without it the answer is `* BAD message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub tag: Option<String>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{tag}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParseError {}

type PResult<T> = Result<T, String>;

/// Parses one complete command: its line(s) ending in CRLF (or a bare LF), with the bytes of
/// every literal inline after its `{n}\r\n` / `{n+}\r\n` / `~{n}\r\n` announcement.
pub fn parse_command(input: &[u8]) -> Result<Tagged, ParseError> {
    let mut p = Parser { buf: input, pos: 0 };
    let tag = p
        .tag()
        .map_err(|message| ParseError { tag: None, message })?;
    match p.command_after_tag() {
        Ok(command) => Ok(Tagged { tag, command }),
        Err(message) => Err(ParseError {
            tag: Some(tag),
            message,
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Character classes.

/// ATOM-CHAR: any CHAR except atom-specials (`(`, `)`, `{`, SP, CTL, `%`, `*`, `"`, `\`, `]`).
pub(crate) fn is_atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// ASTRING-CHAR: ATOM-CHAR or `]`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// tag: any ASTRING-CHAR except `+`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// list-char: ATOM-CHAR, the wildcards `%` and `*`, or `]`.
fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A short printable rendering of client bytes for error messages.
fn shown(bytes: &[u8]) -> String {
    let mut s: String = bytes
        .iter()
        .take(40)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if bytes.len() > 40 {
        s.push_str("...");
    }
    s
}

fn to_utf8(bytes: &[u8], what: &str) -> PResult<String> {
    if bytes.contains(&0) {
        return Err(format!("{what} contains a NUL byte"));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
}

fn month_number(m: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV",
        b"DEC",
    ];
    let pos = MONTHS
        .iter()
        .position(|name| m.eq_ignore_ascii_case(&name[..]))?;
    u32::try_from(pos + 1).ok()
}

fn digits_value(d: &[u8]) -> Option<u32> {
    d.iter().try_fold(0u32, |acc, &b| {
        acc.checked_mul(10)?
            .checked_add(u32::from(b.wrapping_sub(b'0')))
    })
}

const SYSTEM_FLAGS: [&str; 6] = [
    "\\Answered",
    "\\Flagged",
    "\\Deleted",
    "\\Seen",
    "\\Draft",
    "\\Recent",
];

// ---------------------------------------------------------------------------------------
// The cursor.

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.buf.get(self.pos.checked_add(off)?).copied()
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// The next byte, shown for an error message.
    fn next_shown(&self) -> String {
        shown(self.rest().get(..1).unwrap_or(&[]))
    }

    /// True (and consumed) when the input continues with `word` (ASCII, any case).
    fn eat_word(&mut self, word: &[u8]) -> bool {
        match self.rest().get(..word.len()) {
            Some(w) if w.eq_ignore_ascii_case(word) => {
                self.pos += word.len();
                true
            }
            _ => false,
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !f(b) {
                break;
            }
            self.pos += 1;
        }
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    /// True at the end of the command line (CRLF, LF or the end of the input).
    fn at_eol(&self) -> bool {
        matches!(self.rest(), [] | [b'\n', ..] | [b'\r', b'\n', ..])
    }

    /// True where a token ends: SP, `)`, the end of the line.
    fn at_boundary(&self) -> bool {
        self.at_eol() || matches!(self.peek(), Some(b' ' | b')'))
    }

    /// Requires one SP followed by something else than the end of the line.
    fn arg(&mut self, msg: impl FnOnce() -> String) -> PResult<()> {
        if self.peek() == Some(b' ') {
            self.pos += 1;
            if !self.at_eol() {
                return Ok(());
            }
        }
        Err(msg())
    }

    /// Requires one SP; `what` names what should follow.
    fn sp(&mut self, what: impl FnOnce() -> String) -> PResult<()> {
        if self.eat(b' ') { Ok(()) } else { Err(what()) }
    }

    fn finish(&mut self, name: &str) -> PResult<()> {
        match self.rest() {
            [] | [b'\n'] | [b'\r', b'\n'] => Ok(()),
            [b')', ..] => Err(format!("unbalanced parenthesis: unexpected ) in {name}")),
            [b' ', b'\r', b'\n'] | [b' ', b'\n'] | [b' '] => {
                Err(format!("unexpected space at the end of {name}"))
            }
            rest => Err(format!("unexpected text after {name}: {}", shown(rest))),
        }
    }

    // ----- Tokens.

    fn tag(&mut self) -> PResult<String> {
        let t = self.take_while(is_tag_char);
        if t.is_empty() {
            return Err(if self.at_eol() {
                "empty command line".into()
            } else {
                "expected a tag at the start of the command".into()
            });
        }
        if !(self.at_eol() || self.peek() == Some(b' ')) {
            return Err("invalid character in the tag".into());
        }
        // Tag characters are ASCII.
        Ok(t.iter().map(|&b| b as char).collect())
    }

    fn atom(&mut self) -> &'a [u8] {
        self.take_while(is_atom_char)
    }

    /// An atom, upper-cased (for keywords).
    fn keyword(&mut self) -> String {
        self.atom()
            .iter()
            .map(|b| b.to_ascii_uppercase() as char)
            .collect()
    }

    fn number_u64(&mut self, what: &str) -> PResult<u64> {
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.is_empty() {
            return Err(format!("expected {what}"));
        }
        d.iter()
            .try_fold(0u64, |acc, &b| {
                acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            })
            .ok_or_else(|| format!("{what} is too large"))
    }

    fn number_u32(&mut self, what: &str) -> PResult<u32> {
        let n = self.number_u64(what)?;
        u32::try_from(n).map_err(|_| format!("{what} is too large"))
    }

    fn nz_u32(&mut self, what: &str) -> PResult<u32> {
        match self.number_u32(what)? {
            0 => Err(format!("{what} must not be zero")),
            n => Ok(n),
        }
    }

    /// A mod-sequence value (RFC 7162): at most 2^63-1.
    fn modseq(&mut self, what: &str) -> PResult<u64> {
        let n = self.number_u64(what)?;
        if n > i64::MAX as u64 {
            return Err(format!("{what} is too large"));
        }
        Ok(n)
    }

    /// `{n}\r\n`, `{n+}\r\n` (and `~{n}...` when `allow8`) followed by n bytes.
    fn literal(&mut self, allow8: bool) -> PResult<&'a [u8]> {
        if self.eat(b'~') && !allow8 {
            return Err("literal8 (~{n}) is only allowed for APPEND message data".into());
        }
        if !self.eat(b'{') {
            return Err("expected a literal".into());
        }
        let size = self.number_u64("a number in the literal size")?;
        self.eat(b'+');
        if !self.eat(b'}') {
            return Err("expected } after the literal size".into());
        }
        if !(self.eat(b'\n') || (self.eat(b'\r') && self.eat(b'\n'))) {
            return Err("expected a line end after the literal size".into());
        }
        let end = usize::try_from(size)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&e| e <= self.buf.len())
            .ok_or("the literal is longer than the data that follows it")?;
        let bytes = self
            .buf
            .get(self.pos..end)
            .ok_or("the literal is truncated")?;
        self.pos = end;
        Ok(bytes)
    }

    fn quoted(&mut self) -> PResult<String> {
        if !self.eat(b'"') {
            return Err("expected a quoted string".into());
        }
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n') => return Err("unterminated quoted string".into()),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        _ => {
                            return Err(
                                "invalid escape in quoted string (only \\\" and \\\\ are allowed)"
                                    .into(),
                            );
                        }
                    }
                }
                Some(b) => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        to_utf8(&out, "quoted string")
    }

    /// string = quoted / literal.
    fn string(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => {
                let bytes = self.literal(false)?;
                to_utf8(bytes, "literal string")
            }
            Some(b'~') => Err("literal8 (~{n}) is only allowed for APPEND message data".into()),
            _ => Err(format!("expected {what}")),
        }
    }

    /// astring = 1*ASTRING-CHAR / string.
    fn astring(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(what),
            Some(b'~') if self.peek_at(1) == Some(b'{') => self.string(what),
            Some(b) if is_astring_char(b) => {
                let a = self.take_while(is_astring_char);
                self.check_boundary(what)?;
                Ok(a.iter().map(|&b| b as char).collect())
            }
            _ => Err(format!("expected {what}")),
        }
    }

    /// nstring = string / NIL.
    fn nstring(&mut self, what: &str) -> PResult<Option<String>> {
        if self.eat_word(b"NIL") {
            if self.at_boundary() {
                return Ok(None);
            }
            self.pos -= 3;
        }
        self.string(what).map(Some)
    }

    /// A mailbox name (astring; INBOX is not case-normalised here).
    fn mailbox(&mut self, cmd: &str) -> PResult<String> {
        self.astring(&format!("a mailbox name after {cmd}"))
    }

    /// list-mailbox = 1*list-char / string.
    fn list_mailbox(&mut self) -> PResult<String> {
        match self.peek() {
            Some(b'"' | b'{') => self.string("a mailbox pattern"),
            Some(b'~') if self.peek_at(1) == Some(b'{') => self.string("a mailbox pattern"),
            Some(b) if is_list_char(b) => {
                let a = self.take_while(is_list_char);
                self.check_boundary("a mailbox pattern")?;
                Ok(a.iter().map(|&b| b as char).collect())
            }
            _ => Err("expected a mailbox pattern".into()),
        }
    }

    fn check_boundary(&self, what: &str) -> PResult<()> {
        if self.at_boundary() {
            Ok(())
        } else {
            Err(format!("invalid character in {what}"))
        }
    }

    fn seq_num(&mut self, what: &str) -> PResult<SeqNum> {
        if self.eat(b'*') {
            return Ok(SeqNum::Largest);
        }
        let d = self.take_while(|b| b.is_ascii_digit());
        if d.is_empty() {
            return Err(format!("expected {what}"));
        }
        match digits_value(d) {
            None => Err("number in sequence set is too large".into()),
            Some(0) => Err("0 is not a valid message number or UID in a sequence set".into()),
            Some(n) => Ok(SeqNum::Value(n)),
        }
    }

    /// sequence-set, or `$` (RFC 5182).
    fn seq_set(&mut self, what: &str) -> PResult<SequenceSet> {
        let set = if self.eat(b'$') {
            SequenceSet::Saved
        } else {
            let mut ranges = Vec::new();
            loop {
                let a = self.seq_num(what)?;
                let b = if self.eat(b':') {
                    self.seq_num(what)?
                } else {
                    a
                };
                ranges.push((a, b));
                if !self.eat(b',') {
                    break;
                }
            }
            SequenceSet::Ranges(ranges)
        };
        if !self.at_boundary() {
            return Err(format!(
                "invalid sequence set (unexpected {})",
                self.next_shown()
            ));
        }
        Ok(set)
    }

    /// date = date-text / DQUOTE date-text DQUOTE; date-text = d[d]-Mon-yyyy.
    fn date(&mut self) -> PResult<NaiveDate> {
        const BAD: &str = "invalid date, expected dd-Mon-yyyy";
        let quoted = self.eat(b'"');
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 || !self.eat(b'-') {
            return Err(BAD.into());
        }
        let mon = self.take_while(|b| b.is_ascii_alphabetic());
        let month = month_number(mon).ok_or(BAD)?;
        if !self.eat(b'-') {
            return Err(BAD.into());
        }
        let year = self.take_while(|b| b.is_ascii_digit());
        if year.len() != 4 || (quoted && !self.eat(b'"')) {
            return Err(BAD.into());
        }
        let (Some(d), Some(y)) = (digits_value(day), digits_value(year)) else {
            return Err(BAD.into());
        };
        let y = i32::try_from(y).map_err(|_| BAD)?;
        if !self.at_boundary() {
            return Err(BAD.into());
        }
        NaiveDate::from_ymd_opt(y, month, d)
            .ok_or_else(|| format!("invalid date: no such day {}", shown(day)))
    }

    /// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE.
    fn date_time(&mut self) -> PResult<DateTime<FixedOffset>> {
        const BAD: &str = "invalid date-time, expected \"dd-Mon-yyyy hh:mm:ss +zzzz\"";
        if !self.eat(b'"') {
            return Err(BAD.into());
        }
        self.eat(b' ');
        let day = self.take_while(|b| b.is_ascii_digit());
        if day.is_empty() || day.len() > 2 || !self.eat(b'-') {
            return Err(BAD.into());
        }
        let month = month_number(self.take_while(|b| b.is_ascii_alphabetic())).ok_or(BAD)?;
        if !self.eat(b'-') {
            return Err(BAD.into());
        }
        let year = self.take_while(|b| b.is_ascii_digit());
        if year.len() != 4 || !self.eat(b' ') {
            return Err(BAD.into());
        }
        let two = |p: &mut Self, sep: Option<u8>| -> PResult<u32> {
            let d = p.take_while(|b| b.is_ascii_digit());
            if d.len() != 2 {
                return Err(BAD.into());
            }
            if let Some(s) = sep
                && !p.eat(s)
            {
                return Err(BAD.into());
            }
            digits_value(d).ok_or_else(|| BAD.into())
        };
        let hh = two(self, Some(b':'))?;
        let mm = two(self, Some(b':'))?;
        let ss = two(self, Some(b' '))?;
        let sign: i32 = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return Err(BAD.into());
        };
        let zone = self.take_while(|b| b.is_ascii_digit());
        if zone.len() != 4 || !self.eat(b'"') {
            return Err(BAD.into());
        }
        let z = digits_value(zone).ok_or(BAD)?;
        let (zh, zm) = (z / 100, z % 100);
        if zm >= 60 {
            return Err(BAD.into());
        }
        let secs = i32::try_from(zh * 3600 + zm * 60).map_err(|_| BAD)? * sign;
        let offset = FixedOffset::east_opt(secs).ok_or(BAD)?;
        let (Some(d), Some(y)) = (digits_value(day), digits_value(year)) else {
            return Err(BAD.into());
        };
        let y = i32::try_from(y).map_err(|_| BAD)?;
        let naive = NaiveDate::from_ymd_opt(y, month, d)
            .and_then(|date| date.and_hms_opt(hh, mm, ss))
            .ok_or("invalid date-time: no such date or time")?;
        offset
            .from_local_datetime(&naive)
            .single()
            .ok_or_else(|| BAD.into())
    }

    /// A flag as used in commands: `\Seen`, `\Extension`, `$Keyword`, `Keyword`. Not `\*`.
    fn flag(&mut self, what: &str) -> PResult<String> {
        if self.eat(b'\\') {
            if self.peek() == Some(b'*') {
                return Err("\\* is not a valid flag in a command".into());
            }
            let a = self.atom();
            if a.is_empty() {
                return Err("expected a flag name after \\".into());
            }
            self.check_boundary("a flag")?;
            let name: String = a.iter().map(|&b| b as char).collect();
            let canonical = SYSTEM_FLAGS
                .iter()
                .find(|f| f[1..].eq_ignore_ascii_case(&name));
            Ok(match canonical {
                Some(f) => (*f).to_string(),
                None => format!("\\{name}"),
            })
        } else {
            let a = self.atom();
            if a.is_empty() {
                return Err(format!("expected {what}"));
            }
            self.check_boundary("a flag")?;
            Ok(a.iter().map(|&b| b as char).collect())
        }
    }

    /// flag-list = "(" [flag *(SP flag)] ")".
    fn flag_list(&mut self) -> PResult<Vec<String>> {
        if !self.eat(b'(') {
            return Err("expected a parenthesised flag list".into());
        }
        let mut flags = Vec::new();
        if self.eat(b')') {
            return Ok(flags);
        }
        loop {
            flags.push(self.flag("a flag")?);
            if self.eat(b')') {
                return Ok(flags);
            }
            if self.at_eol() {
                return Err("unbalanced parenthesis in flag list".into());
            }
            self.sp(|| "expected a space between flags".into())?;
        }
    }

    /// Parses `"(" item *(SP item) ")"` (or `()` when `empty_ok`), calling `item` for each.
    fn paren_list(
        &mut self,
        what: &str,
        empty_ok: bool,
        mut item: impl FnMut(&mut Self) -> PResult<()>,
    ) -> PResult<()> {
        if !self.eat(b'(') {
            return Err(format!("expected ( to start {what}"));
        }
        if self.eat(b')') {
            return if empty_ok {
                Ok(())
            } else {
                Err(format!("empty {what}"))
            };
        }
        loop {
            item(self)?;
            if self.eat(b')') {
                return Ok(());
            }
            if self.at_eol() {
                return Err(format!("unbalanced parenthesis in {what}"));
            }
            self.sp(|| format!("expected a space between the elements of {what}"))?;
            if self.at_eol() || self.peek() == Some(b')') {
                return Err(format!("unexpected space at the end of {what}"));
            }
        }
    }

    fn status_att(&mut self) -> PResult<StatusItem> {
        let k = self.keyword();
        Ok(match k.as_str() {
            "MESSAGES" => StatusItem::Messages,
            "RECENT" => StatusItem::Recent,
            "UIDNEXT" => StatusItem::UidNext,
            "UIDVALIDITY" => StatusItem::UidValidity,
            "UNSEEN" => StatusItem::Unseen,
            "DELETED" => StatusItem::Deleted,
            "SIZE" => StatusItem::Size,
            "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
            "APPENDLIMIT" => StatusItem::AppendLimit,
            "" => return Err("expected a STATUS item".into()),
            other => return Err(format!("unknown STATUS item {}", shown(other.as_bytes()))),
        })
    }

    fn status_list(&mut self) -> PResult<Vec<StatusItem>> {
        let mut items = Vec::new();
        self.paren_list("the STATUS item list", false, |p| {
            items.push(p.status_att()?);
            Ok(())
        })?;
        Ok(items)
    }

    // ----- Commands.

    fn command_after_tag(&mut self) -> PResult<Command> {
        if self.at_eol() {
            return Err("missing command after the tag".into());
        }
        self.sp(|| "expected a space after the tag".into())?;
        let raw = self.atom();
        if raw.is_empty() {
            return Err("expected a command name after the tag".into());
        }
        if !self.at_eol() && self.peek() != Some(b' ') {
            return Err(format!("invalid character in command name {}", shown(raw)));
        }
        let name = raw.to_ascii_uppercase();
        let cmd = match name.as_slice() {
            b"CAPABILITY" => Command::Capability,
            b"NOOP" => Command::Noop,
            b"LOGOUT" => Command::Logout,
            b"STARTTLS" => Command::StartTls,
            b"NAMESPACE" => Command::Namespace,
            b"IDLE" => Command::Idle,
            b"CHECK" => Command::Check,
            b"CLOSE" => Command::Close,
            b"UNSELECT" => Command::Unselect,
            b"EXPUNGE" => Command::Expunge { uids: None },
            b"ID" => self.id()?,
            b"LOGIN" => self.login()?,
            b"AUTHENTICATE" => self.authenticate()?,
            b"ENABLE" => self.enable()?,
            b"SELECT" => self.select(false)?,
            b"EXAMINE" => self.select(true)?,
            b"CREATE" => self.create()?,
            b"DELETE" => Command::Delete {
                mailbox: self.one_mailbox("DELETE")?,
            },
            b"RENAME" => self.rename()?,
            b"SUBSCRIBE" => Command::Subscribe {
                mailbox: self.one_mailbox("SUBSCRIBE")?,
            },
            b"UNSUBSCRIBE" => Command::Unsubscribe {
                mailbox: self.one_mailbox("UNSUBSCRIBE")?,
            },
            b"LIST" => self.list()?,
            b"LSUB" => self.lsub()?,
            b"STATUS" => self.status()?,
            b"APPEND" => self.append()?,
            b"GETQUOTA" => {
                self.arg(|| "expected a quota root after GETQUOTA".into())?;
                Command::GetQuota {
                    root: self.astring("a quota root after GETQUOTA")?,
                }
            }
            b"GETQUOTAROOT" => Command::GetQuotaRoot {
                mailbox: self.one_mailbox("GETQUOTAROOT")?,
            },
            b"SETQUOTA" => self.setquota()?,
            b"COMPRESS" => {
                self.arg(|| "expected a compression algorithm after COMPRESS".into())?;
                let algorithm = self.keyword();
                if algorithm.is_empty() {
                    return Err("expected a compression algorithm after COMPRESS".into());
                }
                Command::Compress { algorithm }
            }
            b"SEARCH" => self.search(false)?,
            b"FETCH" => self.fetch(false)?,
            b"STORE" => self.store(false)?,
            b"COPY" => self.copy_move(false, false)?,
            b"MOVE" => self.copy_move(false, true)?,
            b"UID" => {
                self.arg(|| "expected a command after UID".into())?;
                let sub = self.keyword();
                if !self.at_eol() && self.peek() != Some(b' ') {
                    return Err("invalid character in command name after UID".into());
                }
                match sub.as_str() {
                    "FETCH" => self.fetch(true)?,
                    "STORE" => self.store(true)?,
                    "COPY" => self.copy_move(true, false)?,
                    "MOVE" => self.copy_move(true, true)?,
                    "SEARCH" => self.search(true)?,
                    "EXPUNGE" => {
                        self.arg(|| "expected a UID set after UID EXPUNGE".into())?;
                        Command::Expunge {
                            uids: Some(self.seq_set("a UID set after UID EXPUNGE")?),
                        }
                    }
                    "" => return Err("expected a command after UID".into()),
                    other => {
                        return Err(format!("unknown command UID {}", shown(other.as_bytes())));
                    }
                }
            }
            _ => return Err(format!("unknown command {}", shown(raw))),
        };
        self.finish(cmd.name())?;
        Ok(cmd)
    }

    fn one_mailbox(&mut self, cmd: &str) -> PResult<String> {
        self.arg(|| format!("expected a mailbox name after {cmd}"))?;
        self.mailbox(cmd)
    }

    fn id(&mut self) -> PResult<Command> {
        self.arg(|| "expected NIL or a parenthesised list after ID".into())?;
        if self.peek() != Some(b'(') {
            let k = self.keyword();
            return if k == "NIL" {
                Ok(Command::Id(None))
            } else {
                Err("expected NIL or a parenthesised list after ID".into())
            };
        }
        self.pos += 1;
        let mut params = Vec::new();
        if self.eat(b')') {
            return Ok(Command::Id(Some(params)));
        }
        loop {
            let key = self.string("an ID field name (a quoted string)")?;
            self.sp(|| "expected a value after the ID field name".into())?;
            let value = self.nstring("an ID field value (a string or NIL)")?;
            params.push((key, value));
            if self.eat(b')') {
                return Ok(Command::Id(Some(params)));
            }
            if self.at_eol() {
                return Err("unbalanced parenthesis in ID parameters".into());
            }
            self.sp(|| "expected a space between ID parameters".into())?;
        }
    }

    fn login(&mut self) -> PResult<Command> {
        self.arg(|| "expected a user name after LOGIN".into())?;
        let user = self.astring("a user name after LOGIN")?;
        self.arg(|| "expected a password after the LOGIN user name".into())?;
        let password = self.astring("a password after the LOGIN user name")?;
        Ok(Command::Login { user, password })
    }

    fn authenticate(&mut self) -> PResult<Command> {
        self.arg(|| "expected a SASL mechanism after AUTHENTICATE".into())?;
        let mechanism = self.keyword();
        if mechanism.is_empty() {
            return Err("expected a SASL mechanism after AUTHENTICATE".into());
        }
        let mut initial = None;
        if self.peek() == Some(b' ') {
            self.arg(|| "expected an initial response after the SASL mechanism".into())?;
            let ir = self.atom();
            let valid = ir == b"="
                || (!ir.is_empty()
                    && ir
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                    && !ir.iter().skip_while(|&&b| b != b'=').any(|&b| b != b'='));
            if !valid || !self.at_eol() {
                return Err("invalid initial response: expected base64 or =".into());
            }
            initial = Some(ir.iter().map(|&b| b as char).collect());
        }
        Ok(Command::Authenticate { mechanism, initial })
    }

    fn enable(&mut self) -> PResult<Command> {
        let mut caps = Vec::new();
        loop {
            self.arg(|| "expected a capability name after ENABLE".into())?;
            let c = self.keyword();
            if c.is_empty() {
                return Err("expected a capability name after ENABLE".into());
            }
            caps.push(c);
            if !self.at_eol() && self.peek() != Some(b' ') {
                return Err("invalid character in a capability name".into());
            }
            if self.at_eol() {
                return Ok(Command::Enable(caps));
            }
        }
    }

    fn select(&mut self, read_only: bool) -> PResult<Command> {
        let cmd = if read_only { "EXAMINE" } else { "SELECT" };
        let mailbox = self.one_mailbox(cmd)?;
        let mut condstore = false;
        let mut qresync = None;
        if self.peek() == Some(b' ') {
            self.arg(|| format!("expected parameters after the {cmd} mailbox name"))?;
            let what = format!("{cmd} parameters");
            self.paren_list(&what, true, |p| {
                match p.keyword().as_str() {
                    "CONDSTORE" => condstore = true,
                    "QRESYNC" => {
                        p.sp(|| "expected ( after QRESYNC".into())?;
                        qresync = Some(p.qresync()?);
                    }
                    "" => return Err(format!("expected a {cmd} parameter")),
                    other => {
                        return Err(format!(
                            "unknown {cmd} parameter {}",
                            shown(other.as_bytes())
                        ));
                    }
                }
                Ok(())
            })?;
        }
        Ok(Command::Select {
            mailbox,
            read_only,
            condstore,
            qresync,
        })
    }

    /// `(uidvalidity modseq [known-uids] [(known-seqs known-uids)])`.
    fn qresync(&mut self) -> PResult<Qresync> {
        const WHAT: &str = "QRESYNC parameters";
        if !self.eat(b'(') {
            return Err("expected ( after QRESYNC".into());
        }
        let uidvalidity = self.nz_u32("a UIDVALIDITY in QRESYNC")?;
        self.sp(|| "expected a mod-sequence after the QRESYNC UIDVALIDITY".into())?;
        let modseq = self.modseq("a mod-sequence in QRESYNC")?;
        let mut known_uids = None;
        let mut seq_match = None;
        if self.eat(b' ') && self.peek() != Some(b'(') {
            known_uids = Some(self.seq_set("known UIDs in QRESYNC")?);
            self.eat(b' ');
        }
        if self.eat(b'(') {
            let seqs = self.seq_set("known sequence numbers in QRESYNC")?;
            self.sp(|| "expected known UIDs after the QRESYNC sequence numbers".into())?;
            let uids = self.seq_set("known UIDs in QRESYNC")?;
            if !self.eat(b')') {
                return Err(format!("unbalanced parenthesis in {WHAT}"));
            }
            seq_match = Some((seqs, uids));
        }
        if !self.eat(b')') {
            return Err(if self.at_eol() {
                format!("unbalanced parenthesis in {WHAT}")
            } else {
                format!("invalid {WHAT}")
            });
        }
        Ok(Qresync {
            uidvalidity,
            modseq,
            known_uids,
            seq_match,
        })
    }

    fn create(&mut self) -> PResult<Command> {
        let mailbox = self.one_mailbox("CREATE")?;
        let mut special_use = Vec::new();
        if self.peek() == Some(b' ') {
            self.arg(|| "expected parameters after the CREATE mailbox name".into())?;
            self.paren_list("CREATE parameters", false, |p| {
                match p.keyword().as_str() {
                    "USE" => {
                        p.sp(|| "expected ( after USE".into())?;
                        p.paren_list("the USE list", false, |p| {
                            if !p.eat(b'\\') {
                                return Err("expected a special-use attribute like \\Drafts".into());
                            }
                            let a = p.atom();
                            if a.is_empty() {
                                return Err("expected a special-use attribute like \\Drafts".into());
                            }
                            p.check_boundary("a special-use attribute")?;
                            let mut s = String::from("\\");
                            s.extend(a.iter().map(|&b| b as char));
                            special_use.push(s);
                            Ok(())
                        })?;
                    }
                    "" => return Err("expected a CREATE parameter".into()),
                    other => {
                        return Err(format!(
                            "unknown CREATE parameter {}",
                            shown(other.as_bytes())
                        ));
                    }
                }
                Ok(())
            })?;
        }
        Ok(Command::Create {
            mailbox,
            special_use,
        })
    }

    fn rename(&mut self) -> PResult<Command> {
        let from = self.one_mailbox("RENAME")?;
        self.arg(|| "expected the new mailbox name after RENAME".into())?;
        let to = self.mailbox("the old RENAME mailbox name")?;
        Ok(Command::Rename { from, to })
    }

    fn list(&mut self) -> PResult<Command> {
        let mut l = List::default();
        self.arg(|| "expected a reference name after LIST".into())?;
        if self.peek() == Some(b'(') {
            self.paren_list("LIST selection options", true, |p| {
                match p.keyword().as_str() {
                    "SUBSCRIBED" => l.select_subscribed = true,
                    "REMOTE" => l.select_remote = true,
                    "RECURSIVEMATCH" => l.select_recursive = true,
                    "SPECIAL-USE" => l.select_special_use = true,
                    "" => return Err("expected a LIST selection option".into()),
                    other => {
                        return Err(format!(
                            "unknown LIST selection option {}",
                            shown(other.as_bytes())
                        ));
                    }
                }
                Ok(())
            })?;
            if l.select_recursive && !l.select_subscribed && !l.select_special_use {
                return Err(
                    "RECURSIVEMATCH needs another selection option such as SUBSCRIBED".into(),
                );
            }
            self.arg(|| "expected a reference name after the LIST selection options".into())?;
        }
        l.reference = self.astring("a reference name after LIST")?;
        self.arg(|| "expected a mailbox pattern after the LIST reference name".into())?;
        if self.peek() == Some(b'(') {
            let mut patterns = Vec::new();
            self.paren_list("the LIST patterns", false, |p| {
                patterns.push(p.list_mailbox()?);
                Ok(())
            })?;
            l.patterns = patterns;
        } else {
            l.patterns = vec![self.list_mailbox()?];
        }
        if self.peek() == Some(b' ') {
            self.arg(|| "expected RETURN after the LIST patterns".into())?;
            if self.keyword() != "RETURN" {
                return Err("expected RETURN after the LIST patterns".into());
            }
            self.sp(|| "expected ( after RETURN".into())?;
            let mut status = None;
            self.paren_list("LIST return options", true, |p| {
                match p.keyword().as_str() {
                    "SUBSCRIBED" => l.return_subscribed = true,
                    "CHILDREN" => l.return_children = true,
                    "SPECIAL-USE" => l.return_special_use = true,
                    "STATUS" => {
                        p.sp(|| "expected ( after STATUS".into())?;
                        status = Some(p.status_list()?);
                    }
                    "" => return Err("expected a LIST return option".into()),
                    other => {
                        return Err(format!(
                            "unknown LIST return option {}",
                            shown(other.as_bytes())
                        ));
                    }
                }
                Ok(())
            })?;
            l.return_status = status;
        }
        Ok(Command::List(l))
    }

    fn lsub(&mut self) -> PResult<Command> {
        self.arg(|| "expected a reference name after LSUB".into())?;
        let reference = self.astring("a reference name after LSUB")?;
        self.arg(|| "expected a mailbox pattern after the LSUB reference name".into())?;
        let pattern = self.list_mailbox()?;
        Ok(Command::List(List {
            lsub: true,
            reference,
            patterns: vec![pattern],
            ..List::default()
        }))
    }

    fn status(&mut self) -> PResult<Command> {
        let mailbox = self.one_mailbox("STATUS")?;
        self.arg(|| "expected a list of STATUS items after the mailbox name".into())?;
        let items = self.status_list()?;
        Ok(Command::Status { mailbox, items })
    }

    fn append(&mut self) -> PResult<Command> {
        let mailbox = self.one_mailbox("APPEND")?;
        let mut messages = Vec::new();
        loop {
            self.arg(|| "expected a message literal after the APPEND mailbox name".into())?;
            let mut flags = Vec::new();
            let mut date = None;
            if self.peek() == Some(b'(') {
                flags = self.flag_list()?;
                self.arg(|| "expected a message literal after the APPEND flags".into())?;
            }
            if self.peek() == Some(b'"') {
                date = Some(self.date_time()?);
                self.arg(|| "expected a message literal after the APPEND date".into())?;
            }
            let data = match self.peek() {
                Some(b'{' | b'~') => self.literal(true)?.to_vec(),
                _ => {
                    let k = self.keyword();
                    match k.as_str() {
                        "UTF8" => {
                            self.sp(|| "expected (~{n}) after UTF8".into())?;
                            if !self.eat(b'(') {
                                return Err("expected (~{n}) after UTF8".into());
                            }
                            let d = self.literal(true)?.to_vec();
                            if !self.eat(b')') {
                                return Err("unbalanced parenthesis in APPEND UTF8 data".into());
                            }
                            d
                        }
                        "CATENATE" => return Err("CATENATE is not supported".into()),
                        _ => return Err("expected a message literal in APPEND".into()),
                    }
                }
            };
            messages.push(AppendMessage { flags, date, data });
            if self.at_eol() {
                return Ok(Command::Append(Append { mailbox, messages }));
            }
            if self.peek() != Some(b' ') {
                return Err(format!(
                    "unexpected text after APPEND message data: {} (is the literal size right?)",
                    shown(self.rest())
                ));
            }
        }
    }

    fn setquota(&mut self) -> PResult<Command> {
        self.arg(|| "expected a quota root after SETQUOTA".into())?;
        let root = self.astring("a quota root after SETQUOTA")?;
        self.arg(|| "expected a list of resource limits after the SETQUOTA root".into())?;
        let mut limits = Vec::new();
        self.paren_list("the SETQUOTA resource list", true, |p| {
            let name = p.keyword();
            if name.is_empty() {
                return Err("expected a resource name in SETQUOTA".into());
            }
            p.sp(|| format!("expected a limit after the resource name {name}"))?;
            let limit = p.number_u64("a resource limit in SETQUOTA")?;
            limits.push((name, limit));
            Ok(())
        })?;
        Ok(Command::SetQuota { root, limits })
    }

    fn copy_move(&mut self, uid: bool, is_move: bool) -> PResult<Command> {
        let cmd = match (uid, is_move) {
            (false, false) => "COPY",
            (false, true) => "MOVE",
            (true, false) => "UID COPY",
            (true, true) => "UID MOVE",
        };
        self.arg(|| format!("expected a sequence set after {cmd}"))?;
        let set = self.seq_set(&format!("a sequence set after {cmd}"))?;
        self.arg(|| format!("expected a mailbox name after the {cmd} sequence set"))?;
        let mailbox = self.mailbox(cmd)?;
        Ok(if is_move {
            Command::Move { uid, set, mailbox }
        } else {
            Command::Copy { uid, set, mailbox }
        })
    }

    // ----- FETCH.

    fn fetch(&mut self, uid: bool) -> PResult<Command> {
        let cmd = if uid { "UID FETCH" } else { "FETCH" };
        self.arg(|| format!("expected a sequence set after {cmd}"))?;
        let set = self.seq_set(&format!("a sequence set after {cmd}"))?;
        self.arg(|| format!("expected FETCH items after the {cmd} sequence set"))?;
        let mut items = Vec::new();
        if self.eat(b'(') {
            if self.peek() == Some(b')') {
                return Err("empty list of FETCH items".into());
            }
            loop {
                self.fetch_att(&mut items)?;
                if self.eat(b')') {
                    break;
                }
                if self.at_eol() {
                    return Err("unbalanced parenthesis in FETCH items".into());
                }
                self.sp(|| "expected a space between FETCH items".into())?;
            }
        } else {
            self.fetch_att(&mut items)?;
        }
        let mut changed_since = None;
        let mut vanished = false;
        if self.peek() == Some(b' ') {
            self.arg(|| "expected FETCH modifiers after the FETCH items".into())?;
            self.paren_list("FETCH modifiers", false, |p| {
                match p.keyword().as_str() {
                    "CHANGEDSINCE" => {
                        p.sp(|| "expected a mod-sequence after CHANGEDSINCE".into())?;
                        changed_since = Some(p.modseq("a mod-sequence after CHANGEDSINCE")?);
                    }
                    "VANISHED" => vanished = true,
                    "" => return Err("expected a FETCH modifier".into()),
                    other => {
                        return Err(format!(
                            "unknown FETCH modifier {}",
                            shown(other.as_bytes())
                        ));
                    }
                }
                Ok(())
            })?;
            if vanished && !uid {
                return Err("VANISHED is only allowed with UID FETCH".into());
            }
            if vanished && changed_since.is_none() {
                return Err("VANISHED requires CHANGEDSINCE".into());
            }
        }
        Ok(Command::Fetch(Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished,
        }))
    }

    fn fetch_att(&mut self, out: &mut Vec<FetchItem>) -> PResult<()> {
        let raw = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if raw.is_empty() {
            return Err(
                if self.at_eol() || self.peek() == Some(b' ') || self.peek() == Some(b')') {
                    "expected a FETCH item".into()
                } else if self.peek() == Some(b'(') {
                    "unbalanced parenthesis in FETCH items".into()
                } else {
                    format!("invalid FETCH item starting with {}", self.next_shown())
                },
            );
        }
        let name = raw.to_ascii_uppercase();
        let item = match name.as_slice() {
            b"ALL" | b"FAST" | b"FULL" => {
                out.extend([
                    FetchItem::Flags,
                    FetchItem::InternalDate,
                    FetchItem::Rfc822Size,
                ]);
                if name != b"FAST" {
                    out.push(FetchItem::Envelope);
                }
                if name == b"FULL" {
                    out.push(FetchItem::Body);
                }
                return self.check_boundary("FETCH items");
            }
            b"ENVELOPE" => FetchItem::Envelope,
            b"FLAGS" => FetchItem::Flags,
            b"INTERNALDATE" => FetchItem::InternalDate,
            b"RFC822" => FetchItem::Rfc822,
            b"RFC822.HEADER" => FetchItem::Rfc822Header,
            b"RFC822.TEXT" => FetchItem::Rfc822Text,
            b"RFC822.SIZE" => FetchItem::Rfc822Size,
            b"UID" => FetchItem::Uid,
            b"MODSEQ" => FetchItem::ModSeq,
            b"BODYSTRUCTURE" => FetchItem::BodyStructure,
            b"BODY" if self.peek() != Some(b'[') => FetchItem::Body,
            b"BODY" | b"BODY.PEEK" => {
                let peek = name == b"BODY.PEEK";
                let section = self.section()?;
                let partial = self.partial()?;
                FetchItem::Section {
                    peek,
                    section,
                    partial,
                }
            }
            b"BINARY" | b"BINARY.PEEK" => {
                let peek = name == b"BINARY.PEEK";
                let part = self.section_binary()?;
                let partial = self.partial()?;
                FetchItem::Binary {
                    peek,
                    part,
                    partial,
                }
            }
            b"BINARY.SIZE" => FetchItem::BinarySize {
                part: self.section_binary()?,
            },
            _ => return Err(format!("unknown FETCH item {}", shown(raw))),
        };
        out.push(item);
        if !self.at_boundary() {
            return Err(format!("invalid character after FETCH item {}", shown(raw)));
        }
        Ok(())
    }

    /// section-part = nz-number *("." nz-number); stops before a "." followed by a letter.
    fn section_part(&mut self) -> PResult<Vec<u32>> {
        let mut part = Vec::new();
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            part.push(self.nz_u32("a section part number")?);
            if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(part)
    }

    fn section(&mut self) -> PResult<Section> {
        if !self.eat(b'[') {
            return Err("expected [ after BODY.PEEK".into());
        }
        let part = self.section_part()?;
        let mut text = None;
        if !part.is_empty() && self.peek() != Some(b']') && !self.eat(b'.') {
            return Err("invalid section: expected . or ] after the part number".into());
        }
        if self.peek() != Some(b']') {
            let spec = self
                .take_while(|b| b.is_ascii_alphabetic() || b == b'.')
                .to_ascii_uppercase();
            text = Some(match spec.as_slice() {
                b"HEADER" => SectionText::Header,
                b"TEXT" => SectionText::Text,
                b"MIME" if part.is_empty() => {
                    return Err("invalid section: MIME needs a part number, as in 1.MIME".into());
                }
                b"MIME" => SectionText::Mime,
                b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
                    self.sp(|| "expected a list of header fields after HEADER.FIELDS".into())?;
                    let mut fields = Vec::new();
                    self.paren_list("the header field list", false, |p| {
                        fields.push(p.astring("a header field name")?);
                        Ok(())
                    })?;
                    if spec == b"HEADER.FIELDS" {
                        SectionText::HeaderFields(fields)
                    } else {
                        SectionText::HeaderFieldsNot(fields)
                    }
                }
                _ => return Err(format!("invalid section {}", shown(&spec))),
            });
        }
        if !self.eat(b']') {
            return Err("expected ] to close the section".into());
        }
        Ok(Section { part, text })
    }

    fn section_binary(&mut self) -> PResult<Vec<u32>> {
        if !self.eat(b'[') {
            return Err("expected [ after BINARY".into());
        }
        let part = self.section_part()?;
        if !self.eat(b']') {
            return Err(
                "expected ] to close the BINARY section (only part numbers are allowed)".into(),
            );
        }
        Ok(part)
    }

    /// partial = "<" number "." nz-number ">".
    fn partial(&mut self) -> PResult<Option<(u32, u32)>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let offset = self.number_u32("an offset in <offset.length>")?;
        if !self.eat(b'.') {
            return Err("expected <offset.length> after the section".into());
        }
        let len = self.nz_u32("a length in <offset.length>")?;
        if !self.eat(b'>') {
            return Err("expected > to close <offset.length>".into());
        }
        Ok(Some((offset, len)))
    }

    // ----- STORE.

    fn store(&mut self, uid: bool) -> PResult<Command> {
        let cmd = if uid { "UID STORE" } else { "STORE" };
        self.arg(|| format!("expected a sequence set after {cmd}"))?;
        let set = self.seq_set(&format!("a sequence set after {cmd}"))?;
        self.arg(|| format!("expected FLAGS, +FLAGS or -FLAGS after the {cmd} sequence set"))?;
        let mut unchanged_since = None;
        if self.peek() == Some(b'(') {
            self.paren_list("STORE modifiers", false, |p| {
                match p.keyword().as_str() {
                    "UNCHANGEDSINCE" => {
                        p.sp(|| "expected a mod-sequence after UNCHANGEDSINCE".into())?;
                        unchanged_since = Some(p.modseq("a mod-sequence after UNCHANGEDSINCE")?);
                    }
                    "" => return Err("expected a STORE modifier".into()),
                    other => {
                        return Err(format!(
                            "unknown STORE modifier {}",
                            shown(other.as_bytes())
                        ));
                    }
                }
                Ok(())
            })?;
            self.arg(|| "expected FLAGS, +FLAGS or -FLAGS after the STORE modifiers".into())?;
        }
        let (mode, silent) = match self.keyword().as_str() {
            "FLAGS" => (StoreMode::Replace, false),
            "FLAGS.SILENT" => (StoreMode::Replace, true),
            "+FLAGS" => (StoreMode::Add, false),
            "+FLAGS.SILENT" => (StoreMode::Add, true),
            "-FLAGS" => (StoreMode::Remove, false),
            "-FLAGS.SILENT" => (StoreMode::Remove, true),
            _ => return Err(format!("expected FLAGS, +FLAGS or -FLAGS in {cmd}")),
        };
        self.sp(|| "expected flags after FLAGS".into())?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut flags = vec![self.flag("flags after FLAGS")?];
            while self.peek() == Some(b' ') {
                self.arg(|| "unexpected space after the flags".into())?;
                flags.push(self.flag("a flag")?);
            }
            flags
        };
        Ok(Command::Store(Store {
            uid,
            set,
            unchanged_since,
            mode,
            silent,
            flags,
        }))
    }

    // ----- SEARCH.

    fn search(&mut self, uid: bool) -> PResult<Command> {
        let cmd = if uid { "UID SEARCH" } else { "SEARCH" };
        self.arg(|| format!("expected search criteria after {cmd}"))?;
        let mut ret = None;
        let mut charset = None;
        if self.eat_word(b"RETURN ") {
            let mut opts = Vec::new();
            self.paren_list("SEARCH return options", true, |p| {
                opts.push(match p.keyword().as_str() {
                    "MIN" => SearchReturn::Min,
                    "MAX" => SearchReturn::Max,
                    "ALL" => SearchReturn::All,
                    "COUNT" => SearchReturn::Count,
                    "SAVE" => SearchReturn::Save,
                    "" => return Err("expected a SEARCH return option".into()),
                    other => {
                        return Err(format!(
                            "unknown SEARCH return option {}",
                            shown(other.as_bytes())
                        ));
                    }
                });
                Ok(())
            })?;
            ret = Some(opts);
            self.arg(|| format!("expected search criteria after {cmd} RETURN (...)"))?;
        }
        if self.eat_word(b"CHARSET ") {
            charset = Some(self.astring("a charset name after CHARSET")?);
            self.arg(|| format!("expected search criteria after {cmd} CHARSET"))?;
        }
        let mut keys = vec![self.search_key(0)?];
        while self.peek() == Some(b' ') {
            self.arg(|| "unexpected space at the end of the search criteria".into())?;
            keys.push(self.search_key(0)?);
        }
        let criteria = if keys.len() == 1 {
            keys.remove(0)
        } else {
            SearchKey::And(keys)
        };
        Ok(Command::Search(Search {
            uid,
            charset,
            ret,
            criteria,
        }))
    }

    fn search_key(&mut self, depth: usize) -> PResult<SearchKey> {
        if depth >= MAX_DEPTH {
            return Err("search criteria are nested too deeply".into());
        }
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let mut keys = Vec::new();
                loop {
                    if self.at_eol() {
                        return Err("unbalanced parenthesis in search criteria".into());
                    }
                    if self.peek() == Some(b')') {
                        return Err("empty parentheses in search criteria".into());
                    }
                    keys.push(self.search_key(depth + 1)?);
                    if self.eat(b')') {
                        break;
                    }
                    if self.at_eol() {
                        return Err("unbalanced parenthesis in search criteria".into());
                    }
                    self.sp(|| "expected a space between search keys".into())?;
                }
                return Ok(if keys.len() == 1 {
                    keys.remove(0)
                } else {
                    SearchKey::And(keys)
                });
            }
            Some(b'*' | b'$' | b'0'..=b'9') => {
                return Ok(SearchKey::SequenceSet(self.seq_set("a sequence set")?));
            }
            None | Some(b'\r' | b'\n') => return Err("expected a search key".into()),
            _ => {}
        }
        let raw = self.atom();
        if raw.is_empty() {
            return Err(format!(
                "invalid search key starting with {}",
                self.next_shown()
            ));
        }
        if !self.at_boundary() {
            return Err(format!("invalid character after search key {}", shown(raw)));
        }
        let name = raw.to_ascii_uppercase();
        let name_s = String::from_utf8_lossy(&name).into_owned();
        // Helpers for the argument of a key.
        let arg_sp = |p: &mut Self, what: &str| p.arg(|| format!("expected {what} after {name_s}"));
        macro_rules! astr {
            () => {{
                arg_sp(self, "a string")?;
                self.astring(&format!("a string after {name_s}"))?
            }};
        }
        macro_rules! date {
            () => {{
                arg_sp(self, "a date")?;
                self.date()?
            }};
        }
        Ok(match name.as_slice() {
            b"ALL" => SearchKey::All,
            b"ANSWERED" => SearchKey::Answered,
            b"DELETED" => SearchKey::Deleted,
            b"DRAFT" => SearchKey::Draft,
            b"FLAGGED" => SearchKey::Flagged,
            b"SEEN" => SearchKey::Seen,
            b"RECENT" => SearchKey::Recent,
            b"NEW" => SearchKey::New,
            b"OLD" => SearchKey::Old,
            b"UNANSWERED" => SearchKey::Unanswered,
            b"UNDELETED" => SearchKey::Undeleted,
            b"UNDRAFT" => SearchKey::Undraft,
            b"UNFLAGGED" => SearchKey::Unflagged,
            b"UNSEEN" => SearchKey::Unseen,
            b"KEYWORD" | b"UNKEYWORD" => {
                arg_sp(self, "a keyword")?;
                let k = self.flag(&format!("a keyword after {name_s}"))?;
                if name == b"KEYWORD" {
                    SearchKey::Keyword(k)
                } else {
                    SearchKey::Unkeyword(k)
                }
            }
            b"BCC" => SearchKey::Bcc(astr!()),
            b"CC" => SearchKey::Cc(astr!()),
            b"FROM" => SearchKey::From(astr!()),
            b"TO" => SearchKey::To(astr!()),
            b"SUBJECT" => SearchKey::Subject(astr!()),
            b"BODY" => SearchKey::Body(astr!()),
            b"TEXT" => SearchKey::Text(astr!()),
            b"HEADER" => {
                arg_sp(self, "a header field name")?;
                let field = self.astring("a header field name after HEADER")?;
                self.arg(|| "expected a string after the HEADER field name".into())?;
                let value = self.astring("a string after the HEADER field name")?;
                SearchKey::Header(field, value)
            }
            b"BEFORE" => SearchKey::Before(date!()),
            b"ON" => SearchKey::On(date!()),
            b"SINCE" => SearchKey::Since(date!()),
            b"SENTBEFORE" => SearchKey::SentBefore(date!()),
            b"SENTON" => SearchKey::SentOn(date!()),
            b"SENTSINCE" => SearchKey::SentSince(date!()),
            b"LARGER" => {
                arg_sp(self, "a size")?;
                SearchKey::Larger(self.number_u64("a size after LARGER")?)
            }
            b"SMALLER" => {
                arg_sp(self, "a size")?;
                SearchKey::Smaller(self.number_u64("a size after SMALLER")?)
            }
            b"OLDER" | b"YOUNGER" => {
                arg_sp(self, "a number of seconds")?;
                let n = self.number_u64(&format!("a number of seconds after {name_s}"))?;
                if n == 0 {
                    return Err(format!("the interval after {name_s} must not be zero"));
                }
                if name == b"OLDER" {
                    SearchKey::Older(n)
                } else {
                    SearchKey::Younger(n)
                }
            }
            b"UID" => {
                arg_sp(self, "a UID set")?;
                SearchKey::Uid(self.seq_set("a UID set after UID")?)
            }
            b"MODSEQ" => {
                arg_sp(self, "a mod-sequence")?;
                if self.peek() == Some(b'"') {
                    let entry = self.quoted()?;
                    if !entry.starts_with("/flags/") {
                        return Err("invalid MODSEQ entry name, expected \"/flags/...\"".into());
                    }
                    self.arg(|| "expected priv, shared or all after the MODSEQ entry name".into())?;
                    match self.keyword().as_str() {
                        "PRIV" | "SHARED" | "ALL" => {}
                        _ => {
                            return Err(
                                "expected priv, shared or all after the MODSEQ entry name".into()
                            );
                        }
                    }
                    self.arg(|| "expected a mod-sequence after the MODSEQ entry type".into())?;
                }
                SearchKey::ModSeq(self.modseq("a mod-sequence after MODSEQ")?)
            }
            b"NOT" => {
                arg_sp(self, "a search key")?;
                SearchKey::Not(Box::new(self.search_key(depth + 1)?))
            }
            b"OR" => {
                arg_sp(self, "two search keys")?;
                let a = self.search_key(depth + 1)?;
                self.arg(|| "expected a second search key after OR".into())?;
                let b = self.search_key(depth + 1)?;
                SearchKey::Or(Box::new(a), Box::new(b))
            }
            _ => return Err(format!("unknown search key {}", shown(raw))),
        })
    }
}

#[cfg(test)]
mod tests;
