//! The message index: mailboxes as IMAP sees them, messages with their flags and MODSEQs,
//! and the change feed that lets sessions on one mailbox see each other's work.
//!
//! Every change to a mailbox's messages takes a new MODSEQ from the mailbox row
//! (`highest_modseq + 1`) inside the transaction that makes the change. The row update
//! serialises writers of one mailbox, so MODSEQs commit in order and a reader that has seen
//! everything up to N can ask for "what changed after N" and miss nothing. Expunged UIDs
//! are remembered with the MODSEQ of their removal (QRESYNC's VANISHED, and other sessions'
//! EXPUNGE). UIDs come from `uidnext` the same way: they only grow and are never reused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hermod_model::{EmailAddress, IndexData, Mailbox, MessageMeta, SpecialUse};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};
use tokio::sync::watch;

use crate::error::is_unique_violation;
use crate::{Result, Store, StoreError, get_bool, get_parsed, now_ms};

/// A message to add to a mailbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub blob_id: String,
    pub size: u64,
    pub flags: Vec<String>,
    /// Milliseconds since the epoch.
    pub internal_date: i64,
    pub index: IndexData,
}

/// A message's UID, MODSEQ and flags: what a session keeps of each message it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    pub uid: u32,
    pub modseq: u64,
    pub flags: Vec<String>,
}

/// What changed in a mailbox after a MODSEQ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Messages added or with changed flags, in UID order.
    pub changed: Vec<MessageState>,
    /// UIDs expunged, ascending.
    pub expunged: Vec<u32>,
    /// The highest MODSEQ covered by this answer.
    pub highest_modseq: u64,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Replace,
    Add,
    Remove,
}

/// The outcome of a flag change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagResult {
    /// Messages whose flags changed (new flags and MODSEQ).
    pub changed: Vec<MessageState>,
    /// Messages left alone because they changed after UNCHANGEDSINCE.
    pub failed: Vec<u32>,
}

/// Counts for STATUS and SELECT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxCounts {
    pub messages: u64,
    pub unseen: u64,
    pub deleted: u64,
    pub size: u64,
}

/// Wakes sessions watching an account when its mail changes on this node. Sessions also
/// re-read the store on their own, so changes made by other nodes arrive too, only later.
#[derive(Default)]
pub(crate) struct ChangeHub {
    accounts: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Wakes this node's outbound scheduler when new queue rows are committed.
    pub(crate) queue: tokio::sync::Notify,
}

impl ChangeHub {
    fn subscribe(&self, account: &str) -> watch::Receiver<u64> {
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(account.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    pub(crate) fn notify(&self, account: &str) {
        let map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(account) {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

pub(crate) type Hub = Arc<ChangeHub>;

/// Flags are kept as one space-separated text; system flags in their canonical case.
pub fn normalise_flag(flag: &str) -> String {
    const SYSTEM: [&str; 6] = [
        "\\Seen",
        "\\Answered",
        "\\Flagged",
        "\\Deleted",
        "\\Draft",
        "\\Recent",
    ];
    SYSTEM
        .iter()
        .find(|s| s.eq_ignore_ascii_case(flag))
        .map(|s| s.to_string())
        .unwrap_or_else(|| flag.to_string())
}

fn flags_from_text(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

fn flags_to_text(flags: &[String]) -> String {
    flags.join(" ")
}

fn has_flag(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
}

/// Applies a STORE to a flag list; keeps the original order and adds new flags at the end.
pub fn apply_flags(current: &[String], op: FlagOp, given: &[String]) -> Vec<String> {
    let given: Vec<String> = given
        .iter()
        .map(|f| normalise_flag(f))
        .filter(|f| f != "\\Recent")
        .collect();
    let mut out: Vec<String> = match op {
        FlagOp::Replace => Vec::new(),
        FlagOp::Add => current.to_vec(),
        FlagOp::Remove => current
            .iter()
            .filter(|f| !has_flag(&given, f))
            .cloned()
            .collect(),
    };
    if op != FlagOp::Remove {
        for f in given {
            if !has_flag(&out, &f) {
                out.push(f);
            }
        }
    }
    out
}

pub(crate) fn mailbox_from_row(row: &AnyRow) -> Result<Mailbox> {
    Ok(Mailbox {
        id: row.try_get("id")?,
        account: get_parsed(row, "account", EmailAddress::parse)?,
        name: row.try_get("name")?,
        uidvalidity: row.try_get::<i64, _>("uidvalidity")? as u32,
        uidnext: row.try_get::<i64, _>("uidnext")? as u32,
        highest_modseq: row.try_get::<i64, _>("highest_modseq")? as u64,
        special_use: row
            .try_get::<Option<String>, _>("special_use")?
            .as_deref()
            .and_then(SpecialUse::parse),
        subscribed: get_bool(row, "subscribed")?,
    })
}

pub(crate) const MAILBOX_COLUMNS: &str =
    "id, account, name, uidvalidity, uidnext, highest_modseq, special_use, subscribed";

fn state_from_row(row: &AnyRow) -> Result<MessageState> {
    Ok(MessageState {
        uid: row.try_get::<i64, _>("uid")? as u32,
        modseq: row.try_get::<i64, _>("modseq")? as u64,
        flags: flags_from_text(&row.try_get::<String, _>("flags")?),
    })
}

/// How many UIDs go into one `IN (...)` list.
const CHUNK: usize = 500;

fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Takes the next MODSEQ of a mailbox (and, with `uids > 0`, that many new UIDs). Returns
/// (modseq, first new uid).
async fn bump(
    tx: &mut Transaction<'static, Any>,
    mailbox_id: i64,
    uids: u32,
) -> Result<(u64, u32)> {
    let row = sqlx::query(
        "UPDATE mailboxes SET uidnext = uidnext + $2, highest_modseq = highest_modseq + 1 \
         WHERE id = $1 RETURNING uidnext - $2 AS first_uid, highest_modseq AS modseq",
    )
    .bind(mailbox_id)
    .bind(i64::from(uids))
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound("mailbox", format!("#{mailbox_id}")))?;
    Ok((
        row.try_get::<i64, _>("modseq")? as u64,
        row.try_get::<i64, _>("first_uid")? as u32,
    ))
}

async fn insert_message(
    tx: &mut Transaction<'static, Any>,
    mailbox_id: i64,
    uid: u32,
    modseq: u64,
    m: &NewMessage,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, envelope, \
         body_structure, body, parts, sent_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(mailbox_id)
    .bind(i64::from(uid))
    .bind(modseq as i64)
    .bind(flags_to_text(&m.flags))
    .bind(m.internal_date)
    .bind(m.size as i64)
    .bind(&m.blob_id)
    .bind(&m.index.envelope)
    .bind(&m.index.body_structure)
    .bind(&m.index.body)
    .bind(&m.index.parts)
    .bind(m.index.sent_date)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds a message to a mailbox inside a transaction; returns its UID and MODSEQ.
pub(crate) async fn add_message(
    tx: &mut Transaction<'static, Any>,
    mailbox_id: i64,
    m: &NewMessage,
) -> Result<(u32, u64)> {
    let (modseq, uid) = bump(tx, mailbox_id, 1).await?;
    insert_message(tx, mailbox_id, uid, modseq, m).await?;
    Ok((uid, modseq))
}

impl Store {
    /// Watches an account's mail on this node: the value changes whenever a message is
    /// added, changed or removed in any of its mailboxes.
    pub fn watch_account(&self, account: &EmailAddress) -> watch::Receiver<u64> {
        self.hub.subscribe(&account.to_string())
    }

    /// Resolves when new entries were queued on this node (the scheduler also polls).
    pub async fn queue_changed(&self) {
        self.hub.queue.notified().await;
    }

    pub(crate) fn notify_account(&self, account: &EmailAddress) {
        self.hub.notify(&account.to_string());
    }

    pub async fn get_mailbox(&self, account: &EmailAddress, name: &str) -> Result<Option<Mailbox>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE account = $1 AND name = $2"
        )))
        .bind(account.to_string())
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    /// Creates a mailbox. Its UIDVALIDITY is new: higher than any the account has had, so a
    /// deleted and re-created folder never looks like the old one to a client's cache.
    pub async fn create_mailbox(
        &self,
        account: &EmailAddress,
        name: &str,
        special_use: Option<SpecialUse>,
    ) -> Result<Mailbox> {
        let mut tx = self.writer.begin().await?;
        create_mailbox_in(&mut tx, account, name, special_use).await?;
        tx.commit().await?;
        self.get_mailbox(account, name)
            .await?
            .ok_or_else(|| StoreError::NotFound("mailbox", name.to_string()))
    }

    /// Deletes a mailbox and its messages. Its children stay (RFC 9051 6.3.4). Its
    /// UIDVALIDITY is remembered, so a mailbox re-created under the name gets a higher one.
    pub async fn delete_mailbox(&self, account: &EmailAddress, name: &str) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let row =
            sqlx::query("SELECT id, uidvalidity FROM mailboxes WHERE account = $1 AND name = $2")
                .bind(account.to_string())
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound("mailbox", name.to_string()))?;
        let id: i64 = row.try_get("id")?;
        let uidvalidity: i64 = row.try_get("uidvalidity")?;
        sqlx::query(
            "UPDATE accounts SET uidvalidity_floor = $2 WHERE address = $1 AND uidvalidity_floor < $2",
        )
        .bind(account.to_string())
        .bind(uidvalidity)
        .execute(&mut *tx)
        .await?;
        for table in ["messages", "expunged"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE mailbox_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM mailboxes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.notify_account(account);
        Ok(())
    }

    /// Renames a mailbox and everything below it (`a` → `b` also moves `a/x` to `b/x`).
    /// Renaming INBOX moves its messages to a new mailbox and leaves INBOX empty.
    pub async fn rename_mailbox(&self, account: &EmailAddress, from: &str, to: &str) -> Result<()> {
        if self.get_mailbox(account, to).await?.is_some() {
            return Err(StoreError::Exists("mailbox", to.to_string()));
        }
        let source = self
            .get_mailbox(account, from)
            .await?
            .ok_or_else(|| StoreError::NotFound("mailbox", from.to_string()))?;
        if from == "INBOX" {
            let target = self.create_mailbox(account, to, None).await?;
            let rows = self.message_states(source.id).await?;
            let uids: Vec<u32> = rows.iter().map(|r| r.uid).collect();
            self.move_messages(source.id, &uids, target.id).await?;
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        let prefix = format!("{from}/");
        let children = sqlx::query("SELECT id, name FROM mailboxes WHERE account = $1")
            .bind(account.to_string())
            .fetch_all(&mut *tx)
            .await?;
        for row in children {
            let name: String = row.try_get("name")?;
            let new_name = if name == from {
                to.to_string()
            } else if let Some(rest) = name.strip_prefix(&prefix) {
                format!("{to}/{rest}")
            } else {
                continue;
            };
            let renamed = sqlx::query("UPDATE mailboxes SET name = $1 WHERE id = $2")
                .bind(&new_name)
                .bind(row.try_get::<i64, _>("id")?)
                .execute(&mut *tx)
                .await;
            match renamed {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Exists("mailbox", new_name));
                }
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
        }
        tx.commit().await?;
        self.notify_account(account);
        Ok(())
    }

    pub async fn set_subscribed(&self, account: &EmailAddress, name: &str, on: bool) -> Result<()> {
        let done =
            sqlx::query("UPDATE mailboxes SET subscribed = $1 WHERE account = $2 AND name = $3")
                .bind(i64::from(on))
                .bind(account.to_string())
                .bind(name)
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("mailbox", name.to_string()));
        }
        Ok(())
    }

    /// Every message of a mailbox: UID, MODSEQ and flags, in UID order. Read as one
    /// aggregated value: for a mailbox of 100,000 messages a row each costs far more than
    /// the text (SELECT's time is mostly this).
    pub async fn message_states(&self, mailbox_id: i64) -> Result<Vec<MessageState>> {
        let agg = self.dialect.lines_agg(
            "CAST(uid AS TEXT) || ' ' || CAST(modseq AS TEXT) || ' ' || flags",
            "uid",
        );
        let text: Option<String> = sqlx::query(AssertSqlSafe(format!(
            "SELECT {agg} AS states FROM messages WHERE mailbox_id = $1"
        )))
        .bind(mailbox_id)
        .fetch_one(&self.pool)
        .await?
        .try_get("states")?;
        let Some(text) = text else {
            return Ok(Vec::new());
        };
        let corrupt = |line: &str| StoreError::Corrupt(format!("message state {line:?}"));
        text.split('\n')
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut parts = line.splitn(3, ' ');
                let uid = parts
                    .next()
                    .and_then(|u| u.parse::<u32>().ok())
                    .ok_or_else(|| corrupt(line))?;
                let modseq = parts
                    .next()
                    .and_then(|m| m.parse::<u64>().ok())
                    .ok_or_else(|| corrupt(line))?;
                Ok(MessageState {
                    uid,
                    modseq,
                    flags: flags_from_text(parts.next().unwrap_or("")),
                })
            })
            .collect()
    }

    /// What changed after `modseq`: new and re-flagged messages, and expunged UIDs.
    pub async fn changes_since(&self, mailbox_id: i64, modseq: u64) -> Result<Changes> {
        // Read the watermark first: anything committed later is picked up next time.
        let highest: i64 = sqlx::query("SELECT highest_modseq FROM mailboxes WHERE id = $1")
            .bind(mailbox_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound("mailbox", format!("#{mailbox_id}")))?
            .try_get("highest_modseq")?;
        if highest as u64 <= modseq {
            return Ok(Changes {
                highest_modseq: modseq,
                ..Changes::default()
            });
        }
        let changed = sqlx::query(
            "SELECT uid, modseq, flags FROM messages WHERE mailbox_id = $1 AND modseq > $2 AND modseq <= $3 ORDER BY uid",
        )
        .bind(mailbox_id)
        .bind(modseq as i64)
        .bind(highest)
        .fetch_all(&self.pool)
        .await?;
        let expunged = sqlx::query(
            "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 AND modseq <= $3 ORDER BY uid",
        )
        .bind(mailbox_id)
        .bind(modseq as i64)
        .bind(highest)
        .fetch_all(&self.pool)
        .await?;
        Ok(Changes {
            changed: changed.iter().map(state_from_row).collect::<Result<_>>()?,
            expunged: expunged
                .iter()
                .map(|r| Ok(r.try_get::<i64, _>("uid")? as u32))
                .collect::<Result<_>>()?,
            highest_modseq: highest as u64,
        })
    }

    /// The index rows of the given UIDs (ascending), for FETCH and SEARCH. Missing UIDs
    /// (expunged meanwhile) are simply absent.
    pub async fn fetch_messages(&self, mailbox_id: i64, uids: &[u32]) -> Result<Vec<MessageMeta>> {
        let mut out = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(CHUNK) {
            let sql = format!(
                "SELECT mailbox_id, uid, modseq, flags, internal_date, size, blob_id, envelope, body_structure, body, \
                 parts, sent_date FROM messages WHERE mailbox_id = $1 AND uid IN ({}) ORDER BY uid",
                in_list(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(mailbox_id);
            for uid in chunk {
                q = q.bind(i64::from(*uid));
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(MessageMeta {
                    mailbox_id: r.try_get("mailbox_id")?,
                    uid: r.try_get::<i64, _>("uid")? as u32,
                    modseq: r.try_get::<i64, _>("modseq")? as u64,
                    flags: flags_from_text(&r.try_get::<String, _>("flags")?),
                    internal_date: r.try_get("internal_date")?,
                    size: r.try_get::<i64, _>("size")? as u64,
                    blob_id: r.try_get("blob_id")?,
                    envelope: r.try_get("envelope")?,
                    body_structure: r.try_get("body_structure")?,
                    body: r.try_get("body")?,
                    parts: r.try_get("parts")?,
                    sent_date: r.try_get("sent_date")?,
                });
            }
        }
        Ok(out)
    }

    /// Fills in the index of every copy of a blob that was stored without one (a message too
    /// large to analyse while it was accepted): analysed once, on first use, then kept.
    pub async fn set_index_for_blob(&self, blob_id: &str, index: &IndexData) -> Result<()> {
        sqlx::query(
            "UPDATE messages SET envelope = $1, body_structure = $2, body = $3, parts = $4, sent_date = $5 \
             WHERE blob_id = $6 AND envelope = ''",
        )
        .bind(&index.envelope)
        .bind(&index.body_structure)
        .bind(&index.body)
        .bind(&index.parts)
        .bind(index.sent_date)
        .bind(blob_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// APPEND: adds messages to a mailbox in one transaction. Returns their UIDs.
    pub async fn append_messages(
        &self,
        mailbox: &Mailbox,
        messages: &[NewMessage],
    ) -> Result<Vec<u32>> {
        let mut tx = self.writer.begin().await?;
        let (modseq, first) = bump(&mut tx, mailbox.id, messages.len() as u32).await?;
        let mut uids = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            let uid = first + i as u32;
            insert_message(&mut tx, mailbox.id, uid, modseq, m).await?;
            uids.push(uid);
        }
        tx.commit().await?;
        self.notify_account(&mailbox.account);
        Ok(uids)
    }

    /// STORE: changes the flags of `uids`. With `unchanged_since`, messages changed after
    /// that MODSEQ are left alone and reported as failed (CONDSTORE).
    pub async fn store_flags(
        &self,
        mailbox: &Mailbox,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<FlagResult> {
        let mut result = FlagResult::default();
        let mut tx = self.writer.begin().await?;
        let mut modseq = None;
        for chunk in uids.chunks(CHUNK) {
            let sql = format!(
                "SELECT uid, modseq, flags FROM messages WHERE mailbox_id = $1 AND uid IN ({}) ORDER BY uid",
                in_list(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(mailbox.id);
            for uid in chunk {
                q = q.bind(i64::from(*uid));
            }
            let rows = q.fetch_all(&mut *tx).await?;
            for row in rows {
                let state = state_from_row(&row)?;
                if unchanged_since.is_some_and(|u| state.modseq > u) {
                    result.failed.push(state.uid);
                    continue;
                }
                let new_flags = apply_flags(&state.flags, op, flags);
                if new_flags == state.flags {
                    continue;
                }
                let m = match modseq {
                    Some(m) => m,
                    None => {
                        let (m, _) = bump(&mut tx, mailbox.id, 0).await?;
                        modseq = Some(m);
                        m
                    }
                };
                sqlx::query("UPDATE messages SET flags = $1, modseq = $2 WHERE mailbox_id = $3 AND uid = $4")
                    .bind(flags_to_text(&new_flags))
                    .bind(m as i64)
                    .bind(mailbox.id)
                    .bind(i64::from(state.uid))
                    .execute(&mut *tx)
                    .await?;
                result.changed.push(MessageState {
                    uid: state.uid,
                    modseq: m,
                    flags: new_flags,
                });
            }
        }
        tx.commit().await?;
        if modseq.is_some() {
            self.notify_account(&mailbox.account);
        }
        Ok(result)
    }

    /// COPY: returns (source uid, new uid) pairs, in source UID order (UIDPLUS COPYUID).
    pub async fn copy_messages(
        &self,
        from: i64,
        uids: &[u32],
        to: &Mailbox,
    ) -> Result<Vec<(u32, u32)>> {
        let mut tx = self.writer.begin().await?;
        let pairs = copy_in(&mut tx, from, uids, to.id).await?;
        tx.commit().await?;
        self.notify_account(&to.account);
        Ok(pairs)
    }

    /// MOVE: copy and expunge in one transaction, so a crash leaves the messages in exactly
    /// one of the two mailboxes.
    pub async fn move_messages(&self, from: i64, uids: &[u32], to: i64) -> Result<Vec<(u32, u32)>> {
        let mut tx = self.writer.begin().await?;
        let pairs = copy_in(&mut tx, from, uids, to).await?;
        let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        expunge_in(&mut tx, from, &moved).await?;
        let account: String = sqlx::query("SELECT account FROM mailboxes WHERE id = $1")
            .bind(to)
            .fetch_one(&mut *tx)
            .await?
            .try_get("account")?;
        tx.commit().await?;
        self.hub.notify(&account);
        Ok(pairs)
    }

    /// EXPUNGE: removes the messages flagged \Deleted (only those in `only`, for UID
    /// EXPUNGE). Returns the removed UIDs, ascending.
    pub async fn expunge(&self, mailbox: &Mailbox, only: Option<&[u32]>) -> Result<Vec<u32>> {
        let only: Option<Vec<u32>> = only.map(|o| {
            let mut o = o.to_vec();
            o.sort_unstable();
            o
        });
        let mut tx = self.writer.begin().await?;
        let rows = self.message_states_in(&mut tx, mailbox.id).await?;
        let doomed: Vec<u32> = rows
            .iter()
            .filter(|r| has_flag(&r.flags, "\\Deleted"))
            .filter(|r| {
                only.as_ref()
                    .is_none_or(|o| o.binary_search(&r.uid).is_ok())
            })
            .map(|r| r.uid)
            .collect();
        if doomed.is_empty() {
            return Ok(doomed);
        }
        expunge_in(&mut tx, mailbox.id, &doomed).await?;
        tx.commit().await?;
        self.notify_account(&mailbox.account);
        Ok(doomed)
    }

    async fn message_states_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        mailbox_id: i64,
    ) -> Result<Vec<MessageState>> {
        let rows = sqlx::query(
            "SELECT uid, modseq, flags FROM messages WHERE mailbox_id = $1 ORDER BY uid",
        )
        .bind(mailbox_id)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(state_from_row).collect()
    }

    /// UIDs expunged after `modseq` (QRESYNC's VANISHED (EARLIER)).
    pub async fn expunged_since(&self, mailbox_id: i64, modseq: u64) -> Result<Vec<u32>> {
        let rows = sqlx::query(
            "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(mailbox_id)
        .bind(modseq as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>("uid")? as u32))
            .collect()
    }

    pub async fn mailbox_counts(&self, mailbox_id: i64) -> Result<MailboxCounts> {
        let rows = sqlx::query("SELECT flags, size FROM messages WHERE mailbox_id = $1")
            .bind(mailbox_id)
            .fetch_all(&self.pool)
            .await?;
        let mut c = MailboxCounts::default();
        for r in rows {
            let flags = flags_from_text(&r.try_get::<String, _>("flags")?);
            c.messages += 1;
            c.size += r.try_get::<i64, _>("size")?.max(0) as u64;
            if !has_flag(&flags, "\\Seen") {
                c.unseen += 1;
            }
            if has_flag(&flags, "\\Deleted") {
                c.deleted += 1;
            }
        }
        Ok(c)
    }

    /// Bytes used by all of an account's messages (QUOTA's STORAGE is this in KiB).
    pub async fn quota_usage(&self, account: &EmailAddress) -> Result<u64> {
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(m.size), 0) AS BIGINT) AS used FROM messages m \
             JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account = $1",
        )
        .bind(account.to_string())
        .fetch_one(&self.pool)
        .await?
        .try_get("used")?;
        Ok(used.max(0) as u64)
    }
}

/// Creates a mailbox inside a transaction; returns its id. Its UIDVALIDITY is new: higher
/// than any the account has had (deleted mailboxes raise the account's floor), so a deleted
/// and re-created folder never looks like the old one to a client's cache.
pub(crate) async fn create_mailbox_in(
    tx: &mut Transaction<'static, Any>,
    account: &EmailAddress,
    name: &str,
    special_use: Option<SpecialUse>,
) -> Result<i64> {
    let max: i64 = sqlx::query(
        "SELECT COALESCE(MAX(v), 0) AS v FROM (SELECT uidvalidity AS v FROM mailboxes WHERE account = $1 \
         UNION ALL SELECT uidvalidity_floor AS v FROM accounts WHERE address = $1) AS known",
    )
    .bind(account.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get("v")?;
    let uidvalidity = ((now_ms() / 1000) & 0x7FFF_FFFF).max(max + 1);
    let inserted = sqlx::query(
        "INSERT INTO mailboxes (account, name, uidvalidity, uidnext, highest_modseq, special_use, subscribed) \
         VALUES ($1, $2, $3, 1, 1, $4, 1) RETURNING id",
    )
    .bind(account.to_string())
    .bind(name)
    .bind(uidvalidity)
    .bind(special_use.map(|s| s.attribute().to_string()))
    .fetch_one(&mut **tx)
    .await;
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Exists("mailbox", name.to_string())),
        Err(e) => Err(e.into()),
        Ok(row) => Ok(row.try_get("id")?),
    }
}

async fn copy_in(
    tx: &mut Transaction<'static, Any>,
    from: i64,
    uids: &[u32],
    to: i64,
) -> Result<Vec<(u32, u32)>> {
    let mut present = Vec::new();
    for chunk in uids.chunks(CHUNK) {
        let sql = format!(
            "SELECT uid FROM messages WHERE mailbox_id = $1 AND uid IN ({}) ORDER BY uid",
            in_list(2, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(from);
        for uid in chunk {
            q = q.bind(i64::from(*uid));
        }
        for r in q.fetch_all(&mut **tx).await? {
            present.push(r.try_get::<i64, _>("uid")? as u32);
        }
    }
    present.sort_unstable();
    if present.is_empty() {
        return Ok(Vec::new());
    }
    let (modseq, first) = bump(tx, to, present.len() as u32).await?;
    let mut pairs = Vec::with_capacity(present.len());
    for (i, uid) in present.iter().enumerate() {
        let new_uid = first + i as u32;
        sqlx::query(
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, envelope, \
             body_structure, body, parts, sent_date) \
             SELECT $1, $2, $3, flags, internal_date, size, blob_id, envelope, body_structure, body, parts, sent_date \
             FROM messages WHERE mailbox_id = $4 AND uid = $5",
        )
        .bind(to)
        .bind(i64::from(new_uid))
        .bind(modseq as i64)
        .bind(from)
        .bind(i64::from(*uid))
        .execute(&mut **tx)
        .await?;
        pairs.push((*uid, new_uid));
    }
    Ok(pairs)
}

async fn expunge_in(
    tx: &mut Transaction<'static, Any>,
    mailbox_id: i64,
    uids: &[u32],
) -> Result<()> {
    if uids.is_empty() {
        return Ok(());
    }
    let (modseq, _) = bump(tx, mailbox_id, 0).await?;
    for uid in uids {
        sqlx::query("DELETE FROM messages WHERE mailbox_id = $1 AND uid = $2")
            .bind(mailbox_id)
            .bind(i64::from(*uid))
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO expunged (mailbox_id, uid, modseq) VALUES ($1, $2, $3)")
            .bind(mailbox_id)
            .bind(i64::from(*uid))
            .bind(modseq as i64)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flag_operations_keep_order_and_ignore_case() {
        let cur = v(&["\\Seen", "Work"]);
        assert_eq!(
            apply_flags(&cur, FlagOp::Add, &v(&["\\seen", "\\flagged"])),
            v(&["\\Seen", "Work", "\\Flagged"])
        );
        assert_eq!(
            apply_flags(&cur, FlagOp::Remove, &v(&["\\SEEN"])),
            v(&["Work"])
        );
        assert_eq!(
            apply_flags(&cur, FlagOp::Replace, &v(&["\\Draft", "\\Recent"])),
            v(&["\\Draft"])
        );
        assert_eq!(apply_flags(&cur, FlagOp::Add, &v(&["work"])), cur);
    }
}
