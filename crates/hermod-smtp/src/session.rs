//! One SMTP session: its stages and the policy checked at each.
//!
//! Stages, in order (each a method below): connect (greeting) → EHLO/HELO → [STARTTLS] →
//! [AUTH] → MAIL (send-as, daily limit, size, system block list) → RCPT (recipient limit,
//! relay, mailbox exists, domain and user lists, accept policy) → DATA (size, hop count) →
//! durable commit → 250. The session never touches a socket: the server hands it lines and
//! writes what it returns.

use std::net::SocketAddr;
use std::sync::Arc;

use hermod_delivery::{Incoming, Planned};
use hermod_model::filter::{RecipientFilter, system_blocks};
use hermod_model::{
    DeliveryStatus, EmailAddress, FilterScope, IncomingLogEntry, LogStatus, Policy, ReplyProfile,
    Verdict,
};
use hermod_store::{Commit, IndexData, NewOutgoing, now_ms};
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN, Request};

use crate::data::DataSummary;
use crate::server::{ListenerKind, Shared};
use hermod_auth::Login;
use hermod_auth::sasl as auth;

/// What the server must do after a command.
/// The accepted message's bytes as read back for the delivery rules.
#[derive(Debug, Default)]
pub struct Content {
    pub raw: Vec<u8>,
    /// False when `raw` is only the start of a very large message.
    pub complete: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Write this reply (one or more CRLF-terminated lines).
    Reply(String),
    /// Write the reply, then start TLS.
    StartTls(String),
    /// Write the reply (354), then read the body.
    Data(String),
    /// Write the reply, then close the connection.
    Close(String),
}

/// Where an accepted recipient's copy goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Local(EmailAddress),
    Remote(EmailAddress),
}

#[derive(Debug, Clone)]
struct Recipient {
    address: EmailAddress,
    targets: Vec<Target>,
    /// The hosted domain this recipient belongs to, for the Incoming Logs.
    hosted_domain: Option<String>,
}

/// A multi-line AUTH exchange in progress.
#[derive(Debug)]
enum AuthStep {
    PlainResponse,
    LoginUser,
    LoginPassword(String),
}

#[derive(Debug)]
struct Transaction {
    sender: Option<EmailAddress>,
    /// The sender as the client gave it ("" for <>).
    sender_raw: String,
    recipients: Vec<Recipient>,
}

pub struct Session {
    shared: Arc<Shared>,
    kind: ListenerKind,
    peer: SocketAddr,
    tls: bool,
    helo: Option<String>,
    esmtp: bool,
    authenticated: Option<EmailAddress>,
    auth_step: Option<AuthStep>,
    tx: Option<Transaction>,
    /// Errors so far; too many and the session is closed.
    errors: u32,
    pub id: String,
}

const MAX_ERRORS: u32 = 30;

impl Session {
    pub fn new(shared: Arc<Shared>, kind: ListenerKind, peer: SocketAddr, tls: bool) -> Session {
        Session {
            shared,
            kind,
            peer,
            tls,
            helo: None,
            esmtp: false,
            authenticated: None,
            auth_step: None,
            tx: None,
            errors: 0,
            id: format!("{:016X}", rand::random::<u64>()),
        }
    }

    fn profile(&self) -> ReplyProfile {
        self.shared.settings.smtp_reply_profile
    }

    /// A reply in the session's profile: faq writes "(#x.y.z)" after failures' text.
    fn reply(&self, code: u16, enhanced: &str, text: &str) -> String {
        match self.profile() {
            ReplyProfile::Rfc => format!("{code} {enhanced} {text}\r\n"),
            ReplyProfile::Faq if code >= 400 => format!("{code} {text} (#{enhanced})\r\n"),
            ReplyProfile::Faq => format!("{code} {text}\r\n"),
        }
    }

    fn policy(&self, p: Policy) -> String {
        format!("{}\r\n", p.reply(self.profile()).line())
    }

    pub fn greeting(&self) -> String {
        format!("220 {} ESMTP Hermod\r\n", self.shared.settings.hostname)
    }

    pub fn timeout_reply(&self) -> String {
        self.policy(Policy::Timeout)
    }

    pub fn tls_started(&mut self) {
        // RFC 3207 §4.2: forget everything learnt before TLS.
        self.tls = true;
        self.helo = None;
        self.tx = None;
        self.authenticated = None;
    }

    fn error(&mut self, reply: String) -> Action {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            return Action::Close(format!(
                "{reply}{}",
                self.reply(421, "4.7.0", "too many errors, closing connection")
            ));
        }
        Action::Reply(reply)
    }

    /// Handles one command line (with its CRLF).
    pub async fn command(&mut self, line: &[u8]) -> Action {
        if self.auth_step.is_some() {
            return self.auth_continue(line).await;
        }
        let request = match Request::parse(&mut line.iter()) {
            Ok(r) => r.into_owned(),
            Err(e) => return self.parse_error(e, line),
        };
        match request {
            Request::Ehlo { host } => self.hello(host, true),
            Request::Helo { host } => self.hello(host, false),
            Request::Lhlo { .. } => self.error(self.reply(500, "5.5.1", "LHLO is for LMTP")),
            Request::StartTls => self.starttls(),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, initial_response).await,
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data(),
            Request::Bdat { .. } => {
                self.error(self.reply(502, "5.5.1", "BDAT is not offered here; use DATA"))
            }
            Request::Rset => {
                self.tx = None;
                Action::Reply(self.reply(250, "2.0.0", "flushed"))
            }
            Request::Noop { .. } => Action::Reply(self.reply(250, "2.0.0", "ok")),
            Request::Quit => Action::Close(format!(
                "221 {} closing connection\r\n",
                self.shared.settings.hostname
            )),
            Request::Vrfy { .. } => {
                Action::Reply(self.reply(252, "2.5.2", "send some mail, I'll try my best"))
            }
            Request::Help { .. } => Action::Reply(self.reply(
                214,
                "2.0.0",
                "see https://www.rfc-editor.org/rfc/rfc5321",
            )),
            Request::Expn { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => {
                self.error(self.reply(502, "5.5.1", "command not implemented"))
            }
        }
    }

    fn parse_error(&mut self, e: smtp_proto::Error, line: &[u8]) -> Action {
        use smtp_proto::Error as E;
        let reply = match e {
            E::UnknownCommand => self.reply(500, "5.5.2", "unrecognised command"),
            E::InvalidSenderAddress => self.reply(501, "5.1.7", "bad sender address syntax"),
            E::InvalidRecipientAddress => self.reply(501, "5.1.3", "bad recipient address syntax"),
            E::SyntaxError { syntax } => self.reply(501, "5.5.4", &format!("syntax: {syntax}")),
            E::InvalidParameter { param } => {
                self.reply(501, "5.5.4", &format!("invalid parameter {param}"))
            }
            E::UnsupportedParameter { param } => {
                let param: String = param
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(40)
                    .collect();
                self.reply(555, "5.5.4", &format!("unsupported parameter {param}"))
            }
            E::NeedsMoreData { .. } | E::ResponseTooLong | E::InvalidResponse { .. } => {
                self.reply(500, "5.5.2", "syntax error")
            }
        };
        tracing::debug!(session = %self.id, line = %String::from_utf8_lossy(line).trim_end(), "bad command");
        self.error(reply)
    }

    fn auth_offered(&self) -> bool {
        // AUTH PLAIN and LOGIN send the password as it is: only inside TLS.
        self.tls
    }

    fn hello(&mut self, host: String, esmtp: bool) -> Action {
        let host: String = host.chars().filter(|c| !c.is_control()).take(255).collect();
        self.helo = Some(host);
        self.esmtp = esmtp;
        self.tx = None;
        let name = &self.shared.settings.hostname;
        if !esmtp {
            return Action::Reply(format!("250 {name}\r\n"));
        }
        let mut lines = vec![
            name.clone(),
            "PIPELINING".into(),
            format!("SIZE {}", self.shared.settings.limits_max_message_size),
        ];
        lines.push("8BITMIME".into());
        lines.push("SMTPUTF8".into());
        if self.profile() == ReplyProfile::Rfc {
            lines.push("ENHANCEDSTATUSCODES".into());
        }
        if !self.tls && self.shared.tls.is_some() {
            lines.push("STARTTLS".into());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".into());
        }
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            out.push_str(&format!("250{sep}{l}\r\n"));
        }
        Action::Reply(out)
    }

    fn starttls(&mut self) -> Action {
        if self.tls {
            return self.error(self.reply(503, "5.5.1", "TLS already active"));
        }
        if self.shared.tls.is_none() {
            return self.error(self.reply(454, "4.7.0", "TLS not available"));
        }
        Action::StartTls(self.reply(220, "2.0.0", "ready to start TLS"))
    }

    async fn auth(&mut self, mechanism: u64, initial: String) -> Action {
        if self.helo.is_none() {
            return self.error(self.reply(503, "5.5.1", "EHLO first"));
        }
        if self.authenticated.is_some() {
            return self.error(self.reply(503, "5.5.1", "already authenticated"));
        }
        if self.tx.is_some() {
            return self.error(self.reply(
                503,
                "5.5.1",
                "AUTH is not allowed during a mail transaction",
            ));
        }
        if !self.auth_offered() {
            return self.error(self.reply(
                538,
                "5.7.11",
                "encryption required: use STARTTLS first, or port 465",
            ));
        }
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.auth_step = Some(AuthStep::PlainResponse);
                Action::Reply("334 \r\n".into())
            }
            AUTH_PLAIN if initial == "=" => self.login_with(None).await,
            AUTH_PLAIN => self.login_with(auth::decode_plain(&initial)).await,
            AUTH_LOGIN if initial.is_empty() => {
                self.auth_step = Some(AuthStep::LoginUser);
                Action::Reply(format!("334 {}\r\n", auth::encode_b64("Username:")))
            }
            AUTH_LOGIN => match auth::decode_b64(&initial) {
                Some(user) => {
                    self.auth_step = Some(AuthStep::LoginPassword(user));
                    Action::Reply(format!("334 {}\r\n", auth::encode_b64("Password:")))
                }
                None => self.error(self.reply(501, "5.5.2", "bad base64")),
            },
            _ => {
                self.error(self.reply(504, "5.5.4", "mechanism not supported; use PLAIN or LOGIN"))
            }
        }
    }

    async fn auth_continue(&mut self, line: &[u8]) -> Action {
        let step = self.auth_step.take();
        let text = String::from_utf8_lossy(line).trim_end().to_string();
        if text == "*" {
            return self.error(self.reply(501, "5.7.0", "authentication cancelled"));
        }
        match step {
            Some(AuthStep::PlainResponse) => self.login_with(auth::decode_plain(&text)).await,
            Some(AuthStep::LoginUser) => match auth::decode_b64(&text) {
                Some(user) => {
                    self.auth_step = Some(AuthStep::LoginPassword(user));
                    Action::Reply(format!("334 {}\r\n", auth::encode_b64("Password:")))
                }
                None => self.error(self.reply(501, "5.5.2", "bad base64")),
            },
            Some(AuthStep::LoginPassword(user)) => {
                let creds = auth::decode_b64(&text).map(|p| (user, p));
                self.login_with(creds).await
            }
            None => self.error(self.reply(503, "5.5.1", "no authentication in progress")),
        }
    }

    async fn login_with(&mut self, creds: Option<(String, String)>) -> Action {
        let Some((login, password)) = creds else {
            return self.error(self.reply(501, "5.5.2", "cannot decode the credentials"));
        };
        let auth = &self.shared.auth;
        match auth
            .login(
                "smtp",
                &self.id.to_string(),
                self.peer.ip(),
                &login,
                &password,
            )
            .await
        {
            Login::Ok(address) => {
                self.authenticated = Some(address);
                Action::Reply(self.reply(235, "2.7.0", "authentication successful"))
            }
            Login::Failed => self.error(self.reply(535, "5.7.8", "authentication failed")),
            Login::Locked => {
                Action::Close(self.reply(421, "4.7.0", "too many failed logins, try again later"))
            }
        }
    }

    async fn mail(&mut self, from: smtp_proto::MailFrom<String>) -> Action {
        if self.helo.is_none() {
            return self.error(self.reply(503, "5.5.1", "send EHLO or HELO first"));
        }
        if self.tx.is_some() {
            return self.error(self.reply(503, "5.5.1", "nested MAIL command"));
        }
        let settings = &self.shared.settings;
        if from.size as u64 > settings.limits_max_message_size {
            return self.error(self.policy(Policy::TooBig));
        }
        let sender = if from.address.is_empty() {
            None
        } else {
            match EmailAddress::parse(&from.address) {
                Ok(a) => Some(a),
                Err(_) => return self.error(self.reply(553, "5.1.7", "bad sender address")),
            }
        };
        let store = &self.shared.store;
        if let Some(account) = self.authenticated.clone() {
            let allowed = match &sender {
                Some(s) => store.may_send_as(&account, s).await,
                None => Ok(false),
            };
            match allowed {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(session = %self.id, %account, from = %from.address, "send-as refused");
                    return self.error(self.policy(Policy::SendAsDenied));
                }
                Err(e) => return self.temp_failure(e),
            }
            match self.daily_limit_reached(&account).await {
                Ok(true) => {
                    tracing::info!(session = %self.id, %account, "daily send limit reached");
                    return self.error(self.policy(Policy::DailyLimit));
                }
                Ok(false) => {}
                Err(e) => return self.temp_failure(e),
            }
        } else if let Some(s) = &sender {
            match store.list_entries(&FilterScope::System).await {
                Ok(list) if system_blocks(&list, s) => {
                    let reply = self.policy(Policy::SystemBlocked);
                    self.log_rejection(&from.address, "", "", &reply).await;
                    return self.error(reply);
                }
                Ok(_) => {}
                Err(e) => return self.temp_failure(e),
            }
        }
        self.tx = Some(Transaction {
            sender,
            sender_raw: from.address,
            recipients: Vec::new(),
        });
        Action::Reply(self.reply(250, "2.1.0", "ok"))
    }

    async fn daily_limit_reached(&self, account: &EmailAddress) -> hermod_store::Result<bool> {
        let store = &self.shared.store;
        let (sent, limit) = store.sent_today(&store.get_account(account).await?).await?;
        Ok(sent >= u64::from(limit))
    }

    fn temp_failure(&mut self, e: impl std::fmt::Display) -> Action {
        tracing::error!(session = %self.id, error = %e, "store error");
        self.error(self.reply(451, "4.3.0", "temporary failure, please try again later"))
    }

    async fn log_rejection(&self, sender: &str, recipient: &str, domain: &str, reply: &str) {
        let entry = self.log_entry(
            sender,
            recipient,
            domain,
            None,
            LogStatus::Rejected,
            reply.trim_end(),
        );
        if let Err(e) = self.shared.store.log_incoming(&[entry]).await {
            tracing::error!(session = %self.id, error = %e, "cannot write the incoming log");
        }
    }

    fn log_entry(
        &self,
        sender: &str,
        recipient: &str,
        domain: &str,
        subject: Option<String>,
        status: LogStatus,
        reply: &str,
    ) -> IncomingLogEntry {
        IncomingLogEntry {
            id: 0,
            at: now_ms(),
            client_ip: self.peer.ip().to_string(),
            helo: self.helo.clone().unwrap_or_default(),
            sender: sender.to_string(),
            recipient: recipient.to_string(),
            domain: domain.to_string(),
            subject,
            status,
            reply: reply.to_string(),
        }
    }

    async fn rcpt(&mut self, to: smtp_proto::RcptTo<String>) -> Action {
        let Some(tx) = &self.tx else {
            return self.error(self.reply(503, "5.5.1", "MAIL first"));
        };
        if tx.recipients.len() as u32 >= self.shared.settings.limits_max_recipients {
            // Not counted as an error: a client may pipeline many more and still send DATA.
            return Action::Reply(self.policy(Policy::TooManyRecipients));
        }
        let sender_raw = tx.sender_raw.clone();
        let sender = tx.sender.clone();
        let Ok(address) = EmailAddress::parse(&to.address) else {
            return self.error(self.reply(501, "5.1.3", "bad recipient address syntax"));
        };
        if tx.recipients.iter().any(|r| r.address == address) {
            return Action::Reply(self.reply(250, "2.1.5", "ok (duplicate recipient)"));
        }
        let store = self.shared.store.clone();
        let domain = match store.find_domain(address.domain()).await {
            Ok(d) => d,
            Err(e) => return self.temp_failure(e),
        };
        let Some(domain) = domain else {
            // Not hosted here: only authenticated users may relay.
            if self.authenticated.is_some() {
                return self.accept_rcpt(Recipient {
                    targets: vec![Target::Remote(address.clone())],
                    address,
                    hosted_domain: None,
                });
            }
            let policy = if self.kind != ListenerKind::Smtp && self.profile() == ReplyProfile::Rfc {
                Policy::RelayDeniedSubmission
            } else {
                Policy::RelayDenied
            };
            tracing::info!(session = %self.id, rcpt = %address, "relay refused");
            return self.error(self.policy(policy));
        };
        let domain_name = domain.name.to_string();
        if !domain.local_delivery {
            // Migration mode: the domain's mail lives at its external MX.
            return self.accept_rcpt(Recipient {
                targets: vec![Target::Remote(address.clone())],
                address,
                hosted_domain: Some(domain_name),
            });
        }
        let lookup = async {
            if let Some(account) = store.find_account(&address).await? {
                return Ok::<_, hermod_store::StoreError>(Some((
                    Some(account),
                    vec![Target::Local(address.clone())],
                )));
            }
            let alias = match store.alias_targets(&address).await? {
                Some(t) => Some(t),
                None => match address.without_detail() {
                    Some(base) => {
                        if let Some(account) = store.find_account(&base).await? {
                            return Ok(Some((Some(account), vec![Target::Local(base)])));
                        }
                        store.alias_targets(&base).await?
                    }
                    None => None,
                },
            };
            let Some(targets) = alias else {
                return Ok(None);
            };
            let mut out = Vec::new();
            for t in targets {
                let local = match store.find_domain(t.domain()).await? {
                    Some(d) if d.local_delivery => store.find_account(&t).await?.is_some(),
                    _ => false,
                };
                out.push(if local {
                    Target::Local(t)
                } else {
                    Target::Remote(t)
                });
            }
            Ok(Some((None, out)))
        };
        let (account, targets) = match lookup.await {
            Ok(Some(found)) => found,
            Ok(None) => {
                let reply = self.policy(Policy::NoMailbox);
                self.log_rejection(&sender_raw, &address.to_string(), &domain_name, &reply)
                    .await;
                return self.error(reply);
            }
            Err(e) => return self.temp_failure(e),
        };
        if let Some(account) = account.as_ref().filter(|a| !a.enabled) {
            let reply = self.reply(550, "5.2.1", "sorry, this mailbox is disabled");
            self.log_rejection(
                &sender_raw,
                &account.address.to_string(),
                &domain_name,
                &reply,
            )
            .await;
            return self.error(reply);
        }
        // Filtering: the recipient's and its domain's lists, then the accept policy. Mail from
        // the null sender (bounces) has no sender to judge.
        if let Some(sender) = &sender {
            let verdict = async {
                let domain_entries = store
                    .list_entries(&FilterScope::Domain(domain.name.clone()))
                    .await?;
                let (user_entries, user_mode, in_contacts) = match &account {
                    Some(a) => (
                        store
                            .list_entries(&FilterScope::User(a.address.clone()))
                            .await?,
                        a.filter_mode,
                        store.is_contact(&a.address, sender).await?,
                    ),
                    None => (Vec::new(), Default::default(), false),
                };
                Ok::<_, hermod_store::StoreError>(
                    RecipientFilter {
                        user_entries: &user_entries,
                        domain_entries: &domain_entries,
                        user_mode,
                        domain_mode: domain.filter_mode,
                        sender_in_contacts: in_contacts,
                    }
                    .decide(sender),
                )
            };
            let policy = match verdict.await {
                Ok(Verdict::Accept) => None,
                Ok(Verdict::Blocked(_)) => Some(Policy::Blacklisted),
                Ok(Verdict::NotWhitelisted) => Some(Policy::NotWhitelisted),
                Err(e) => return self.temp_failure(e),
            };
            if let Some(policy) = policy {
                let reply = self.policy(policy);
                self.log_rejection(&sender_raw, &address.to_string(), &domain_name, &reply)
                    .await;
                return self.error(reply);
            }
        }
        self.accept_rcpt(Recipient {
            address,
            targets,
            hosted_domain: Some(domain_name),
        })
    }

    fn accept_rcpt(&mut self, rcpt: Recipient) -> Action {
        if let Some(tx) = self.tx.as_mut() {
            tx.recipients.push(rcpt);
        }
        Action::Reply(self.reply(250, "2.1.5", "ok"))
    }

    fn data(&mut self) -> Action {
        match &self.tx {
            None => self.error(self.reply(503, "5.5.1", "MAIL first")),
            Some(tx) if tx.recipients.is_empty() => {
                self.error(self.reply(554, "5.5.1", "no valid recipients"))
            }
            Some(_) => Action::Data("354 go ahead, end with <CRLF>.<CRLF>\r\n".into()),
        }
    }

    /// The trace headers written above the body: Return-Path and Received (RFC 5321 §4.4).
    pub fn trace_headers(&self) -> String {
        let tx = self.tx.as_ref();
        let proto = match (self.esmtp, self.tls, self.authenticated.is_some()) {
            (false, _, _) => "SMTP",
            (true, false, false) => "ESMTP",
            (true, true, false) => "ESMTPS",
            (true, false, true) => "ESMTPA",
            (true, true, true) => "ESMTPSA",
        };
        let for_clause = match tx.map(|t| t.recipients.as_slice()) {
            Some([one]) => format!("\r\n\tfor <{}>", one.address),
            _ => String::new(),
        };
        let helo = self.helo.as_deref().unwrap_or("unknown");
        format!(
            "Return-Path: <{}>\r\nReceived: from {} ([{}])\r\n\tby {} (Hermod) with {} id {}{};\r\n\t{}\r\n",
            tx.map(|t| t.sender_raw.as_str()).unwrap_or(""),
            helo,
            self.peer.ip(),
            self.shared.settings.hostname,
            proto,
            self.id,
            for_clause,
            chrono::Utc::now().to_rfc2822()
        )
    }

    /// For mail from the internet (not an authenticated submission) in a transaction: the
    /// client's IP, its HELO name and the envelope sender, for SPF, DKIM and DMARC.
    pub fn inbound_identity(&self) -> Option<(std::net::IpAddr, String, String)> {
        if self.authenticated.is_some() {
            return None;
        }
        let tx = self.tx.as_ref()?;
        Some((
            self.peer.ip(),
            self.helo.clone().unwrap_or_default(),
            tx.sender_raw.clone(),
        ))
    }

    /// Refuses the message because its domain's DMARC policy says reject.
    pub async fn refuse_dmarc(&mut self, domain: &str) -> Action {
        let Some(tx) = self.tx.take() else {
            return self.error(self.reply(503, "5.5.1", "MAIL first"));
        };
        let reply = self.reply(
            550,
            "5.7.1",
            &format!("message rejected: it fails the DMARC policy of {domain}"),
        );
        for r in &tx.recipients {
            if let Some(domain) = r.hosted_domain.as_deref() {
                self.log_rejection(&tx.sender_raw, &r.address.to_string(), domain, &reply)
                    .await;
            }
        }
        tracing::info!(session = %self.id, from = %tx.sender_raw, domain, "refused: DMARC p=reject");
        self.error(reply)
    }

    /// After the body: refuse it, or commit it durably and say 250.
    pub async fn finish_data(
        &mut self,
        blob_id: Option<String>,
        summary: DataSummary,
        subject: Option<String>,
        index: IndexData,
        content: Content,
    ) -> Action {
        let Some(tx) = self.tx.take() else {
            return self.error(self.reply(503, "5.5.1", "MAIL first"));
        };
        if summary.too_big {
            return self.error(self.policy(Policy::TooBig));
        }
        if summary.received > self.shared.settings.smtp_max_received {
            return self.error(self.reply(554, "5.4.6", "too many hops, this message is looping"));
        }
        let Some(blob_id) = blob_id else {
            return self.temp_failure("the message could not be stored");
        };
        let mut local = Vec::new();
        let mut remote = Vec::new();
        for t in tx.recipients.iter().flat_map(|r| r.targets.iter()) {
            match t {
                Target::Local(a) if !local.contains(a) => local.push(a.clone()),
                Target::Remote(a) if !remote.contains(a) => remote.push(a.clone()),
                _ => {}
            }
        }
        let planned = if local.is_empty() {
            Planned::default()
        } else {
            let incoming = Incoming {
                raw: &content.raw,
                complete: content.complete,
                blob_id: &blob_id,
                size: summary.size,
                sender: &tx.sender_raw,
                accounts: &local,
            };
            match self.shared.delivery.plan(&incoming).await {
                Ok(p) => p,
                Err(e) => return self.temp_failure(e),
            }
        };
        for note in &planned.notes {
            tracing::info!(session = %self.id, "{note}");
        }
        let reply = self.reply(250, "2.0.0", &format!("ok: queued as {}", self.id));
        let incoming_log = tx
            .recipients
            .iter()
            .filter_map(|r| {
                let domain = r.hosted_domain.as_deref()?;
                Some(self.log_entry(
                    &tx.sender_raw,
                    &r.address.to_string(),
                    domain,
                    subject.clone(),
                    LogStatus::Accepted,
                    reply.trim_end(),
                ))
            })
            .collect();
        let outgoing = self.authenticated.as_ref().map(|account| NewOutgoing {
            account: account.clone(),
            sender: tx.sender_raw.clone(),
            subject: subject.clone(),
            size: summary.size,
            counted: if self.shared.settings.limits_count_per_recipient {
                tx.recipients.len() as u32
            } else {
                1
            },
            recipients: tx
                .recipients
                .iter()
                .map(|r| {
                    let local = r.targets.iter().all(|t| matches!(t, Target::Local(_)));
                    if local {
                        (
                            r.address.to_string(),
                            DeliveryStatus::Delivered,
                            Some("local".to_string()),
                        )
                    } else {
                        (r.address.to_string(), DeliveryStatus::Queued, None)
                    }
                })
                .collect(),
        });
        let commit = Commit {
            blob_id,
            size: summary.size,
            index,
            sender: tx.sender_raw.clone(),
            local: planned.local,
            remote,
            outgoing,
            derived: planned.derived,
            auto_replied: planned.auto_replied,
            incoming_log,
        };
        match self.shared.committer.commit(commit).await {
            Ok(()) => {
                tracing::info!(session = %self.id, from = %tx.sender_raw, rcpts = tx.recipients.len(), size = summary.size, "accepted");
                Action::Reply(reply)
            }
            Err(e) => self.temp_failure(e),
        }
    }

    /// The body could not be received (connection lost, spool error): forget the transaction.
    pub fn abort_data(&mut self) {
        self.tx = None;
    }

    pub fn data_too_long_line(&self) -> String {
        self.reply(500, "5.5.2", "line too long")
    }
}
