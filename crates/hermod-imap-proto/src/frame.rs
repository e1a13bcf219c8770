//! Framing helpers for the server's line reader: find the literal a line announces, and the
//! tag of a line refused before parsing.

use crate::parse::is_tag_char;

/// A literal announced at the end of a line: `{12}`, `{12+}` (LITERAL+/LITERAL-), `~{12}`
/// (literal8, RFC 3516).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiteralSpec {
    /// Announced size in bytes; `u64::MAX` when the digits overflow (refuse it).
    pub size: u64,
    /// True for `{n}`: the server must send a `+` continuation before the client sends the
    /// bytes. False for the non-synchronising `{n+}`.
    pub sync: bool,
    /// True for literal8 (`~{n}`).
    pub binary: bool,
}

/// The literal announced at the end of `line` (given with or without its CRLF / LF), if its
/// last token is `{digits}`, `{digits+}` or `~{digits}` (or `~{digits+}`).
pub fn literal_at_end(line: &[u8]) -> Option<LiteralSpec> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let (inner, sync) = match inner.strip_suffix(b"+") {
        Some(i) => (i, false),
        None => (inner, true),
    };
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = inner.get(open + 1..)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = digits
        .iter()
        .try_fold(0u64, |acc, &b| {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .unwrap_or(u64::MAX);
    let binary = open > 0 && inner.get(open - 1) == Some(&b'~');
    Some(LiteralSpec { size, sync, binary })
}

/// The tag at the start of `line`, if it is a valid tag followed by a space or the line end.
pub fn tag_of(line: &[u8]) -> Option<String> {
    let len = line.iter().take_while(|&&b| is_tag_char(b)).count();
    if len == 0 {
        return None;
    }
    match line.get(len) {
        None | Some(b' ' | b'\r' | b'\n') => {}
        Some(_) => return None,
    }
    Some(line.iter().take(len).map(|&b| b as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(size: u64, sync: bool, binary: bool) -> Option<LiteralSpec> {
        Some(LiteralSpec { size, sync, binary })
    }

    #[test]
    fn literals() {
        assert_eq!(literal_at_end(b"a LOGIN {5}\r\n"), spec(5, true, false));
        assert_eq!(literal_at_end(b"a LOGIN {5}\n"), spec(5, true, false));
        assert_eq!(literal_at_end(b"a LOGIN {5}"), spec(5, true, false));
        assert_eq!(literal_at_end(b"a LOGIN {5+}\r\n"), spec(5, false, false));
        assert_eq!(
            literal_at_end(b"a APPEND x ~{310}\r\n"),
            spec(310, true, true)
        );
        assert_eq!(
            literal_at_end(b"a APPEND x ~{310+}\r\n"),
            spec(310, false, true)
        );
        assert_eq!(
            literal_at_end(b"a FETCH 1 (BODY[HEADER.FIELDS ({4}\r\n"),
            spec(4, true, false)
        );
        assert_eq!(literal_at_end(b"{0}\r\n"), spec(0, true, false));
        assert_eq!(
            literal_at_end(b"a LOGIN {99999999999999999999999}\r\n"),
            spec(u64::MAX, true, false)
        );
    }

    #[test]
    fn not_literals() {
        assert_eq!(literal_at_end(b"a NOOP\r\n"), None);
        assert_eq!(literal_at_end(b"a LOGIN \"{5}\"\r\n"), None);
        assert_eq!(literal_at_end(b"a LOGIN {}\r\n"), None);
        assert_eq!(literal_at_end(b"a LOGIN {+}\r\n"), None);
        assert_eq!(literal_at_end(b"a LOGIN {5a}\r\n"), None);
        assert_eq!(literal_at_end(b"a LOGIN {5}x\r\n"), None);
        assert_eq!(literal_at_end(b"a LOGIN {5++}\r\n"), None);
        assert_eq!(literal_at_end(b"}"), None);
        assert_eq!(literal_at_end(b""), None);
        assert_eq!(literal_at_end(b"\r\n"), None);
    }

    #[test]
    fn tags() {
        assert_eq!(tag_of(b"a001 LOGIN {5}\r\n").as_deref(), Some("a001"));
        assert_eq!(tag_of(b"a001\r\n").as_deref(), Some("a001"));
        assert_eq!(tag_of(b"A.1] x").as_deref(), Some("A.1]"));
        assert_eq!(tag_of(b"+ x"), None);
        assert_eq!(tag_of(b"* x"), None);
        assert_eq!(tag_of(b"a+b x"), None);
        assert_eq!(tag_of(b" x"), None);
        assert_eq!(tag_of(b""), None);
        assert_eq!(tag_of(b"a\xff x"), None);
    }
}
