//! Block and allow lists at the system, domain and user scopes.

use hermod_model::filter::ListEntry;
use hermod_model::{DomainName, EmailAddress, FilterEntry, FilterKind, FilterPattern, FilterScope};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::is_unique_violation;
use crate::{Result, Store, StoreError, get_parsed, now_ms};

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct FilterQuery {
    /// `None`: every scope.
    pub scope: Option<FilterScope>,
    /// With a domain scope: also the lists of the domain's users ("Include Users Blacklist").
    pub include_users: bool,
    pub kind: Option<FilterKind>,
    /// Only patterns containing this text (the admin's search box).
    pub search: Option<String>,
}

fn scope_parts(scope: &FilterScope) -> (&'static str, String) {
    (scope.kind(), scope.owner())
}

fn entry_from_row(row: &AnyRow) -> Result<FilterEntry> {
    let scope_kind: String = row.try_get("scope")?;
    let owner: String = row.try_get("owner")?;
    let scope = match scope_kind.as_str() {
        "system" => FilterScope::System,
        "domain" => FilterScope::Domain(get_parsed(row, "owner", DomainName::parse)?),
        "user" => FilterScope::User(get_parsed(row, "owner", EmailAddress::parse)?),
        other => {
            return Err(StoreError::Corrupt(format!(
                "filter scope {other:?} for {owner}"
            )));
        }
    };
    Ok(FilterEntry {
        id: row.try_get("id")?,
        scope,
        kind: get_parsed(row, "kind", |s| FilterKind::parse(s).ok_or("unknown kind"))?,
        pattern: get_parsed(row, "pattern", FilterPattern::parse)?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    pub async fn add_filter(
        &self,
        scope: &FilterScope,
        kind: FilterKind,
        pattern: &FilterPattern,
    ) -> Result<FilterEntry> {
        match scope {
            FilterScope::System => {}
            FilterScope::Domain(d) => {
                self.get_domain(d).await?;
            }
            FilterScope::User(u) => {
                self.get_account(u).await?;
            }
        }
        let (scope_kind, owner) = scope_parts(scope);
        let result = sqlx::query(
            "INSERT INTO filters (scope, owner, kind, pattern, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(scope_kind)
        .bind(&owner)
        .bind(kind.as_str())
        .bind(pattern.to_string())
        .bind(now_ms())
        .fetch_one(&self.writer)
        .await;
        let id: i64 = match result {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Exists(
                    "filter entry",
                    format!("{} {pattern} ({scope_kind} {owner})", kind.as_str()),
                ));
            }
            Err(e) => return Err(e.into()),
            Ok(row) => row.try_get("id")?,
        };
        self.get_filter(id).await
    }

    pub async fn get_filter(&self, id: i64) -> Result<FilterEntry> {
        let row = sqlx::query(
            "SELECT id, scope, owner, kind, pattern, created_at FROM filters WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("filter entry", id.to_string()))?;
        entry_from_row(&row)
    }

    pub async fn list_filters(&self, query: &FilterQuery) -> Result<Vec<FilterEntry>> {
        let (scope_kind, owner) = query
            .scope
            .as_ref()
            .map(scope_parts)
            .unwrap_or(("", String::new()));
        let users_of = match (&query.scope, query.include_users) {
            (Some(FilterScope::Domain(d)), true) => format!("%@{d}"),
            _ => String::new(),
        };
        let search = query
            .search
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_lowercase();
        let rows = sqlx::query(
            "SELECT id, scope, owner, kind, pattern, created_at FROM filters \
             WHERE (($1 = '' OR (scope = $1 AND owner = $2)) OR ($3 <> '' AND scope = 'user' AND owner LIKE $3)) \
             AND ($4 = '' OR kind = $4) \
             ORDER BY scope, owner, kind, pattern",
        )
        .bind(scope_kind)
        .bind(owner)
        .bind(users_of)
        .bind(query.kind.map(|k| k.as_str()).unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(entries
            .into_iter()
            .filter(|e| search.is_empty() || e.pattern.mentions(&search))
            .collect())
    }

    /// Removes an entry. With `within`, only if it belongs to that scope, or to a user of
    /// that domain (so a domain admin cannot remove another domain's entries).
    pub async fn remove_filter(
        &self,
        id: i64,
        within: Option<&FilterScope>,
    ) -> Result<FilterEntry> {
        let entry = self.get_filter(id).await?;
        let allowed = match within {
            None => true,
            Some(FilterScope::Domain(d)) => match &entry.scope {
                FilterScope::Domain(e) => e == d,
                FilterScope::User(u) => u.domain() == d,
                FilterScope::System => false,
            },
            Some(scope) => &entry.scope == scope,
        };
        if !allowed {
            return Err(StoreError::NotFound("filter entry", id.to_string()));
        }
        sqlx::query("DELETE FROM filters WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(entry)
    }

    /// The entries of one scope in the form the decision functions take.
    pub async fn list_entries(&self, scope: &FilterScope) -> Result<Vec<ListEntry>> {
        let (scope_kind, owner) = scope_parts(scope);
        let rows = sqlx::query("SELECT kind, pattern FROM filters WHERE scope = $1 AND owner = $2")
            .bind(scope_kind)
            .bind(owner)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    get_parsed(r, "kind", |s| FilterKind::parse(s).ok_or("unknown kind"))?,
                    get_parsed(r, "pattern", FilterPattern::parse)?,
                ))
            })
            .collect()
    }
}
