//! Response building helpers: IMAP strings, flag lists, compressed UID sets, dates.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

use crate::parse::{is_astring_char, is_atom_char};

/// An IMAP quoted string: `"..."` with `\` and `"` escaped. The caller makes sure `s` has no
/// CR, LF or NUL (use [`string`] when unsure).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An IMAP string for a client without UTF8=ACCEPT: quoted when possible, else a literal.
pub fn string(s: &str) -> String {
    string_utf8(s, false)
}

/// An IMAP string: quoted when possible, else a literal `{n}\r\n...`. 8-bit text may be quoted
/// only when `utf8_ok` (UTF8=ACCEPT enabled); CR, LF and NUL always need a literal.
pub fn string_utf8(s: &str, utf8_ok: bool) -> String {
    let quotable = s.bytes().all(|b| match b {
        0 | b'\r' | b'\n' => false,
        0x80.. => utf8_ok,
        _ => true,
    });
    if quotable {
        quoted(s)
    } else {
        format!("{{{}}}\r\n{s}", s.len())
    }
}

/// `NIL` for `None`, else [`string`].
pub fn nstring(s: Option<&str>) -> String {
    match s {
        Some(s) => string(s),
        None => "NIL".to_string(),
    }
}

/// An astring: the bare atom when every character allows it (and it is not empty), else
/// [`string`]. Not for `nstring` positions: an atom `NIL` would read as NIL there.
pub fn astring(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(is_astring_char) {
        s.to_string()
    } else {
        string(s)
    }
}

/// A literal: `{n}\r\n` followed by the bytes.
pub fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("{{{}}}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out
}

/// A parenthesised flag list: `(\Seen Foo)`; `()` when empty.
pub fn flag_list(flags: &[impl AsRef<str>]) -> String {
    let mut out = String::from("(");
    for (i, f) in flags.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(f.as_ref());
    }
    out.push(')');
    out
}

/// Numbers as a compact IMAP set: `[1, 2, 3, 5, 7, 8, 9]` → `1:3,5,7:9`. Sorts and dedups;
/// empty input gives "".
pub fn compress_set(uids: &[u32]) -> String {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&start) = v.get(i) {
        let mut end = start;
        while let Some(&next) = v.get(i + 1) {
            if Some(next) != end.checked_add(1) {
                break;
            }
            end = next;
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// An IMAP date-time with its quotes: `"17-Jul-1996 02:44:25 -0700"`, the day padded to two
/// characters with a space (date-day-fixed).
pub fn imap_date_time(dt: &DateTime<FixedOffset>) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.get(dt.month0() as usize).copied().unwrap_or("Jan");
    let off = dt.offset().local_minus_utc();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs() / 60;
    format!(
        "\"{:>2}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}\"",
        dt.day(),
        month,
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        sign,
        off / 60,
        off % 60
    )
}

/// True when `s` can be sent as a bare atom.
pub fn is_atom(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_atom_char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn strings() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string("hello world"), "\"hello world\"");
        assert_eq!(string("a\r\nb"), "{4}\r\na\r\nb");
        assert_eq!(string("Entwürfe"), "{9}\r\nEntwürfe");
        assert_eq!(string_utf8("Entwürfe", true), "\"Entwürfe\"");
        assert_eq!(string_utf8("a\nb", true), "{3}\r\na\nb");
        assert_eq!(nstring(None), "NIL");
        assert_eq!(nstring(Some("")), "\"\"");
        assert_eq!(astring("INBOX"), "INBOX");
        assert_eq!(astring("a]b"), "a]b");
        assert_eq!(astring("a b"), "\"a b\"");
        assert_eq!(astring(""), "\"\"");
        assert_eq!(astring("50%"), "\"50%\"");
        assert_eq!(literal(b"abc"), b"{3}\r\nabc".to_vec());
        assert!(is_atom("FOO") && !is_atom("a]") && !is_atom(""));
    }

    #[test]
    fn flags() {
        assert_eq!(flag_list(&["\\Seen", "Foo"]), "(\\Seen Foo)");
        assert_eq!(flag_list(&[] as &[&str]), "()");
        assert_eq!(flag_list(&[String::from("$Junk")]), "($Junk)");
    }

    #[test]
    fn sets() {
        assert_eq!(compress_set(&[1, 2, 3, 5, 7, 8, 9]), "1:3,5,7:9");
        assert_eq!(compress_set(&[9, 1, 8, 2, 7, 3, 5, 5]), "1:3,5,7:9");
        assert_eq!(compress_set(&[]), "");
        assert_eq!(compress_set(&[4]), "4");
        assert_eq!(
            compress_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }

    #[test]
    fn dates() {
        let tz = FixedOffset::west_opt(7 * 3600).unwrap();
        let dt = tz.with_ymd_and_hms(1996, 7, 17, 2, 44, 25).unwrap();
        assert_eq!(imap_date_time(&dt), "\"17-Jul-1996 02:44:25 -0700\"");
        let tz = FixedOffset::east_opt(5 * 3600 + 30 * 60).unwrap();
        let dt = tz.with_ymd_and_hms(2024, 2, 1, 23, 5, 0).unwrap();
        assert_eq!(imap_date_time(&dt), "\" 1-Feb-2024 23:05:00 +0530\"");
        // What we write, the parser reads back.
        let cmd = format!("a APPEND x {} {{1}}\r\nx\r\n", imap_date_time(&dt));
        let t = crate::parse_command(cmd.as_bytes()).unwrap();
        let crate::Command::Append(a) = t.command else {
            panic!()
        };
        assert_eq!(a.messages[0].date, Some(dt));
    }
}
