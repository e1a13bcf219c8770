//! Web sessions and API tokens: kept here so they survive restarts and every node sees them.
//! Only SHA-256 hashes of session ids and token secrets are stored (the caller hashes).

use hermod_model::EmailAddress;
use sqlx::Row;

use crate::{Result, Store, get_parsed, now_ms};

/// A stored API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub id: String,
    pub account: EmailAddress,
    pub name: String,
    pub created_at: i64,
}

impl Store {
    pub async fn web_session_create(
        &self,
        id_hash: &str,
        account: &EmailAddress,
        csrf: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, account, csrf, last_seen) VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(account.to_string())
        .bind(csrf)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The session's account and CSRF token if it was used within `idle_ms`; its idle timer
    /// restarts. An expired session is deleted.
    pub async fn web_session_get(
        &self,
        id_hash: &str,
        idle_ms: i64,
    ) -> Result<Option<(EmailAddress, String)>> {
        let Some(row) =
            sqlx::query("SELECT account, csrf, last_seen FROM web_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let now = now_ms();
        if now - row.try_get::<i64, _>("last_seen")? > idle_ms {
            self.web_session_remove(id_hash).await?;
            return Ok(None);
        }
        // Touch at most once a minute: reads stay reads.
        if now - row.try_get::<i64, _>("last_seen")? > 60_000 {
            sqlx::query("UPDATE web_sessions SET last_seen = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(id_hash)
                .execute(&self.writer)
                .await?;
        }
        Ok(Some((
            get_parsed(&row, "account", EmailAddress::parse)?,
            row.try_get("csrf")?,
        )))
    }

    pub async fn web_session_remove(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn web_sessions_remove_account(&self, account: &EmailAddress) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE account = $1")
            .bind(account.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Adds a token unless the account already has `max`; false when it has.
    pub async fn api_token_create(
        &self,
        token: &StoredToken,
        hash: &str,
        max: usize,
    ) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE account = $1")
            .bind(token.account.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n as usize >= max {
            return Ok(false);
        }
        sqlx::query("INSERT INTO api_tokens (id, account, name, hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&token.id)
            .bind(token.account.to_string())
            .bind(&token.name)
            .bind(hash)
            .bind(token.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn api_tokens(&self, account: &EmailAddress) -> Result<Vec<StoredToken>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM api_tokens WHERE account = $1 ORDER BY created_at, id")
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredToken {
                    id: r.try_get("id")?,
                    account: account.clone(),
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn api_token_revoke(&self, account: &EmailAddress, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE account = $1 AND id = $2")
            .bind(account.to_string())
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn api_token_by_hash(&self, hash: &str) -> Result<Option<StoredToken>> {
        let row =
            sqlx::query("SELECT id, account, name, created_at FROM api_tokens WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(StoredToken {
                id: r.try_get("id")?,
                account: get_parsed(&r, "account", EmailAddress::parse)?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn api_tokens_remove_account(&self, account: &EmailAddress) -> Result<()> {
        sqlx::query("DELETE FROM api_tokens WHERE account = $1")
            .bind(account.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
