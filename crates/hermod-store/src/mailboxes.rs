//! Mailboxes and contacts. The IMAP issue adds the message index operations here.

use hermod_model::{Contact, EmailAddress, Mailbox, SpecialUse};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, get_bool, get_parsed};

fn mailbox_from_row(row: &AnyRow) -> Result<Mailbox> {
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

impl Store {
    pub async fn list_mailboxes(&self, account: &EmailAddress) -> Result<Vec<Mailbox>> {
        let rows = sqlx::query(
            "SELECT id, account, name, uidvalidity, uidnext, highest_modseq, special_use, subscribed \
             FROM mailboxes WHERE account = $1 ORDER BY CASE WHEN name = 'INBOX' THEN 0 ELSE 1 END, name",
        )
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
