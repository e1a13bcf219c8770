//! Password logins for every protocol. SMTP AUTH and IMAP LOGIN/AUTHENTICATE go through one
//! [`Authenticator`], so a password guesser is slowed and locked out alike on every port:
//! failures count per client IP and per account, whichever listener they arrive on.
//!
//! Invariants: `sasl::decode_*` are pure; this crate never sends a protocol reply, it says
//! what happened and the protocol picks its words.

pub mod sasl;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hermod_model::EmailAddress;
use hermod_store::Store;

pub use sasl::AuthLimiter;

/// The result of a login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The password is right: the account's address.
    Ok(EmailAddress),
    /// Wrong login or password. The answer has already been delayed.
    Failed,
    /// Too many failures from this IP or for this account: refuse without checking.
    Locked,
}

/// Checks passwords, counting failures.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    limiter: Arc<AuthLimiter>,
}

impl Authenticator {
    pub fn new(store: Store, max_failures: u32, lockout: Duration) -> Authenticator {
        Authenticator {
            store,
            limiter: Arc::new(AuthLimiter::new(max_failures, lockout)),
        }
    }

    /// Checks `login` (the full e-mail address) and `password` for a client at `ip`.
    /// `protocol` and `session` only go to the log.
    pub async fn login(
        &self,
        protocol: &str,
        session: &str,
        ip: IpAddr,
        login: &str,
        password: &str,
    ) -> Login {
        let ip_key = format!("ip:{ip}");
        let user_key = format!("user:{}", login.to_lowercase());
        let keys = [ip_key.as_str(), user_key.as_str()];
        if self.limiter.check(&keys).is_err() {
            tracing::warn!(protocol, session, %ip, login, "login refused: too many failures");
            return Login::Locked;
        }
        let account = match EmailAddress::parse(login) {
            Ok(address) => self
                .store
                .verify_login(&address, password)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        match account {
            Some(a) => {
                self.limiter.succeed(&keys);
                tracing::info!(protocol, session, %ip, account = %a.address, "authenticated");
                Login::Ok(a.address)
            }
            None => {
                let wait = self.limiter.fail(&keys);
                tracing::warn!(protocol, session, %ip, login, "authentication failed");
                tokio::time::sleep(wait).await;
                Login::Failed
            }
        }
    }
}
