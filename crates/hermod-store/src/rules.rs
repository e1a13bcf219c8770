//! Delivery rules, per user and per domain, in their run order; and the memory of which
//! sender got an auto-reply when (RFC 3834: at most one per sender per interval).

use hermod_model::rules::{Action, Condition, MatchMode, Rule};
use hermod_model::{DomainName, EmailAddress};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::is_unique_violation;
use crate::{Result, Store, StoreError};

/// Whose rules: a user's, or a domain's (run before each of its users' rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOwner {
    User(EmailAddress),
    Domain(DomainName),
}

impl RuleOwner {
    /// An address is a user; anything else must be a domain name.
    pub fn parse(s: &str) -> std::result::Result<RuleOwner, String> {
        if s.contains('@') {
            EmailAddress::parse(s)
                .map(RuleOwner::User)
                .map_err(|e| e.to_string())
        } else {
            DomainName::parse(s)
                .map(RuleOwner::Domain)
                .map_err(|e| e.to_string())
        }
    }

    fn key(&self) -> String {
        match self {
            RuleOwner::User(a) => a.to_string(),
            RuleOwner::Domain(d) => d.to_string(),
        }
    }
}

impl std::fmt::Display for RuleOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// A rule as created: new rules start disabled (the FAQ: "to prevent unfinished rules from
/// running") and go last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub name: String,
    pub match_mode: MatchMode,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

const RULE_COLUMNS: &str = "id, owner, name, enabled, position, match_mode, conditions, actions";

fn rule_from_row(row: &AnyRow) -> Result<Rule> {
    let json = |col: &str| -> Result<String> { Ok(row.try_get::<String, _>(col)?) };
    let corrupt =
        |col: &str, e: serde_json::Error| StoreError::Corrupt(format!("rule column {col}: {e}"));
    let mode: String = row.try_get("match_mode")?;
    Ok(Rule {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        name: row.try_get("name")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        position: row.try_get::<i64, _>("position")? as i32,
        match_mode: if mode == "any" {
            MatchMode::Any
        } else {
            MatchMode::All
        },
        conditions: serde_json::from_str(&json("conditions")?)
            .map_err(|e| corrupt("conditions", e))?,
        actions: serde_json::from_str(&json("actions")?).map_err(|e| corrupt("actions", e))?,
    })
}

fn mode_text(m: &MatchMode) -> &'static str {
    match m {
        MatchMode::All => "all",
        MatchMode::Any => "any",
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Conflict(format!("cannot encode a rule: {e}")))
}

impl Store {
    async fn check_owner(&self, owner: &RuleOwner) -> Result<()> {
        match owner {
            RuleOwner::User(a) => self.get_account(a).await.map(|_| ()),
            RuleOwner::Domain(d) => self.get_domain(d).await.map(|_| ()),
        }
    }

    /// Adds a rule at the end of the owner's list, disabled.
    pub async fn add_rule(&self, owner: &RuleOwner, new: NewRule) -> Result<Rule> {
        self.check_owner(owner).await?;
        let mut tx = self.writer.begin().await?;
        let next: i64 =
            sqlx::query("SELECT COALESCE(MAX(position), 0) + 1 AS p FROM rules WHERE owner = $1")
                .bind(owner.key())
                .fetch_one(&mut *tx)
                .await?
                .try_get("p")?;
        let inserted = sqlx::query(
            "INSERT INTO rules (owner, name, enabled, position, match_mode, conditions, actions) \
             VALUES ($1, $2, 0, $3, $4, $5, $6)",
        )
        .bind(owner.key())
        .bind(&new.name)
        .bind(next)
        .bind(mode_text(&new.match_mode))
        .bind(to_json(&new.conditions)?)
        .bind(to_json(&new.actions)?)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Exists(
                    "rule",
                    format!("{} of {owner}", new.name),
                ));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        tx.commit().await?;
        self.get_rule(owner, &new.name).await
    }

    /// An owner's rules in run order.
    pub async fn list_rules(&self, owner: &RuleOwner) -> Result<Vec<Rule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE owner = $1 ORDER BY position, id"
        )))
        .bind(owner.key())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    pub async fn get_rule(&self, owner: &RuleOwner, name: &str) -> Result<Rule> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE owner = $1 AND name = $2"
        )))
        .bind(owner.key())
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("rule", format!("{name} of {owner}")))?;
        rule_from_row(&row)
    }

    /// Replaces a rule's match mode, conditions and actions (the panel's Save Rule).
    pub async fn update_rule(&self, owner: &RuleOwner, name: &str, rule: &NewRule) -> Result<Rule> {
        let done = sqlx::query(
            "UPDATE rules SET name = $1, match_mode = $2, conditions = $3, actions = $4 WHERE owner = $5 AND name = $6",
        )
        .bind(&rule.name)
        .bind(mode_text(&rule.match_mode))
        .bind(to_json(&rule.conditions)?)
        .bind(to_json(&rule.actions)?)
        .bind(owner.key())
        .bind(name)
        .execute(&self.writer)
        .await;
        match done {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Exists(
                "rule",
                format!("{} of {owner}", rule.name),
            )),
            Err(e) => Err(e.into()),
            Ok(r) if r.rows_affected() == 0 => {
                Err(StoreError::NotFound("rule", format!("{name} of {owner}")))
            }
            Ok(_) => self.get_rule(owner, &rule.name).await,
        }
    }

    pub async fn set_rule_enabled(
        &self,
        owner: &RuleOwner,
        name: &str,
        enabled: bool,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE rules SET enabled = $1 WHERE owner = $2 AND name = $3")
            .bind(i64::from(enabled))
            .bind(owner.key())
            .bind(name)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("rule", format!("{name} of {owner}")));
        }
        Ok(())
    }

    /// Moves a rule to `position` (1 = runs first); the others keep their order.
    pub async fn move_rule(&self, owner: &RuleOwner, name: &str, position: usize) -> Result<()> {
        let rules = self.list_rules(owner).await?;
        let Some(from) = rules.iter().position(|r| r.name == name) else {
            return Err(StoreError::NotFound("rule", format!("{name} of {owner}")));
        };
        let mut order: Vec<i64> = rules.iter().map(|r| r.id).collect();
        let id = order.remove(from);
        order.insert(position.clamp(1, rules.len()) - 1, id);
        let mut tx = self.writer.begin().await?;
        for (i, id) in order.iter().enumerate() {
            sqlx::query("UPDATE rules SET position = $1 WHERE id = $2")
                .bind(i as i64 + 1)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_rule(&self, owner: &RuleOwner, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM rules WHERE owner = $1 AND name = $2")
            .bind(owner.key())
            .bind(name)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("rule", format!("{name} of {owner}")));
        }
        Ok(())
    }

    /// Imports rules (`hermod rule import`): each replaces the owner's rule of the same name
    /// or is added at the end, keeping its enabled state. All or nothing.
    pub async fn import_rules(&self, owner: &RuleOwner, rules: &[Rule]) -> Result<usize> {
        self.check_owner(owner).await?;
        let mut tx = self.writer.begin().await?;
        for r in rules {
            sqlx::query("DELETE FROM rules WHERE owner = $1 AND name = $2")
                .bind(owner.key())
                .bind(&r.name)
                .execute(&mut *tx)
                .await?;
            let next: i64 = sqlx::query(
                "SELECT COALESCE(MAX(position), 0) + 1 AS p FROM rules WHERE owner = $1",
            )
            .bind(owner.key())
            .fetch_one(&mut *tx)
            .await?
            .try_get("p")?;
            sqlx::query(
                "INSERT INTO rules (owner, name, enabled, position, match_mode, conditions, actions) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(owner.key())
            .bind(&r.name)
            .bind(i64::from(r.enabled))
            .bind(next)
            .bind(mode_text(&r.match_mode))
            .bind(to_json(&r.conditions)?)
            .bind(to_json(&r.actions)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rules.len())
    }

    /// The rules a delivery to `account` runs: the domain's, then the user's; enabled only.
    pub async fn rules_for_delivery(&self, account: &EmailAddress) -> Result<Vec<Rule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM rules WHERE (owner = $1 OR owner = $2) AND enabled = 1 \
             ORDER BY CASE WHEN owner = $2 THEN 0 ELSE 1 END, position, id"
        )))
        .bind(account.to_string())
        .bind(account.domain().as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// When `account` last auto-replied to `sender` (milliseconds), if ever.
    pub async fn last_auto_reply(
        &self,
        account: &EmailAddress,
        sender: &str,
    ) -> Result<Option<i64>> {
        let row =
            sqlx::query("SELECT sent_at FROM auto_replies WHERE account = $1 AND sender = $2")
                .bind(account.to_string())
                .bind(sender)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get("sent_at")).transpose()?)
    }
}
