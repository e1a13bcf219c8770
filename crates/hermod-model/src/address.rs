//! E-mail addresses and domain names, validated and normalised in one place.
//!
//! Normal form: the domain is its IDNA ASCII form (punycode), lower case, without a trailing
//! dot; the local part is lower-cased. Hermod treats local parts case-insensitively, as every
//! mainstream provider does, so `Bob@Example.COM` and `bob@example.com` are one mailbox.
//! Unicode local parts (RFC 6531, SMTPUTF8) are accepted and lower-cased by Unicode rules.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?} is not an e-mail address: it has no '@'")]
    NoAt(String),
    #[error("{0:?} is not an e-mail address: the part before '@' is empty")]
    EmptyLocal(String),
    #[error("{0:?} is not an e-mail address: the part before '@' is longer than 64 bytes")]
    LocalTooLong(String),
    #[error(
        "{0:?} is not an e-mail address: the part before '@' has a character that needs quoting ({1:?})"
    )]
    BadLocalChar(String, char),
    #[error(
        "{0:?} is not an e-mail address: dots may not start, end or repeat in the part before '@'"
    )]
    BadLocalDots(String),
    #[error("{0:?} is not a valid domain name: {1}")]
    BadDomain(String, &'static str),
}

/// A domain name in normal form (ASCII, lower case, no trailing dot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(AddressError::BadDomain(input.into(), "it is empty"));
        }
        if trimmed.starts_with('[') {
            return Err(AddressError::BadDomain(
                input.into(),
                "address literals are not hosted domains",
            ));
        }
        let ascii = idna::domain_to_ascii(trimmed)
            .map_err(|_| AddressError::BadDomain(input.into(), "it is not a valid IDN name"))?;
        if ascii.len() > 253 {
            return Err(AddressError::BadDomain(
                input.into(),
                "it is longer than 253 characters",
            ));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(AddressError::BadDomain(
                input.into(),
                "it needs at least two labels, like example.com",
            ));
        }
        for label in &labels {
            if label.is_empty() {
                return Err(AddressError::BadDomain(
                    input.into(),
                    "it has an empty label",
                ));
            }
            if label.len() > 63 {
                return Err(AddressError::BadDomain(
                    input.into(),
                    "a label is longer than 63 characters",
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(AddressError::BadDomain(
                    input.into(),
                    "a label starts or ends with '-'",
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(AddressError::BadDomain(
                    input.into(),
                    "only letters, digits and '-' are allowed in labels",
                ));
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(AddressError::BadDomain(
                input.into(),
                "the top-level label is all digits",
            ));
        }
        Ok(DomainName(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Unicode form for display (e.g. `bücher.example` for `xn--bcher-kva.example`).
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }

    /// True when `self` is `other` or a subdomain of it.
    pub fn is_within(&self, other: &DomainName) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.ends_with(other.0.as_str())
                && self.0.as_bytes()[self.0.len() - other.0.len() - 1] == b'.')
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DomainName {
    type Error = AddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DomainName::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> String {
        d.0
    }
}

/// An e-mail address in normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    local: String,
    domain: DomainName,
}

/// Characters RFC 5322 allows in an unquoted local part (atext), besides letters and digits.
const ATEXT_SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim();
        let s = s
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(s);
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| AddressError::NoAt(input.into()))?;
        if local.is_empty() {
            return Err(AddressError::EmptyLocal(input.into()));
        }
        if local.len() > 64 {
            return Err(AddressError::LocalTooLong(input.into()));
        }
        if let Some(c) = local.chars().find(|&c| {
            !(c.is_alphanumeric()
                || c == '.'
                || ATEXT_SPECIALS.contains(c)
                || (!c.is_ascii() && !c.is_control() && !c.is_whitespace()))
        }) {
            return Err(AddressError::BadLocalChar(input.into(), c));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(AddressError::BadLocalDots(input.into()));
        }
        let domain = DomainName::parse(domain).map_err(|e| match e {
            AddressError::BadDomain(_, why) => AddressError::BadDomain(input.into(), why),
            other => other,
        })?;
        Ok(EmailAddress {
            local: local.to_lowercase(),
            domain,
        })
    }

    pub fn local(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// The local part without a `+detail` suffix (sub-addressing, RFC 5233).
    pub fn without_detail(&self) -> Option<EmailAddress> {
        let (base, _) = self.local.split_once('+')?;
        (!base.is_empty()).then(|| EmailAddress {
            local: base.to_string(),
            domain: self.domain.clone(),
        })
    }

    /// True when the local part needs SMTPUTF8 to travel.
    pub fn needs_smtputf8(&self) -> bool {
        !self.local.is_ascii()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = AddressError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(a: EmailAddress) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<String, AddressError> {
        EmailAddress::parse(s).map(|a| a.to_string())
    }

    #[test]
    fn normal_forms() {
        let cases = [
            ("Bob@Example.COM", "bob@example.com"),
            ("<alice@example.net>", "alice@example.net"),
            ("alice@example.net.", "alice@example.net"),
            ("info@bücher.example", "info@xn--bcher-kva.example"),
            ("info@XN--BCHER-KVA.example", "info@xn--bcher-kva.example"),
            ("Jörg@münchen.de", "jörg@xn--mnchen-3ya.de"),
            ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org"),
            ("o'reilly@example.ie", "o'reilly@example.ie"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "no-at-sign",
            "@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a b@example.com",
            "a@localhost",
            "a@-bad.com",
            "a@exa_mple.com",
            "a@example..com",
            "a@[127.0.0.1]",
            "a@example.123",
            &format!("{}@example.com", "x".repeat(65)),
            &format!("a@{}.com", "x".repeat(64)),
        ] {
            assert!(norm(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let e = norm("a b@example.com").unwrap_err().to_string();
        assert!(e.contains("needs quoting"), "{e}");
        let e = norm("a@localhost").unwrap_err().to_string();
        assert!(e.contains("two labels"), "{e}");
    }

    #[test]
    fn subdomains() {
        let d = DomainName::parse("mail.example.com").unwrap();
        assert!(d.is_within(&DomainName::parse("example.com").unwrap()));
        assert!(!d.is_within(&DomainName::parse("le.com").unwrap()));
        assert!(
            !DomainName::parse("badexample.com")
                .unwrap()
                .is_within(&DomainName::parse("example.com").unwrap())
        );
        assert_eq!(
            DomainName::parse("xn--bcher-kva.example")
                .unwrap()
                .to_unicode(),
            "bücher.example"
        );
    }

    #[test]
    fn detail() {
        let a = EmailAddress::parse("bob+news@example.com").unwrap();
        assert_eq!(a.without_detail().unwrap().to_string(), "bob@example.com");
        assert!(
            EmailAddress::parse("bob@example.com")
                .unwrap()
                .without_detail()
                .is_none()
        );
    }
}
