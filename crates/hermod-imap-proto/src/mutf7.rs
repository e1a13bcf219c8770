//! Modified UTF-7 mailbox names (RFC 3501 section 5.1.3), used when the client has not
//! enabled UTF8=ACCEPT.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(b: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == b)
        .and_then(|p| u32::try_from(p).ok())
}

fn is_direct(c: char) -> bool {
    ('\x20'..='\x7e').contains(&c)
}

/// Encodes a mailbox name to modified UTF-7: printable ASCII stands for itself (`&` as `&-`),
/// everything else goes into `&...-` runs of modified base64 UTF-16.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

fn flush(units: &mut Vec<u16>, out: &mut String) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &u in units.iter() {
        acc = (acc << 16) | u32::from(u);
        bits += 16;
        while bits >= 6 {
            bits -= 6;
            out.push(char::from(ALPHABET[((acc >> bits) & 63) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (6 - bits)) & 63) as usize]));
    }
    out.push('-');
    units.clear();
}

/// Decodes a modified UTF-7 mailbox name. `None` when it is malformed: characters outside
/// printable ASCII, bad base64, an unterminated `&`, padding bits that are not zero, invalid
/// UTF-16, or a non-shortest form (printable ASCII inside `&...-`, two adjacent runs).
pub fn decode(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    // Set right after a base64 run, to catch two adjacent runs.
    let mut after_run = false;
    while let Some(&b) = bytes.get(i) {
        if !(0x20..=0x7e).contains(&b) {
            return None;
        }
        if b != b'&' {
            out.push(char::from(b));
            i += 1;
            after_run = false;
            continue;
        }
        i += 1;
        let start = i;
        while bytes.get(i).is_some_and(|&c| c != b'-') {
            i += 1;
        }
        if i >= bytes.len() {
            return None; // unterminated
        }
        let run = bytes.get(start..i)?;
        i += 1; // the '-'
        if run.is_empty() {
            out.push('&');
            after_run = false;
            continue;
        }
        if after_run {
            return None;
        }
        let mut units = Vec::new();
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        for &c in run {
            acc = (acc << 6) | b64_value(c)?;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push(((acc >> bits) & 0xffff) as u16);
                acc &= (1 << bits) - 1;
            }
        }
        if bits >= 6 || acc != 0 || units.is_empty() {
            return None;
        }
        for c in char::decode_utf16(units) {
            let c = c.ok()?;
            if is_direct(c) {
                return None;
            }
            out.push(c);
        }
        after_run = true;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        let name = "~peter/mail/台北/日本語";
        assert_eq!(encode(name), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").as_deref(),
            Some(name)
        );
    }

    #[test]
    fn round_trips() {
        for name in [
            "Entwürfe",
            "日本語",
            "&",
            "INBOX",
            "",
            "a&b",
            "&&",
            "Gelöschte Elemente",
            "😀 emoji",
            "x~y",
            "ü&ü",
        ] {
            let e = encode(name);
            assert!(e.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{e}");
            assert_eq!(decode(&e).as_deref(), Some(name), "{name} -> {e}");
        }
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("&"), "&-");
        assert_eq!(decode("&-").as_deref(), Some("&"));
        assert_eq!(encode("😀"), "&2D3eAA-");
    }

    #[test]
    fn malformed() {
        assert_eq!(decode("&"), None);
        assert_eq!(decode("&U,BTFw"), None);
        assert_eq!(decode("&U,BTF-"), None); // non-zero padding / leftover bits
        assert_eq!(decode("&U/BTFw-"), None); // '/' is not modified base64
        assert_eq!(decode("&AGE-"), None); // "a" encoded: non-shortest
        assert_eq!(decode("&U,A-&U,A-"), None); // two adjacent runs
        assert_eq!(decode("&2D0-"), None); // lone surrogate
        assert_eq!(decode("ü"), None); // raw 8-bit
        assert_eq!(decode("a\tb"), None);
        assert_eq!(decode("&APw"), None);
        assert_eq!(decode("&AP-"), None);
    }
}
