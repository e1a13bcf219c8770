//! SPF, DKIM and DMARC on mail from the internet (RFC 7208, 6376, 7489), recorded in an
//! Authentication-Results header (RFC 8601); optionally, DMARC `p=reject` failures refused.

use std::net::IpAddr;

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, DmarcResult, MessageAuthenticator};

/// Checks inbound mail; shared by every session.
pub struct Checker {
    auth: MessageAuthenticator,
    hostname: String,
    dmarc_reject: bool,
}

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `Authentication-Results: ...\r\n`, to put on top of the message.
    pub header: String,
    /// Set when DMARC failed under `p=reject` and the settings say to refuse: the domain.
    pub reject: Option<String>,
}

impl Checker {
    pub fn new(auth: MessageAuthenticator, hostname: String, dmarc_reject: bool) -> Checker {
        Checker {
            auth,
            hostname,
            dmarc_reject,
        }
    }

    /// Runs SPF (MAIL FROM, or HELO for the null sender), DKIM and DMARC on `raw`.
    pub async fn check(&self, raw: &[u8], ip: IpAddr, helo: &str, mail_from: &str) -> Verdict {
        let helo = if helo.is_empty() { "unknown" } else { helo };
        let spf = if mail_from.is_empty() {
            self.auth
                .verify_spf(SpfParameters::verify_ehlo(ip, helo, &self.hostname))
                .await
        } else {
            self.auth
                .verify_spf(SpfParameters::verify_mail_from(
                    ip,
                    helo,
                    &self.hostname,
                    mail_from,
                ))
                .await
        };
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            // Not a message mail-auth can read: SPF is all there is to say.
            let results = AuthenticationResults::new(&self.hostname)
                .with_spf_mailfrom_result(&spf, ip, mail_from, helo);
            return Verdict {
                header: results.to_header(),
                reject: None,
            };
        };
        let dkim = self.auth.verify_dkim(&message).await;
        let mail_from_domain = mail_from.rsplit_once('@').map(|(_, d)| d).unwrap_or(helo);
        let dmarc = self
            .auth
            .verify_dmarc(DmarcParameters::new(
                &message,
                &dkim,
                mail_from_domain,
                &spf,
            ))
            .await;
        let header_from = message.from();
        let results = AuthenticationResults::new(&self.hostname)
            .with_dkim_results(&dkim, header_from)
            .with_spf_mailfrom_result(&spf, ip, mail_from, helo)
            .with_dmarc_result(&dmarc);
        let failed =
            dmarc.dkim_result() != &DmarcResult::Pass && dmarc.spf_result() != &DmarcResult::Pass;
        let reject = (self.dmarc_reject && failed && dmarc.policy() == Policy::Reject)
            .then(|| dmarc.domain().to_string());
        Verdict {
            header: results.to_header(),
            reject,
        }
    }
}
