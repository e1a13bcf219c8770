//! Hermod's domain types.
//!
//! This crate is pure data and rules about data: addresses and how they are normalised,
//! the objects of the model (domains, accounts, plans, filters, rules, logs, mailboxes), and
//! the table of SMTP replies the FAQ documents.
//!
//! Invariant: it knows nothing about storage, sockets, configuration files or time sources.
//! Every function here is deterministic, so every other crate can test against it with data.

pub mod address;
pub mod filter;
pub mod objects;
pub mod reply;
pub mod rules;

pub use address::{AddressError, DomainName, EmailAddress};
pub use filter::{FilterKind, FilterMode, FilterPattern, FilterScope, Verdict};
pub use objects::*;
pub use reply::{Policy, Reply, ReplyProfile};
