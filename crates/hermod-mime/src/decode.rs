//! Content-Transfer-Encoding decoders (tolerant: never fail on bad input).

const INVALID: u8 = 0xff;

const fn b64_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let mut v = 0u8;
    while v < 64 {
        let c = match v {
            0..=25 => b'A' + v,
            26..=51 => b'a' + (v - 26),
            52..=61 => b'0' + (v - 52),
            62 => b'+',
            _ => b'/',
        };
        t[c as usize] = v;
        v += 1;
    }
    t
}

static B64: [u8; 256] = b64_table();

/// Decodes base64, skipping characters outside the alphabet; `=` flushes a
/// partial group (mail-parser compatible).
pub fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut chunk: u32 = 0;
    let mut count = 0u8;
    for &c in input {
        let v = B64[c as usize];
        if v != INVALID {
            chunk = (chunk << 6) | u32::from(v);
            count += 1;
            if count == 4 {
                out.extend_from_slice(&chunk.to_be_bytes()[1..]);
                chunk = 0;
                count = 0;
            }
        } else if c == b'=' {
            match count {
                1 => out.push((chunk << 2) as u8),
                2 => out.push((chunk >> 4) as u8),
                3 => out.extend_from_slice(&[(chunk >> 10) as u8, (chunk >> 2) as u8]),
                _ => {}
            }
            chunk = 0;
            count = 0;
        }
    }
    match count {
        2 => out.push((chunk >> 4) as u8),
        3 => out.extend_from_slice(&[(chunk >> 10) as u8, (chunk >> 2) as u8]),
        _ => {}
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes quoted-printable. Soft line breaks (`=` at line end, optionally
/// followed by blanks) are removed, trailing blanks on lines are dropped,
/// malformed `=` sequences are kept literally. Line ends are kept as written.
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for raw_line in input.split_inclusive(|&c| c == b'\n') {
        let (line, eol): (&[u8], &[u8]) = if let Some(l) = raw_line.strip_suffix(b"\r\n") {
            (l, b"\r\n")
        } else if let Some(l) = raw_line.strip_suffix(b"\n") {
            (l, b"\n")
        } else {
            (raw_line, b"")
        };
        // Trailing whitespace is not part of the content.
        let trimmed_len = line
            .iter()
            .rposition(|&c| c != b' ' && c != b'\t')
            .map_or(0, |p| p + 1);
        let line = &line[..trimmed_len];
        let (line, soft) = match line.strip_suffix(b"=") {
            Some(l) => (l, true),
            None => (line, false),
        };
        let mut i = 0;
        while i < line.len() {
            let c = line[i];
            if c == b'='
                && let (Some(h), Some(l)) = (
                    line.get(i + 1).copied().and_then(hex),
                    line.get(i + 2).copied().and_then(hex),
                )
            {
                out.push((h << 4) | l);
                i += 3;
                continue;
            }
            out.push(c);
            i += 1;
        }
        if !soft {
            out.extend_from_slice(eol);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64() {
        assert_eq!(base64(b"aGVsbG8gd29ybGQ=\r\n"), b"hello world");
        assert_eq!(base64(b"aGVs\r\nbG8="), b"hello");
        assert_eq!(base64(b"aGVsbA"), b"hell");
        assert_eq!(base64(b""), b"");
    }

    #[test]
    fn qp() {
        assert_eq!(
            quoted_printable(b"caf=C3=A9 =\r\nok  \r\nx=ZZ"),
            "café ok\r\nx=ZZ".as_bytes()
        );
        assert_eq!(quoted_printable(b"a=\nb\n"), b"ab\n");
    }
}
