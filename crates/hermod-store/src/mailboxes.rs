//! Mailbox listing and contacts. The message index is in `messages.rs`.

use hermod_model::{Contact, EmailAddress, Mailbox};
use sqlx::{AssertSqlSafe, Row};

use crate::messages::{MAILBOX_COLUMNS, mailbox_from_row};
use crate::{Result, Store, get_parsed};

impl Store {
    pub async fn list_mailboxes(&self, account: &EmailAddress) -> Result<Vec<Mailbox>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE account = $1 \
             ORDER BY CASE WHEN name = 'INBOX' THEN 0 ELSE 1 END, name"
        )))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    pub async fn add_contact(
        &self,
        account: &EmailAddress,
        name: &str,
        email: &EmailAddress,
    ) -> Result<Contact> {
        self.get_account(account).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO contacts (account, name, email) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(account.to_string())
        .bind(name)
        .bind(email.to_string())
        .fetch_one(&self.writer)
        .await?
        .try_get("id")?;
        Ok(Contact {
            id,
            account: account.clone(),
            name: name.to_string(),
            email: email.clone(),
            certificate: None,
        })
    }

    pub async fn list_contacts(&self, account: &EmailAddress) -> Result<Vec<Contact>> {
        let rows = sqlx::query("SELECT id, name, email, certificate FROM contacts WHERE account = $1 ORDER BY name, email")
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Contact {
                    id: r.try_get("id")?,
                    account: account.clone(),
                    name: r.try_get("name")?,
                    email: get_parsed(r, "email", EmailAddress::parse)?,
                    certificate: r.try_get("certificate")?,
                })
            })
            .collect()
    }

    /// True when `email` is in `account`'s address book.
    pub async fn is_contact(&self, account: &EmailAddress, email: &EmailAddress) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS ok FROM contacts WHERE account = $1 AND email = $2")
                .bind(account.to_string())
                .bind(email.to_string())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }
}
