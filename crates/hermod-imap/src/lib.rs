//! Hermod's IMAP server: IMAP4rev1 and IMAP4rev2 on `listen.imap` (STARTTLS) and
//! `listen.imaps` (implicit TLS).
//!
//! `server` owns sockets, TLS, COMPRESS and timeouts, and frames commands (lines and
//! literals, with their limits) → `hermod-imap-proto` parses them → `session` carries them
//! out against the store → `view` keeps what the client has been told about the selected
//! mailbox (sequence numbers, flags) and turns changes made elsewhere into untagged
//! EXISTS / EXPUNGE / FETCH → `fetch` and `search` answer from the index (ENVELOPE and
//! BODYSTRUCTURE were computed when the message was stored) and read a body only when
//! the client asks for body bytes.
//!
//! Invariants: the session never touches a socket (it writes into an [`session::Output`]);
//! nothing a client sends reaches an `unwrap`; a session's own changes are applied to its
//! view before the store's change feed is read, so a client is never told twice.

mod compress;
mod fetch;
mod names;
mod search;
pub mod server;
mod session;
mod view;

pub use server::{Listeners, Shared, start};
