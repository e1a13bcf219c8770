//! Hermod's storage: the metadata store and the blob store.
//!
//! * [`Store`] keeps everything but message bodies: domains, accounts, aliases, plans,
//!   permissions, filters, logs, mailboxes and the message index, contacts, rules. It speaks
//!   SQL through sqlx's `Any` driver; what differs between SQLite and PostgreSQL (DDL types,
//!   connection setup, how many writers) is behind the [`Dialect`] trait, with one
//!   implementation per backend. The same test suite runs against both.
//! * [`BlobStore`] keeps message bodies, immutable and content-addressed. [`FsBlobStore`]
//!   returns from a write only after the file and its directory are fsynced.
//!
//! Invariants: this crate knows nothing of SMTP, IMAP or HTTP, and nothing of settings files;
//! it takes a URL and a directory. Inputs arrive already validated as model types
//! (`EmailAddress`, `DomainName`), so no SQL is ever built from user text: every value is a
//! bound parameter.

mod blob;
mod dialect;
mod error;
pub mod password;
mod schema;

mod accounts;
mod delivery;
mod domains;
mod filters;
mod logs;
mod mailboxes;
mod messages;
mod queue;
mod rules;
mod web;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub use accounts::{AccountUpdate, NewAccount};
pub use blob::{BlobId, BlobStore, FsBlobStore};
pub use delivery::{Commit, Derived, LocalCopy, QueueEntry};
pub use dialect::{Dialect, Postgres, Sqlite};
pub use domains::DomainUpdate;
pub use error::StoreError;
pub use filters::FilterQuery;
pub use hermod_model::IndexData;
pub use logs::{IncomingQuery, NewOutgoing, day_window_start};
pub use messages::{
    Changes, FlagOp, FlagResult, MailboxCounts, MessageState, NewMessage, apply_flags,
    normalise_flag,
};
pub use rules::{NewRule, RuleOwner};
pub use web::StoredToken;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The metadata store.
#[derive(Clone)]
pub struct Store {
    /// Reads, and writes on backends with many writers.
    pool: AnyPool,
    /// Writes. SQLite allows one writer at a time, so its writer pool has one connection and
    /// writers queue in the pool instead of failing with SQLITE_BUSY.
    writer: AnyPool,
    dialect: &'static dyn Dialect,
    /// Wakes this node's sessions when an account's mail changes.
    hub: messages::Hub,
}

/// Milliseconds since the Unix epoch, the unit of every time in the store.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = dialect::for_url(url)?;
        dialect.prepare(url)?;
        let connect_url = dialect.connect_url(url);
        let setup = dialect.connection_setup();
        let options = || {
            AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        for statement in setup {
                            sqlx::query(*statement).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                })
        };
        let pool = options()
            .max_connections(max_connections.max(2))
            .connect(&connect_url)
            .await
            .map_err(|e| StoreError::unavailable(url, e))?;
        let writer = match dialect.max_writers() {
            Some(n) => options()
                .max_connections(n)
                .connect(&connect_url)
                .await
                .map_err(|e| StoreError::unavailable(url, e))?,
            None => pool.clone(),
        };
        let store = Store {
            pool,
            writer,
            dialect,
            hub: messages::Hub::default(),
        };
        schema::migrate(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> &'static str {
        self.dialect.name()
    }

    /// Whether other nodes may change this store too (PostgreSQL), so sessions must also
    /// re-read it now and then; with SQLite every change arrives on the change feed.
    pub fn multi_node(&self) -> bool {
        self.dialect.multi_node()
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// Reads a column that holds 0/1 as a boolean.
fn get_bool(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

/// Reads a text column that holds a model value parsed with `parse`.
fn get_parsed<T, E: std::fmt::Display>(
    row: &AnyRow,
    col: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T> {
    let text: String = row.try_get(col)?;
    parse(&text).map_err(|e| StoreError::Corrupt(format!("column {col} holds {text:?}: {e}")))
}

/// Helpers for test suites that run against PostgreSQL. Not for production use.
#[doc(hidden)]
pub struct PgAdmin(AnyPool);

#[doc(hidden)]
impl PgAdmin {
    pub async fn create_schema(&self, name: &str) -> Result<()> {
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::Conflict(format!("bad schema name {name:?}")));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {name}"
        )))
        .execute(&self.0)
        .await?;
        Ok(())
    }
}

#[doc(hidden)]
impl Store {
    pub async fn open_raw_for_tests(url: &str) -> Result<PgAdmin> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::unavailable(url, e))?;
        Ok(PgAdmin(pool))
    }

    pub async fn migrate_again_for_tests(&self) -> Result<()> {
        schema::migrate(self).await
    }
}
