//! The outbound queue: one row per message and remote recipient, written in the acceptance
//! transaction (delivery.rs) and worked off by the outbound scheduler.
//!
//! A node takes entries by *leasing* them: `lease_until` is set with a conditional update
//! that only one node can win, so several nodes sharing PostgreSQL never send the same entry
//! at once, and an entry whose node died becomes due again when its lease runs out. Every
//! outcome (delivered, deferred, failed with its bounce) is one transaction that also updates
//! Track Deliveries, so a crash leaves an entry either still queued (it is sent again: at
//! worst a duplicate, never a loss) or finished.

use hermod_model::DeliveryStatus;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::delivery::{Derived, QueueEntry, apply_derived};
use crate::{Result, Store, StoreError, now_ms};

const QUEUE_COLUMNS: &str = "id, blob_id, sender, recipient, domain, outgoing_id, created_at, next_attempt, attempts, status, last_reply";

pub(crate) fn entry_from_row(r: &AnyRow) -> Result<QueueEntry> {
    Ok(QueueEntry {
        id: r.try_get("id")?,
        blob_id: r.try_get("blob_id")?,
        sender: r.try_get("sender")?,
        recipient: r.try_get("recipient")?,
        domain: r.try_get("domain")?,
        outgoing_id: r.try_get("outgoing_id")?,
        created_at: r.try_get("created_at")?,
        next_attempt: r.try_get("next_attempt")?,
        attempts: r.try_get("attempts")?,
        status: r.try_get("status")?,
        last_reply: r.try_get("last_reply")?,
    })
}

impl Store {
    /// Leases up to `limit` due entries for `lease_ms`; returns the ones this node won.
    pub async fn lease_due(&self, limit: u32, lease_ms: i64) -> Result<Vec<QueueEntry>> {
        let now = now_ms();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queue WHERE next_attempt <= $1 AND lease_until <= $1 \
             ORDER BY next_attempt, id LIMIT $2"
        )))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut won = Vec::with_capacity(rows.len());
        for row in &rows {
            let entry = entry_from_row(row)?;
            let got = sqlx::query(
                "UPDATE queue SET lease_until = $1 WHERE id = $2 AND lease_until <= $3",
            )
            .bind(now + lease_ms)
            .bind(entry.id)
            .bind(now)
            .execute(&self.writer)
            .await?;
            if got.rows_affected() == 1 {
                won.push(entry);
            }
        }
        Ok(won)
    }

    /// The earliest time an entry becomes due (ms), for the scheduler's sleep.
    pub async fn next_due(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(CASE WHEN lease_until > next_attempt THEN lease_until ELSE next_attempt END) AS t FROM queue")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("t")?)
    }

    pub async fn get_queue_entry(&self, id: i64) -> Result<QueueEntry> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queue WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("queue entry", id.to_string()))?;
        entry_from_row(&row)
    }

    /// The remote accepted the message for this recipient.
    pub async fn queue_delivered(&self, entry: &QueueEntry, host: &str, reply: &str) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM queue WHERE id = $1")
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        track(
            &mut tx,
            entry,
            DeliveryStatus::Delivered,
            Some(host),
            Some(reply),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A temporary failure: try again at `next_attempt` (ms).
    pub async fn queue_deferred(
        &self,
        entry: &QueueEntry,
        next_attempt: i64,
        host: Option<&str>,
        reply: &str,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE queue SET attempts = attempts + 1, next_attempt = $1, lease_until = 0, status = $2, last_reply = $3 \
             WHERE id = $4",
        )
        .bind(next_attempt)
        .bind(DeliveryStatus::Deferred.as_str())
        .bind(reply)
        .bind(entry.id)
        .execute(&mut *tx)
        .await?;
        track(&mut tx, entry, DeliveryStatus::Deferred, host, Some(reply)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A permanent failure (or expiry, or the operator's bounce): the entry ends and the
    /// sender's DSN, if any, is committed in the same transaction.
    pub async fn queue_failed(
        &self,
        entry: &QueueEntry,
        host: Option<&str>,
        reply: &str,
        dsn: Option<&Derived>,
    ) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let gone = sqlx::query("DELETE FROM queue WHERE id = $1")
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            // Finished elsewhere meanwhile (another node, the operator): no second bounce.
            return Ok(());
        }
        track(&mut tx, entry, DeliveryStatus::Bounced, host, Some(reply)).await?;
        if let Some(d) = dsn {
            apply_derived(&mut tx, d, now_ms()).await?;
        }
        tx.commit().await?;
        if let Some(d) = dsn {
            d.local.iter().for_each(|l| self.notify_account(&l.account));
            if !d.remote.is_empty() {
                self.hub.queue.notify_one();
            }
        }
        Ok(())
    }

    /// Makes entries due now (one, or every entry with `None`). Returns how many.
    pub async fn queue_retry(&self, id: Option<i64>) -> Result<u64> {
        let now = now_ms();
        let done = match id {
            Some(id) => {
                sqlx::query("UPDATE queue SET next_attempt = $1, lease_until = 0 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&self.writer)
                    .await?
            }
            None => {
                sqlx::query("UPDATE queue SET next_attempt = $1, lease_until = 0")
                    .bind(now)
                    .execute(&self.writer)
                    .await?
            }
        };
        if let Some(id) = id
            && done.rows_affected() == 0
        {
            return Err(StoreError::NotFound("queue entry", id.to_string()));
        }
        self.hub.queue.notify_one();
        Ok(done.rows_affected())
    }

    /// Drops an entry without a bounce (the operator's `hermod queue remove`).
    pub async fn queue_remove(&self, id: i64) -> Result<QueueEntry> {
        let entry = self.get_queue_entry(id).await?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM queue WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        track(
            &mut tx,
            &entry,
            DeliveryStatus::Bounced,
            None,
            Some("removed from the queue by the operator"),
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }
}

/// Updates the Track Deliveries row of a queue entry, when it has one.
async fn track(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    entry: &QueueEntry,
    status: DeliveryStatus,
    host: Option<&str>,
    reply: Option<&str>,
) -> Result<()> {
    let Some(message_id) = entry.outgoing_id else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE outgoing_rcpt SET status = $3, host = COALESCE($4, host), reply = $5, updated_at = $6 \
         WHERE message_id = $1 AND recipient = $2",
    )
    .bind(message_id)
    .bind(&entry.recipient)
    .bind(status.as_str())
    .bind(host)
    .bind(reply)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
