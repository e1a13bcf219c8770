use std::fmt;

/// What went wrong in the store, in words the CLI and the panels can show as they are.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A named object does not exist ("domain", "example.com").
    #[error("{0} {1} does not exist")]
    NotFound(&'static str, String),
    /// An object with that name already exists.
    #[error("{0} {1} already exists")]
    Exists(&'static str, String),
    /// The request conflicts with what is stored (e.g. removing a plan still in use).
    #[error("{0}")]
    Conflict(String),
    /// The store cannot be reached or opened.
    #[error("cannot open the store at {url}: {detail}")]
    Unavailable { url: String, detail: String },
    /// A stored value no longer parses: the database was edited by hand or is damaged.
    #[error("the store holds a damaged value: {0}")]
    Corrupt(String),
    #[error("blob store: {0}")]
    Blob(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    pub(crate) fn unavailable(url: &str, e: impl fmt::Display) -> Self {
        // Never echo a password that may be in the URL.
        let shown = match url.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((cred, host)) if cred.contains(':') => {
                    format!(
                        "{scheme}://{}:***@{host}",
                        cred.split(':').next().unwrap_or("")
                    )
                }
                _ => url.to_string(),
            },
            None => url.to_string(),
        };
        StoreError::Unavailable {
            url: shown,
            detail: e.to_string(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound(..))
    }
}

/// True when `e` is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
