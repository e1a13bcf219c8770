//! Accounts, aliases and "Send email as" grants.

use hermod_model::{Account, Alias, DEFAULT_FOLDERS, DomainName, EmailAddress, FilterMode};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::error::is_unique_violation;
use crate::{Result, Store, StoreError, get_bool, get_parsed, now_ms, password};

/// What `add_account` needs.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub address: EmailAddress,
    pub display_name: String,
    pub password: String,
    /// `None`: the domain's default plan.
    pub plan: Option<String>,
    pub quota_bytes: u64,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct AccountUpdate {
    pub display_name: Option<String>,
    pub plan: Option<String>,
    /// `Some(None)` removes the override.
    pub send_limit_override: Option<Option<u32>>,
    pub quota_bytes: Option<u64>,
    pub enabled: Option<bool>,
    pub filter_mode: Option<FilterMode>,
}

const ACCOUNT_COLUMNS: &str = "address, display_name, password_hash, plan, send_limit_override, quota_bytes, \
                               enabled, filter_mode, created_at";

fn account_from_row(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        address: get_parsed(row, "address", EmailAddress::parse)?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        plan: row.try_get("plan")?,
        send_limit_override: row
            .try_get::<Option<i64>, _>("send_limit_override")?
            .map(|n| n as u32),
        quota_bytes: row.try_get::<i64, _>("quota_bytes")? as u64,
        enabled: get_bool(row, "enabled")?,
        filter_mode: get_parsed(row, "filter_mode", |s| {
            FilterMode::parse(s).ok_or("unknown filter mode")
        })?,
        created_at: row.try_get("created_at")?,
    })
}

/// A fresh UIDVALIDITY: seconds since the epoch, so a re-created folder never reuses one.
fn new_uidvalidity(offset: i64) -> i64 {
    (now_ms() / 1000 + offset) & 0xFFFF_FFFF
}

impl Store {
    /// Creates an account with its default folders (INBOX, Drafts, Sent Items, Junk, Trash).
    pub async fn add_account(&self, new: NewAccount) -> Result<Account> {
        password::check_strength(&new.password).map_err(StoreError::Conflict)?;
        let domain = self.get_domain(new.address.domain()).await?;
        let plan = new.plan.clone().unwrap_or(domain.default_plan);
        self.get_plan(&plan).await?;
        if self.alias_targets(&new.address).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "{} is an alias; remove the alias first or choose another address",
                new.address
            )));
        }
        let hash = hash_blocking(new.password).await?;
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}, domain) VALUES ($1, $2, $3, $4, NULL, $5, 1, 'everyone', $6, $7)"
        )))
        .bind(new.address.to_string())
        .bind(&new.display_name)
        .bind(&hash)
        .bind(&plan)
        .bind(new.quota_bytes as i64)
        .bind(now_ms())
        .bind(new.address.domain().as_str())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Exists("user", new.address.to_string()));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        for (i, (name, special)) in DEFAULT_FOLDERS.iter().enumerate() {
            sqlx::query(
                "INSERT INTO mailboxes (account, name, uidvalidity, uidnext, highest_modseq, special_use, subscribed) \
                 VALUES ($1, $2, $3, 1, 1, $4, 1)",
            )
            .bind(new.address.to_string())
            .bind(*name)
            .bind(new_uidvalidity(i as i64))
            .bind(special.map(|s| s.attribute().to_string()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.get_account(&new.address).await
    }

    pub async fn get_account(&self, address: &EmailAddress) -> Result<Account> {
        self.find_account(address)
            .await?
            .ok_or_else(|| StoreError::NotFound("user", address.to_string()))
    }

    pub async fn find_account(&self, address: &EmailAddress) -> Result<Option<Account>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE address = $1"
        )))
        .bind(address.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Accounts, optionally of one domain and whose address or name contains `search`.
    pub async fn list_accounts(
        &self,
        domain: Option<&DomainName>,
        search: Option<&str>,
    ) -> Result<Vec<Account>> {
        let like = format!(
            "%{}%",
            search
                .unwrap_or("")
                .to_lowercase()
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE ($1 = '' OR domain = $1) \
             AND (LOWER(address) LIKE $2 ESCAPE '\\' OR LOWER(display_name) LIKE $2 ESCAPE '\\') ORDER BY address"
        )))
        .bind(domain.map(|d| d.to_string()).unwrap_or_default())
        .bind(like)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from_row).collect()
    }

    pub async fn update_account(
        &self,
        address: &EmailAddress,
        update: &AccountUpdate,
    ) -> Result<Account> {
        let current = self.get_account(address).await?;
        if let Some(plan) = &update.plan {
            self.get_plan(plan).await?;
        }
        let limit = update
            .send_limit_override
            .unwrap_or(current.send_limit_override);
        sqlx::query(
            "UPDATE accounts SET display_name = $2, plan = $3, send_limit_override = $4, quota_bytes = $5, \
             enabled = $6, filter_mode = $7 WHERE address = $1",
        )
        .bind(address.to_string())
        .bind(update.display_name.clone().unwrap_or(current.display_name))
        .bind(update.plan.clone().unwrap_or(current.plan))
        .bind(limit.map(i64::from))
        .bind(update.quota_bytes.unwrap_or(current.quota_bytes) as i64)
        .bind(i64::from(update.enabled.unwrap_or(current.enabled)))
        .bind(update.filter_mode.unwrap_or(current.filter_mode).as_str())
        .execute(&self.writer)
        .await?;
        self.get_account(address).await
    }

    pub async fn set_password(&self, address: &EmailAddress, new_password: &str) -> Result<()> {
        password::check_strength(new_password).map_err(StoreError::Conflict)?;
        self.get_account(address).await?;
        let hash = hash_blocking(new_password.to_string()).await?;
        sqlx::query("UPDATE accounts SET password_hash = $2 WHERE address = $1")
            .bind(address.to_string())
            .bind(hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Removes an account with its mailboxes, grants, contacts, lists, rules and filters.
    /// Message bodies stay in the blob store until nothing refers to them.
    pub async fn remove_account(&self, address: &EmailAddress) -> Result<()> {
        self.get_account(address).await?;
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM rules WHERE owner = $1")
            .bind(address.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM filters WHERE scope = 'user' AND owner = $1")
            .bind(address.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM accounts WHERE address = $1")
            .bind(address.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The enabled account whose password this is; `None` for a wrong password, a disabled or
    /// an unknown account (the caller cannot tell which, and must not tell the client).
    pub async fn verify_login(
        &self,
        address: &EmailAddress,
        password: &str,
    ) -> Result<Option<Account>> {
        let Some(account) = self.find_account(address).await? else {
            // Spend the same time as a real check so timing does not reveal which addresses exist.
            let _ = hash_blocking(password.to_string()).await;
            return Ok(None);
        };
        let hash = account.password_hash.clone();
        let password = password.to_string();
        let ok = password::on_hashers(move || password::verify(&password, &hash))
            .await
            .unwrap_or(false);
        Ok((ok && account.enabled).then_some(account))
    }

    /// What an account sent in the rolling 24 hours, and its daily limit: the one check
    /// submission, forwarding and the panels all make.
    pub async fn sent_today(&self, account: &Account) -> Result<(u64, u32)> {
        let limit = self.daily_limit(account).await?;
        let sent = self
            .sent_since(&account.address, crate::day_window_start())
            .await?;
        Ok((sent, limit))
    }

    /// The daily limit that applies to an account: its override, else its plan's.
    pub async fn daily_limit(&self, account: &Account) -> Result<u32> {
        match account.send_limit_override {
            Some(n) => Ok(n),
            None => Ok(self.get_plan(&account.plan).await?.daily_limit),
        }
    }

    // Aliases

    pub async fn add_alias(&self, address: &EmailAddress, target: &EmailAddress) -> Result<()> {
        self.get_domain(address.domain()).await?;
        if self.find_account(address).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "{address} is a user; an alias needs an address of its own"
            )));
        }
        if address == target {
            return Err(StoreError::Conflict(format!(
                "alias {address} cannot point to itself"
            )));
        }
        let result =
            sqlx::query("INSERT INTO aliases (address, domain, target) VALUES ($1, $2, $3)")
                .bind(address.to_string())
                .bind(address.domain().as_str())
                .bind(target.to_string())
                .execute(&self.writer)
                .await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Exists("alias", format!("{address} → {target}")))
            }
            Err(e) => Err(e.into()),
            Ok(_) => Ok(()),
        }
    }

    /// Removes one target of an alias, or the whole alias when `target` is `None`.
    pub async fn remove_alias(
        &self,
        address: &EmailAddress,
        target: Option<&EmailAddress>,
    ) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM aliases WHERE address = $1 AND ($2 = '' OR target = $2)")
                .bind(address.to_string())
                .bind(target.map(|t| t.to_string()).unwrap_or_default())
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("alias", address.to_string()));
        }
        Ok(())
    }

    pub async fn list_aliases(&self, domain: Option<&DomainName>) -> Result<Vec<Alias>> {
        let rows = sqlx::query("SELECT address, target FROM aliases WHERE ($1 = '' OR domain = $1) ORDER BY address, target")
            .bind(domain.map(|d| d.to_string()).unwrap_or_default())
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<Alias> = Vec::new();
        for row in &rows {
            let address = get_parsed(row, "address", EmailAddress::parse)?;
            let target = get_parsed(row, "target", EmailAddress::parse)?;
            match out.last_mut() {
                Some(last) if last.address == address => last.targets.push(target),
                _ => out.push(Alias {
                    address,
                    targets: vec![target],
                }),
            }
        }
        Ok(out)
    }

    /// The targets of an alias, or `None` when the address is not an alias.
    pub async fn alias_targets(&self, address: &EmailAddress) -> Result<Option<Vec<EmailAddress>>> {
        let rows = sqlx::query("SELECT target FROM aliases WHERE address = $1 ORDER BY target")
            .bind(address.to_string())
            .fetch_all(&self.pool)
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.iter()
            .map(|r| get_parsed(r, "target", EmailAddress::parse))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    // Send email as

    pub async fn grant_send_as(
        &self,
        account: &EmailAddress,
        address: &EmailAddress,
    ) -> Result<()> {
        self.get_account(account).await?;
        sqlx::query(
            "INSERT INTO send_as (account, address) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(account.to_string())
        .bind(address.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn revoke_send_as(
        &self,
        account: &EmailAddress,
        address: &EmailAddress,
    ) -> Result<()> {
        let done = sqlx::query("DELETE FROM send_as WHERE account = $1 AND address = $2")
            .bind(account.to_string())
            .bind(address.to_string())
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(
                "send-as grant",
                format!("{account} → {address}"),
            ));
        }
        Ok(())
    }

    pub async fn list_send_as(&self, account: &EmailAddress) -> Result<Vec<EmailAddress>> {
        self.get_account(account).await?;
        let rows = sqlx::query("SELECT address FROM send_as WHERE account = $1 ORDER BY address")
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| get_parsed(r, "address", EmailAddress::parse))
            .collect()
    }

    /// True when `account` may use `from` as its envelope sender: its own address (with or
    /// without a +detail), an alias that delivers to it, or an address granted "Send email as".
    pub async fn may_send_as(&self, account: &EmailAddress, from: &EmailAddress) -> Result<bool> {
        if from == account || from.without_detail().as_ref() == Some(account) {
            return Ok(true);
        }
        let row = sqlx::query(
            "SELECT 1 AS ok FROM aliases WHERE address = $1 AND target = $2 \
             UNION SELECT 1 AS ok FROM send_as WHERE account = $2 AND address = $1",
        )
        .bind(from.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Domains this account administers.
    pub async fn admin_domains(&self, account: &EmailAddress) -> Result<Vec<DomainName>> {
        let rows =
            sqlx::query("SELECT domain FROM domain_admins WHERE account = $1 ORDER BY domain")
                .bind(account.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| get_parsed(r, "domain", DomainName::parse))
            .collect()
    }

    pub async fn set_domain_admin(
        &self,
        account: &EmailAddress,
        domain: &DomainName,
        admin: bool,
    ) -> Result<()> {
        self.get_account(account).await?;
        self.get_domain(domain).await?;
        let sql = if admin {
            "INSERT INTO domain_admins (account, domain) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM domain_admins WHERE account = $1 AND domain = $2"
        };
        sqlx::query(sql)
            .bind(account.to_string())
            .bind(domain.as_str())
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

async fn hash_blocking(password: String) -> Result<String> {
    password::on_hashers(move || password::hash(&password))
        .await
        .ok_or_else(|| {
            StoreError::Conflict("password hashing failed: the hashing threads stopped".into())
        })?
        .map_err(StoreError::Conflict)
}
