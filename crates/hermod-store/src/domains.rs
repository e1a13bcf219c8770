//! Domains and plans.

use hermod_model::{Domain, DomainName, FilterMode, Plan, valid_plan_name};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::error::is_unique_violation;
use crate::{Result, Store, StoreError, get_bool, get_parsed, now_ms};

/// Changes to a domain; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct DomainUpdate {
    pub local_delivery: Option<bool>,
    pub default_plan: Option<String>,
    pub filter_mode: Option<FilterMode>,
    pub smime_allowed: Option<bool>,
}

fn domain_from_row(row: &AnyRow) -> Result<Domain> {
    Ok(Domain {
        name: get_parsed(row, "name", DomainName::parse)?,
        local_delivery: get_bool(row, "local_delivery")?,
        default_plan: row.try_get("default_plan")?,
        filter_mode: get_parsed(row, "filter_mode", |s| {
            FilterMode::parse(s).ok_or("unknown filter mode")
        })?,
        smime_allowed: get_bool(row, "smime_allowed")?,
        created_at: row.try_get("created_at")?,
    })
}

const DOMAIN_COLUMNS: &str =
    "name, local_delivery, default_plan, filter_mode, smime_allowed, created_at";

impl Store {
    pub async fn list_plans(&self) -> Result<Vec<Plan>> {
        let rows = sqlx::query("SELECT name, daily_limit FROM plans ORDER BY daily_limit, name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Plan {
                    name: r.try_get("name")?,
                    daily_limit: r.try_get::<i64, _>("daily_limit")? as u32,
                })
            })
            .collect()
    }

    pub async fn get_plan(&self, name: &str) -> Result<Plan> {
        let row = sqlx::query("SELECT name, daily_limit FROM plans WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound("plan", name.to_string()))?;
        Ok(Plan {
            name: row.try_get("name")?,
            daily_limit: row.try_get::<i64, _>("daily_limit")? as u32,
        })
    }

    /// Creates a plan or changes its daily limit.
    pub async fn set_plan(&self, name: &str, daily_limit: u32) -> Result<Plan> {
        if !valid_plan_name(name) {
            return Err(StoreError::Conflict(format!(
                "{name:?} is not a valid plan name: use lower-case letters, digits, '-' and '_'"
            )));
        }
        sqlx::query(
            "INSERT INTO plans (name, daily_limit) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET daily_limit = excluded.daily_limit",
        )
        .bind(name)
        .bind(i64::from(daily_limit))
        .execute(&self.writer)
        .await?;
        self.get_plan(name).await
    }

    pub async fn add_domain(
        &self,
        name: &DomainName,
        local_delivery: bool,
        default_plan: &str,
    ) -> Result<Domain> {
        self.get_plan(default_plan).await?;
        let result = sqlx::query(
            "INSERT INTO domains (name, local_delivery, default_plan, filter_mode, smime_allowed, created_at) \
             VALUES ($1, $2, $3, 'everyone', 0, $4)",
        )
        .bind(name.as_str())
        .bind(i64::from(local_delivery))
        .bind(default_plan)
        .bind(now_ms())
        .execute(&self.writer)
        .await;
        match result {
            Err(e) if is_unique_violation(&e) => {
                Err(StoreError::Exists("domain", name.to_string()))
            }
            Err(e) => Err(e.into()),
            Ok(_) => self.get_domain(name).await,
        }
    }

    pub async fn get_domain(&self, name: &DomainName) -> Result<Domain> {
        self.find_domain(name)
            .await?
            .ok_or_else(|| StoreError::NotFound("domain", name.to_string()))
    }

    /// Sets a domain's DKIM selector and private key (PKCS#8 PEM).
    pub async fn set_domain_dkim(
        &self,
        name: &DomainName,
        selector: &str,
        key_pem: &str,
    ) -> Result<()> {
        let done =
            sqlx::query("UPDATE domains SET dkim_selector = $1, dkim_key = $2 WHERE name = $3")
                .bind(selector)
                .bind(key_pem)
                .bind(name.as_str())
                .execute(&self.writer)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("domain", name.to_string()));
        }
        Ok(())
    }

    /// A domain's DKIM selector and private key, when it has one.
    pub async fn domain_dkim(&self, name: &DomainName) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT dkim_selector, dkim_key FROM domains WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let selector: Option<String> = row.try_get("dkim_selector")?;
        let key: Option<String> = row.try_get("dkim_key")?;
        Ok(selector.zip(key))
    }

    /// The domain if it is hosted here.
    pub async fn find_domain(&self, name: &DomainName) -> Result<Option<Domain>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DOMAIN_COLUMNS} FROM domains WHERE name = $1"
        )))
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(domain_from_row).transpose()
    }

    pub async fn list_domains(&self) -> Result<Vec<Domain>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(domain_from_row).collect()
    }

    pub async fn update_domain(&self, name: &DomainName, update: &DomainUpdate) -> Result<Domain> {
        let current = self.get_domain(name).await?;
        if let Some(plan) = &update.default_plan {
            self.get_plan(plan).await?;
        }
        sqlx::query(
            "UPDATE domains SET local_delivery = $2, default_plan = $3, filter_mode = $4, smime_allowed = $5 \
             WHERE name = $1",
        )
        .bind(name.as_str())
        .bind(i64::from(update.local_delivery.unwrap_or(current.local_delivery)))
        .bind(update.default_plan.clone().unwrap_or(current.default_plan))
        .bind(update.filter_mode.unwrap_or(current.filter_mode).as_str())
        .bind(i64::from(update.smime_allowed.unwrap_or(current.smime_allowed)))
        .execute(&self.writer)
        .await?;
        self.get_domain(name).await
    }

    /// Removes a domain. Refused while it still has accounts, unless `with_accounts`, which
    /// removes them (and their mailboxes, rules and lists) in the same transaction.
    pub async fn remove_domain(&self, name: &DomainName, with_accounts: bool) -> Result<()> {
        self.get_domain(name).await?;
        let mut tx = self.writer.begin().await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE domain = $1")
            .bind(name.as_str())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count > 0 && !with_accounts {
            return Err(StoreError::Conflict(format!(
                "domain {name} still has {count} account(s); remove them first, or pass --with-accounts"
            )));
        }
        let pattern = format!("%@{name}");
        for sql in [
            "DELETE FROM rules WHERE owner = $1 OR owner LIKE $2",
            "DELETE FROM filters WHERE (scope = 'domain' AND owner = $1) OR (scope = 'user' AND owner LIKE $2)",
            "DELETE FROM accounts WHERE domain = $1 AND address LIKE $2",
            "DELETE FROM aliases WHERE domain = $1 AND address LIKE $2",
        ] {
            sqlx::query(sql)
                .bind(name.as_str())
                .bind(&pattern)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM domains WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
