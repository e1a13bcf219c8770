//! Hermod's outbound delivery: the queue's mail goes to the recipients' mail exchangers.
//!
//! * [`resolve`]: MX resolution with hickory (null MX, implicit MX, permanent vs temporary
//!   DNS failures) and TXT lookups.
//! * [`client`]: the SMTP client (EHLO/HELO, opportunistic STARTTLS, PIPELINING, SIZE,
//!   dot-stuffing, per-recipient results).
//! * [`dkim`]: signing at send time with the sender domain's key; key generation.
//! * [`mta_sts`]: MTA-STS (RFC 8461) discovery, policy fetch over verified HTTPS, the
//!   per-domain policy cache; the scheduler enforces it (verified STARTTLS to listed MX hosts).
//! * [`dsn`]: RFC 3464 bounces.
//! * [`scheduler`]: leasing, grouping, concurrency limits, retries with backoff, expiry,
//!   bounces, the MX loop guard.
//!
//! Invariant: nothing a remote server or DNS sends can panic this crate; every outcome is
//! recorded through the store's queue functions, one transaction each.

pub mod client;
pub mod dkim;
pub mod dsn;
pub mod mta_sts;
pub mod resolve;
pub mod scheduler;

pub use client::{Kind, RcptResult, Reply};
pub use dsn::{DsnFailure, DsnKind, build_dsn};
pub use mta_sts::MtaSts;
pub use resolve::{MxHost, ResolveError, Resolver};
pub use scheduler::{Delivery, Outbound, bounce_entry};

/// The hickory resolver and mail-auth versions this crate uses (one hickory in the tree).
pub use hickory_resolver;
pub use mail_auth;
