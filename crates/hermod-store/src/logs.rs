//! Incoming Logs and the outgoing log behind Track Deliveries and the daily send limit.

use hermod_model::{
    DeliveryStatus, DomainName, EmailAddress, IncomingLogEntry, LogStatus, OutgoingMessage,
    RecipientStatus,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, get_parsed, now_ms};

/// Filters for the Incoming Logs.
#[derive(Debug, Clone, Default)]
pub struct IncomingQuery {
    pub domain: Option<DomainName>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub status: Option<LogStatus>,
    pub limit: Option<u32>,
}

/// A submitted message to record.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub account: EmailAddress,
    pub sender: String,
    pub subject: Option<String>,
    pub size: u64,
    pub counted: u32,
    /// Each recipient with its first status (delivered for local, queued for remote).
    pub recipients: Vec<(String, DeliveryStatus, Option<String>)>,
}

fn incoming_from_row(row: &AnyRow) -> Result<IncomingLogEntry> {
    Ok(IncomingLogEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        client_ip: row.try_get("client_ip")?,
        helo: row.try_get("helo")?,
        sender: row.try_get("sender")?,
        recipient: row.try_get("recipient")?,
        domain: row.try_get("domain")?,
        subject: row.try_get("subject")?,
        status: get_parsed(row, "status", |s| {
            LogStatus::parse(s).ok_or("unknown status")
        })?,
        reply: row.try_get("reply")?,
    })
}

fn like(s: &Option<String>) -> String {
    match s.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => format!("%{}%", s.to_lowercase()),
        _ => String::new(),
    }
}

impl Store {
    /// Writes Incoming Log entries (several at once, in one transaction).
    pub async fn log_incoming(&self, entries: &[IncomingLogEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        for e in entries {
            crate::delivery::insert_incoming(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Incoming Log entries, newest first.
    pub async fn list_incoming(&self, q: &IncomingQuery) -> Result<Vec<IncomingLogEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, client_ip, helo, sender, recipient, domain, subject, status, reply FROM incoming_log \
             WHERE ($1 = '' OR domain = $1) AND at >= $2 AND at <= $3 \
             AND ($4 = '' OR LOWER(sender) LIKE $4) AND ($5 = '' OR LOWER(recipient) LIKE $5) \
             AND ($6 = '' OR status = $6) ORDER BY at DESC, id DESC LIMIT $7",
        )
        .bind(q.domain.as_ref().map(|d| d.to_string()).unwrap_or_default())
        .bind(q.since.unwrap_or(0))
        .bind(q.until.unwrap_or(i64::MAX))
        .bind(like(&q.sender))
        .bind(like(&q.recipient))
        .bind(q.status.map(|s| s.as_str()).unwrap_or(""))
        .bind(i64::from(q.limit.unwrap_or(1000)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(incoming_from_row).collect()
    }

    /// Records a submitted message and its recipients; returns its id.
    pub async fn record_outgoing(&self, m: &NewOutgoing) -> Result<i64> {
        let mut tx = self.writer.begin().await?;
        let id = crate::delivery::insert_outgoing(&mut tx, m, now_ms()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Updates one recipient's delivery status (from the outbound queue).
    pub async fn set_recipient_status(
        &self,
        message_id: i64,
        recipient: &str,
        status: DeliveryStatus,
        host: Option<&str>,
        reply: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outgoing_rcpt SET status = $3, host = COALESCE($4, host), reply = $5, updated_at = $6 \
             WHERE message_id = $1 AND recipient = $2",
        )
        .bind(message_id)
        .bind(recipient)
        .bind(status.as_str())
        .bind(host)
        .bind(reply)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// How much an account has sent since `since` (ms), as counted toward its daily limit.
    pub async fn sent_since(&self, account: &EmailAddress, since: i64) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(counted), 0) AS BIGINT) AS n FROM outgoing WHERE account = $1 AND at >= $2")
            .bind(account.to_string())
            .bind(since)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// The messages an account (or, with a domain, every account of it) sent since `since`,
    /// newest first, each with its recipients' statuses.
    pub async fn list_outgoing(
        &self,
        account: Option<&EmailAddress>,
        domain: Option<&DomainName>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<OutgoingMessage>> {
        let rows = sqlx::query(
            "SELECT id, account, at, sender, subject, size, counted FROM outgoing \
             WHERE ($1 = '' OR account = $1) AND ($2 = '' OR account LIKE $2) AND at >= $3 \
             ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(account.map(|a| a.to_string()).unwrap_or_default())
        .bind(domain.map(|d| format!("%@{d}")).unwrap_or_default())
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let rcpts = sqlx::query(
                "SELECT recipient, status, host, reply, updated_at FROM outgoing_rcpt WHERE message_id = $1 ORDER BY recipient",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            let recipients = rcpts
                .iter()
                .map(|r| {
                    Ok(RecipientStatus {
                        recipient: r.try_get("recipient")?,
                        status: get_parsed(r, "status", |s| {
                            DeliveryStatus::parse(s).ok_or("unknown status")
                        })?,
                        host: r.try_get("host")?,
                        reply: r.try_get("reply")?,
                        updated_at: r.try_get("updated_at")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push(OutgoingMessage {
                id,
                account: get_parsed(row, "account", EmailAddress::parse)?,
                at: row.try_get("at")?,
                sender: row.try_get("sender")?,
                subject: row.try_get("subject")?,
                size: row.try_get::<i64, _>("size")? as u64,
                counted: row.try_get::<i64, _>("counted")? as u32,
                recipients,
            });
        }
        Ok(out)
    }

    /// Drops log entries older than `before` (ms); returns how many went.
    pub async fn prune_logs(&self, before: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM incoming_log WHERE at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        let b = sqlx::query("DELETE FROM outgoing WHERE at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }
}

/// The start of the rolling 24-hour window that ends now.
pub fn day_window_start() -> i64 {
    now_ms() - 24 * 3600 * 1000
}
