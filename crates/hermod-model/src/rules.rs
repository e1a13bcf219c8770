//! Delivery rules as data: name, state, conditions and actions.
//!
//! The engine that runs them lives in hermod-delivery; this module defines what a rule is and
//! which names are allowed, so the CLI, the panels and the store agree.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    All,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// From, To, Cc, To-or-Cc, Subject, Body, List-Id, size, has-attachment, or a header name.
    pub field: String,
    /// contains, not-contains, is, is-not, begins-with, ends-with, matches, greater-than, less-than.
    pub op: String,
    pub term: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Folder {
        folder: String,
    },
    Forward {
        to: String,
        keep_copy: bool,
    },
    Delete,
    MarkRead,
    Flag,
    AutoReply {
        subject: String,
        body: String,
        start: Option<i64>,
        end: Option<i64>,
        interval_days: u32,
    },
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    /// The account's address, or the domain for domain rules.
    pub owner: String,
    pub name: String,
    /// New rules start disabled (the FAQ: "to prevent unfinished rules from running").
    pub enabled: bool,
    pub position: i32,
    pub match_mode: MatchMode,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

/// Rule names: letters, digits, '_' and '-' only.
pub fn check_rule_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a rule needs a name".into());
    }
    if name.contains(' ') {
        return Err(format!(
            "rule name {name:?} contains a space; please use underscores or hyphens instead of spaces (e.g. {:?})",
            name.replace(' ', "_")
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "rule name {name:?} contains {c:?}; use only letters, digits, '_' and '-'"
        ));
    }
    if name.chars().count() > 64 {
        return Err("a rule name is at most 64 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_names() {
        assert!(super::check_rule_name("forward_and-delete2").is_ok());
        let e = super::check_rule_name("forward and delete").unwrap_err();
        assert!(e.contains("underscores or hyphens"), "{e}");
        assert!(super::check_rule_name("a<b>").is_err());
        assert!(super::check_rule_name("").is_err());
    }
}
