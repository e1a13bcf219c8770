//! A small IMAP s-expression reader for checking generated responses.

#![allow(dead_code)]

/// A parsed IMAP value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sx {
    /// `( ... )`
    List(Vec<Sx>),
    /// quoted string or literal
    Str(String),
    /// `NIL`
    Nil,
    /// a number
    Num(u64),
}

impl Sx {
    pub fn list(&self) -> &[Sx] {
        match self {
            Sx::List(l) => l,
            other => panic!("expected a list, got {other:?}"),
        }
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            Sx::Str(s) => Some(s),
            Sx::Nil => None,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    pub fn num(&self) -> u64 {
        match self {
            Sx::Num(n) => *n,
            other => panic!("expected a number, got {other:?}"),
        }
    }
}

/// Parses exactly one parenthesised list (balanced, with valid quoted strings
/// and literals, single spaces between list elements, no space after `(` or
/// before `)`, and adjacent lists allowed). Errors describe the problem.
pub fn parse(input: &str) -> Result<Sx, String> {
    let bytes = input.as_bytes();
    let mut pos = 0;
    let value = parse_value(bytes, &mut pos, 0)?;
    if !matches!(value, Sx::List(_)) {
        return Err("top level is not a list".into());
    }
    if pos != bytes.len() {
        return Err(format!("trailing data at {pos}"));
    }
    Ok(value)
}

fn parse_value(b: &[u8], pos: &mut usize, depth: usize) -> Result<Sx, String> {
    if depth > 200 {
        return Err("too deep".into());
    }
    match b.get(*pos) {
        None => Err("unexpected end".into()),
        Some(b'(') => {
            *pos += 1;
            let mut items = Vec::new();
            loop {
                match b.get(*pos) {
                    None => return Err("unbalanced: missing )".into()),
                    Some(b')') => {
                        *pos += 1;
                        return Ok(Sx::List(items));
                    }
                    Some(b' ') => {
                        if items.is_empty() {
                            return Err(format!("space after ( at {pos}"));
                        }
                        *pos += 1;
                        if matches!(b.get(*pos), Some(b')' | b' ') | None) {
                            return Err(format!("bad space at {pos}"));
                        }
                        items.push(parse_value(b, pos, depth + 1)?);
                    }
                    Some(b'(') => {
                        // Lists may follow lists directly (body parts of a multipart).
                        if !items.is_empty() && !matches!(items.last(), Some(Sx::List(_))) {
                            return Err(format!("missing space before ( at {pos}"));
                        }
                        items.push(parse_value(b, pos, depth + 1)?);
                    }
                    Some(_) => {
                        if !items.is_empty() {
                            return Err(format!("missing space at {pos}"));
                        }
                        items.push(parse_value(b, pos, depth + 1)?);
                    }
                }
            }
        }
        Some(b')') => Err(format!("unbalanced ) at {pos}")),
        Some(b'"') => {
            *pos += 1;
            let mut s = Vec::new();
            loop {
                match b.get(*pos) {
                    None => return Err("unterminated quoted string".into()),
                    Some(b'"') => {
                        *pos += 1;
                        return String::from_utf8(s)
                            .map(Sx::Str)
                            .map_err(|_| "invalid UTF-8".into());
                    }
                    Some(b'\\') => match b.get(*pos + 1) {
                        Some(&c @ (b'"' | b'\\')) => {
                            s.push(c);
                            *pos += 2;
                        }
                        _ => return Err(format!("bad escape at {pos}")),
                    },
                    Some(b'\r' | b'\n' | 0) => {
                        return Err(format!("CR/LF/NUL in quoted string at {pos}"));
                    }
                    Some(&c) => {
                        s.push(c);
                        *pos += 1;
                    }
                }
            }
        }
        Some(b'{') => {
            let close = b[*pos..]
                .iter()
                .position(|&c| c == b'}')
                .ok_or("unterminated literal length")?;
            let n: usize = std::str::from_utf8(&b[*pos + 1..*pos + close])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("bad literal length")?;
            *pos += close + 1;
            if b.get(*pos..*pos + 2) != Some(b"\r\n") {
                return Err("literal length not followed by CRLF".into());
            }
            *pos += 2;
            let data = b.get(*pos..*pos + n).ok_or("literal too short")?;
            if data.contains(&0) {
                return Err("NUL in literal".into());
            }
            *pos += n;
            String::from_utf8(data.to_vec())
                .map(Sx::Str)
                .map_err(|_| "invalid UTF-8".into())
        }
        Some(_) => {
            let start = *pos;
            while let Some(&c) = b.get(*pos) {
                if c == b' ' || c == b')' || c == b'(' {
                    break;
                }
                *pos += 1;
            }
            let atom = std::str::from_utf8(&b[start..*pos]).map_err(|_| "bad atom")?;
            if atom == "NIL" {
                Ok(Sx::Nil)
            } else if let Ok(n) = atom.parse() {
                Ok(Sx::Num(n))
            } else {
                Err(format!("unexpected atom {atom:?} at {start}"))
            }
        }
    }
}

/// Checks the shape of an ENVELOPE.
pub fn check_envelope(env: &Sx) -> Result<(), String> {
    let items = match env {
        Sx::List(l) => l,
        _ => return Err("envelope is not a list".into()),
    };
    if items.len() != 10 {
        return Err(format!("envelope has {} fields", items.len()));
    }
    for (i, item) in items.iter().enumerate() {
        match (i, item) {
            (0 | 1 | 8 | 9, Sx::Str(_) | Sx::Nil) => {}
            (2..=7, Sx::Nil) => {}
            (2..=7, Sx::List(addrs)) => {
                if addrs.is_empty() {
                    return Err("empty address list".into());
                }
                for a in addrs {
                    match a {
                        Sx::List(f)
                            if f.len() == 4
                                && f.iter().all(|x| matches!(x, Sx::Str(_) | Sx::Nil)) => {}
                        _ => return Err(format!("bad address {a:?}")),
                    }
                }
            }
            _ => return Err(format!("bad envelope field {i}: {item:?}")),
        }
    }
    Ok(())
}

/// Checks the shape of a BODY / BODYSTRUCTURE.
pub fn check_body(body: &Sx, ext: bool) -> Result<(), String> {
    let items = match body {
        Sx::List(l) if !l.is_empty() => l,
        _ => return Err("body is not a non-empty list".into()),
    };
    if matches!(items[0], Sx::List(_)) {
        let nparts = items
            .iter()
            .take_while(|x| matches!(x, Sx::List(_)))
            .count();
        for part in &items[..nparts] {
            check_body(part, ext)?;
        }
        let rest = &items[nparts..];
        if !matches!(rest.first(), Some(Sx::Str(_))) {
            return Err("multipart without subtype".into());
        }
        let want = if ext { 5 } else { 1 };
        if rest.len() != want {
            return Err(format!("multipart has {} trailing fields", rest.len()));
        }
        return Ok(());
    }
    let (Some(Sx::Str(t)), Some(Sx::Str(s))) = (items.first(), items.get(1)) else {
        return Err("missing type/subtype".into());
    };
    if !matches!(items.get(2), Some(Sx::List(_) | Sx::Nil))
        || !matches!(items.get(6), Some(Sx::Num(_)))
        || !matches!(items.get(5), Some(Sx::Str(_)))
    {
        return Err(format!("bad basic fields {items:?}"));
    }
    let mut n = 7;
    if t == "MESSAGE" && (s == "RFC822" || s == "GLOBAL") {
        check_envelope(items.get(7).ok_or("missing envelope")?)?;
        check_body(items.get(8).ok_or("missing embedded body")?, ext)?;
        if !matches!(items.get(9), Some(Sx::Num(_))) {
            return Err("message without lines".into());
        }
        n = 10;
    } else if t == "TEXT" {
        if !matches!(items.get(7), Some(Sx::Num(_))) {
            return Err("text without lines".into());
        }
        n = 8;
    }
    let want = if ext { n + 4 } else { n };
    if items.len() != want {
        return Err(format!("{t}/{s} has {} fields, want {want}", items.len()));
    }
    Ok(())
}
