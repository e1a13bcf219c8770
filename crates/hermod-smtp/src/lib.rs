//! Hermod's SMTP server: MX on 25, submission on 587/26 (STARTTLS) and 465 (implicit TLS).
//!
//! The path of a message (ARCHITECTURE.md draws it):
//! `server` owns sockets, TLS and timeouts and reads bounded lines →
//! `session` moves through the SMTP stages (greeting, EHLO, AUTH, MAIL, RCPT, DATA) and asks
//! the store at each policy stage → `data` unstuffs the body as it streams to a spool file →
//! the body becomes an fsynced blob → `committer` writes index, queue and log rows for many
//! sessions in one transaction → only then "250".
//!
//! Invariants: `data` is pure (bytes in, bytes out) and fuzzable;
//! nothing a peer sends reaches an `unwrap`; the session never touches a socket.

pub mod authcheck;
pub mod committer;
pub mod data;
pub mod server;
pub mod session;

pub use server::{Listeners, Shared, start};
