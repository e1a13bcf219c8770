//! Durable acceptance: a message's index rows, queue rows and log rows in one transaction.
//!
//! Many sessions' messages are committed together (group commit): the SMTP server collects
//! the commits that arrive while the previous transaction is on disk and writes them in the
//! next, so concurrent sessions share one fsync instead of each paying for their own.

use hermod_model::{DeliveryStatus, EmailAddress, IncomingLogEntry, IndexData};
use sqlx::{Any, Row, Transaction};

use crate::logs::NewOutgoing;
use crate::messages::{NewMessage, add_message, create_mailbox_in};
use crate::{Result, Store, StoreError, now_ms};

/// A copy of a message in a local mailbox: INBOX, or the folder a rule chose (created if
/// missing), with the flags rules set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCopy {
    pub account: EmailAddress,
    pub mailbox: String,
    pub flags: Vec<String>,
}

impl LocalCopy {
    pub fn inbox(account: EmailAddress) -> LocalCopy {
        LocalCopy {
            account,
            mailbox: "INBOX".into(),
            flags: Vec::new(),
        }
    }
}

/// A message born of the accepted one and committed with it: a forward (its own blob with
/// a Delivered-To line, an SRS sender) or an auto-reply (null sender).
#[derive(Debug, Clone)]
pub struct Derived {
    pub blob_id: String,
    pub size: u64,
    pub index: IndexData,
    /// The envelope sender its delivery uses.
    pub sender: String,
    pub local: Vec<LocalCopy>,
    pub remote: Vec<EmailAddress>,
    /// A Track Deliveries record (a forward counts toward the forwarding user's limit).
    pub outgoing: Option<NewOutgoing>,
}

/// Everything that must be true once a message is acknowledged.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The stored (fsynced) body.
    pub blob_id: String,
    pub size: u64,
    /// What the index keeps of the message (ENVELOPE, BODYSTRUCTURE, part map).
    pub index: IndexData,
    /// The envelope sender ("" for the null sender).
    pub sender: String,
    /// Copies in local mailboxes.
    pub local: Vec<LocalCopy>,
    /// Recipients handed to the outbound queue, each with the domain whose MX gets it.
    pub remote: Vec<EmailAddress>,
    /// For an authenticated submission: the Track Deliveries record (recipients filled in here).
    pub outgoing: Option<NewOutgoing>,
    /// Forwards and auto-replies the delivery rules made.
    pub derived: Vec<Derived>,
    /// (account, sender) pairs that got an auto-reply now (one per sender per interval).
    pub auto_replied: Vec<(EmailAddress, String)>,
    pub incoming_log: Vec<IncomingLogEntry>,
}

/// One row of the outbound queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueEntry {
    pub id: i64,
    pub blob_id: String,
    pub sender: String,
    pub recipient: String,
    pub domain: String,
    pub outgoing_id: Option<i64>,
    pub created_at: i64,
    pub next_attempt: i64,
    pub attempts: i64,
    pub status: String,
    pub last_reply: Option<String>,
}

impl Store {
    /// Commits a batch in one transaction. If the batch fails, each commit is retried on its
    /// own so one bad message cannot fail the others; the result is per commit.
    pub async fn commit_batch(&self, batch: &[Commit]) -> Vec<Result<()>> {
        let together = async {
            let mut tx = self.writer.begin().await?;
            for c in batch {
                apply(&mut tx, c).await?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        };
        let results = match together.await {
            Ok(()) => batch.iter().map(|_| Ok(())).collect(),
            Err(e) if batch.len() == 1 => vec![Err(e)],
            Err(_) => {
                let mut out = Vec::with_capacity(batch.len());
                for c in batch {
                    out.push(self.commit_one(c).await);
                }
                out
            }
        };
        for (c, r) in batch.iter().zip(&results) {
            if r.is_ok() {
                let derived = c.derived.iter().flat_map(|d| &d.local);
                c.local
                    .iter()
                    .chain(derived)
                    .for_each(|l| self.notify_account(&l.account));
                if !c.remote.is_empty() || c.derived.iter().any(|d| !d.remote.is_empty()) {
                    self.hub.queue.notify_one();
                }
            }
        }
        results
    }

    async fn commit_one(&self, c: &Commit) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        apply(&mut tx, c).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_queue(&self) -> Result<Vec<QueueEntry>> {
        let rows = sqlx::query(
            "SELECT id, blob_id, sender, recipient, domain, outgoing_id, created_at, next_attempt, attempts, status, \
             last_reply FROM queue ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crate::queue::entry_from_row).collect()
    }

    /// How many messages an account's INBOX holds.
    pub async fn inbox_count(&self, account: &EmailAddress) -> Result<u64> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE b.account = $1 AND b.name = 'INBOX'",
        )
        .bind(account.to_string())
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// The INBOX messages of an account: (uid, blob id), oldest first. For tests and tools.
    pub async fn inbox_blobs(&self, account: &EmailAddress) -> Result<Vec<(u32, String)>> {
        let rows = sqlx::query(
            "SELECT m.uid, m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE b.account = $1 AND b.name = 'INBOX' ORDER BY m.uid",
        )
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("uid")? as u32, r.try_get("blob_id")?)))
            .collect()
    }
}

async fn apply(tx: &mut Transaction<'static, Any>, c: &Commit) -> Result<()> {
    let now = now_ms();
    let message = NewMessage {
        blob_id: c.blob_id.clone(),
        size: c.size,
        flags: Vec::new(),
        internal_date: now,
        index: c.index.clone(),
    };
    apply_message(
        tx,
        &message,
        &c.sender,
        &c.local,
        &c.remote,
        c.outgoing.as_ref(),
        now,
    )
    .await?;
    for d in &c.derived {
        apply_derived(tx, d, now).await?;
    }
    for (account, sender) in &c.auto_replied {
        sqlx::query(
            "INSERT INTO auto_replies (account, sender, sent_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account, sender) DO UPDATE SET sent_at = excluded.sent_at",
        )
        .bind(account.to_string())
        .bind(sender)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for e in &c.incoming_log {
        insert_incoming(tx, e).await?;
    }
    Ok(())
}

/// A derived message (forward, auto-reply, bounce): its copies, record and queue rows.
pub(crate) async fn apply_derived(
    tx: &mut Transaction<'static, Any>,
    d: &Derived,
    now: i64,
) -> Result<()> {
    let message = NewMessage {
        blob_id: d.blob_id.clone(),
        size: d.size,
        flags: Vec::new(),
        internal_date: now,
        index: d.index.clone(),
    };
    apply_message(
        tx,
        &message,
        &d.sender,
        &d.local,
        &d.remote,
        d.outgoing.as_ref(),
        now,
    )
    .await
}

/// One message's local copies, Track Deliveries record and queue rows.
async fn apply_message(
    tx: &mut Transaction<'static, Any>,
    message: &NewMessage,
    sender: &str,
    local: &[LocalCopy],
    remote: &[EmailAddress],
    outgoing: Option<&NewOutgoing>,
    now: i64,
) -> Result<()> {
    for copy in local {
        let id = match sqlx::query("SELECT id FROM mailboxes WHERE account = $1 AND name = $2")
            .bind(copy.account.to_string())
            .bind(&copy.mailbox)
            .fetch_optional(&mut **tx)
            .await?
        {
            Some(row) => row.try_get("id")?,
            None if copy.mailbox == "INBOX" => {
                return Err(StoreError::NotFound(
                    "mailbox",
                    format!("INBOX of {}", copy.account),
                ));
            }
            None => create_mailbox_in(tx, &copy.account, &copy.mailbox, None).await?,
        };
        let m = NewMessage {
            flags: copy.flags.clone(),
            ..message.clone()
        };
        add_message(tx, id, &m).await?;
    }
    let outgoing_id = match outgoing {
        Some(out) => Some(insert_outgoing(tx, out, now).await?),
        None => None,
    };
    for rcpt in remote {
        sqlx::query(
            "INSERT INTO queue (blob_id, sender, recipient, domain, outgoing_id, created_at, next_attempt, attempts, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, 0, $7)",
        )
        .bind(&message.blob_id)
        .bind(sender)
        .bind(rcpt.to_string())
        .bind(rcpt.domain().as_str())
        .bind(outgoing_id)
        .bind(now)
        .bind(DeliveryStatus::Queued.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes a Track Deliveries record and its recipients; returns the record's id.
pub(crate) async fn insert_outgoing(
    tx: &mut Transaction<'static, Any>,
    out: &NewOutgoing,
    now: i64,
) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO outgoing (account, at, sender, subject, size, counted) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(out.account.to_string())
    .bind(now)
    .bind(&out.sender)
    .bind(&out.subject)
    .bind(out.size as i64)
    .bind(i64::from(out.counted))
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    for (rcpt, status, host) in &out.recipients {
        sqlx::query(
            "INSERT INTO outgoing_rcpt (message_id, recipient, status, host, reply, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(rcpt)
        .bind(status.as_str())
        .bind(host)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

pub(crate) async fn insert_incoming(
    tx: &mut Transaction<'static, Any>,
    e: &IncomingLogEntry,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO incoming_log (at, client_ip, helo, sender, recipient, domain, subject, status, reply) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.at)
    .bind(&e.client_ip)
    .bind(&e.helo)
    .bind(&e.sender)
    .bind(&e.recipient)
    .bind(&e.domain)
    .bind(&e.subject)
    .bind(e.status.as_str())
    .bind(&e.reply)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
