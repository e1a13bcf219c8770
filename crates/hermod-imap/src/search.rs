//! SEARCH: flags, sequence sets and MODSEQ come from the session's view; sizes and dates
//! from the index; header and text keys read the message (one at a time).

use chrono::NaiveDate;
use hermod_imap_proto::SearchKey;
use hermod_mime::SearchText;
use hermod_model::MessageMeta;
use hermod_store::{BlobId, BlobStore, MessageState, StoreError};

use crate::session::Session;

/// What a key needs to be decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    State,
    Meta,
    Text,
}

/// A key with its sets resolved to UIDs and its strings lower-cased.
enum Key {
    All,
    And(Vec<Key>),
    Or(Box<Key>, Box<Key>),
    Not(Box<Key>),
    Uids(Vec<u32>),
    Flag(&'static str, bool),
    Keyword(String, bool),
    Const(bool),
    Header(String, String),
    Body(String),
    Text(String),
    Internal(std::cmp::Ordering, NaiveDate),
    Sent(std::cmp::Ordering, NaiveDate),
    Larger(u64),
    Smaller(u64),
    ModSeq(u64),
    Older(u64),
    Younger(u64),
}

pub fn uses_modseq(k: &SearchKey) -> bool {
    match k {
        SearchKey::ModSeq(_) => true,
        SearchKey::And(v) => v.iter().any(uses_modseq),
        SearchKey::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        SearchKey::Not(a) => uses_modseq(a),
        _ => false,
    }
}

fn prepare(k: &SearchKey, session: &Session) -> Key {
    use std::cmp::Ordering::*;
    let view = session.selected();
    let low = |s: &str| s.to_lowercase();
    match k {
        SearchKey::All => Key::All,
        SearchKey::And(v) => Key::And(v.iter().map(|k| prepare(k, session)).collect()),
        SearchKey::Or(a, b) => {
            Key::Or(Box::new(prepare(a, session)), Box::new(prepare(b, session)))
        }
        SearchKey::Not(a) => Key::Not(Box::new(prepare(a, session))),
        SearchKey::SequenceSet(s) => Key::Uids(view.resolve(s, false)),
        SearchKey::Uid(s) => Key::Uids(view.resolve(s, true)),
        SearchKey::Answered => Key::Flag("\\Answered", true),
        SearchKey::Deleted => Key::Flag("\\Deleted", true),
        SearchKey::Draft => Key::Flag("\\Draft", true),
        SearchKey::Flagged => Key::Flag("\\Flagged", true),
        SearchKey::Seen => Key::Flag("\\Seen", true),
        SearchKey::Unanswered => Key::Flag("\\Answered", false),
        SearchKey::Undeleted => Key::Flag("\\Deleted", false),
        SearchKey::Undraft => Key::Flag("\\Draft", false),
        SearchKey::Unflagged => Key::Flag("\\Flagged", false),
        SearchKey::Unseen => Key::Flag("\\Seen", false),
        // This server keeps no \Recent (IMAP4rev2 dropped it): nothing is recent.
        SearchKey::Recent | SearchKey::New => Key::Const(false),
        SearchKey::Old => Key::Const(true),
        SearchKey::Keyword(k) => Key::Keyword(k.clone(), true),
        SearchKey::Unkeyword(k) => Key::Keyword(k.clone(), false),
        SearchKey::Bcc(s) => Key::Header("bcc".into(), low(s)),
        SearchKey::Cc(s) => Key::Header("cc".into(), low(s)),
        SearchKey::From(s) => Key::Header("from".into(), low(s)),
        SearchKey::To(s) => Key::Header("to".into(), low(s)),
        SearchKey::Subject(s) => Key::Header("subject".into(), low(s)),
        SearchKey::Header(name, s) => Key::Header(low(name), low(s)),
        SearchKey::Body(s) => Key::Body(low(s)),
        SearchKey::Text(s) => Key::Text(low(s)),
        SearchKey::Before(d) => Key::Internal(Less, *d),
        SearchKey::On(d) => Key::Internal(Equal, *d),
        SearchKey::Since(d) => Key::Internal(Greater, *d),
        SearchKey::SentBefore(d) => Key::Sent(Less, *d),
        SearchKey::SentOn(d) => Key::Sent(Equal, *d),
        SearchKey::SentSince(d) => Key::Sent(Greater, *d),
        SearchKey::Larger(n) => Key::Larger(*n),
        SearchKey::Smaller(n) => Key::Smaller(*n),
        SearchKey::ModSeq(n) => Key::ModSeq(*n),
        SearchKey::Older(n) => Key::Older(*n),
        SearchKey::Younger(n) => Key::Younger(*n),
    }
}

fn need(k: &Key) -> Need {
    match k {
        Key::And(v) => v.iter().map(need).max().unwrap_or(Need::State),
        Key::Or(a, b) => need(a).max(need(b)),
        Key::Not(a) => need(a),
        Key::Header(..) | Key::Body(_) | Key::Text(_) => Need::Text,
        Key::Internal(..)
        | Key::Sent(..)
        | Key::Larger(_)
        | Key::Smaller(_)
        | Key::Older(_)
        | Key::Younger(_) => Need::Meta,
        _ => Need::State,
    }
}

struct Ctx<'a> {
    state: &'a MessageState,
    meta: Option<&'a MessageMeta>,
    text: Option<&'a SearchText>,
    now_secs: i64,
}

fn has(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
}

fn date_of(secs: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp(secs, 0).map(|d| d.date_naive())
}

fn eval(k: &Key, c: &Ctx<'_>) -> bool {
    use std::cmp::Ordering::*;
    let cmp = |ord: std::cmp::Ordering, date: Option<NaiveDate>, d: &NaiveDate| match (ord, date) {
        (_, None) => false,
        (Less, Some(x)) => x < *d,
        (Equal, Some(x)) => x == *d,
        (Greater, Some(x)) => x >= *d,
    };
    match k {
        Key::All => true,
        Key::And(v) => v.iter().all(|k| eval(k, c)),
        Key::Or(a, b) => eval(a, c) || eval(b, c),
        Key::Not(a) => !eval(a, c),
        Key::Uids(u) => u.binary_search(&c.state.uid).is_ok(),
        Key::Flag(f, want) => has(&c.state.flags, f) == *want,
        Key::Keyword(f, want) => has(&c.state.flags, f) == *want,
        Key::Const(b) => *b,
        Key::ModSeq(n) => c.state.modseq >= *n,
        Key::Header(name, needle) => c.text.is_some_and(|t| {
            t.headers.iter().any(|(n, v)| {
                n == name && (needle.is_empty() || v.to_lowercase().contains(needle.as_str()))
            })
        }),
        Key::Body(needle) => c
            .text
            .is_some_and(|t| t.body.to_lowercase().contains(needle.as_str())),
        Key::Text(needle) => c.text.is_some_and(|t| {
            t.body.to_lowercase().contains(needle.as_str())
                || t.headers.iter().any(|(n, v)| {
                    n.contains(needle.as_str()) || v.to_lowercase().contains(needle.as_str())
                })
        }),
        Key::Internal(ord, d) => cmp(
            *ord,
            c.meta.and_then(|m| date_of(m.internal_date / 1000)),
            d,
        ),
        Key::Sent(ord, d) => {
            let sent = c
                .meta
                .and_then(|m| m.sent_date.or(Some(m.internal_date / 1000)));
            cmp(*ord, sent.and_then(date_of), d)
        }
        Key::Larger(n) => c.meta.is_some_and(|m| m.size > *n),
        Key::Smaller(n) => c.meta.is_some_and(|m| m.size < *n),
        Key::Older(s) => c
            .meta
            .is_some_and(|m| c.now_secs - m.internal_date / 1000 >= *s as i64),
        Key::Younger(s) => c
            .meta
            .is_some_and(|m| c.now_secs - m.internal_date / 1000 <= *s as i64),
    }
}

/// The UIDs of the selected mailbox matching `criteria`, ascending.
pub async fn run(session: &Session, criteria: &SearchKey) -> Result<Vec<u32>, StoreError> {
    let key = prepare(criteria, session);
    let level = need(&key);
    let view = session.selected();
    let now_secs = hermod_store::now_ms() / 1000;
    let mut matched = Vec::new();
    if level == Need::State {
        for state in &view.messages {
            if eval(
                &key,
                &Ctx {
                    state,
                    meta: None,
                    text: None,
                    now_secs,
                },
            ) {
                matched.push(state.uid);
            }
        }
        return Ok(matched);
    }
    let uids: Vec<u32> = view.messages.iter().map(|m| m.uid).collect();
    for chunk in uids.chunks(250) {
        let rows = session
            .shared
            .store
            .fetch_messages(view.mailbox.id, chunk)
            .await?;
        for meta in &rows {
            let Some(state) = view.get(meta.uid) else {
                continue;
            };
            let text = if level == Need::Text {
                match BlobId::parse(&meta.blob_id) {
                    Some(id) => match session.shared.blobs.get(&id).await {
                        Ok(raw) => Some(hermod_mime::search_text(&raw)),
                        Err(e) => {
                            tracing::warn!(uid = meta.uid, error = %e, "cannot read a message for SEARCH");
                            None
                        }
                    },
                    None => None,
                }
            } else {
                None
            };
            let ctx = Ctx {
                state,
                meta: Some(meta),
                text: text.as_ref(),
                now_secs,
            };
            if eval(&key, &ctx) {
                matched.push(meta.uid);
            }
        }
    }
    Ok(matched)
}
