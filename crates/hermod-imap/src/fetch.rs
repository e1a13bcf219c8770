//! FETCH: answered from the index (ENVELOPE, BODYSTRUCTURE, sizes, dates, flags); a
//! message body is read from the blob store only for body items, and only one message at
//! a time. Responses are written in chunks so a large mailbox streams.

use std::collections::BTreeSet;

use hermod_imap_proto::{Fetch, FetchItem, Section, SectionText, encode};
use hermod_mime::{PartMap, SectionSpec};
use hermod_model::MessageMeta;
use hermod_store::{BlobId, BlobStore};

use crate::session::{Output, Session};

/// How many messages' index rows are read at once.
const CHUNK: usize = 250;

pub use hermod_mime::index as index_of;

fn needs_meta(item: &FetchItem) -> bool {
    !matches!(item, FetchItem::Flags | FetchItem::Uid | FetchItem::ModSeq)
}

fn needs_body(item: &FetchItem) -> bool {
    matches!(
        item,
        FetchItem::Section { .. }
            | FetchItem::Binary { .. }
            | FetchItem::BinarySize { .. }
            | FetchItem::Rfc822
            | FetchItem::Rfc822Header
            | FetchItem::Rfc822Text
    )
}

/// Items that set \Seen (RFC 9051 6.4.5): body fetches that are not PEEK.
fn sets_seen(item: &FetchItem) -> bool {
    matches!(
        item,
        FetchItem::Section { peek: false, .. }
            | FetchItem::Binary { peek: false, .. }
            | FetchItem::Rfc822
            | FetchItem::Rfc822Text
    )
}

fn section_name(s: &Section) -> String {
    let mut name: Vec<String> = s.part.iter().map(u32::to_string).collect();
    match &s.text {
        None => {}
        Some(SectionText::Header) => name.push("HEADER".into()),
        Some(SectionText::Text) => name.push("TEXT".into()),
        Some(SectionText::Mime) => name.push("MIME".into()),
        Some(SectionText::HeaderFields(f)) => name.push(format!("HEADER.FIELDS ({})", fields(f))),
        Some(SectionText::HeaderFieldsNot(f)) => {
            name.push(format!("HEADER.FIELDS.NOT ({})", fields(f)))
        }
    }
    name.join(".")
}

fn fields(f: &[String]) -> String {
    f.iter()
        .map(|x| encode::astring(x))
        .collect::<Vec<_>>()
        .join(" ")
}

fn partial(data: Vec<u8>, range: Option<(u32, u32)>) -> (Vec<u8>, String) {
    match range {
        None => (data, String::new()),
        Some((start, len)) => {
            let s = (start as usize).min(data.len());
            let e = s.saturating_add(len as usize).min(data.len());
            (data[s..e].to_vec(), format!("<{start}>"))
        }
    }
}

/// A message as read from the blob store, with its part map.
struct Body {
    raw: Vec<u8>,
    parts: PartMap,
}

pub async fn fetch(session: &mut Session, tag: &str, f: Fetch, out: &mut Output<'_>) -> String {
    let report = session.report();
    let view = session.selected();
    if !f.uid && view.seq_out_of_range(&f.set) {
        return Session::done(
            tag,
            "BAD",
            "the sequence set names messages that do not exist",
        );
    }
    if f.vanished && (!f.uid || !session.enabled.qresync || f.changed_since.is_none()) {
        return Session::done(
            tag,
            "BAD",
            "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC",
        );
    }
    let mut uids = view.resolve(&f.set, f.uid);
    let mailbox_id = view.mailbox.id;
    if let Some(since) = f.changed_since {
        session.enabled.condstore = true;
        if f.vanished {
            match session.shared.store.expunged_since(mailbox_id, since).await {
                Ok(gone) => {
                    let largest = session
                        .selected()
                        .messages
                        .last()
                        .map(|m| m.uid)
                        .unwrap_or(0);
                    let gone: Vec<u32> = gone
                        .into_iter()
                        .filter(|u| f.set.contains(*u, largest.max(*u)))
                        .collect();
                    if !gone.is_empty() {
                        out.line(format!(
                            "* VANISHED (EARLIER) {}\r\n",
                            encode::compress_set(&gone)
                        ));
                    }
                }
                Err(e) => return Session::failure(tag, &e),
            }
        }
        let view = session.selected();
        uids.retain(|u| view.get(*u).is_some_and(|m| m.modseq > since));
    }
    let condstore = session.enabled.condstore;
    // Implicit \Seen first, so the FLAGS sent below are the new ones.
    let seen_now: BTreeSet<u32> = if f.items.iter().any(sets_seen) {
        match session.mark_seen(&uids).await {
            Ok(changed) => changed.iter().map(|c| c.uid).collect(),
            Err(e) => return Session::failure(tag, &e),
        }
    } else {
        BTreeSet::new()
    };
    let meta = f.items.iter().any(needs_meta);
    let body = f.items.iter().any(needs_body);
    for chunk in uids.chunks(CHUNK) {
        let rows: Vec<MessageMeta> = if meta {
            match session.shared.store.fetch_messages(mailbox_id, chunk).await {
                Ok(r) => r,
                Err(e) => return Session::failure(tag, &e),
            }
        } else {
            Vec::new()
        };
        let mut rows = rows.into_iter().peekable();
        for uid in chunk {
            let view = session.selected();
            let (Some(state), Some(seq)) = (view.get(*uid).cloned(), view.seq_of(*uid)) else {
                continue;
            };
            let row = if meta {
                while rows.peek().is_some_and(|r| r.uid < *uid) {
                    rows.next();
                }
                match rows.peek() {
                    Some(r) if r.uid == *uid => rows.next(),
                    // Expunged by another session meanwhile: nothing to say about it.
                    _ => continue,
                }
            } else {
                None
            };
            let loaded = match (&row, body) {
                (Some(r), true) => match load(session, r).await {
                    Ok(b) => Some(b),
                    Err(e) => {
                        tracing::error!(uid, error = %e, "cannot read a message body");
                        return Session::done(
                            tag,
                            "NO",
                            "[SERVERBUG] a message body could not be read; try again later",
                        );
                    }
                },
                _ => None,
            };
            let mut parts: Vec<Vec<u8>> = Vec::new();
            let mut flags_sent = false;
            let mut uid_sent = false;
            for item in &f.items {
                match item {
                    FetchItem::Uid => {
                        uid_sent = true;
                        parts.push(format!("UID {uid}").into_bytes());
                    }
                    FetchItem::Flags => {
                        flags_sent = true;
                        parts.push(
                            format!("FLAGS {}", encode::flag_list(&state.flags)).into_bytes(),
                        );
                    }
                    FetchItem::ModSeq => {
                        parts.push(format!("MODSEQ ({})", state.modseq).into_bytes())
                    }
                    FetchItem::InternalDate => {
                        if let Some(r) = &row {
                            parts.push(
                                format!("INTERNALDATE {}", internal_date(r.internal_date))
                                    .into_bytes(),
                            );
                        }
                    }
                    FetchItem::Rfc822Size => {
                        if let Some(r) = &row {
                            parts.push(format!("RFC822.SIZE {}", r.size).into_bytes());
                        }
                    }
                    FetchItem::Envelope => {
                        if let Some(r) = &row {
                            let env = indexed(session, r, Indexed::Envelope).await;
                            parts.push(format!("ENVELOPE {env}").into_bytes());
                        }
                    }
                    FetchItem::BodyStructure => {
                        if let Some(r) = &row {
                            let bs = indexed(session, r, Indexed::BodyStructure).await;
                            parts.push(format!("BODYSTRUCTURE {bs}").into_bytes());
                        }
                    }
                    FetchItem::Body => {
                        if let Some(r) = &row {
                            let b = indexed(session, r, Indexed::Body).await;
                            parts.push(format!("BODY {b}").into_bytes());
                        }
                    }
                    FetchItem::Section {
                        section,
                        partial: range,
                        ..
                    } => {
                        let Some(b) = &loaded else { continue };
                        let spec = match &section.text {
                            None => SectionSpec::Full,
                            Some(SectionText::Header) => SectionSpec::Header,
                            Some(SectionText::Text) => SectionSpec::Text,
                            Some(SectionText::Mime) => SectionSpec::Mime,
                            Some(SectionText::HeaderFields(f)) => SectionSpec::HeaderFields(f),
                            Some(SectionText::HeaderFieldsNot(f)) => {
                                SectionSpec::HeaderFieldsNot(f)
                            }
                        };
                        let data = hermod_mime::section(&b.raw, &b.parts, &section.part, spec);
                        let mut p = format!("BODY[{}]", section_name(section)).into_bytes();
                        match data {
                            Some(d) => {
                                let (d, origin) = partial(d, *range);
                                p.extend_from_slice(origin.as_bytes());
                                p.push(b' ');
                                p.extend_from_slice(&encode::literal(&d));
                            }
                            None => p.extend_from_slice(b" NIL"),
                        }
                        parts.push(p);
                    }
                    FetchItem::Binary {
                        part,
                        partial: range,
                        ..
                    } => {
                        let Some(b) = &loaded else { continue };
                        let name: Vec<String> = part.iter().map(u32::to_string).collect();
                        match hermod_mime::binary(&b.raw, &b.parts, part) {
                            Err(_) => {
                                return Session::done(
                                    tag,
                                    "NO",
                                    "[UNKNOWN-CTE] the part's content-transfer-encoding cannot be decoded",
                                );
                            }
                            Ok(None) => {
                                parts.push(format!("BINARY[{}] NIL", name.join(".")).into_bytes())
                            }
                            Ok(Some(d)) => {
                                let (d, origin) = partial(d, *range);
                                let mut p =
                                    format!("BINARY[{}]{origin} ", name.join(".")).into_bytes();
                                if d.contains(&0) {
                                    p.push(b'~');
                                }
                                p.extend_from_slice(&encode::literal(&d));
                                parts.push(p);
                            }
                        }
                    }
                    FetchItem::BinarySize { part } => {
                        let Some(b) = &loaded else { continue };
                        let name: Vec<String> = part.iter().map(u32::to_string).collect();
                        match hermod_mime::binary(&b.raw, &b.parts, part) {
                            Err(_) => {
                                return Session::done(
                                    tag,
                                    "NO",
                                    "[UNKNOWN-CTE] the part's content-transfer-encoding cannot be decoded",
                                );
                            }
                            Ok(d) => parts.push(
                                format!(
                                    "BINARY.SIZE[{}] {}",
                                    name.join("."),
                                    d.map(|d| d.len()).unwrap_or(0)
                                )
                                .into_bytes(),
                            ),
                        }
                    }
                    FetchItem::Rfc822 | FetchItem::Rfc822Header | FetchItem::Rfc822Text => {
                        let Some(b) = &loaded else { continue };
                        let (label, spec) = match item {
                            FetchItem::Rfc822 => ("RFC822", SectionSpec::Full),
                            FetchItem::Rfc822Header => ("RFC822.HEADER", SectionSpec::Header),
                            _ => ("RFC822.TEXT", SectionSpec::Text),
                        };
                        let d =
                            hermod_mime::section(&b.raw, &b.parts, &[], spec).unwrap_or_default();
                        let mut p = format!("{label} ").into_bytes();
                        p.extend_from_slice(&encode::literal(&d));
                        parts.push(p);
                    }
                }
            }
            if seen_now.contains(uid) && !flags_sent {
                parts.push(format!("FLAGS {}", encode::flag_list(&state.flags)).into_bytes());
            }
            if (f.uid || report.qresync) && !uid_sent {
                parts.insert(0, format!("UID {uid}").into_bytes());
            }
            if condstore && f.changed_since.is_some() && !f.items.contains(&FetchItem::ModSeq) {
                parts.push(format!("MODSEQ ({})", state.modseq).into_bytes());
            }
            out.push(format!("* {seq} FETCH (").as_bytes());
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(b" ");
                }
                out.push(p);
            }
            out.push(b")\r\n");
        }
        if out.flush_if_large().await.is_err() {
            break;
        }
    }
    Session::done(tag, "OK", "FETCH completed")
}

fn internal_date(ms: i64) -> String {
    let dt = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    encode::imap_date_time(&dt.fixed_offset())
}

async fn load(session: &Session, row: &MessageMeta) -> Result<Body, String> {
    let id = BlobId::parse(&row.blob_id).ok_or_else(|| format!("bad blob id {}", row.blob_id))?;
    let raw = session
        .shared
        .blobs
        .get(&id)
        .await
        .map_err(|e| e.to_string())?;
    let parts = match PartMap::from_text(&row.parts) {
        Some(p) => p,
        None => hermod_mime::analyze(&raw).parts,
    };
    Ok(Body { raw, parts })
}

/// Which indexed structure an item wants.
#[derive(Clone, Copy)]
enum Indexed {
    Envelope,
    BodyStructure,
    Body,
}

/// An indexed structure; for a message whose analysis was deferred (a very large one),
/// computed now from the body.
async fn indexed(session: &Session, row: &MessageMeta, which: Indexed) -> String {
    let pick = |envelope: String, body_structure: String, body: String| match which {
        Indexed::Envelope => envelope,
        Indexed::BodyStructure => body_structure,
        Indexed::Body => body,
    };
    let have = match which {
        Indexed::Envelope => &row.envelope,
        Indexed::BodyStructure => &row.body_structure,
        Indexed::Body => &row.body,
    };
    if !have.is_empty() {
        return have.clone();
    }
    let Ok(body) = load(session, row).await else {
        let i = index_of(b"");
        return pick(i.envelope, i.body_structure, i.body);
    };
    let raw = body.raw;
    let i = tokio::task::spawn_blocking(move || index_of(&raw))
        .await
        .unwrap_or_default();
    if let Err(e) = session
        .shared
        .store
        .set_index_for_blob(&row.blob_id, &i)
        .await
    {
        tracing::warn!(uid = row.uid, error = %e, "cannot keep a message's index");
    }
    pick(i.envelope, i.body_structure, i.body)
}
