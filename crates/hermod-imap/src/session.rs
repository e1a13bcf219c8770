//! One IMAP session: its state (not authenticated, authenticated, selected), what the client
//! enabled, and every command. Responses go into an [`Output`]; the server owns the socket.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hermod_auth::{Login, sasl};
use hermod_imap_proto::{
    Append, Command, List, ParseError, Qresync, Search, SearchReturn, StatusItem,
    Store as StoreCmd, StoreMode, Tagged, encode,
};
use hermod_model::{EmailAddress, Mailbox, SpecialUse};
use hermod_store::{BlobStore, FlagOp, MessageState, NewMessage, StoreError, normalise_flag};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::names;
use crate::server::Shared;
use crate::view::{Report, View, flags_response};

/// Responses on their way to the client. Large answers (FETCH of a big mailbox) are flushed
/// as they grow instead of being built whole.
pub struct Output<'a> {
    buf: Vec<u8>,
    w: &'a mut (dyn AsyncWrite + Unpin + Send),
}

impl<'a> Output<'a> {
    pub fn new(w: &'a mut (dyn AsyncWrite + Unpin + Send)) -> Output<'a> {
        Output {
            buf: Vec::with_capacity(4096),
            w,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn line(&mut self, s: impl AsRef<str>) {
        self.push(s.as_ref().as_bytes());
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.w.write_all(&self.buf).await?;
            self.buf.clear();
        }
        self.w.flush().await
    }

    /// Writes out what has gathered once it is large.
    pub async fn flush_if_large(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= 256 * 1024 {
            self.w.write_all(&self.buf).await?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// What the server does after a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
    StartTls,
    Compress,
    /// Enter IDLE for this tag.
    Idle(String),
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Enabled {
    pub condstore: bool,
    pub qresync: bool,
    pub rev2: bool,
    pub utf8: bool,
}

pub struct Session {
    pub(crate) shared: Arc<Shared>,
    id: String,
    peer: SocketAddr,
    tls: bool,
    tls_available: bool,
    compressed: bool,
    pub(crate) account: Option<EmailAddress>,
    pub(crate) view: Option<View>,
    pub(crate) enabled: Enabled,
    /// AUTHENTICATE waiting for the client's response: (tag, mechanism).
    sasl: Option<String>,
}

/// A command's outcome line: `tag OK|NO|BAD [code] text`.
fn done(tag: &str, status: &str, text: impl AsRef<str>) -> String {
    format!("{tag} {status} {}\r\n", text.as_ref())
}

fn store_failure(tag: &str, e: &StoreError) -> String {
    match e {
        StoreError::NotFound(..) => done(tag, "NO", format!("[NONEXISTENT] {e}")),
        StoreError::Exists(..) => done(tag, "NO", format!("[ALREADYEXISTS] {e}")),
        StoreError::Conflict(_) => done(tag, "NO", format!("[CANNOT] {e}")),
        _ => {
            tracing::error!(error = %e, "IMAP store error");
            done(
                tag,
                "NO",
                "[SERVERBUG] the server could not do that now; try again later",
            )
        }
    }
}

impl Session {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, tls: bool, tls_available: bool) -> Session {
        Session {
            shared,
            id: format!("{:08x}", rand::random::<u32>()),
            peer,
            tls,
            tls_available,
            compressed: false,
            account: None,
            view: None,
            enabled: Enabled::default(),
            sasl: None,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn timeout(&self) -> Duration {
        if self.account.is_some() {
            self.shared.settings.imap_timeout
        } else {
            self.shared.settings.imap_login_timeout
        }
    }

    pub fn expects_sasl(&self) -> bool {
        self.sasl.is_some()
    }

    pub fn tls_started(&mut self) {
        self.tls = true;
    }

    pub fn watch(&self) -> Option<watch::Receiver<u64>> {
        self.account
            .as_ref()
            .map(|a| self.shared.store.watch_account(a))
    }

    pub async fn finish(&mut self) {
        tracing::debug!(session = %self.id, "IMAP connection closed");
    }

    pub(crate) fn report(&self) -> Report {
        Report {
            condstore: self.enabled.condstore,
            qresync: self.enabled.qresync,
        }
    }

    pub(crate) fn utf8(&self) -> bool {
        self.enabled.utf8 || self.enabled.rev2
    }

    fn capabilities(&self) -> String {
        let mut caps = vec!["IMAP4rev1", "IMAP4rev2"];
        if self.account.is_none() {
            if !self.tls && self.tls_available {
                caps.push("STARTTLS");
            }
            if self.tls {
                caps.extend(["AUTH=PLAIN", "SASL-IR"]);
            } else {
                caps.push("LOGINDISABLED");
            }
        }
        caps.extend([
            "LITERAL+",
            "ID",
            "ENABLE",
            "IDLE",
            "NAMESPACE",
            "UNSELECT",
            "UIDPLUS",
            "MOVE",
            "CHILDREN",
            "LIST-EXTENDED",
            "LIST-STATUS",
            "SPECIAL-USE",
            "CREATE-SPECIAL-USE",
            "CONDSTORE",
            "QRESYNC",
            "ESEARCH",
            "SEARCHRES",
            "WITHIN",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            "BINARY",
            "MULTIAPPEND",
            "STATUS=SIZE",
            "UTF8=ACCEPT",
        ]);
        let mut s = caps.join(" ");
        s.push_str(&format!(
            " APPENDLIMIT={}",
            self.shared.settings.limits_max_message_size
        ));
        if self.account.is_some() && !self.compressed {
            s.push_str(" COMPRESS=DEFLATE");
        }
        s
    }

    pub fn greeting(&self) -> String {
        format!(
            "* OK [CAPABILITY {}] {} Hermod IMAP ready\r\n",
            self.capabilities(),
            self.shared.settings.hostname
        )
    }

    /// A command that did not parse.
    pub fn bad_command(&mut self, e: ParseError, out: &mut Output<'_>) -> Flow {
        let tag = e.tag.unwrap_or_else(|| "*".into());
        out.line(done(&tag, "BAD", e.message));
        Flow::Continue
    }

    pub async fn handle(&mut self, t: Tagged, out: &mut Output<'_>) -> Flow {
        let tag = t.tag.as_str();
        let name = t.command.name();
        let selected_only = matches!(
            t.command,
            Command::Check
                | Command::Close
                | Command::Unselect
                | Command::Expunge { .. }
                | Command::Search(_)
                | Command::Fetch(_)
                | Command::Store(_)
                | Command::Copy { .. }
                | Command::Move { .. }
        );
        let any_state = matches!(
            t.command,
            Command::Capability | Command::Noop | Command::Logout | Command::Id(_)
        );
        let not_auth_only = matches!(
            t.command,
            Command::StartTls | Command::Login { .. } | Command::Authenticate { .. }
        );
        if !any_state {
            if not_auth_only && self.account.is_some() {
                out.line(done(
                    tag,
                    "BAD",
                    format!("{name} is not allowed: already logged in"),
                ));
                return Flow::Continue;
            }
            if !not_auth_only && self.account.is_none() {
                out.line(done(
                    tag,
                    "BAD",
                    format!("{name} is not allowed before logging in"),
                ));
                return Flow::Continue;
            }
            if selected_only && self.view.is_none() {
                out.line(done(
                    tag,
                    "BAD",
                    format!("{name} needs a selected mailbox: SELECT one first"),
                ));
                return Flow::Continue;
            }
        }
        // Non-UID FETCH, STORE and SEARCH must not be interleaved with EXPUNGE responses
        // (RFC 9051 7.5.1): other sessions' changes wait for the next command.
        let sync_after = !matches!(
            &t.command,
            Command::Fetch(f) if !f.uid
        ) && !matches!(&t.command, Command::Store(s) if !s.uid)
            && !matches!(&t.command, Command::Search(s) if !s.uid)
            && !matches!(
                t.command,
                Command::Logout | Command::Idle | Command::Compress { .. }
            );
        let (flow, reply) = self.dispatch(t, out).await;
        if sync_after && self.view.is_some() {
            self.sync(out).await;
        }
        if let Some(r) = reply {
            out.line(r);
        }
        flow
    }

    /// Brings the selected mailbox up to date with changes made elsewhere.
    pub(crate) async fn sync(&mut self, out: &mut Output<'_>) {
        let report = self.report();
        let Some(view) = self.view.as_mut() else {
            return;
        };
        match self
            .shared
            .store
            .changes_since(view.mailbox.id, view.synced)
            .await
        {
            Ok(changes) => {
                for line in view.apply_changes(changes, report) {
                    out.line(line);
                }
            }
            Err(StoreError::NotFound(..)) => {
                out.line("* BYE the selected mailbox was deleted\r\n");
                self.view = None;
            }
            Err(e) => tracing::warn!(session = %self.id, error = %e, "cannot read mailbox changes"),
        }
    }

    pub async fn idle_poll(&mut self, out: &mut Output<'_>) {
        self.sync(out).await;
    }

    async fn dispatch(&mut self, t: Tagged, out: &mut Output<'_>) -> (Flow, Option<String>) {
        let tag = t.tag.as_str();
        let reply = |status: &str, text: &str| Some(done(tag, status, text));
        match t.command {
            Command::Capability => {
                out.line(format!("* CAPABILITY {}\r\n", self.capabilities()));
                (Flow::Continue, reply("OK", "CAPABILITY completed"))
            }
            Command::Noop | Command::Check => (Flow::Continue, reply("OK", "NOOP completed")),
            Command::Logout => {
                out.line("* BYE logging out\r\n");
                out.line(done(tag, "OK", "LOGOUT completed"));
                (Flow::Close, None)
            }
            Command::Id(_) => {
                out.line(format!(
                    "* ID (\"name\" \"Hermod\" \"version\" \"{}\")\r\n",
                    env!("CARGO_PKG_VERSION")
                ));
                (Flow::Continue, reply("OK", "ID completed"))
            }
            Command::StartTls => {
                if self.tls {
                    (Flow::Continue, reply("BAD", "TLS is already active"))
                } else if !self.tls_available {
                    (
                        Flow::Continue,
                        reply("NO", "TLS is not available on this server"),
                    )
                } else {
                    out.line(done(tag, "OK", "begin TLS negotiation now"));
                    (Flow::StartTls, None)
                }
            }
            Command::Login { user, password } => {
                if !self.tls {
                    return (
                        Flow::Continue,
                        reply(
                            "NO",
                            "[PRIVACYREQUIRED] LOGIN is only allowed over TLS: use STARTTLS or port 993",
                        ),
                    );
                }
                (
                    Flow::Continue,
                    Some(self.login(tag, &user, &password).await),
                )
            }
            Command::Authenticate { mechanism, initial } => {
                if !self.tls {
                    return (
                        Flow::Continue,
                        reply(
                            "NO",
                            "[PRIVACYREQUIRED] authentication is only allowed over TLS: use STARTTLS or port 993",
                        ),
                    );
                }
                if !mechanism.eq_ignore_ascii_case("PLAIN") {
                    return (
                        Flow::Continue,
                        reply("NO", "unsupported mechanism; use AUTHENTICATE PLAIN"),
                    );
                }
                match initial {
                    Some(i) => (Flow::Continue, Some(self.plain(tag, &i).await)),
                    None => {
                        self.sasl = Some(tag.to_string());
                        out.line("+ \r\n");
                        (Flow::Continue, None)
                    }
                }
            }
            Command::Enable(caps) => {
                let mut on = Vec::new();
                for c in caps {
                    let u = c.to_ascii_uppercase();
                    let known = match u.as_str() {
                        "CONDSTORE" => {
                            self.enabled.condstore = true;
                            true
                        }
                        "QRESYNC" => {
                            self.enabled.qresync = true;
                            self.enabled.condstore = true;
                            true
                        }
                        "IMAP4REV2" => {
                            self.enabled.rev2 = true;
                            true
                        }
                        "UTF8=ACCEPT" => {
                            self.enabled.utf8 = true;
                            true
                        }
                        _ => false,
                    };
                    if known && !on.contains(&u) {
                        on.push(u);
                    }
                }
                out.line(
                    format!("* ENABLED {}\r\n", on.join(" "))
                        .replace("ENABLED \r\n", "ENABLED\r\n"),
                );
                (Flow::Continue, reply("OK", "ENABLE completed"))
            }
            Command::Select {
                mailbox,
                read_only,
                condstore,
                qresync,
            } => {
                if condstore {
                    self.enabled.condstore = true;
                }
                let r = self.select(tag, &mailbox, read_only, qresync, out).await;
                (Flow::Continue, Some(r))
            }
            Command::Create {
                mailbox,
                special_use,
            } => (
                Flow::Continue,
                Some(self.create(tag, &mailbox, &special_use).await),
            ),
            Command::Delete { mailbox } => (Flow::Continue, Some(self.delete(tag, &mailbox).await)),
            Command::Rename { from, to } => {
                (Flow::Continue, Some(self.rename(tag, &from, &to).await))
            }
            Command::Subscribe { mailbox } => (
                Flow::Continue,
                Some(self.subscribe(tag, &mailbox, true).await),
            ),
            Command::Unsubscribe { mailbox } => (
                Flow::Continue,
                Some(self.subscribe(tag, &mailbox, false).await),
            ),
            Command::List(l) => (Flow::Continue, Some(self.list(tag, l, out).await)),
            Command::Namespace => {
                out.line("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                (Flow::Continue, reply("OK", "NAMESPACE completed"))
            }
            Command::Status { mailbox, items } => (
                Flow::Continue,
                Some(self.status(tag, &mailbox, &items, out).await),
            ),
            Command::Append(a) => (Flow::Continue, Some(self.append(tag, a).await)),
            Command::Idle => (Flow::Idle(tag.to_string()), None),
            Command::GetQuota { root } => {
                (Flow::Continue, Some(self.get_quota(tag, &root, out).await))
            }
            Command::GetQuotaRoot { mailbox } => (
                Flow::Continue,
                Some(self.get_quota_root(tag, &mailbox, out).await),
            ),
            Command::SetQuota { .. } => (
                Flow::Continue,
                reply(
                    "NO",
                    "[NOPERM] quotas are set by the provider in the Admin Panel",
                ),
            ),
            Command::Compress { algorithm } => {
                if self.compressed {
                    (
                        Flow::Continue,
                        reply("NO", "[COMPRESSIONACTIVE] compression is already on"),
                    )
                } else if !algorithm.eq_ignore_ascii_case("DEFLATE") {
                    (
                        Flow::Continue,
                        reply("BAD", "unknown compression; use COMPRESS DEFLATE"),
                    )
                } else {
                    self.compressed = true;
                    out.line(done(tag, "OK", "DEFLATE active"));
                    (Flow::Compress, None)
                }
            }
            Command::Close => {
                let mut r = None;
                if let Some(view) = self.view.take()
                    && !view.read_only
                    && let Err(e) = self.shared.store.expunge(&view.mailbox, None).await
                {
                    r = Some(store_failure(tag, &e));
                }
                (Flow::Continue, r.or_else(|| reply("OK", "CLOSE completed")))
            }
            Command::Unselect => {
                self.view = None;
                (Flow::Continue, reply("OK", "UNSELECT completed"))
            }
            Command::Expunge { uids } => (Flow::Continue, Some(self.expunge(tag, uids, out).await)),
            Command::Search(s) => (Flow::Continue, Some(self.search(tag, s, out).await)),
            Command::Fetch(f) => (
                Flow::Continue,
                Some(crate::fetch::fetch(self, tag, f, out).await),
            ),
            Command::Store(s) => (Flow::Continue, Some(self.store(tag, s, out).await)),
            Command::Copy { uid, set, mailbox } => (
                Flow::Continue,
                Some(self.copy(tag, uid, &set, &mailbox, false, out).await),
            ),
            Command::Move { uid, set, mailbox } => (
                Flow::Continue,
                Some(self.copy(tag, uid, &set, &mailbox, true, out).await),
            ),
        }
    }

    // ----- authentication -----

    async fn login(&mut self, tag: &str, user: &str, password: &str) -> String {
        let auth = self.shared.auth.clone();
        match auth
            .login("imap", &self.id, self.peer.ip(), user, password)
            .await
        {
            Login::Ok(address) => {
                self.account = Some(address);
                done(
                    tag,
                    "OK",
                    format!("[CAPABILITY {}] logged in", self.capabilities()),
                )
            }
            Login::Failed => done(tag, "NO", "[AUTHENTICATIONFAILED] authentication failed"),
            Login::Locked => done(
                tag,
                "NO",
                "[UNAVAILABLE] too many failed logins, try again later",
            ),
        }
    }

    async fn plain(&mut self, tag: &str, response: &str) -> String {
        let response = if response == "=" { "" } else { response };
        match sasl::decode_plain(response) {
            Some((user, password)) => self.login(tag, &user, &password).await,
            None => done(tag, "BAD", "cannot decode the PLAIN credentials"),
        }
    }

    /// The client's answer to AUTHENTICATE's continuation.
    pub async fn sasl_response(&mut self, line: &[u8], out: &mut Output<'_>) -> Flow {
        let Some(tag) = self.sasl.take() else {
            return Flow::Continue;
        };
        let text = String::from_utf8_lossy(line).trim().to_string();
        if text == "*" {
            out.line(done(&tag, "BAD", "authentication cancelled"));
            return Flow::Continue;
        }
        let r = self.plain(&tag, &text).await;
        out.line(r);
        Flow::Continue
    }

    // ----- mailboxes -----

    fn account(&self) -> &EmailAddress {
        // Every caller runs after the state check in `handle`.
        self.account
            .as_ref()
            .expect("authenticated state checked before dispatch")
    }

    pub(crate) fn mailbox_name(&self, raw: &str) -> Result<String, String> {
        names::from_client(raw, self.utf8())
    }

    async fn find(&self, tag: &str, raw: &str) -> Result<Mailbox, String> {
        let name = self.mailbox_name(raw).map_err(|e| done(tag, "BAD", e))?;
        match self.shared.store.get_mailbox(self.account(), &name).await {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(done(
                tag,
                "NO",
                format!("[NONEXISTENT] there is no mailbox {name:?}"),
            )),
            Err(e) => Err(store_failure(tag, &e)),
        }
    }

    async fn select(
        &mut self,
        tag: &str,
        raw: &str,
        read_only: bool,
        qresync: Option<Qresync>,
        out: &mut Output<'_>,
    ) -> String {
        self.view = None;
        if qresync.is_some() && !self.enabled.qresync {
            return done(tag, "BAD", "QRESYNC parameters need ENABLE QRESYNC first");
        }
        let mailbox = match self.find(tag, raw).await {
            Ok(m) => m,
            Err(r) => return r,
        };
        let messages = match self.shared.store.message_states(mailbox.id).await {
            Ok(m) => m,
            Err(e) => return store_failure(tag, &e),
        };
        let synced = messages
            .iter()
            .map(|m| m.modseq)
            .max()
            .unwrap_or(0)
            .max(mailbox.highest_modseq);
        let view = View::new(mailbox.clone(), read_only, messages, synced);
        out.line(
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk)\r\n",
        );
        if read_only {
            out.line("* OK [PERMANENTFLAGS ()] read-only\r\n");
        } else {
            out.line("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk $NotJunk \\*)] flags permitted\r\n");
        }
        out.line(format!("* {} EXISTS\r\n", view.exists()));
        if !self.enabled.rev2 {
            out.line("* 0 RECENT\r\n");
            if let Some(i) = view
                .messages
                .iter()
                .position(|m| !m.flags.iter().any(|f| f == "\\Seen"))
            {
                out.line(format!("* OK [UNSEEN {}] first unseen\r\n", i + 1));
            }
        }
        out.line(format!(
            "* OK [UIDVALIDITY {}] UIDs valid\r\n",
            mailbox.uidvalidity
        ));
        out.line(format!(
            "* OK [UIDNEXT {}] predicted next UID\r\n",
            mailbox.uidnext
        ));
        if self.enabled.condstore {
            out.line(format!("* OK [HIGHESTMODSEQ {}] highest\r\n", view.synced));
        }
        if self.enabled.rev2 {
            out.line(format!(
                "* LIST () \"/\" {}\r\n",
                names::to_client(&mailbox.name, true)
            ));
        }
        if let Some(q) = qresync
            && q.uidvalidity == mailbox.uidvalidity
        {
            let report = self.report();
            let known = q.known_uids.as_ref();
            match self.shared.store.expunged_since(mailbox.id, q.modseq).await {
                Ok(gone) => {
                    let gone: Vec<u32> = gone
                        .into_iter()
                        .filter(|u| known.is_none_or(|k| k.contains(*u, u32::MAX)))
                        .collect();
                    if !gone.is_empty() {
                        out.line(format!(
                            "* VANISHED (EARLIER) {}\r\n",
                            encode::compress_set(&gone)
                        ));
                    }
                }
                Err(e) => return store_failure(tag, &e),
            }
            for (i, m) in view.messages.iter().enumerate() {
                if m.modseq > q.modseq {
                    out.line(flags_response(i as u32 + 1, m, report));
                }
            }
        }
        self.view = Some(view);
        let mode = if read_only {
            "[READ-ONLY]"
        } else {
            "[READ-WRITE]"
        };
        done(
            tag,
            "OK",
            format!(
                "{mode} {} completed",
                if read_only { "EXAMINE" } else { "SELECT" }
            ),
        )
    }

    async fn create(&mut self, tag: &str, raw: &str, special_use: &[String]) -> String {
        let name = match self.mailbox_name(raw) {
            Ok(n) => n,
            Err(e) => return done(tag, "BAD", e),
        };
        if name == "INBOX" {
            return done(tag, "NO", "[ALREADYEXISTS] INBOX always exists");
        }
        let special = match special_use {
            [] => None,
            [one] => match SpecialUse::parse(&normalise_special(one)) {
                Some(s) => Some(s),
                None => {
                    return done(
                        tag,
                        "NO",
                        format!("[USEATTR] {one} is not a special use this server knows"),
                    );
                }
            },
            _ => return done(tag, "NO", "[USEATTR] give one special use per mailbox"),
        };
        let store = &self.shared.store;
        let account = self.account().clone();
        // Superior levels are created too, as RFC 9051 asks.
        for parent in names::ancestors(&name) {
            if let Ok(None) = store.get_mailbox(&account, parent).await {
                let _ = store.create_mailbox(&account, parent, None).await;
            }
        }
        match store.create_mailbox(&account, &name, special).await {
            Ok(_) => done(tag, "OK", "CREATE completed"),
            Err(e) => store_failure(tag, &e),
        }
    }

    async fn delete(&mut self, tag: &str, raw: &str) -> String {
        let name = match self.mailbox_name(raw) {
            Ok(n) => n,
            Err(e) => return done(tag, "BAD", e),
        };
        if name == "INBOX" {
            return done(tag, "NO", "INBOX cannot be deleted");
        }
        match self
            .shared
            .store
            .delete_mailbox(self.account(), &name)
            .await
        {
            Ok(()) => {
                if self.view.as_ref().is_some_and(|v| v.mailbox.name == name) {
                    self.view = None;
                }
                done(tag, "OK", "DELETE completed")
            }
            Err(e) => store_failure(tag, &e),
        }
    }

    async fn rename(&mut self, tag: &str, from: &str, to: &str) -> String {
        let (from, to) = match (self.mailbox_name(from), self.mailbox_name(to)) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(e), _) | (_, Err(e)) => return done(tag, "BAD", e),
        };
        if to == "INBOX" {
            return done(tag, "NO", "[ALREADYEXISTS] INBOX always exists");
        }
        if to.starts_with(&format!("{from}/")) {
            return done(
                tag,
                "NO",
                "[CANNOT] a mailbox cannot be moved inside itself",
            );
        }
        let store = &self.shared.store;
        let account = self.account().clone();
        for parent in names::ancestors(&to) {
            if let Ok(None) = store.get_mailbox(&account, parent).await {
                let _ = store.create_mailbox(&account, parent, None).await;
            }
        }
        match store.rename_mailbox(&account, &from, &to).await {
            Ok(()) => done(tag, "OK", "RENAME completed"),
            Err(e) => store_failure(tag, &e),
        }
    }

    async fn subscribe(&mut self, tag: &str, raw: &str, on: bool) -> String {
        let name = match self.mailbox_name(raw) {
            Ok(n) => n,
            Err(e) => return done(tag, "BAD", e),
        };
        match self
            .shared
            .store
            .set_subscribed(self.account(), &name, on)
            .await
        {
            Ok(()) => done(
                tag,
                "OK",
                if on {
                    "SUBSCRIBE completed"
                } else {
                    "UNSUBSCRIBE completed"
                },
            ),
            Err(e) if e.is_not_found() && !on => done(tag, "OK", "UNSUBSCRIBE completed"),
            Err(e) => store_failure(tag, &e),
        }
    }

    async fn list(&mut self, tag: &str, l: List, out: &mut Output<'_>) -> String {
        let verb = if l.lsub { "LSUB" } else { "LIST" };
        let utf8 = self.utf8();
        if l.patterns.len() == 1 && l.patterns[0].is_empty() {
            out.line(format!("* {verb} (\\Noselect) \"/\" \"\"\r\n"));
            return done(tag, "OK", format!("{verb} completed"));
        }
        let mailboxes = match self.shared.store.list_mailboxes(self.account()).await {
            Ok(m) => m,
            Err(e) => return store_failure(tag, &e),
        };
        let decode = |p: &str| {
            let joined = names::join_reference(
                &if utf8 {
                    l.reference.clone()
                } else {
                    hermod_imap_proto::mutf7::decode(&l.reference).unwrap_or_default()
                },
                &if utf8 {
                    p.to_string()
                } else {
                    hermod_imap_proto::mutf7::decode(p).unwrap_or_default()
                },
            );
            names::normalise_inbox(&joined)
        };
        let patterns: Vec<String> = l.patterns.iter().map(|p| decode(p)).collect();
        let existing: BTreeMap<&str, &Mailbox> =
            mailboxes.iter().map(|m| (m.name.as_str(), m)).collect();
        // Names to show: the mailboxes, and parents that only exist as levels.
        let mut all: BTreeSet<&str> = existing.keys().copied().collect();
        for m in &mailboxes {
            all.extend(names::ancestors(&m.name));
        }
        let subscribed_only = l.lsub || l.select_subscribed;
        let mut shown = 0;
        for name in all {
            let mb = existing.get(name).copied();
            let is_match = patterns.iter().any(|p| names::matches(p, name));
            let has_children = mailboxes.iter().any(|m| {
                m.name.len() > name.len()
                    && m.name.starts_with(name)
                    && m.name.as_bytes().get(name.len()) == Some(&b'/')
            });
            let subscribed = mb.is_some_and(|m| m.subscribed);
            if !is_match {
                continue;
            }
            if subscribed_only && !subscribed {
                continue;
            }
            if l.select_special_use && mb.and_then(|m| m.special_use).is_none() {
                continue;
            }
            let mut attrs: Vec<&str> = Vec::new();
            match mb {
                None => attrs.push(if l.lsub {
                    "\\Noselect"
                } else {
                    "\\NonExistent"
                }),
                Some(m) => {
                    if let Some(s) = m.special_use {
                        attrs.push(s.attribute());
                    }
                }
            }
            if !l.lsub {
                attrs.push(if has_children {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
            }
            if !l.lsub && (subscribed_only || l.return_subscribed) && subscribed {
                attrs.push("\\Subscribed");
            }
            out.line(format!(
                "* {verb} ({}) \"/\" {}\r\n",
                attrs.join(" "),
                names::to_client(name, utf8)
            ));
            if let (Some(items), Some(m)) = (&l.return_status, mb)
                && let Ok(line) = self.status_line(m, items).await
            {
                out.line(line);
            }
            shown += 1;
            if shown % 200 == 0 && out.flush_if_large().await.is_err() {
                break;
            }
        }
        done(tag, "OK", format!("{verb} completed"))
    }

    async fn status_line(&self, m: &Mailbox, items: &[StatusItem]) -> Result<String, StoreError> {
        let counts = self.shared.store.mailbox_counts(m.id).await?;
        let fresh = self
            .shared
            .store
            .get_mailbox(&m.account, &m.name)
            .await?
            .unwrap_or_else(|| m.clone());
        let values: Vec<String> = items
            .iter()
            .map(|i| {
                let v = match i {
                    StatusItem::Messages => counts.messages,
                    StatusItem::Recent => 0,
                    StatusItem::UidNext => u64::from(fresh.uidnext),
                    StatusItem::UidValidity => u64::from(fresh.uidvalidity),
                    StatusItem::Unseen => counts.unseen,
                    StatusItem::Deleted => counts.deleted,
                    StatusItem::Size => counts.size,
                    StatusItem::HighestModSeq => fresh.highest_modseq,
                    StatusItem::AppendLimit => self.shared.settings.limits_max_message_size,
                };
                format!("{} {v}", i.name())
            })
            .collect();
        Ok(format!(
            "* STATUS {} ({})\r\n",
            names::to_client(&m.name, self.utf8()),
            values.join(" ")
        ))
    }

    async fn status(
        &mut self,
        tag: &str,
        raw: &str,
        items: &[StatusItem],
        out: &mut Output<'_>,
    ) -> String {
        let mailbox = match self.find(tag, raw).await {
            Ok(m) => m,
            Err(r) => return r,
        };
        match self.status_line(&mailbox, items).await {
            Ok(line) => {
                out.line(line);
                done(tag, "OK", "STATUS completed")
            }
            Err(e) => store_failure(tag, &e),
        }
    }

    /// The account's quota in bytes (0 = unlimited) and use.
    async fn quota(&self) -> Result<(u64, u64), StoreError> {
        let account = self.shared.store.get_account(self.account()).await?;
        let used = self.shared.store.quota_usage(self.account()).await?;
        Ok((account.quota_bytes, used))
    }

    fn quota_line(limit: u64, used: u64) -> String {
        format!(
            "* QUOTA \"\" (STORAGE {} {})\r\n",
            used.div_ceil(1024),
            limit / 1024
        )
    }

    async fn get_quota(&mut self, tag: &str, root: &str, out: &mut Output<'_>) -> String {
        if !root.is_empty() {
            return done(tag, "NO", "[NONEXISTENT] the only quota root is \"\"");
        }
        match self.quota().await {
            Ok((0, _)) => done(tag, "NO", "[NONEXISTENT] this account has no quota"),
            Ok((limit, used)) => {
                out.line(Self::quota_line(limit, used));
                done(tag, "OK", "GETQUOTA completed")
            }
            Err(e) => store_failure(tag, &e),
        }
    }

    async fn get_quota_root(&mut self, tag: &str, raw: &str, out: &mut Output<'_>) -> String {
        let mailbox = match self.find(tag, raw).await {
            Ok(m) => m,
            Err(r) => return r,
        };
        let name = names::to_client(&mailbox.name, self.utf8());
        match self.quota().await {
            Ok((0, _)) => out.line(format!("* QUOTAROOT {name}\r\n")),
            Ok((limit, used)) => {
                out.line(format!("* QUOTAROOT {name} \"\"\r\n"));
                out.line(Self::quota_line(limit, used));
            }
            Err(e) => return store_failure(tag, &e),
        }
        done(tag, "OK", "GETQUOTAROOT completed")
    }

    /// NO [OVERQUOTA] when `extra` bytes more would pass the account's quota.
    async fn check_quota(&self, tag: &str, extra: u64) -> Result<(), String> {
        match self.quota().await {
            Ok((limit, used)) if limit > 0 && used + extra > limit => Err(done(
                tag,
                "NO",
                format!(
                    "[OVERQUOTA] the mailbox is full ({} of {} KB used); delete some mail first",
                    used / 1024,
                    limit / 1024
                ),
            )),
            Ok(_) => Ok(()),
            Err(e) => Err(store_failure(tag, &e)),
        }
    }

    async fn append(&mut self, tag: &str, a: Append) -> String {
        let mailbox = match self.find(tag, &a.mailbox).await {
            Ok(m) => m,
            Err(r) if r.contains("[NONEXISTENT]") => {
                return done(
                    tag,
                    "NO",
                    "[TRYCREATE] the mailbox does not exist; create it first",
                );
            }
            Err(r) => return r,
        };
        let limit = self.shared.settings.limits_max_message_size;
        let total: u64 = a.messages.iter().map(|m| m.data.len() as u64).sum();
        if a.messages.iter().any(|m| m.data.len() as u64 > limit) {
            return done(
                tag,
                "NO",
                format!("[TOOBIG] the message is larger than the limit of {limit} bytes"),
            );
        }
        if let Err(r) = self.check_quota(tag, total).await {
            return r;
        }
        let mut new = Vec::with_capacity(a.messages.len());
        for m in a.messages {
            if m.data.is_empty() {
                return done(tag, "NO", "an empty message cannot be appended");
            }
            if m.flags.iter().any(|f| f.eq_ignore_ascii_case("\\Recent")) {
                return done(tag, "BAD", "\\Recent cannot be set by a client");
            }
            let blob = match self.shared.blobs.put(&m.data).await {
                Ok(id) => id,
                Err(e) => return store_failure(tag, &e),
            };
            let internal_date = m
                .date
                .map(|d| d.timestamp_millis())
                .unwrap_or_else(hermod_store::now_ms);
            let index = crate::fetch::index_of(&m.data);
            let mut flags: Vec<String> = Vec::new();
            for f in &m.flags {
                let f = normalise_flag(f);
                if !flags.contains(&f) {
                    flags.push(f);
                }
            }
            new.push(NewMessage {
                blob_id: blob.to_string(),
                size: m.data.len() as u64,
                flags,
                internal_date,
                index,
            });
        }
        match self.shared.store.append_messages(&mailbox, &new).await {
            Ok(uids) => done(
                tag,
                "OK",
                format!(
                    "[APPENDUID {} {}] APPEND completed",
                    mailbox.uidvalidity,
                    encode::compress_set(&uids)
                ),
            ),
            Err(e) => store_failure(tag, &e),
        }
    }

    // ----- the selected mailbox -----

    pub(crate) fn view_mut(&mut self) -> &mut View {
        self.view
            .as_mut()
            .expect("selected state checked before dispatch")
    }

    async fn expunge(
        &mut self,
        tag: &str,
        uids: Option<hermod_imap_proto::SequenceSet>,
        out: &mut Output<'_>,
    ) -> String {
        let report = self.report();
        let view = match self.writable(tag) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let only = uids.map(|set| view.resolve(&set, true));
        let mailbox = view.mailbox.clone();
        match self.shared.store.expunge(&mailbox, only.as_deref()).await {
            Ok(gone) => {
                for line in self.view_mut().remove_own(&gone, report) {
                    out.line(line);
                }
                done(tag, "OK", "EXPUNGE completed")
            }
            Err(e) => store_failure(tag, &e),
        }
    }

    async fn search(&mut self, tag: &str, s: Search, out: &mut Output<'_>) -> String {
        if let Some(cs) = &s.charset
            && !cs.eq_ignore_ascii_case("UTF-8")
            && !cs.eq_ignore_ascii_case("US-ASCII")
        {
            return done(
                tag,
                "NO",
                "[BADCHARSET (UTF-8 US-ASCII)] only UTF-8 and US-ASCII searches are supported",
            );
        }
        let uses_modseq = crate::search::uses_modseq(&s.criteria);
        let matched = match crate::search::run(self, &s.criteria).await {
            Ok(m) => m,
            Err(e) => return store_failure(tag, &e),
        };
        let view = self.selected();
        let numbers: Vec<u32> = if s.uid {
            matched.clone()
        } else {
            matched.iter().filter_map(|u| view.seq_of(*u)).collect()
        };
        let modseq = if uses_modseq {
            matched
                .iter()
                .filter_map(|u| view.get(*u))
                .map(|m| m.modseq)
                .max()
        } else {
            None
        };
        let ret = match (&s.ret, self.enabled.rev2) {
            (Some(r), _) => Some(r.clone()),
            (None, true) => Some(vec![SearchReturn::All]),
            (None, false) => None,
        };
        match ret {
            None => {
                let mut line = String::from("* SEARCH");
                for n in &numbers {
                    line.push_str(&format!(" {n}"));
                }
                if let Some(m) = modseq
                    && !numbers.is_empty()
                {
                    line.push_str(&format!(" (MODSEQ {m})"));
                }
                line.push_str("\r\n");
                out.line(line);
            }
            Some(r) => {
                let r = if r.is_empty() {
                    vec![SearchReturn::All]
                } else {
                    r
                };
                let save = r.contains(&SearchReturn::Save);
                let only_save = r.iter().all(|x| *x == SearchReturn::Save);
                if save {
                    let min_max_only = !r.contains(&SearchReturn::All)
                        && !r.contains(&SearchReturn::Count)
                        && (r.contains(&SearchReturn::Min) || r.contains(&SearchReturn::Max));
                    let saved = if min_max_only {
                        let mut v = Vec::new();
                        if r.contains(&SearchReturn::Min) {
                            v.extend(matched.first());
                        }
                        if r.contains(&SearchReturn::Max) {
                            v.extend(matched.last());
                        }
                        v
                    } else {
                        matched.clone()
                    };
                    self.view_mut().saved = saved;
                }
                if !only_save {
                    let mut line = format!("* ESEARCH (TAG {})", encode::quoted(tag));
                    if s.uid {
                        line.push_str(" UID");
                    }
                    if !numbers.is_empty() {
                        if r.contains(&SearchReturn::Min) {
                            line.push_str(&format!(" MIN {}", numbers[0]));
                        }
                        if r.contains(&SearchReturn::Max) {
                            line.push_str(&format!(" MAX {}", numbers[numbers.len() - 1]));
                        }
                        if r.contains(&SearchReturn::All) {
                            line.push_str(&format!(" ALL {}", encode::compress_set(&numbers)));
                        }
                    }
                    if r.contains(&SearchReturn::Count) {
                        line.push_str(&format!(" COUNT {}", numbers.len()));
                    }
                    if let Some(m) = modseq
                        && !numbers.is_empty()
                    {
                        line.push_str(&format!(" MODSEQ {m}"));
                    }
                    line.push_str("\r\n");
                    out.line(line);
                }
            }
        }
        done(tag, "OK", "SEARCH completed")
    }

    async fn store(&mut self, tag: &str, s: StoreCmd, out: &mut Output<'_>) -> String {
        let report = self.report();
        let view = match self.writable(tag) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if !s.uid && view.seq_out_of_range(&s.set) {
            return done(
                tag,
                "BAD",
                "the sequence set names messages that do not exist",
            );
        }
        if s.flags.iter().any(|f| f.eq_ignore_ascii_case("\\Recent")) {
            return done(tag, "BAD", "\\Recent cannot be set by a client");
        }
        let uids = view.resolve(&s.set, s.uid);
        let mailbox = view.mailbox.clone();
        let op = match s.mode {
            StoreMode::Replace => FlagOp::Replace,
            StoreMode::Add => FlagOp::Add,
            StoreMode::Remove => FlagOp::Remove,
        };
        let result = match self
            .shared
            .store
            .store_flags(&mailbox, &uids, op, &s.flags, s.unchanged_since)
            .await
        {
            Ok(r) => r,
            Err(e) => return store_failure(tag, &e),
        };
        let condstore = self.enabled.condstore || s.unchanged_since.is_some();
        let view = self.view_mut();
        view.apply_own(&result.changed);
        let changed: BTreeSet<u32> = result.changed.iter().map(|c| c.uid).collect();
        for uid in &uids {
            if result.failed.contains(uid) {
                continue;
            }
            // .SILENT still reports the new MODSEQ to a CONDSTORE client (RFC 7162 3.1.3).
            let Some(m) = view.get(*uid).cloned() else {
                continue;
            };
            let Some(seq) = view.seq_of(*uid) else {
                continue;
            };
            if s.silent && !(condstore && changed.contains(uid)) {
                continue;
            }
            let mut parts = Vec::new();
            if !s.silent {
                parts.push(format!("FLAGS {}", encode::flag_list(&m.flags)));
            }
            if s.uid || report.qresync {
                parts.push(format!("UID {}", m.uid));
            }
            if condstore {
                parts.push(format!("MODSEQ ({})", m.modseq));
            }
            out.line(format!("* {seq} FETCH ({})\r\n", parts.join(" ")));
        }
        if !result.failed.is_empty() {
            let numbers: Vec<u32> = if s.uid {
                result.failed.clone()
            } else {
                result
                    .failed
                    .iter()
                    .filter_map(|u| view.seq_of(*u))
                    .collect()
            };
            return done(
                tag,
                "OK",
                format!(
                    "[MODIFIED {}] conditional STORE failed for some messages",
                    encode::compress_set(&numbers)
                ),
            );
        }
        done(tag, "OK", "STORE completed")
    }

    async fn copy(
        &mut self,
        tag: &str,
        uid: bool,
        set: &hermod_imap_proto::SequenceSet,
        raw: &str,
        moving: bool,
        out: &mut Output<'_>,
    ) -> String {
        let verb = if moving { "MOVE" } else { "COPY" };
        let report = self.report();
        let target = match self.find(tag, raw).await {
            Ok(m) => m,
            Err(r) if r.contains("[NONEXISTENT]") => {
                return done(
                    tag,
                    "NO",
                    "[TRYCREATE] the target mailbox does not exist; create it first",
                );
            }
            Err(r) => return r,
        };
        let view = if moving {
            match self.writable(tag) {
                Ok(v) => v,
                Err(r) => return r,
            }
        } else {
            self.selected()
        };
        if !uid && view.seq_out_of_range(set) {
            return done(
                tag,
                "BAD",
                "the sequence set names messages that do not exist",
            );
        }
        let uids = view.resolve(set, uid);
        let source = view.mailbox.clone();
        if uids.is_empty() {
            return done(tag, "OK", format!("{verb} completed: no messages"));
        }
        if !moving || target.id != source.id {
            let sizes = match self.shared.store.fetch_messages(source.id, &uids).await {
                Ok(m) => m.iter().map(|m| m.size).sum::<u64>(),
                Err(e) => return store_failure(tag, &e),
            };
            if !moving && let Err(r) = self.check_quota(tag, sizes).await {
                return r;
            }
        }
        let store = &self.shared.store;
        let pairs = if moving {
            store.move_messages(source.id, &uids, target.id).await
        } else {
            store.copy_messages(source.id, &uids, &target).await
        };
        let pairs = match pairs {
            Ok(p) => p,
            Err(e) => return store_failure(tag, &e),
        };
        let src: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        let dst: Vec<u32> = pairs.iter().map(|p| p.1).collect();
        let code = format!(
            "[COPYUID {} {} {}]",
            target.uidvalidity,
            encode::compress_set(&src),
            encode::compress_set(&dst)
        );
        if moving {
            out.line(format!("* OK {code} moved\r\n"));
            for line in self.view_mut().remove_own(&src, report) {
                out.line(line);
            }
            done(tag, "OK", "MOVE completed")
        } else {
            done(tag, "OK", format!("{code} COPY completed"))
        }
    }

    /// The selected mailbox, if this session may change it (not EXAMINEd).
    fn writable(&self, tag: &str) -> Result<&View, String> {
        let view = self.selected();
        if view.read_only {
            Err(done(
                tag,
                "NO",
                "[READ-ONLY] the mailbox is selected read-only (EXAMINE)",
            ))
        } else {
            Ok(view)
        }
    }

    /// The selected mailbox's messages that exist in the index, for FETCH and SEARCH.
    pub(crate) fn selected(&self) -> &View {
        self.view
            .as_ref()
            .expect("selected state checked before dispatch")
    }

    /// Marks messages \Seen because their body was fetched; returns the changed states.
    pub(crate) async fn mark_seen(
        &mut self,
        uids: &[u32],
    ) -> Result<Vec<MessageState>, StoreError> {
        let view = self.selected();
        if view.read_only || uids.is_empty() {
            return Ok(Vec::new());
        }
        let mailbox = view.mailbox.clone();
        let r = self
            .shared
            .store
            .store_flags(&mailbox, uids, FlagOp::Add, &["\\Seen".to_string()], None)
            .await?;
        self.view_mut().apply_own(&r.changed);
        Ok(r.changed)
    }

    pub(crate) fn failure(tag: &str, e: &StoreError) -> String {
        store_failure(tag, e)
    }

    pub(crate) fn done(tag: &str, status: &str, text: impl AsRef<str>) -> String {
        done(tag, status, text)
    }
}

/// `\drafts` → `\Drafts`.
fn normalise_special(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 1 {
            out.extend(c.to_uppercase());
        } else if i > 1 {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
