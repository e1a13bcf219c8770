//! Hermod's message analysis, done once when a message is stored.
//!
//! [`analyze`] computes the IMAP `ENVELOPE`, `BODYSTRUCTURE` and `BODY`
//! responses (RFC 3501 / RFC 9051 section 7.4.2 / 7.5.2) and a [`PartMap`] of
//! byte ranges of every MIME part, so that `FETCH BODY[section]` and
//! `BINARY[section]` ([`section`], [`binary`]) can be answered by slicing the
//! raw message without parsing it again. [`search_text`] produces decoded
//! header and body text for `SEARCH`.
//!
//! Conventions of the generated structures: media types, subtypes, parameter
//! names, transfer encodings and disposition types are upper-cased (as in the
//! RFC 3501 examples); parameter values and header-derived strings are as sent
//! (RFC 2047 encoded-words are not decoded in ENVELOPE). Strings are quoted
//! (UTF-8 allowed) unless they contain CR or LF, then they are literals.
//!
//! The module never panics on any input: unparseable data is described as a
//! `text/plain` body.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod decode;
mod envelope;
mod headers;
mod index;

pub use index::index;

use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderValue, Message, MessageParser, PartType};
use serde::{Deserialize, Serialize};

pub use envelope::envelope;
pub use headers::{HeaderField, decode_value, header_end, header_fields, unfold};

use envelope::{push_nstring, push_string};
use headers::{count_lines, last_field};

/// Deepest nesting of MIME parts that is described structurally; deeper parts
/// are treated as opaque leaves. Keeps recursion (and the JSON of the
/// [`PartMap`], which serde_json limits to 128 levels) bounded.
const MAX_DEPTH: usize = 32;

/// Everything IMAP needs about a message that is computed at store time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// RFC 3501/9051 ENVELOPE: the full parenthesised list, ready to follow `ENVELOPE `.
    pub envelope: String,
    /// BODYSTRUCTURE with extension data (md5, disposition, language, location).
    pub body_structure: String,
    /// BODY: the non-extensible form of the body structure.
    pub body: String,
    /// Byte ranges of every part, for `BODY[section]` / `BINARY[section]`.
    pub parts: PartMap,
    /// The `Date:` header as Unix seconds (for SENTBEFORE etc.); `None` if absent
    /// or unparseable.
    pub sent_date: Option<i64>,
}

/// How a part is structured, as far as section numbering is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PartKind {
    /// A leaf part (no sub-parts).
    #[default]
    #[serde(rename = "l")]
    Leaf,
    /// A `multipart/*` part; `children` are its body parts.
    #[serde(rename = "m")]
    Multipart,
    /// A `message/rfc822` (or `message/global`) part; `children` holds one node,
    /// the root part of the embedded message (whose header range is the
    /// embedded message's header).
    #[serde(rename = "r")]
    Message,
}

/// The Content-Transfer-Encoding of a part, as far as decoding is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TransferEncoding {
    /// 7bit, 8bit, binary or absent: the content is the body as is.
    #[default]
    #[serde(rename = "i")]
    Identity,
    /// base64.
    #[serde(rename = "b")]
    Base64,
    /// quoted-printable.
    #[serde(rename = "q")]
    QuotedPrintable,
    /// Anything else (the server answers `[UNKNOWN-CTE]` to BINARY).
    #[serde(rename = "u")]
    Unknown,
}

impl TransferEncoding {
    fn classify(cte: Option<&str>) -> Self {
        let token = cte
            .unwrap_or("")
            .split(|c: char| c.is_ascii_whitespace() || c == ';' || c == '(')
            .find(|t| !t.is_empty())
            .unwrap_or("")
            .to_ascii_lowercase();
        match token.as_str() {
            "" | "7bit" | "8bit" | "binary" => Self::Identity,
            "base64" => Self::Base64,
            "quoted-printable" => Self::QuotedPrintable,
            _ => Self::Unknown,
        }
    }

    fn is_identity(self) -> bool {
        self == Self::Identity
    }
}

/// A MIME part located in the raw message. Offsets are byte offsets into the
/// raw message: `header_start..body_start` is the part's MIME header (for the
/// root of a message, the message header, blank line included) and
/// `body_start..end` its body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartNode {
    /// Offset of the part's header.
    #[serde(rename = "h")]
    pub header_start: u64,
    /// Offset of the part's body (after the blank line ending the header).
    #[serde(rename = "b")]
    pub body_start: u64,
    /// Offset just after the part's body (the CRLF before a boundary excluded).
    #[serde(rename = "e")]
    pub end: u64,
    /// Leaf, multipart or embedded message.
    #[serde(rename = "k", default, skip_serializing_if = "is_default")]
    pub kind: PartKind,
    /// The part's Content-Transfer-Encoding.
    #[serde(rename = "t", default, skip_serializing_if = "is_default")]
    pub encoding: TransferEncoding,
    /// Sub-parts: the body parts of a multipart, or the single root part of an
    /// embedded message.
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<PartNode>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl PartNode {
    fn header_range(&self) -> (usize, usize) {
        (to_usize(self.header_start), to_usize(self.body_start))
    }

    fn body_range(&self) -> (usize, usize) {
        (to_usize(self.body_start), to_usize(self.end))
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn slice(raw: &[u8], (start, end): (usize, usize)) -> Option<&[u8]> {
    raw.get(start..end)
}

/// Byte ranges of every part of a message; the root node is the message's
/// root part (header `0..body_start`, body `body_start..len`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartMap {
    /// The message's root part.
    #[serde(rename = "r")]
    pub root: PartNode,
}

impl PartMap {
    /// Serialises to a compact JSON text for a TEXT column.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the text written by [`PartMap::to_text`]; `None` if it is not one.
    pub fn from_text(text: &str) -> Option<PartMap> {
        serde_json::from_str(text).ok()
    }

    /// Finds the part with the RFC 3501 section number `path` (e.g. `[2, 1]`
    /// for `2.1`). Part 1 of a non-multipart message is its body (the root
    /// node); parts of a `message/rfc822` part are numbered inside the
    /// embedded message. `None` for an empty path or a part that does not exist.
    pub fn find(&self, path: &[u32]) -> Option<&PartNode> {
        if path.is_empty() {
            return None;
        }
        let mut cur = &self.root;
        // `true` while `cur` is the root part of a message whose parts the next
        // number selects.
        let mut at_message = true;
        for &n in path {
            if n == 0 {
                return None;
            }
            let idx = (n - 1) as usize;
            if !at_message {
                match cur.kind {
                    PartKind::Multipart => {
                        cur = cur.children.get(idx)?;
                        continue;
                    }
                    PartKind::Message => {
                        cur = cur.children.first()?;
                    }
                    PartKind::Leaf => return None,
                }
            }
            if cur.kind == PartKind::Multipart {
                cur = cur.children.get(idx)?;
            } else if n != 1 {
                return None;
            }
            at_message = false;
        }
        Some(cur)
    }
}

/// Which portion of a part a `BODY[section]` fetch asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionSpec<'a> {
    /// The whole part (`BODY[]`, `BODY[1.2]`).
    Full,
    /// The message header, blank line included (`HEADER`).
    Header,
    /// Only the named header fields, then a blank line (`HEADER.FIELDS (...)`).
    HeaderFields(&'a [String]),
    /// All but the named header fields, then a blank line (`HEADER.FIELDS.NOT (...)`).
    HeaderFieldsNot(&'a [String]),
    /// The message body (`TEXT`).
    Text,
    /// The part's own MIME header (`MIME`; not valid for `path = []`).
    Mime,
}

/// Returns the bytes of `BODY[path.spec]`. `path = []` addresses the whole
/// message (`BODY[]` is `raw`). HEADER/HEADER.FIELDS/TEXT of a non-empty path
/// require a `message/rfc822` part (they refer to the embedded message). `None`
/// when the part does not exist or the specifier does not apply to it.
pub fn section(
    raw: &[u8],
    parts: &PartMap,
    path: &[u32],
    spec: SectionSpec<'_>,
) -> Option<Vec<u8>> {
    let message_root = if path.is_empty() {
        if matches!(spec, SectionSpec::Full) {
            return Some(raw.to_vec());
        }
        if matches!(spec, SectionSpec::Mime) {
            return None;
        }
        &parts.root
    } else {
        let part = parts.find(path)?;
        match spec {
            SectionSpec::Full => return slice(raw, part.body_range()).map(<[u8]>::to_vec),
            SectionSpec::Mime => return slice(raw, part.header_range()).map(<[u8]>::to_vec),
            _ if part.kind == PartKind::Message => part.children.first()?,
            _ => return None,
        }
    };
    let header = slice(raw, message_root.header_range())?;
    match spec {
        SectionSpec::Header => Some(header.to_vec()),
        SectionSpec::Text => {
            let (start, end) = message_root.body_range();
            let end = if path.is_empty() { raw.len() } else { end };
            slice(raw, (start, end)).map(<[u8]>::to_vec)
        }
        SectionSpec::HeaderFields(names) => Some(filter_fields(header, names, true)),
        SectionSpec::HeaderFieldsNot(names) => Some(filter_fields(header, names, false)),
        SectionSpec::Full | SectionSpec::Mime => None,
    }
}

/// The fields of `header` whose names are (`keep = true`) or are not in
/// `names`, case-insensitively, folded lines kept, followed by CRLF.
fn filter_fields(header: &[u8], names: &[String], keep: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in header_fields(header) {
        let listed = !f.name.is_empty() && names.iter().any(|n| n.eq_ignore_ascii_case(&f.name));
        if listed == keep {
            let bytes = &header[f.start..f.end];
            out.extend_from_slice(bytes);
            if !bytes.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Error of [`binary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryError {
    /// The part's Content-Transfer-Encoding is not one this crate can decode
    /// (answer `[UNKNOWN-CTE]`).
    UnknownEncoding,
}

impl std::fmt::Display for BinaryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unknown content-transfer-encoding")
    }
}

impl std::error::Error for BinaryError {}

/// Returns the decoded content of `BINARY[path]` (RFC 3516): base64 and
/// quoted-printable are decoded, 7bit/8bit/binary returned as is. `path = []`
/// is the whole message. `Ok(None)` when the part does not exist.
pub fn binary(raw: &[u8], parts: &PartMap, path: &[u32]) -> Result<Option<Vec<u8>>, BinaryError> {
    if path.is_empty() {
        return Ok(Some(raw.to_vec()));
    }
    let Some(part) = parts.find(path) else {
        return Ok(None);
    };
    let Some(body) = slice(raw, part.body_range()) else {
        return Ok(None);
    };
    decode_body(body, part.encoding).map(Some)
}

fn decode_body(body: &[u8], encoding: TransferEncoding) -> Result<Vec<u8>, BinaryError> {
    match encoding {
        TransferEncoding::Identity => Ok(body.to_vec()),
        TransferEncoding::Base64 => Ok(decode::base64(body)),
        TransferEncoding::QuotedPrintable => Ok(decode::quoted_printable(body)),
        TransferEncoding::Unknown => Err(BinaryError::UnknownEncoding),
    }
}

/// Decoded text of a message for SEARCH.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchText {
    /// Top-level header fields in order: lower-case name, value RFC 2047-decoded
    /// and unfolded.
    pub headers: Vec<(String, String)>,
    /// The decoded text of all `text/*` parts (HTML reduced to text), UTF-8,
    /// parts separated by a newline. Includes text of attached messages.
    pub body: String,
}

/// Extracts decoded header and body text for SEARCH.
pub fn search_text(raw: &[u8]) -> SearchText {
    let parsed = parse(raw);
    let hdr_end = parsed.as_ref().and_then(|m| m.parts.first()).map_or_else(
        || header_end(raw),
        |p| (p.offset_body as usize).min(raw.len()),
    );
    let block = &raw[..hdr_end];
    let headers = header_fields(block)
        .into_iter()
        .filter(|f| !f.name.is_empty())
        .map(|f| {
            (
                f.name.to_ascii_lowercase(),
                decode_value(f.raw_value(block)),
            )
        })
        .collect();
    let body = match parsed.as_ref().and_then(|m| body_text(m, usize::MAX)) {
        Some(text) => text,
        // Nothing mail-parser could structure: search the raw body.
        None => String::from_utf8_lossy(&raw[hdr_end..]).into_owned(),
    };
    SearchText { headers, body }
}

/// The decoded text of a parsed message's text parts (HTML reduced to text), parts
/// separated by a newline, attached messages included; stops adding parts once `cap` bytes
/// are reached. `None` when the message has no leaf part at all.
pub fn body_text(msg: &Message<'_>, cap: usize) -> Option<String> {
    let mut body = String::new();
    let mut leaves = 0usize;
    let mut stack: Vec<&Message<'_>> = vec![msg];
    let mut visited = 0;
    while let Some(m) = stack.pop() {
        visited += 1;
        if visited > 64 {
            break;
        }
        for part in &m.parts {
            if body.len() >= cap {
                break;
            }
            let text = match &part.body {
                PartType::Text(t) => t.to_string(),
                PartType::Html(h) => mail_parser::decoders::html::html_to_text(h),
                PartType::Message(inner) => {
                    stack.push(inner);
                    continue;
                }
                PartType::Multipart(_) => continue,
                PartType::Binary(_) | PartType::InlineBinary(_) => {
                    leaves += 1;
                    continue;
                }
            };
            leaves += 1;
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&text);
        }
    }
    (leaves > 0).then_some(body)
}

/// Analyses a raw message (computes ENVELOPE, BODYSTRUCTURE, BODY, the part
/// map and the sent date). Total: any input gives a result.
pub fn analyze(raw: &[u8]) -> Analysis {
    let tree = catch_unwind(AssertUnwindSafe(|| build_message(raw, 0)))
        .unwrap_or_else(|_| synth_message(raw, 0, raw.len()));
    let header = &raw[tree.h..tree.b];
    Analysis {
        envelope: envelope(header),
        body_structure: structure(&tree, raw, true),
        body: structure(&tree, raw, false),
        parts: PartMap {
            root: tree.to_node(),
        },
        sent_date: sent_date(header),
    }
}

fn parse(raw: &[u8]) -> Option<Message<'_>> {
    catch_unwind(AssertUnwindSafe(|| MessageParser::default().parse(raw)))
        .ok()
        .flatten()
}

fn sent_date(header: &[u8]) -> Option<i64> {
    let fields = header_fields(header);
    let field = headers::first_field(&fields, "Date")?;
    let value = unfold(field.raw_value(header));
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(&value) {
        return Some(dt.timestamp());
    }
    let mut buf = field.raw_value(header).to_vec();
    buf.push(b'\n');
    match MessageStream::new(&buf).parse_date() {
        HeaderValue::DateTime(dt) if dt.is_valid() => Some(dt.to_timestamp()),
        _ => None,
    }
}

/// MIME header information of one part, in BODYSTRUCTURE form.
#[derive(Debug, Clone, Default)]
struct Mime {
    ctype: String,
    subtype: String,
    params: Vec<(String, String)>,
    id: Option<String>,
    description: Option<String>,
    cte: Option<String>,
    md5: Option<String>,
    disposition: Option<(String, Vec<(String, String)>)>,
    language: Vec<String>,
    location: Option<String>,
}

impl Mime {
    fn is_message(&self) -> bool {
        self.ctype == "MESSAGE" && (self.subtype == "RFC822" || self.subtype == "GLOBAL")
    }

    fn encoding(&self) -> TransferEncoding {
        TransferEncoding::classify(self.cte.as_deref())
    }
}

/// `(TYPE, SUBTYPE, [(NAME, value)])` of a Content-Type or Content-Disposition.
type ParsedContentType = (String, Option<String>, Vec<(String, String)>);

fn parse_content_type(value: &[u8]) -> Option<ParsedContentType> {
    let mut buf = value.to_vec();
    buf.push(b'\n');
    match MessageStream::new(&buf).parse_content_type() {
        HeaderValue::ContentType(ct) => Some((
            ct.c_type.trim().to_ascii_uppercase(),
            ct.c_subtype.map(|s| s.trim().to_ascii_uppercase()),
            ct.attributes
                .unwrap_or_default()
                .into_iter()
                .map(|a| (a.name.to_ascii_uppercase(), a.value.into_owned()))
                .collect(),
        )),
        _ => None,
    }
}

fn parse_mime(block: &[u8], parent_digest: bool) -> Mime {
    let fields = header_fields(block);
    let value = |name: &str| last_field(&fields, name).map(|f| f.raw_value(block));
    let text = |name: &str| value(name).map(unfold);
    let mut mime = Mime::default();
    match value("Content-Type").and_then(parse_content_type) {
        Some((ctype, Some(subtype), params)) if !ctype.is_empty() && !subtype.is_empty() => {
            mime.ctype = ctype;
            mime.subtype = subtype;
            mime.params = params;
        }
        _ if parent_digest => {
            mime.ctype = "MESSAGE".into();
            mime.subtype = "RFC822".into();
        }
        _ => {
            mime.ctype = "TEXT".into();
            mime.subtype = "PLAIN".into();
        }
    }
    if mime.ctype == "TEXT" && !mime.params.iter().any(|(n, _)| n == "CHARSET") {
        mime.params.insert(0, ("CHARSET".into(), "US-ASCII".into()));
    }
    mime.id = text("Content-ID");
    mime.description = text("Content-Description");
    mime.cte = text("Content-Transfer-Encoding").filter(|v| !v.is_empty());
    mime.md5 = text("Content-MD5");
    mime.disposition = value("Content-Disposition")
        .and_then(parse_content_type)
        .filter(|(t, _, _)| !t.is_empty())
        .map(|(t, _, params)| (t, params));
    mime.language = text("Content-Language")
        .map(|v| {
            v.split(',')
                .map(|t| t.trim())
                .filter(|t| !t.is_empty() && !t.starts_with('('))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    mime.location = text("Content-Location");
    mime
}

/// The structure of a message as analysed (offsets into the raw bytes that
/// were analysed).
struct Tree {
    h: usize,
    b: usize,
    e: usize,
    kind: PartKind,
    mime: Mime,
    enc: TransferEncoding,
    children: Vec<Tree>,
    /// For an encoded `message/rfc822` part: ENVELOPE, BODYSTRUCTURE and BODY
    /// of the decoded embedded message.
    inner: Option<Box<(String, String, String)>>,
}

impl Tree {
    fn to_node(&self) -> PartNode {
        PartNode {
            header_start: self.h as u64,
            body_start: self.b as u64,
            end: self.e as u64,
            kind: self.kind,
            encoding: self.enc,
            children: self.children.iter().map(Tree::to_node).collect(),
        }
    }
}

/// A message that mail-parser could not structure: header up to the first
/// blank line, the rest a single leaf body.
fn synth_message(raw: &[u8], start: usize, end: usize) -> Tree {
    let end = end.min(raw.len());
    let start = start.min(end);
    let b = start + header_end(&raw[start..end]);
    let mime = parse_mime(&raw[start..b], false);
    let enc = mime.encoding();
    Tree {
        h: start,
        b,
        e: end,
        kind: PartKind::Leaf,
        mime,
        enc,
        children: Vec::new(),
        inner: None,
    }
}

fn build_message(raw: &[u8], depth: usize) -> Tree {
    match parse(raw) {
        Some(msg) if !msg.parts.is_empty() => {
            build_part(raw, &msg, 0, (0, raw.len()), false, depth, Place::Top)
        }
        _ => synth_message(raw, 0, raw.len()),
    }
}

/// Where a part sits, which decides which of mail-parser's offsets are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Root of the analysed message: spans everything.
    Top,
    /// Root of an embedded message: starts where the enclosing part's body does.
    Embedded,
    /// Any other part.
    Child,
}

fn build_part(
    raw: &[u8],
    msg: &Message<'_>,
    idx: usize,
    (lo, hi): (usize, usize),
    parent_digest: bool,
    depth: usize,
    place: Place,
) -> Tree {
    let Some(part) = msg.parts.get(idx) else {
        return synth_message(raw, lo, lo);
    };
    let clamp = |v: u32, min: usize| (v as usize).clamp(min, hi);
    let h = if place == Place::Child {
        clamp(part.offset_header, lo)
    } else {
        lo
    };
    let b = clamp(part.offset_body, h);
    let e = if place == Place::Top {
        hi
    } else {
        clamp(part.offset_end, b)
    };
    let mime = parse_mime(&raw[h..b], parent_digest);
    let enc = mime.encoding();
    let mut tree = Tree {
        h,
        b,
        e,
        kind: PartKind::Leaf,
        mime,
        enc,
        children: Vec::new(),
        inner: None,
    };
    if depth >= MAX_DEPTH {
        return tree;
    }
    match &part.body {
        PartType::Multipart(ids) if !ids.is_empty() => {
            let digest = tree.mime.subtype == "DIGEST";
            let mut prev_end = b;
            for &id in ids {
                let id = id as usize;
                if id <= idx || id >= msg.parts.len() {
                    continue;
                }
                let child =
                    build_part(raw, msg, id, (prev_end, e), digest, depth + 1, Place::Child);
                prev_end = child.e;
                tree.children.push(child);
            }
            if !tree.children.is_empty() {
                tree.kind = PartKind::Multipart;
            }
        }
        body if tree.mime.is_message() => {
            if enc.is_identity() {
                let child = match body {
                    PartType::Message(nested) if !nested.parts.is_empty() => {
                        build_part(raw, nested, 0, (b, e), false, depth + 1, Place::Embedded)
                    }
                    _ => synth_message(raw, b, e),
                };
                // mail-parser's end offsets of message parts are unreliable at a
                // closing delimiter; the embedded message ends where its root does.
                if place != Place::Top {
                    tree.e = child.e;
                }
                tree.kind = PartKind::Message;
                tree.children.push(child);
            } else if let Ok(decoded) = decode_body(&raw[b..e], enc) {
                let inner = build_message(&decoded, depth + 1);
                let header = &decoded[inner.h..inner.b];
                tree.inner = Some(Box::new((
                    envelope(header),
                    structure(&inner, &decoded, true),
                    structure(&inner, &decoded, false),
                )));
            }
        }
        _ => {}
    }
    tree
}

fn structure(tree: &Tree, raw: &[u8], ext: bool) -> String {
    let mut out = String::with_capacity(256);
    write_body(tree, raw, ext, &mut out);
    out
}

fn push_params(out: &mut String, params: &[(String, String)]) {
    if params.is_empty() {
        out.push_str("NIL");
        return;
    }
    out.push('(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_string(out, name);
        out.push(' ');
        push_string(out, value);
    }
    out.push(')');
}

/// ` disposition language location` (the common tail of extension data).
fn push_ext_tail(out: &mut String, mime: &Mime) {
    out.push(' ');
    match &mime.disposition {
        Some((kind, params)) => {
            out.push('(');
            push_string(out, kind);
            out.push(' ');
            push_params(out, params);
            out.push(')');
        }
        None => out.push_str("NIL"),
    }
    out.push(' ');
    match mime.language.as_slice() {
        [] => out.push_str("NIL"),
        [one] => push_string(out, one),
        many => {
            out.push('(');
            for (i, l) in many.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                push_string(out, l);
            }
            out.push(')');
        }
    }
    out.push(' ');
    push_nstring(out, mime.location.as_deref());
}

fn write_body(t: &Tree, raw: &[u8], ext: bool, out: &mut String) {
    let mime = &t.mime;
    out.push('(');
    if t.kind == PartKind::Multipart {
        for child in &t.children {
            write_body(child, raw, ext, out);
        }
        out.push(' ');
        let subtype = if mime.ctype == "MULTIPART" {
            mime.subtype.as_str()
        } else {
            "MIXED"
        };
        push_string(out, subtype);
        if ext {
            out.push(' ');
            push_params(out, &mime.params);
            push_ext_tail(out, mime);
        }
        out.push(')');
        return;
    }
    let is_message = t.kind == PartKind::Message || (t.inner.is_some() && mime.is_message());
    // A leaf whose declared type needs sub-structure it does not have is
    // described as plain text.
    let fallback = !is_message && (mime.ctype == "MULTIPART" || mime.is_message());
    let default_params = [("CHARSET".to_string(), "US-ASCII".to_string())];
    let (ctype, subtype, params): (&str, &str, &[(String, String)]) = if fallback {
        ("TEXT", "PLAIN", &default_params)
    } else {
        (&mime.ctype, &mime.subtype, &mime.params)
    };
    let body = raw.get(t.b..t.e).unwrap_or_default();
    push_string(out, ctype);
    out.push(' ');
    push_string(out, subtype);
    out.push(' ');
    push_params(out, params);
    out.push(' ');
    push_nstring(out, mime.id.as_deref());
    out.push(' ');
    push_nstring(out, mime.description.as_deref());
    out.push(' ');
    let cte = mime
        .cte
        .as_deref()
        .map_or_else(|| "7BIT".to_string(), str::to_ascii_uppercase);
    push_string(out, &cte);
    out.push(' ');
    out.push_str(&body.len().to_string());
    if is_message {
        out.push(' ');
        if let (PartKind::Message, Some(emb)) = (t.kind, t.children.first()) {
            out.push_str(&envelope(raw.get(emb.h..emb.b).unwrap_or_default()));
            out.push(' ');
            write_body(emb, raw, ext, out);
        } else if let Some(inner) = &t.inner {
            out.push_str(&inner.0);
            out.push(' ');
            out.push_str(if ext { &inner.1 } else { &inner.2 });
        }
        out.push(' ');
        out.push_str(&count_lines(body).to_string());
    } else if ctype == "TEXT" {
        out.push(' ');
        out.push_str(&count_lines(body).to_string());
    }
    if ext {
        out.push(' ');
        push_nstring(out, mime.md5.as_deref());
        push_ext_tail(out, mime);
    }
    out.push(')');
}
