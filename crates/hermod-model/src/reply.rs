//! The SMTP replies the FAQ documents, in both profiles, in one table.
//!
//! `faq` sends the FAQ's code and text with the RFC 3463 code after the text in qmail's
//! style; `rfc` sends RFC 5321-correct codes with an ENHANCEDSTATUSCODES prefix.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReplyProfile {
    #[default]
    Faq,
    Rfc,
}

impl ReplyProfile {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "faq" => Some(ReplyProfile::Faq),
            "rfc" => Some(ReplyProfile::Rfc),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyProfile::Faq => "faq",
            ReplyProfile::Rfc => "rfc",
        }
    }
}

/// Each policy refusal the FAQ names (design.md, "The FAQ's policies, as replies").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// RCPT for a domain not hosted here, without AUTH.
    RelayDenied,
    /// Same, on a submission port (587, 26, 465), where the rfc profile asks for AUTH.
    RelayDeniedSubmission,
    /// MAIL FROM is not the login, an alias of it, or a granted "Send email as".
    SendAsDenied,
    /// The 101st RCPT of one message.
    TooManyRecipients,
    /// The account reached its plan's daily send limit.
    DailyLimit,
    /// Larger than the message size limit.
    TooBig,
    /// No such mailbox or alias on a Local Delivery = Yes domain.
    NoMailbox,
    /// The sender is on the recipient's or the recipient domain's block list.
    Blacklisted,
    /// The recipient accepts whitelist and address book only.
    NotWhitelisted,
    /// The sender is on the operator's system block list.
    SystemBlocked,
    /// No command within the timeout.
    Timeout,
}

pub const ALL_POLICIES: [Policy; 11] = [
    Policy::RelayDenied,
    Policy::RelayDeniedSubmission,
    Policy::SendAsDenied,
    Policy::TooManyRecipients,
    Policy::DailyLimit,
    Policy::TooBig,
    Policy::NoMailbox,
    Policy::Blacklisted,
    Policy::NotWhitelisted,
    Policy::SystemBlocked,
    Policy::Timeout,
];

/// One reply: code, enhanced status code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub enhanced: &'static str,
    pub text: &'static str,
    /// The faq profile writes "(#x.y.z)" after the text unless the FAQ shows the reply without.
    pub qmail_suffix: bool,
    pub profile: ReplyProfile,
}

impl Reply {
    /// The reply line without CRLF, e.g. `550 sorry, you can't send as this user (#5.7.1)`.
    pub fn line(&self) -> String {
        match self.profile {
            ReplyProfile::Faq if self.qmail_suffix => {
                format!("{} {} (#{})", self.code, self.text, self.enhanced)
            }
            ReplyProfile::Faq => format!("{} {}", self.code, self.text),
            ReplyProfile::Rfc => format!("{} {} {}", self.code, self.enhanced, self.text),
        }
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }
}

impl Policy {
    /// The reply this policy sends in `profile` (the whole of design.md's table).
    pub fn reply(self, profile: ReplyProfile) -> Reply {
        use Policy::*;
        use ReplyProfile::*;
        // (faq code, faq enhanced, rfc code, rfc enhanced, text, faq suffix)
        let (fc, fe, rc, re, text, suffix) = match self {
            RelayDenied => (
                553,
                "5.7.1",
                554,
                "5.7.1",
                "sorry, that domain isn't in my list of allowed rcpthosts",
                true,
            ),
            RelayDeniedSubmission => match profile {
                Faq => (
                    553,
                    "5.7.1",
                    0,
                    "",
                    "sorry, that domain isn't in my list of allowed rcpthosts",
                    true,
                ),
                Rfc => (0, "", 530, "5.7.0", "Authentication required", true),
            },
            SendAsDenied => (
                550,
                "5.7.1",
                553,
                "5.7.1",
                "sorry, you can't send as this user",
                true,
            ),
            TooManyRecipients => (
                551,
                "5.5.3",
                452,
                "4.5.3",
                "sorry, maximum number of recipients reached",
                false,
            ),
            DailyLimit => (
                462,
                "4.7.1",
                451,
                "4.7.1",
                "Daily send limit reached. Please try again tomorrow",
                false,
            ),
            TooBig => (
                552,
                "5.3.4",
                552,
                "5.3.4",
                "sorry, that message size exceeds my databytes limit",
                true,
            ),
            NoMailbox => (
                550,
                "5.1.1",
                550,
                "5.1.1",
                "sorry, no mailbox here by that name",
                true,
            ),
            Blacklisted => (
                550,
                "5.7.1",
                550,
                "5.7.1",
                "sorry, you are blacklisted on this server",
                true,
            ),
            NotWhitelisted => (
                552,
                "5.7.1",
                550,
                "5.7.1",
                "sorry, you are blacklisted on this server",
                true,
            ),
            SystemBlocked => (
                550,
                "5.7.1",
                550,
                "5.7.1",
                "That sender cannot send mail here",
                true,
            ),
            Timeout => (451, "4.4.2", 421, "4.4.2", "timeout", true),
        };
        let (code, enhanced) = match profile {
            Faq => (fc, fe),
            Rfc => (rc, re),
        };
        Reply {
            code,
            enhanced,
            text,
            qmail_suffix: suffix,
            profile,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faq_profile_is_the_faq_text() {
        let faq = |p: Policy| p.reply(ReplyProfile::Faq).line();
        assert_eq!(
            faq(Policy::SendAsDenied),
            "550 sorry, you can't send as this user (#5.7.1)"
        );
        assert_eq!(
            faq(Policy::DailyLimit),
            "462 Daily send limit reached. Please try again tomorrow"
        );
        assert_eq!(
            faq(Policy::TooManyRecipients),
            "551 sorry, maximum number of recipients reached"
        );
        assert_eq!(
            faq(Policy::NoMailbox),
            "550 sorry, no mailbox here by that name (#5.1.1)"
        );
        assert_eq!(
            faq(Policy::Blacklisted),
            "550 sorry, you are blacklisted on this server (#5.7.1)"
        );
        assert_eq!(
            faq(Policy::NotWhitelisted),
            "552 sorry, you are blacklisted on this server (#5.7.1)"
        );
        assert_eq!(
            faq(Policy::SystemBlocked),
            "550 That sender cannot send mail here (#5.7.1)"
        );
        assert_eq!(
            faq(Policy::RelayDenied),
            "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"
        );
        assert_eq!(faq(Policy::Timeout), "451 timeout (#4.4.2)");
        assert_eq!(
            faq(Policy::TooBig),
            "552 sorry, that message size exceeds my databytes limit (#5.3.4)"
        );
    }

    #[test]
    fn rfc_profile_codes() {
        let rfc = |p: Policy| p.reply(ReplyProfile::Rfc).line();
        assert_eq!(
            rfc(Policy::SendAsDenied),
            "553 5.7.1 sorry, you can't send as this user"
        );
        assert_eq!(
            rfc(Policy::TooManyRecipients),
            "452 4.5.3 sorry, maximum number of recipients reached"
        );
        assert_eq!(
            rfc(Policy::DailyLimit),
            "451 4.7.1 Daily send limit reached. Please try again tomorrow"
        );
        assert_eq!(
            rfc(Policy::RelayDenied),
            "554 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts"
        );
        assert_eq!(
            rfc(Policy::RelayDeniedSubmission),
            "530 5.7.0 Authentication required"
        );
        assert_eq!(rfc(Policy::Timeout), "421 4.4.2 timeout");
        for p in ALL_POLICIES {
            let r = p.reply(ReplyProfile::Rfc);
            // RFC 3463: the enhanced code's class matches the reply's class.
            assert_eq!(
                r.enhanced.as_bytes()[0],
                b'0' + (r.code / 100) as u8,
                "{p:?}"
            );
        }
    }
}
