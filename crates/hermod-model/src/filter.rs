//! Block and allow lists, the accept policy, and the precedence between their scopes.
//!
//! Precedence (documented in ARCHITECTURE.md and tested below):
//!
//! 1. **System scope** (the operator's list) is checked at MAIL FROM, before any recipient is
//!    known. A system allow entry beats a system block entry; a system block cannot be
//!    overridden by a domain or a user (the FAQ: "open a support ticket requesting the
//!    whitelisting").
//! 2. At RCPT TO, the most specific scope that has a matching entry decides: the **user's**
//!    lists first, then the **domain's**. Within one scope an allow entry beats a block entry.
//! 3. With no matching entry, the **accept policy** applies: if the user *or* the domain
//!    chose "whitelist and address book only", the sender must be on the user's or the
//!    domain's allow list or in the user's contacts; otherwise everyone is accepted.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::address::{AddressError, DomainName, EmailAddress};

/// What an entry matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FilterPattern {
    /// One address, e.g. `spammer@example.com`.
    Address(EmailAddress),
    /// A domain and all of its subdomains, e.g. `example.com`.
    Domain(DomainName),
    /// Every domain under a suffix, e.g. `*.xyz` (a whole TLD) or `*.example.com`.
    Suffix(String),
}

impl FilterPattern {
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim();
        if let Some(suffix) = s.strip_prefix("*.") {
            // A single label (a TLD) is allowed here, which DomainName refuses on its own.
            let probe = format!("x.{suffix}");
            let d = DomainName::parse(&probe).map_err(|e| match e {
                AddressError::BadDomain(_, why) => AddressError::BadDomain(input.into(), why),
                other => other,
            })?;
            return Ok(FilterPattern::Suffix(d.as_str()[2..].to_string()));
        }
        if s.contains('@') && !s.starts_with('@') {
            return Ok(FilterPattern::Address(EmailAddress::parse(s)?));
        }
        Ok(FilterPattern::Domain(DomainName::parse(
            s.trim_start_matches('@'),
        )?))
    }

    pub fn matches(&self, sender: &EmailAddress) -> bool {
        match self {
            FilterPattern::Address(a) => a == sender || sender.without_detail().as_ref() == Some(a),
            FilterPattern::Domain(d) => sender.domain().is_within(d),
            FilterPattern::Suffix(suffix) => {
                let dom = sender.domain().as_str();
                dom.len() > suffix.len()
                    && dom.ends_with(suffix.as_str())
                    && dom.as_bytes()[dom.len() - suffix.len() - 1] == b'.'
            }
        }
    }

    /// True when this pattern names (part of) the text searched for, for the admin's search box.
    pub fn mentions(&self, needle: &str) -> bool {
        self.to_string().contains(&needle.trim().to_lowercase())
    }
}

impl fmt::Display for FilterPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterPattern::Address(a) => write!(f, "{a}"),
            FilterPattern::Domain(d) => write!(f, "{d}"),
            FilterPattern::Suffix(s) => write!(f, "*.{s}"),
        }
    }
}

impl TryFrom<String> for FilterPattern {
    type Error = AddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        FilterPattern::parse(&s)
    }
}

impl From<FilterPattern> for String {
    fn from(p: FilterPattern) -> String {
        p.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterKind {
    Block,
    Allow,
}

impl FilterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterKind::Block => "block",
            FilterKind::Allow => "allow",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "block" | "blacklist" | "deny" => Some(FilterKind::Block),
            "allow" | "whitelist" => Some(FilterKind::Allow),
            _ => None,
        }
    }
}

/// Whose list an entry is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "owner", rename_all = "lowercase")]
pub enum FilterScope {
    System,
    Domain(DomainName),
    User(EmailAddress),
}

impl FilterScope {
    pub fn kind(&self) -> &'static str {
        match self {
            FilterScope::System => "system",
            FilterScope::Domain(_) => "domain",
            FilterScope::User(_) => "user",
        }
    }
    pub fn owner(&self) -> String {
        match self {
            FilterScope::System => String::new(),
            FilterScope::Domain(d) => d.to_string(),
            FilterScope::User(u) => u.to_string(),
        }
    }
}

/// Who a domain or user accepts mail from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FilterMode {
    /// "Accept e-mails from Everyone" (the default).
    #[default]
    Everyone,
    /// "Accept e-mails from whitelist and address book only".
    WhitelistOnly,
}

impl FilterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FilterMode::Everyone => "everyone",
            FilterMode::WhitelistOnly => "whitelist_only",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "everyone" => Some(FilterMode::Everyone),
            "whitelist_only" | "whitelist" | "whitelist_and_address_book" => {
                Some(FilterMode::WhitelistOnly)
            }
            _ => None,
        }
    }
}

/// The outcome of the recipient-stage filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// On a block list of this scope ("550 sorry, you are blacklisted on this server").
    Blocked(&'static str),
    /// Whitelist-only mode and the sender is in neither list nor the address book ("552 ...").
    NotWhitelisted,
}

/// A pattern with its kind, as the decision functions need them.
pub type ListEntry = (FilterKind, FilterPattern);

/// Looks `sender` up in one scope's list: `Some(kind)` if an entry matches (allow wins).
fn scope_decision(entries: &[ListEntry], sender: &EmailAddress) -> Option<FilterKind> {
    let mut found = None;
    for (kind, pattern) in entries {
        if pattern.matches(sender) {
            if *kind == FilterKind::Allow {
                return Some(FilterKind::Allow);
            }
            found = Some(FilterKind::Block);
        }
    }
    found
}

/// The system stage, at MAIL FROM: true when the operator's list refuses this sender.
pub fn system_blocks(system: &[ListEntry], sender: &EmailAddress) -> bool {
    scope_decision(system, sender) == Some(FilterKind::Block)
}

/// What the recipient's filtering says of a sender (see the module docs for precedence).
pub struct RecipientFilter<'a> {
    pub user_entries: &'a [ListEntry],
    pub domain_entries: &'a [ListEntry],
    pub user_mode: FilterMode,
    pub domain_mode: FilterMode,
    /// True when the sender is in the recipient's address book.
    pub sender_in_contacts: bool,
}

impl RecipientFilter<'_> {
    pub fn decide(&self, sender: &EmailAddress) -> Verdict {
        match scope_decision(self.user_entries, sender) {
            Some(FilterKind::Allow) => return Verdict::Accept,
            Some(FilterKind::Block) => return Verdict::Blocked("user"),
            None => {}
        }
        match scope_decision(self.domain_entries, sender) {
            Some(FilterKind::Allow) => return Verdict::Accept,
            Some(FilterKind::Block) => return Verdict::Blocked("domain"),
            None => {}
        }
        let whitelist_only = self.user_mode == FilterMode::WhitelistOnly
            || self.domain_mode == FilterMode::WhitelistOnly;
        if whitelist_only && !self.sender_in_contacts {
            return Verdict::NotWhitelisted;
        }
        Verdict::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FilterPattern {
        FilterPattern::parse(s).unwrap()
    }
    fn a(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    #[test]
    fn patterns_parse_and_match() {
        let table = [
            ("spam@bad.com", "spam@bad.com", true),
            ("spam@bad.com", "Spam+x@BAD.com", true),
            ("spam@bad.com", "other@bad.com", false),
            ("bad.com", "x@bad.com", true),
            ("@bad.com", "x@mail.bad.com", true),
            ("bad.com", "x@notbad.com", false),
            ("*.xyz", "x@cheap.xyz", true),
            ("*.xyz", "x@a.b.xyz", true),
            ("*.xyz", "x@xyz.com", false),
            ("*.example.com", "x@a.example.com", true),
            ("*.example.com", "x@example.com", false),
        ];
        for (pattern, sender, want) in table {
            assert_eq!(
                p(pattern).matches(&a(sender)),
                want,
                "{pattern} vs {sender}"
            );
        }
        assert_eq!(p("*.XYZ").to_string(), "*.xyz");
        assert_eq!(p("@Bad.COM").to_string(), "bad.com");
        assert!(FilterPattern::parse("*.").is_err());
        assert!(FilterPattern::parse("not a pattern").is_err());
    }

    #[test]
    fn system_allow_beats_system_block() {
        let list = vec![
            (FilterKind::Block, p("*.xyz")),
            (FilterKind::Allow, p("good.xyz")),
        ];
        assert!(system_blocks(&list, &a("x@spam.xyz")));
        assert!(!system_blocks(&list, &a("x@good.xyz")));
        assert!(!system_blocks(&list, &a("x@fine.com")));
    }

    #[test]
    fn precedence_between_scopes() {
        use FilterKind::*;
        let sender = a("news@shop.com");
        let f = |user: Vec<ListEntry>, domain: Vec<ListEntry>, um, dm, contacts| {
            RecipientFilter {
                user_entries: &user,
                domain_entries: &domain,
                user_mode: um,
                domain_mode: dm,
                sender_in_contacts: contacts,
            }
            .decide(&sender)
        };
        use FilterMode::*;
        // Nothing listed: everyone accepted.
        assert_eq!(
            f(vec![], vec![], Everyone, Everyone, false),
            Verdict::Accept
        );
        // Domain block refuses.
        assert_eq!(
            f(
                vec![],
                vec![(Block, p("shop.com"))],
                Everyone,
                Everyone,
                false
            ),
            Verdict::Blocked("domain")
        );
        // The user's allow entry beats the domain's block (most specific scope decides).
        assert_eq!(
            f(
                vec![(Allow, p("news@shop.com"))],
                vec![(Block, p("shop.com"))],
                Everyone,
                Everyone,
                false
            ),
            Verdict::Accept
        );
        // The user's block beats the domain's allow.
        assert_eq!(
            f(
                vec![(Block, p("shop.com"))],
                vec![(Allow, p("shop.com"))],
                Everyone,
                Everyone,
                false
            ),
            Verdict::Blocked("user")
        );
        // Within one scope allow wins.
        assert_eq!(
            f(
                vec![(Block, p("shop.com")), (Allow, p("news@shop.com"))],
                vec![],
                Everyone,
                Everyone,
                false
            ),
            Verdict::Accept
        );
        // Whitelist-only at either level refuses strangers...
        assert_eq!(
            f(vec![], vec![], WhitelistOnly, Everyone, false),
            Verdict::NotWhitelisted
        );
        assert_eq!(
            f(vec![], vec![], Everyone, WhitelistOnly, false),
            Verdict::NotWhitelisted
        );
        // ...but not contacts, nor senders on either allow list.
        assert_eq!(
            f(vec![], vec![], WhitelistOnly, Everyone, true),
            Verdict::Accept
        );
        assert_eq!(
            f(
                vec![],
                vec![(Allow, p("shop.com"))],
                WhitelistOnly,
                Everyone,
                false
            ),
            Verdict::Accept
        );
        // A block entry still refuses a contact.
        assert_eq!(
            f(
                vec![(Block, p("shop.com"))],
                vec![],
                Everyone,
                Everyone,
                true
            ),
            Verdict::Blocked("user")
        );
    }
}
