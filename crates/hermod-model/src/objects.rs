//! The objects of the model, as the stores keep them and the panels show them.
//!
//! Times are Unix milliseconds (UTC); sizes are bytes.

use serde::{Deserialize, Serialize};

use crate::address::{DomainName, EmailAddress};
use crate::filter::{FilterKind, FilterMode, FilterPattern, FilterScope};

/// A plan: its name and how many messages its accounts may send per rolling 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub daily_limit: u32,
}

/// The plans every new installation starts with (the FAQ: Basic 300, Enhanced 1200).
pub fn default_plans() -> Vec<Plan> {
    vec![
        Plan {
            name: "basic".into(),
            daily_limit: 300,
        },
        Plan {
            name: "enhanced".into(),
            daily_limit: 1200,
        },
    ]
}

/// Plan names are lower case letters, digits, '-' and '_'.
pub fn valid_plan_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub name: DomainName,
    /// Yes: mail for this domain goes to local mailboxes. No: to the domain's external MX.
    pub local_delivery: bool,
    /// The plan new accounts of this domain get.
    pub default_plan: String,
    pub filter_mode: FilterMode,
    /// The operator's switch for S/MIME in webmail.
    pub smime_allowed: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub address: EmailAddress,
    pub display_name: String,
    /// PHC string of an argon2id hash. Never shown in `--json` output.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub plan: String,
    /// Replaces the plan's daily limit for this account when set.
    pub send_limit_override: Option<u32>,
    /// Mailbox quota in bytes; 0 means unlimited.
    pub quota_bytes: u64,
    pub enabled: bool,
    pub filter_mode: FilterMode,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub address: EmailAddress,
    /// Where mail for the alias goes: local accounts or external addresses.
    pub targets: Vec<EmailAddress>,
}

/// "Send email as": `account` may use `address` as its MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAsGrant {
    pub account: EmailAddress,
    pub address: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterEntry {
    pub id: i64,
    #[serde(flatten)]
    pub scope: FilterScope,
    pub kind: FilterKind,
    pub pattern: FilterPattern,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogStatus {
    Accepted,
    Rejected,
    Deferred,
}

impl LogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Accepted => "Accepted",
            LogStatus::Rejected => "Rejected",
            LogStatus::Deferred => "Deferred",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "accepted" => Some(LogStatus::Accepted),
            "rejected" => Some(LogStatus::Rejected),
            "deferred" => Some(LogStatus::Deferred),
            _ => None,
        }
    }
}

/// One attempt to deliver to a hosted domain (the Incoming Logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingLogEntry {
    pub id: i64,
    pub at: i64,
    pub client_ip: String,
    pub helo: String,
    /// The envelope sender as sent ("" for the null sender).
    pub sender: String,
    pub recipient: String,
    /// The hosted domain this entry belongs to (for the domain admin's view).
    pub domain: String,
    pub subject: Option<String>,
    pub status: LogStatus,
    /// The reply sent to the client.
    pub reply: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Queued,
    Delivered,
    Deferred,
    Bounced,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Bounced => "bounced",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(DeliveryStatus::Queued),
            "delivered" => Some(DeliveryStatus::Delivered),
            "deferred" => Some(DeliveryStatus::Deferred),
            "bounced" => Some(DeliveryStatus::Bounced),
            _ => None,
        }
    }
}

/// One recipient of a submitted message, for Track Deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientStatus {
    pub recipient: String,
    pub status: DeliveryStatus,
    /// The remote host or "local".
    pub host: Option<String>,
    /// The last reply seen for this recipient.
    pub reply: Option<String>,
    pub updated_at: i64,
}

/// A message an account submitted (the outgoing log behind Track Deliveries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub id: i64,
    pub account: EmailAddress,
    pub at: i64,
    pub sender: String,
    pub subject: Option<String>,
    pub size: u64,
    /// How much this message counted toward the daily limit (1, or its recipients).
    pub counted: u32,
    pub recipients: Vec<RecipientStatus>,
}

/// SPECIAL-USE attributes (RFC 6154) of the folders every account starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpecialUse {
    Drafts,
    Sent,
    Junk,
    Trash,
    Archive,
}

impl SpecialUse {
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Trash => "\\Trash",
            SpecialUse::Archive => "\\Archive",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "\\Drafts" => Some(SpecialUse::Drafts),
            "\\Sent" => Some(SpecialUse::Sent),
            "\\Junk" => Some(SpecialUse::Junk),
            "\\Trash" => Some(SpecialUse::Trash),
            "\\Archive" => Some(SpecialUse::Archive),
            _ => None,
        }
    }
}

/// The folders a new account gets (the IMAP issue: INBOX, Drafts, Sent Items, Junk, Trash).
pub const DEFAULT_FOLDERS: [(&str, Option<SpecialUse>); 5] = [
    ("INBOX", None),
    ("Drafts", Some(SpecialUse::Drafts)),
    ("Sent Items", Some(SpecialUse::Sent)),
    ("Junk", Some(SpecialUse::Junk)),
    ("Trash", Some(SpecialUse::Trash)),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub id: i64,
    pub account: EmailAddress,
    /// Hierarchy separated by '/'.
    pub name: String,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
    pub special_use: Option<SpecialUse>,
    pub subscribed: bool,
}

/// What the message index keeps of a message's content, computed once when it is stored
/// (by `hermod-mime`), so IMAP never re-parses a message for ENVELOPE or BODYSTRUCTURE.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexData {
    pub envelope: String,
    pub body_structure: String,
    pub body: String,
    /// The part map (byte ranges of every MIME part), as text.
    pub parts: String,
    /// The Date: header as Unix seconds.
    pub sent_date: Option<i64>,
}

/// One message in one mailbox (the message index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    pub mailbox_id: i64,
    pub uid: u32,
    pub modseq: u64,
    pub flags: Vec<String>,
    pub internal_date: i64,
    pub size: u64,
    pub blob_id: String,
    /// ENVELOPE, computed once at delivery, as the IMAP server sends it.
    pub envelope: String,
    /// BODYSTRUCTURE, computed once at delivery.
    pub body_structure: String,
    /// BODY (the structure without extension data).
    pub body: String,
    /// Byte ranges of the MIME parts, for BODY[section] without re-parsing.
    pub parts: String,
    /// The Date: header as Unix seconds, for SENTBEFORE / SENTON / SENTSINCE.
    pub sent_date: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub account: EmailAddress,
    pub name: String,
    pub email: EmailAddress,
    /// A PEM certificate learnt from a signed message (S/MIME).
    pub certificate: Option<String>,
}

/// A distribution list of contacts ("Addresslists").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressList {
    pub id: i64,
    pub account: EmailAddress,
    pub name: String,
    pub members: Vec<EmailAddress>,
}
