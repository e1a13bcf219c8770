//! Hermod's settings.
//!
//! Every setting is defined once, in the `settings!` table below: its key, its type, its
//! default and one line of documentation. `hermod config show`, `hermod config check`, the
//! docs (docs/settings.md is generated from `Settings::reference()`) and the panels all read
//! that table.
//!
//! Loading is two stages, as ripgrep and Postfix do it: what the operator wrote (a TOML
//! document with spans, so every problem can name its line), then the checked, typed
//! `Settings`.
//!
//! Invariant: this crate knows nothing of sockets, stores or sessions; it only turns text
//! into typed values and back.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hermod_model::ReplyProfile;
use toml::de::{DeTable, DeValue};

mod value;
pub use value::SettingValue;

/// One setting's definition.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub key: &'static str,
    pub kind: &'static str,
    pub doc: &'static str,
}

macro_rules! settings {
    ($( $(#[doc = $doc:literal])+ $field:ident : $ty:ty = $default:expr => $key:literal; )*) => {
        /// The checked, typed settings.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $field: $ty, )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { $( $field: $default, )* }
            }
        }

        /// Every setting's definition, in the order the reference lists them.
        pub const DEFS: &[Def] = &[
            $( Def { key: $key, kind: <$ty as SettingValue>::KIND, doc: concat!($($doc),+) }, )*
        ];

        impl Settings {
            /// Sets one key from its TOML value. `Ok(false)` when no setting has that key.
            fn set(&mut self, key: &str, value: &DeValue<'_>) -> Result<bool, String> {
                match key {
                    $( $key => { self.$field = <$ty as SettingValue>::from_toml(value)?; Ok(true) } )*
                    _ => Ok(false),
                }
            }

            /// Every setting with its current value, as TOML text.
            pub fn entries(&self) -> Vec<(Def, String)> {
                let mut out = Vec::with_capacity(DEFS.len());
                let mut i = 0;
                $(
                    out.push((DEFS[i], SettingValue::to_toml(&self.$field)));
                    i += 1;
                )*
                let _ = i;
                out
            }
        }
    };
}

settings! {
    /// The name this server uses in greetings, Received headers and its self-signed certificate.
    hostname: String = default_hostname() => "hostname";
    /// Where Hermod keeps its database, blobs, spool and generated certificate.
    data_dir: PathBuf = PathBuf::from("./hermod-data") => "data_dir";
    /// MX listeners: mail from the internet for hosted domains, and submission after AUTH.
    listen_smtp: Vec<SocketAddr> = addrs(&["0.0.0.0:25"]) => "listen.smtp";
    /// Submission listeners with STARTTLS; AUTH is offered only after TLS.
    listen_submission: Vec<SocketAddr> = addrs(&["0.0.0.0:587", "0.0.0.0:26"]) => "listen.submission";
    /// Submission listeners with implicit TLS.
    listen_submissions: Vec<SocketAddr> = addrs(&["0.0.0.0:465"]) => "listen.submissions";
    /// IMAP listeners with STARTTLS; LOGIN is refused before TLS.
    listen_imap: Vec<SocketAddr> = addrs(&["0.0.0.0:143"]) => "listen.imap";
    /// IMAP listeners with implicit TLS.
    listen_imaps: Vec<SocketAddr> = addrs(&["0.0.0.0:993"]) => "listen.imaps";
    /// Web listeners: panels, webmail, REST API.
    listen_http: Vec<SocketAddr> = addrs(&["0.0.0.0:8080"]) => "listen.http";
    /// Web listeners with TLS (the certificate of tls.cert); none by default.
    listen_https: Vec<SocketAddr> = Vec::new() => "listen.https";
    /// Metadata store: sqlite://PATH or postgres://USER@HOST/DB; empty means sqlite in data_dir.
    store_url: String = String::new() => "store.url";
    /// Blob store: a directory; empty means data_dir/blobs.
    store_blobs: String = String::new() => "store.blobs";
    /// Most connections the metadata store's pool opens.
    store_max_connections: u32 = 16 => "store.max_connections";
    /// PEM certificate chain; when absent with tls.key, a self-signed pair is made on first start.
    tls_cert: Option<PathBuf> = None => "tls.cert";
    /// PEM private key for tls.cert.
    tls_key: Option<PathBuf> = None => "tls.key";
    /// Most recipients of one message; the next RCPT is refused.
    limits_max_recipients: u32 = 100 => "limits.max_recipients";
    /// Largest message in bytes, announced as SIZE and enforced during DATA.
    limits_max_message_size: u64 = 52_428_800 => "limits.max_message_size";
    /// Count each recipient toward the daily send limit instead of each message.
    limits_count_per_recipient: bool = false => "limits.count_per_recipient";
    /// Quota of new accounts in bytes (0 = unlimited).
    limits_default_quota: u64 = 0 => "limits.default_quota";
    /// Seconds without a command before the SMTP server replies "timeout (#4.4.2)" and closes.
    smtp_command_timeout: Duration = Duration::from_secs(20) => "smtp.command_timeout";
    /// SMTP replies: "faq" (the FAQ's texts, qmail style) or "rfc" (RFC 5321 codes).
    smtp_reply_profile: ReplyProfile = ReplyProfile::Faq => "smtp.reply_profile";
    /// Messages with more Received headers than this are refused as a mail loop.
    smtp_max_received: u32 = 50 => "smtp.max_received";
    /// Refuse, at the end of DATA, mail that fails DMARC when its domain publishes p=reject.
    smtp_dmarc_reject: bool = false => "smtp.dmarc_reject";
    /// Idle time after which an IMAP client that has logged in is logged out (RFC 9051: at least 30 minutes).
    imap_timeout: Duration = Duration::from_secs(1800) => "imap.timeout";
    /// Idle time after which an IMAP client that has not logged in is disconnected.
    imap_login_timeout: Duration = Duration::from_secs(60) => "imap.login_timeout";
    /// Extra trusted CA certificates (PEM) for verified outbound TLS (MTA-STS), besides the system's.
    delivery_tls_ca_file: Option<PathBuf> = None => "delivery.tls_ca_file";
    /// Keep outbound mail queued without sending it (maintenance); `hermod queue list` shows it.
    delivery_hold: bool = false => "delivery.hold";
    /// DNS servers for MX, SPF, DKIM and DMARC lookups (ip:port); empty uses /etc/resolv.conf.
    delivery_nameservers: Vec<SocketAddr> = Vec::new() => "delivery.nameservers";
    /// The port remote mail servers listen on (25; tests point it at loopback receivers).
    delivery_remote_port: u32 = 25 => "delivery.remote_port";
    /// Seconds before the first retry of a temporarily failed delivery; each retry doubles it.
    delivery_retry_initial: Duration = Duration::from_secs(300) => "delivery.retry_initial";
    /// Longest wait between two delivery attempts, in seconds.
    delivery_retry_max: Duration = Duration::from_secs(4 * 3600) => "delivery.retry_max";
    /// Seconds a message keeps being retried before it bounces as undeliverable (5 days).
    delivery_max_age: Duration = Duration::from_secs(5 * 86_400) => "delivery.max_age";
    /// Most simultaneous connections to one destination domain.
    delivery_per_domain: u32 = 4 => "delivery.per_domain";
    /// Most simultaneous outbound deliveries in all.
    delivery_concurrency: u32 = 32 => "delivery.concurrency";
    /// Seconds to wait for a remote server to connect or answer a command.
    delivery_timeout: Duration = Duration::from_secs(300) => "delivery.timeout";
    /// Failed logins from one IP or for one account before further attempts are refused.
    auth_max_failures: u32 = 5 => "auth.max_failures";
    /// Seconds a blocked IP or account stays blocked after too many failures.
    auth_lockout: Duration = Duration::from_secs(300) => "auth.lockout";
    /// Accounts (full addresses) that act as the operator in the web app: every domain, plans,
    /// the system block list.
    web_operators: Vec<String> = Vec::new() => "web.operators";
    /// Mark the web session cookie Secure (set when the panels are served over HTTPS or behind
    /// a TLS proxy).
    web_secure_cookies: bool = false => "web.secure_cookies";
    /// Log filter (tracing's syntax), e.g. "info" or "hermod=debug".
    log_level: String = "info".to_string() => "log.level";
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter()
        .map(|s| s.parse().expect("built-in listener addresses are valid"))
        .collect()
}

fn default_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| s.contains('.'))
        .unwrap_or_else(|| "localhost.localdomain".to_string())
}

/// One problem found in a settings file, with the line it is on (1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {cause}; check the path given to --config")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Walks a parsed TOML table and yields each leaf (non-table) value with its dotted key.
fn leaves<'a, 'i>(
    table: &'a DeTable<'i>,
    prefix: &str,
    out: &mut Vec<(
        String,
        &'a toml::Spanned<DeValue<'i>>,
        std::ops::Range<usize>,
    )>,
) {
    for (key, value) in table.iter() {
        let full = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        match value.get_ref() {
            DeValue::Table(inner) if !DEFS.iter().any(|d| d.key == full) => {
                leaves(inner, &full, out)
            }
            _ => out.push((full, value, key.span())),
        }
    }
}

/// The known key closest to an unknown one, for "did you mean" hints.
fn closest(key: &str) -> Option<&'static str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push(
                    (prev[j] + usize::from(ca != *cb))
                        .min(prev[j + 1] + 1)
                        .min(cur[j] + 1),
                );
            }
            prev = cur;
        }
        prev[b.len()]
    }
    DEFS.iter()
        .map(|d| (distance(key, d.key), d.key))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

impl Settings {
    /// Parses settings text; every problem is reported, each with its line.
    pub fn parse(text: &str) -> Result<Settings, Vec<Problem>> {
        let doc = DeTable::parse(text).map_err(|e| {
            vec![Problem {
                line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
                message: format!("not valid TOML: {}", e.message()),
            }]
        })?;
        let mut flat = Vec::new();
        leaves(doc.get_ref(), "", &mut flat);
        let mut settings = Settings::default();
        let mut problems = Vec::new();
        for (key, value, key_span) in flat {
            let line = line_of(text, key_span.start);
            match settings.set(&key, value.get_ref()) {
                Ok(true) => {}
                Ok(false) => {
                    let hint = closest(&key)
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default();
                    problems.push(Problem {
                        line,
                        message: format!("unknown setting {key}{hint}"),
                    });
                }
                Err(why) => problems.push(Problem {
                    line: line_of(text, value.span().start),
                    message: format!("bad value for {key}: {why}"),
                }),
            }
        }
        problems.sort_by_key(|p| p.line);
        if let Err(why) = settings.check() {
            problems.push(Problem {
                line: 0,
                message: why,
            });
        }
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(problems)
        }
    }

    /// Reads and parses a settings file; `None` means the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let Some(path) = path else {
            return Ok(Settings::default());
        };
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Settings::parse(&text).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// Checks that need more than one setting.
    fn check(&self) -> Result<(), String> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("tls.cert and tls.key must be given together".into());
        }
        if self.limits_max_recipients == 0 {
            return Err("limits.max_recipients must be at least 1".into());
        }
        Ok(())
    }

    /// The metadata store URL, with the default (SQLite in data_dir) filled in.
    pub fn effective_store_url(&self) -> String {
        if self.store_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("hermod.db").display())
        } else {
            self.store_url.clone()
        }
    }

    /// The blob directory, with the default (data_dir/blobs) filled in.
    pub fn effective_blob_dir(&self) -> PathBuf {
        if self.store_blobs.is_empty() {
            self.data_dir.join("blobs")
        } else {
            PathBuf::from(&self.store_blobs)
        }
    }

    /// The effective settings as a TOML document with each setting's doc above it.
    pub fn to_toml_text(&self) -> String {
        let mut out = String::new();
        let mut section = "";
        // Each table once, in the order tables first appear; keys keep their order inside it.
        let mut entries = self.effective().entries();
        let mut order: Vec<&str> = Vec::new();
        for (def, _) in &entries {
            let sec = def.key.rsplit_once('.').map_or("", |(s, _)| s);
            if !order.contains(&sec) {
                order.push(sec);
            }
        }
        entries.sort_by_key(|(def, _)| {
            let sec = def.key.rsplit_once('.').map_or("", |(s, _)| s);
            order.iter().position(|o| *o == sec)
        });
        for (def, value) in entries {
            let (sec, name) = def.key.rsplit_once('.').unwrap_or(("", def.key));
            if sec != section {
                let _ = write!(out, "\n[{sec}]\n");
                section = sec;
            }
            let _ = writeln!(out, "# {}\n{name} = {value}", def.doc.trim());
        }
        out.trim_start().to_string()
    }

    /// The effective settings as JSON (key → value).
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (def, value) in self.effective().entries() {
            let v: toml::Value = toml::from_str(&format!("v = {value}"))
                .ok()
                .and_then(|t: toml::Table| t.get("v").cloned())
                .unwrap_or(toml::Value::String(value.clone()));
            map.insert(
                def.key.to_string(),
                serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
            );
        }
        serde_json::Value::Object(map)
    }

    /// These settings with derived defaults written out (what Hermod will actually use).
    fn effective(&self) -> Settings {
        let mut s = self.clone();
        s.store_url = self.effective_store_url();
        s.store_blobs = self.effective_blob_dir().display().to_string();
        s
    }

    /// The settings reference in Markdown (docs/settings.md).
    pub fn reference() -> String {
        let mut out = String::from(
            "# Settings\n\nGenerated from `crates/hermod-config/src/lib.rs` by `hermod config reference`; \
             do not edit by hand.\n\n| key | type | default | what it does |\n|---|---|---|---|\n",
        );
        for (def, value) in Settings::default().entries() {
            let value = if def.key == "hostname" {
                "the machine's host name".to_string()
            } else {
                format!("`{value}`")
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                def.key,
                def.kind,
                value,
                def.doc.trim()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests;
