//! Raw header-block helpers: splitting a header into fields, finding its end,
//! unfolding and decoding values.

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;

/// One field of a header block, located by byte offsets into the slice that
/// was given to [`header_fields`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The field name as written (without the colon, surrounding blanks trimmed).
    /// Empty for a line that has no colon (garbage kept so that nothing is lost).
    pub name: String,
    /// Offset of the first byte of the field (the start of its name).
    pub start: usize,
    /// Offset of the first byte after the colon (start of the raw value).
    pub value_start: usize,
    /// Offset after the last byte of the field, including the line end of its
    /// last (possibly folded) line.
    pub end: usize,
}

impl HeaderField {
    /// The raw value bytes (after the colon, folding and line end included).
    pub fn raw_value<'a>(&self, block: &'a [u8]) -> &'a [u8] {
        block.get(self.value_start..self.end).unwrap_or_default()
    }
}

/// Offset where the body of `raw` begins: just after the first empty line
/// (`LF` or `CRLF` alone on a line), or `raw.len()` when there is none.
pub fn header_end(raw: &[u8]) -> usize {
    let mut pos = 0;
    while pos < raw.len() {
        let line_end = match raw[pos..].iter().position(|&c| c == b'\n') {
            Some(i) => pos + i + 1,
            None => return raw.len(),
        };
        let line = &raw[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            return line_end;
        }
        pos = line_end;
    }
    raw.len()
}

/// Splits the header block at the start of `raw` into fields (stopping at the
/// first empty line). Continuation lines (starting with space or tab) belong to
/// the preceding field.
pub fn header_fields(raw: &[u8]) -> Vec<HeaderField> {
    let mut fields: Vec<HeaderField> = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let line_end = raw[pos..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        let line = &raw[pos..line_end];
        if line == b"\n" || line == b"\r\n" {
            break;
        }
        let is_continuation = matches!(line.first(), Some(b' ' | b'\t'));
        match fields.last_mut() {
            Some(last) if is_continuation => last.end = line_end,
            _ => {
                let (name, value_start) = match line.iter().position(|&c| c == b':') {
                    Some(colon) => (
                        String::from_utf8_lossy(&line[..colon]).trim().to_string(),
                        pos + colon + 1,
                    ),
                    None => (String::new(), pos),
                };
                fields.push(HeaderField {
                    name,
                    start: pos,
                    value_start,
                    end: line_end,
                });
            }
        }
        pos = line_end;
    }
    fields
}

/// Unfolds a raw header value: removes CR, LF and NUL, trims surrounding
/// blanks; invalid UTF-8 is replaced (U+FFFD). Encoded-words are kept as sent.
pub fn unfold(value: &[u8]) -> String {
    let bytes: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n' && c != 0)
        .collect();
    String::from_utf8_lossy(&bytes)
        .trim_matches(|c| c == ' ' || c == '\t')
        .to_string()
}

/// Decodes a raw header value for display or search: RFC 2047 encoded-words
/// are decoded to UTF-8, folding is removed.
pub fn decode_value(value: &[u8]) -> String {
    let mut buf = Vec::with_capacity(value.len() + 1);
    buf.extend_from_slice(value);
    if buf.last() != Some(&b'\n') {
        buf.push(b'\n');
    }
    let decoded = match MessageStream::new(&buf).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        HeaderValue::TextList(l) => l.join(" "),
        _ => String::new(),
    };
    decoded
        .chars()
        .filter(|&c| c != '\r' && c != '\n' && c != '\0')
        .collect::<String>()
        .trim()
        .to_string()
}

/// The first field named `name` (case-insensitive) in the header block.
pub(crate) fn first_field<'f>(fields: &'f [HeaderField], name: &str) -> Option<&'f HeaderField> {
    fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The last field named `name` (case-insensitive) in the header block (the
/// one mail-parser honours for MIME fields).
pub(crate) fn last_field<'f>(fields: &'f [HeaderField], name: &str) -> Option<&'f HeaderField> {
    fields
        .iter()
        .rev()
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

/// Number of lines in `body` (a final line without line end counts).
pub(crate) fn count_lines(body: &[u8]) -> usize {
    let lf = body.iter().filter(|&&c| c == b'\n').count();
    if body.last().is_some_and(|&c| c != b'\n') {
        lf + 1
    } else {
        lf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_end() {
        let raw = b"From: a\r\nSubject: x\r\n y\r\nnocolon\r\n\r\nbody";
        assert_eq!(header_end(raw), 36);
        let f = header_fields(raw);
        assert_eq!(f.len(), 3);
        assert_eq!(f[1].name, "Subject");
        assert_eq!(&raw[f[1].start..f[1].end], b"Subject: x\r\n y\r\n");
        assert_eq!(unfold(f[1].raw_value(raw)), "x y");
        assert_eq!(f[2].name, "");
        assert_eq!(header_end(b"no blank line"), 13);
        assert_eq!(header_end(b"\r\nbody"), 2);
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_value(b" =?utf-8?q?caf=C3=A9?= ok\r\n"), "café ok");
        assert_eq!(count_lines(b"a\nb"), 2);
        assert_eq!(count_lines(b"a\nb\n"), 2);
        assert_eq!(count_lines(b""), 0);
    }
}
