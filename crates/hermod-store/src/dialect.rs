//! What differs between the metadata store's backends.

use crate::{Result, StoreError};

/// One SQL backend: how to connect to it and how its DDL is spelt. Queries themselves are
/// written once, with `$1` placeholders, which both SQLite and PostgreSQL accept.
pub trait Dialect: Send + Sync {
    fn name(&self) -> &'static str;
    /// Makes what must exist before connecting (SQLite: the database's directory).
    fn prepare(&self, url: &str) -> Result<()>;
    /// The URL handed to the driver.
    fn connect_url(&self, url: &str) -> String;
    /// Statements run on every new connection.
    fn connection_setup(&self) -> &'static [&'static str];
    /// `Some(n)` when the backend allows only `n` concurrent writers.
    fn max_writers(&self) -> Option<u32>;
    /// Whether several nodes can share this store (then changes made elsewhere must be polled
    /// for; an embedded store has only this node's changes, which the change feed carries).
    fn multi_node(&self) -> bool {
        self.max_writers().is_none()
    }
    /// Rewrites the shared DDL for this backend (`{ID}` is an auto-increment primary key).
    fn ddl(&self, shared: &str) -> String;
    /// An aggregate joining the text `expr` of every row with newlines, in `order` order:
    /// one value for a whole mailbox instead of a row each (SELECT of large mailboxes).
    fn lines_agg(&self, expr: &str, order: &str) -> String;
}

/// SQLite in WAL mode, the embedded default.
pub struct Sqlite;
/// PostgreSQL, for several nodes sharing one database.
pub struct Postgres;

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn prepare(&self, url: &str) -> Result<()> {
        let path = sqlite_path(url);
        if let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::unavailable(url, format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        Ok(())
    }
    fn connect_url(&self, url: &str) -> String {
        if url.contains('?') {
            url.to_string()
        } else {
            format!("{url}?mode=rwc")
        }
    }
    fn connection_setup(&self) -> &'static [&'static str] {
        &[
            "PRAGMA journal_mode = WAL",
            // FULL: a commit is on disk when it returns, so "250" survives power loss too.
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 10000",
        ]
    }
    fn max_writers(&self) -> Option<u32> {
        Some(1)
    }
    fn lines_agg(&self, expr: &str, order: &str) -> String {
        format!("group_concat({expr}, char(10) ORDER BY {order})")
    }
    fn ddl(&self, shared: &str) -> String {
        shared.replace("{ID}", "INTEGER PRIMARY KEY AUTOINCREMENT")
    }
}

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn prepare(&self, _url: &str) -> Result<()> {
        Ok(())
    }
    fn connect_url(&self, url: &str) -> String {
        url.to_string()
    }
    fn connection_setup(&self) -> &'static [&'static str] {
        &["SET client_min_messages = warning"]
    }
    fn max_writers(&self) -> Option<u32> {
        None
    }
    fn lines_agg(&self, expr: &str, order: &str) -> String {
        format!("string_agg({expr}, chr(10) ORDER BY {order})")
    }
    fn ddl(&self, shared: &str) -> String {
        shared.replace("{ID}", "BIGSERIAL PRIMARY KEY")
    }
}

fn sqlite_path(url: &str) -> &str {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split('?').next().unwrap_or(rest)
}

pub(crate) fn for_url(url: &str) -> Result<&'static dyn Dialect> {
    if url.starts_with("sqlite:") {
        Ok(&Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(&Postgres)
    } else {
        Err(StoreError::Unavailable {
            url: url.to_string(),
            detail: "unknown store; use sqlite://PATH or postgres://USER@HOST/DB in store.url"
                .into(),
        })
    }
}
