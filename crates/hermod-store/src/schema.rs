//! The schema and its migrations, written once for both backends.
//!
//! Each migration is applied in its own transaction and recorded in `schema_version`; a
//! store opened by a newer Hermod is refused by an older one rather than misread.
//! Booleans are BIGINT 0/1 and times BIGINT milliseconds, so both backends read them alike.

use sqlx::Row;

use crate::{Result, Store, StoreError, now_ms};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, V4),
    (5, V5),
    (6, V6),
    (7, V7),
];

const V1: &str = r#"
CREATE TABLE plans (
    name TEXT PRIMARY KEY,
    daily_limit BIGINT NOT NULL
);
CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    local_delivery BIGINT NOT NULL DEFAULT 1,
    default_plan TEXT NOT NULL REFERENCES plans(name),
    filter_mode TEXT NOT NULL DEFAULT 'everyone',
    smime_allowed BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE accounts (
    address TEXT PRIMARY KEY,
    domain TEXT NOT NULL REFERENCES domains(name),
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    plan TEXT NOT NULL REFERENCES plans(name),
    send_limit_override BIGINT,
    quota_bytes BIGINT NOT NULL DEFAULT 0,
    enabled BIGINT NOT NULL DEFAULT 1,
    filter_mode TEXT NOT NULL DEFAULT 'everyone',
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain);
CREATE TABLE aliases (
    address TEXT NOT NULL,
    domain TEXT NOT NULL REFERENCES domains(name),
    target TEXT NOT NULL,
    PRIMARY KEY (address, target)
);
CREATE INDEX aliases_domain ON aliases(domain);
CREATE TABLE send_as (
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    address TEXT NOT NULL,
    PRIMARY KEY (account, address)
);
CREATE TABLE domain_admins (
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    domain TEXT NOT NULL REFERENCES domains(name) ON DELETE CASCADE,
    PRIMARY KEY (account, domain)
);
CREATE TABLE filters (
    id {ID},
    scope TEXT NOT NULL,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    pattern TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (scope, owner, kind, pattern)
);
CREATE TABLE incoming_log (
    id {ID},
    at BIGINT NOT NULL,
    client_ip TEXT NOT NULL,
    helo TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    domain TEXT NOT NULL,
    subject TEXT,
    status TEXT NOT NULL,
    reply TEXT NOT NULL
);
CREATE INDEX incoming_log_domain_at ON incoming_log(domain, at);
CREATE TABLE outgoing (
    id {ID},
    account TEXT NOT NULL,
    at BIGINT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT,
    size BIGINT NOT NULL,
    counted BIGINT NOT NULL
);
CREATE INDEX outgoing_account_at ON outgoing(account, at);
CREATE TABLE outgoing_rcpt (
    message_id BIGINT NOT NULL REFERENCES outgoing(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    host TEXT,
    reply TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, recipient)
);
CREATE TABLE mailboxes (
    id {ID},
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uidvalidity BIGINT NOT NULL,
    uidnext BIGINT NOT NULL DEFAULT 1,
    highest_modseq BIGINT NOT NULL DEFAULT 1,
    special_use TEXT,
    subscribed BIGINT NOT NULL DEFAULT 1,
    UNIQUE (account, name)
);
CREATE TABLE messages (
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    internal_date BIGINT NOT NULL,
    size BIGINT NOT NULL,
    blob_id TEXT NOT NULL,
    envelope TEXT NOT NULL DEFAULT '',
    body_structure TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE TABLE contacts (
    id {ID},
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    certificate TEXT
);
CREATE INDEX contacts_account_email ON contacts(account, email);
CREATE TABLE address_lists (
    id {ID},
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    name TEXT NOT NULL,
    UNIQUE (account, name)
);
CREATE TABLE address_list_members (
    list_id BIGINT NOT NULL REFERENCES address_lists(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    PRIMARY KEY (list_id, email)
);
CREATE TABLE rules (
    id {ID},
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL,
    match_mode TEXT NOT NULL,
    conditions TEXT NOT NULL,
    actions TEXT NOT NULL,
    UNIQUE (owner, name)
);
INSERT INTO plans (name, daily_limit) VALUES ('basic', 300), ('enhanced', 1200);
"#;

/// The outbound queue: one row per message and recipient (see ARCHITECTURE.md, "Queue").
const V2: &str = r#"
CREATE TABLE queue (
    id {ID},
    blob_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    domain TEXT NOT NULL,
    outgoing_id BIGINT,
    created_at BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'queued',
    last_reply TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX queue_next ON queue(status, next_attempt);
CREATE INDEX queue_blob ON queue(blob_id);
"#;

/// IMAP: the parsed-once index columns, expunge history for QRESYNC, modseq lookups.
const V3: &str = r#"
ALTER TABLE messages ADD COLUMN body TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN parts TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN sent_date BIGINT;
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE TABLE expunged (
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid BIGINT NOT NULL,
    modseq BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
"#;

/// The highest UIDVALIDITY of an account's deleted mailboxes, so a re-created one gets a
/// higher one.
const V4: &str = r#"
ALTER TABLE accounts ADD COLUMN uidvalidity_floor BIGINT NOT NULL DEFAULT 0;
"#;

/// Delivery rules: who got an auto-reply from whom, when (one per sender per interval).
const V5: &str = r#"
CREATE TABLE auto_replies (
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (account, sender)
);
"#;

/// Outbound: each domain's DKIM key (selector and PKCS#8 PEM private key).
const V6: &str = r#"
ALTER TABLE domains ADD COLUMN dkim_selector TEXT;
ALTER TABLE domains ADD COLUMN dkim_key TEXT;
"#;

/// Web: sessions and API tokens, shared by every node and kept across restarts. Only hashes
/// of the secrets are stored.
const V7: &str = r#"
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions(account);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_tokens_account ON api_tokens(account);
"#;

pub(crate) async fn migrate(store: &Store) -> Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&store.writer)
    .await?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        .fetch_one(&store.writer)
        .await?
        .try_get("v")?;
    let newest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > newest {
        return Err(StoreError::Conflict(format!(
            "the store's schema is version {current}, newer than this Hermod knows ({newest}); run a newer hermod"
        )));
    }
    for (version, shared) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let ddl = store.dialect.ddl(shared);
        let mut tx = store.writer.begin().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            version,
            backend = store.dialect.name(),
            "store schema migrated"
        );
    }
    Ok(())
}
