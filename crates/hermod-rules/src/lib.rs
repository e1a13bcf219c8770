//! Hermod's delivery-rules engine. Pure: no I/O, no async, no store and no
//! clock (times are parameters).
//!
//! * [`facts`]: [`MessageFacts::from_raw`] extracts what rules look at.
//! * [`engine`]: [`validate`] checks a rule for the user; [`evaluate`] runs
//!   rules on a message and gives a [`Plan`] (semantics in the module docs).
//! * [`autoreply`]: RFC 3834 / RFC 5230 vacation eligibility
//!   ([`may_auto_reply`], [`reply_key`]) and the reply ([`build_auto_reply`]).
//! * [`srs`]: Sender Rewriting Scheme for forwarded mail.
//! * [`sieve`]: export as a Sieve script; [`json`]: JSON export and import.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod autoreply;
pub mod engine;
pub mod facts;
pub mod json;
pub mod sieve;
pub mod srs;
mod util;

pub use autoreply::{AutoReplySpec, build_auto_reply, may_auto_reply, reply_key};
pub use engine::{MAX_TERM_LEN, Plan, evaluate, parse_size, rule_matches_facts, validate};
pub use facts::MessageFacts;
pub use json::{rules_from_json, rules_to_json};
pub use sieve::to_sieve;
