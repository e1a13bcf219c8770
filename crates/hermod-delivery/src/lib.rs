//! Local delivery: what happens to an accepted message for each local recipient.
//!
//! For every local account the message is for, [`Delivery::plan`] runs the domain's rules,
//! then the user's (hermod-rules decides; this crate does the lookups and writes nothing):
//! copies go to INBOX or the rules' folders with their flags; forwards to local accounts run
//! those accounts' rules in turn; forwards to other addresses become a new message (the
//! original with a `Delivered-To:` line on top, so the original headers and any DKIM
//! signature stay intact) sent with an SRS envelope sender and counted toward the forwarding
//! user's daily limit; auto-replies are built with a null sender, at most once per sender
//! per interval. Everything planned is committed with the message in one transaction, before
//! the SMTP server says 250: nothing a rule asked for is lost by a crash.
//!
//! Loops stop: an account never handles the same message twice in one delivery, a message
//! that already carries the account's own `Delivered-To:` is not forwarded again, and a
//! message is not forwarded past [`MAX_REDIRECTS`] `Delivered-To:` lines.
//!
//! Invariants: no protocol knowledge (SMTP calls in); no SQL (the store does it); the only
//! writes are blobs for the derived messages, which are harmless if the commit then fails.

use std::collections::{HashSet, VecDeque};

use hermod_model::{DeliveryStatus, EmailAddress, IndexData};
use hermod_rules::{AutoReplySpec, MessageFacts, Plan};
use hermod_store::{BlobStore, Derived, FsBlobStore, LocalCopy, NewOutgoing, Store, StoreError};

/// The secret SRS addresses of forwarded mail are signed with: made once, kept in the data
/// directory as `srs.key` (all nodes of one installation must share it, so bounces to a
/// forward made by one node are accepted by any).
pub fn srs_secret(data_dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("srs.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = text.trim().as_bytes().to_vec();
        if key.len() >= 16 {
            return Ok(key);
        }
    }
    let key: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, &key)?;
    Ok(key.into_bytes())
}

/// A message is not forwarded once it carries this many `Delivered-To:` lines.
pub const MAX_REDIRECTS: usize = 4;

/// What the delivery of one message to its local recipients adds to the commit.
#[derive(Debug, Default)]
pub struct Planned {
    pub local: Vec<LocalCopy>,
    pub derived: Vec<Derived>,
    pub auto_replied: Vec<(EmailAddress, String)>,
    /// One line per decision worth logging (rules matched, loops stopped, limits reached).
    pub notes: Vec<String>,
}

/// The accepted message, as local delivery sees it.
pub struct Incoming<'a> {
    /// The whole message, or (for very large messages) its first part.
    pub raw: &'a [u8],
    /// True when `raw` is the whole message.
    pub complete: bool,
    pub blob_id: &'a str,
    pub size: u64,
    /// The envelope sender ("" for the null sender).
    pub sender: &'a str,
    /// The local accounts it is for, deduplicated.
    pub accounts: &'a [EmailAddress],
}

pub struct Delivery {
    store: Store,
    blobs: FsBlobStore,
    hostname: String,
    srs_secret: Vec<u8>,
}

fn now_unix() -> i64 {
    hermod_store::now_ms() / 1000
}

impl Delivery {
    pub fn new(
        store: Store,
        blobs: FsBlobStore,
        hostname: String,
        srs_secret: Vec<u8>,
    ) -> Delivery {
        Delivery {
            store,
            blobs,
            hostname,
            srs_secret,
        }
    }

    /// Runs the rules of every recipient and plans the copies, forwards and auto-replies.
    pub async fn plan(&self, msg: &Incoming<'_>) -> Result<Planned, StoreError> {
        let facts = MessageFacts::from_raw(msg.raw, msg.size);
        let mut planned = Planned::default();
        let mut queue: VecDeque<(EmailAddress, usize)> =
            msg.accounts.iter().map(|a| (a.clone(), 0)).collect();
        let mut seen: HashSet<EmailAddress> = HashSet::new();
        while let Some((account, depth)) = queue.pop_front() {
            if !seen.insert(account.clone()) {
                planned.notes.push(format!(
                    "{account}: already delivered in this message's path, not again (loop)"
                ));
                continue;
            }
            let rules = self.store.rules_for_delivery(&account).await?;
            let plan = if rules.is_empty() {
                Plan::default()
            } else {
                hermod_rules::evaluate(&rules, &facts)
            };
            if !plan.matched.is_empty() {
                planned.notes.push(format!(
                    "{account}: rules {} matched",
                    plan.matched.join(", ")
                ));
            }
            let mut flags = Vec::new();
            if plan.mark_read {
                flags.push("\\Seen".to_string());
            }
            if plan.flag {
                flags.push("\\Flagged".to_string());
            }
            let mut kept = false;
            for mailbox in plan.mailboxes() {
                kept = true;
                planned.local.push(LocalCopy {
                    account: account.clone(),
                    mailbox: mailbox.to_string(),
                    flags: flags.clone(),
                });
            }
            let mut remote = Vec::new();
            if !plan.forwards.is_empty() {
                match self.may_forward(&facts, &account, depth).await? {
                    Err(why) => {
                        planned
                            .notes
                            .push(format!("{account}: not forwarded: {why}"));
                        if !kept {
                            // The forward cannot happen: keep the message rather than lose it.
                            planned.local.push(LocalCopy::inbox(account.clone()));
                        }
                    }
                    Ok(()) => {
                        for target in &plan.forwards {
                            let Ok(target) = EmailAddress::parse(target) else {
                                continue;
                            };
                            match self.local_targets(&target).await? {
                                Some(accounts) => {
                                    for a in accounts {
                                        if seen.contains(&a) || queue.iter().any(|(q, _)| *q == a) {
                                            // A forwarding loop among local accounts: the
                                            // message stays here instead of going round.
                                            planned.notes.push(format!(
                                                "{account}: forward to {a} stopped, a forwarding loop; kept in INBOX"
                                            ));
                                            if !kept {
                                                planned
                                                    .local
                                                    .push(LocalCopy::inbox(account.clone()));
                                                kept = true;
                                            }
                                        } else {
                                            queue.push_back((a, depth + 1));
                                        }
                                    }
                                }
                                None => remote.push(target),
                            }
                        }
                    }
                }
            }
            if !remote.is_empty() {
                planned
                    .derived
                    .push(self.forward(msg, &facts, &account, remote).await?);
            }
            if let Some(spec) = &plan.auto_reply {
                match self.auto_reply(msg, &facts, &account, spec).await? {
                    Ok(d) => {
                        planned
                            .auto_replied
                            .push((account.clone(), hermod_rules::reply_key(msg.sender)));
                        planned.derived.push(d);
                    }
                    Err(why) => planned
                        .notes
                        .push(format!("{account}: no auto-reply: {why}")),
                }
            }
        }
        Ok(planned)
    }

    /// Whether `account` may forward this message now.
    async fn may_forward(
        &self,
        facts: &MessageFacts,
        account: &EmailAddress,
        depth: usize,
    ) -> Result<Result<(), String>, StoreError> {
        let me = account.to_string();
        if facts.delivered_to.iter().any(|d| *d == me) {
            return Ok(Err(
                "it already went through this mailbox (Delivered-To), a forwarding loop".into(),
            ));
        }
        if facts.delivered_to.len() >= MAX_REDIRECTS || depth >= MAX_REDIRECTS {
            return Ok(Err(format!(
                "it was already forwarded {MAX_REDIRECTS} times"
            )));
        }
        let (sent, limit) = self
            .store
            .sent_today(&self.store.get_account(account).await?)
            .await?;
        if sent >= u64::from(limit) {
            return Ok(Err(format!("the daily send limit of {limit} is reached")));
        }
        Ok(Ok(()))
    }

    /// The local accounts an address delivers to, or None when it is not hosted here.
    async fn local_targets(
        &self,
        target: &EmailAddress,
    ) -> Result<Option<Vec<EmailAddress>>, StoreError> {
        if self.store.find_account(target).await?.is_some() {
            return Ok(Some(vec![target.clone()]));
        }
        if let Some(targets) = self.store.alias_targets(target).await? {
            let mut local = Vec::new();
            for t in targets {
                if self.store.find_account(&t).await?.is_some() {
                    local.push(t);
                }
            }
            if !local.is_empty() {
                return Ok(Some(local));
            }
        }
        Ok(None)
    }

    async fn full_message(&self, msg: &Incoming<'_>) -> Result<Vec<u8>, StoreError> {
        if msg.complete {
            return Ok(msg.raw.to_vec());
        }
        let id = hermod_store::BlobId::parse(msg.blob_id)
            .ok_or_else(|| StoreError::Blob(format!("bad blob id {}", msg.blob_id)))?;
        self.blobs.get(&id).await
    }

    /// The forwarded copy: the original with `Delivered-To:` on top, from an SRS sender.
    async fn forward(
        &self,
        msg: &Incoming<'_>,
        facts: &MessageFacts,
        account: &EmailAddress,
        to: Vec<EmailAddress>,
    ) -> Result<Derived, StoreError> {
        let original = self.full_message(msg).await?;
        let mut data = format!("Delivered-To: {account}\r\n").into_bytes();
        data.extend_from_slice(&original);
        let blob = self.blobs.put(&data).await?;
        let sender = hermod_rules::srs::forward(
            msg.sender,
            account.domain().as_str(),
            &self.srs_secret,
            now_unix(),
        );
        let outgoing = NewOutgoing {
            account: account.clone(),
            sender: sender.clone(),
            subject: Some(facts.subject.clone()).filter(|s| !s.is_empty()),
            size: data.len() as u64,
            counted: 1,
            recipients: to
                .iter()
                .map(|t| (t.to_string(), DeliveryStatus::Queued, None))
                .collect(),
        };
        Ok(Derived {
            blob_id: blob.to_string(),
            size: data.len() as u64,
            index: IndexData::default(),
            sender,
            local: Vec::new(),
            remote: to,
            outgoing: Some(outgoing),
        })
    }

    /// An auto-reply, if RFC 3834 and the interval allow one.
    async fn auto_reply(
        &self,
        msg: &Incoming<'_>,
        facts: &MessageFacts,
        account: &EmailAddress,
        spec: &AutoReplySpec,
    ) -> Result<Result<Derived, String>, StoreError> {
        let now = now_unix();
        let mut own = vec![account.to_string()];
        own.extend(
            self.store
                .list_send_as(account)
                .await?
                .iter()
                .map(|a| a.to_string()),
        );
        if let Err(why) = hermod_rules::may_auto_reply(facts, Some(msg.sender), &own, spec, now) {
            return Ok(Err(why.to_string()));
        }
        let key = hermod_rules::reply_key(msg.sender);
        if let Some(last) = self.store.last_auto_reply(account, &key).await? {
            let interval_ms = i64::from(spec.interval_days.max(1)) * 86_400_000;
            if hermod_store::now_ms() - last < interval_ms {
                return Ok(Err(format!(
                    "{key} already got one in the last {} days",
                    spec.interval_days
                )));
            }
        }
        let Ok(to) = EmailAddress::parse(&key) else {
            return Ok(Err(format!("{key:?} is not an address to reply to")));
        };
        let date = chrono::Utc::now().to_rfc2822();
        let message_id = format!("<{:016x}.{now}@{}>", rand::random::<u64>(), self.hostname);
        let data = hermod_rules::build_auto_reply(
            facts,
            spec,
            &account.to_string(),
            &key,
            &date,
            &message_id,
        );
        let blob = self.blobs.put(&data).await?;
        let (local, remote) = match self.store.find_account(&to).await? {
            Some(_) => (vec![LocalCopy::inbox(to)], Vec::new()),
            None => (Vec::new(), vec![to]),
        };
        Ok(Ok(Derived {
            blob_id: blob.to_string(),
            size: data.len() as u64,
            index: hermod_mime::index(&data),
            sender: String::new(),
            local,
            remote,
            outgoing: None,
        }))
    }
}
