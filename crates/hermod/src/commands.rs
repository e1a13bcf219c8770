//! What each CLI verb does.

use anyhow::{Context, Result, anyhow, bail};
use hermod_config::Settings;
use hermod_model::*;
use hermod_store::{
    AccountUpdate, DomainUpdate, FilterQuery, IncomingQuery, NewAccount, Store, StoreError,
    day_window_start, now_ms,
};

use crate::cli::*;
use crate::output::{self, print_json};

/// Turns a store error into one line that also says what to do.
pub fn explain(e: StoreError) -> anyhow::Error {
    match &e {
        StoreError::NotFound("domain", d) => {
            anyhow!("domain {d} does not exist; add it with `hermod domain add {d}`")
        }
        StoreError::NotFound("user", u) => {
            anyhow!("user {u} does not exist; add it with `hermod user add {u}`")
        }
        StoreError::NotFound("plan", p) => anyhow!(
            "plan {p} does not exist; see `hermod plan list`, or create it with `hermod plan set {p} LIMIT`"
        ),
        StoreError::NotFound("filter entry", id) => {
            anyhow!("filter entry {id} does not exist; see `hermod filter list --all`")
        }
        StoreError::Exists("user", u) => {
            anyhow!("user {u} already exists; change it with `hermod user set {u}`")
        }
        StoreError::Exists("domain", d) => {
            anyhow!("domain {d} already exists; change it with `hermod domain set {d}`")
        }
        _ => anyhow!(e),
    }
}

trait Explain<T> {
    fn explain(self) -> Result<T>;
}

impl<T> Explain<T> for Result<T, StoreError> {
    fn explain(self) -> Result<T> {
        self.map_err(explain)
    }
}

pub fn parse_addr(s: &str) -> Result<EmailAddress> {
    EmailAddress::parse(s).map_err(|e| anyhow!(e))
}

pub fn parse_domain(s: &str) -> Result<DomainName> {
    DomainName::parse(s).map_err(|e| anyhow!(e))
}

fn mode(m: Mode) -> FilterMode {
    match m {
        Mode::Everyone => FilterMode::Everyone,
        Mode::WhitelistOnly => FilterMode::WhitelistOnly,
    }
}

pub async fn open_store(settings: &Settings) -> Result<Store> {
    Store::open(
        &settings.effective_store_url(),
        settings.store_max_connections,
    )
    .await
    .map_err(|e| anyhow!("{e}; check store.url in the settings"))
}

pub async fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => crate::serve::serve(settings).await,
        Command::Config(cmd) => config(&settings, cmd),
        command => {
            let store = open_store(&settings).await?;
            let result = match command {
                Command::Domain(cmd) => domain(&store, cmd).await,
                Command::User(cmd) => user(&store, &settings, cmd).await,
                Command::Alias(cmd) => alias(&store, cmd).await,
                Command::Filter(cmd) => filter(&store, cmd).await,
                Command::Plan(cmd) => plan(&store, cmd).await,
                Command::Logs(cmd) => logs(&store, cmd).await,
                Command::Queue(cmd) => queue(&store, &settings, cmd).await,
                Command::Rule(cmd) => crate::rules_cmd::run(&store, cmd).await,
                Command::Serve | Command::Config(_) => unreachable!("handled above"),
            };
            store.close().await;
            result
        }
    }
}

fn config(settings: &Settings, cmd: ConfigCmd) -> Result<()> {
    match cmd {
        ConfigCmd::Show(Json { json: true }) => print_json(&settings.to_json()),
        ConfigCmd::Show(_) => print!("{}", settings.to_toml_text()),
        ConfigCmd::Reference => print!("{}", Settings::reference()),
        ConfigCmd::Check { file } => {
            Settings::load(Some(&file))?;
            println!("{}: ok", file.display());
        }
    }
    Ok(())
}

async fn domain(store: &Store, cmd: DomainCmd) -> Result<()> {
    match cmd {
        DomainCmd::Add {
            name,
            local_delivery,
            plan,
        } => {
            let d = store
                .add_domain(&parse_domain(&name)?, local_delivery.as_bool(), &plan)
                .await
                .explain()?;
            println!(
                "added domain {} (local delivery: {}, plan: {})",
                d.name,
                yes_no(d.local_delivery),
                d.default_plan
            );
        }
        DomainCmd::List(Json { json }) => {
            let domains = store.list_domains().await.explain()?;
            if json {
                print_json(&domains);
            } else {
                output::table(
                    &["DOMAIN", "LOCAL DELIVERY", "PLAN", "FILTERING", "S/MIME"],
                    domains.iter().map(|d| {
                        vec![
                            d.name.to_string(),
                            yes_no(d.local_delivery).into(),
                            d.default_plan.clone(),
                            d.filter_mode.as_str().into(),
                            yes_no(d.smime_allowed).into(),
                        ]
                    }),
                );
            }
        }
        DomainCmd::Dkim { name, selector } => {
            let name = parse_domain(&name)?;
            store.get_domain(&name).await.explain()?;
            if selector.is_empty()
                || !selector
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                bail!("selector {selector:?} must be letters, digits, '-' or '.'");
            }
            let (key, record) = hermod_outbound::dkim::generate_key().map_err(|e| anyhow!(e))?;
            store
                .set_domain_dkim(&name, &selector, &key)
                .await
                .explain()?;
            let dns_name = hermod_outbound::dkim::dns_record_name(&selector, name.as_str());
            println!("outgoing mail from {name} is now signed with DKIM (selector {selector}).");
            println!("Publish this TXT record in {name}'s DNS:");
            println!();
            println!("{dns_name}. IN TXT \"{record}\"");
        }
        DomainCmd::Show { name, json } => {
            let name = parse_domain(&name)?;
            let d = store.get_domain(&name).await.explain()?;
            let accounts = store.list_accounts(Some(&name), None).await.explain()?;
            let aliases = store.list_aliases(Some(&name)).await.explain()?;
            if json.json {
                let mut v = serde_json::to_value(&d)?;
                v["accounts"] = accounts.len().into();
                v["aliases"] = aliases.len().into();
                print_json(&v);
            } else {
                output::fields(&[
                    ("domain", d.name.to_string()),
                    ("unicode", d.name.to_unicode()),
                    ("local delivery", yes_no(d.local_delivery).into()),
                    ("default plan", d.default_plan.clone()),
                    ("filtering", d.filter_mode.as_str().into()),
                    ("s/mime allowed", yes_no(d.smime_allowed).into()),
                    ("accounts", accounts.len().to_string()),
                    ("aliases", aliases.len().to_string()),
                    ("created", output::time(d.created_at)),
                ]);
            }
        }
        DomainCmd::Set {
            name,
            local_delivery,
            plan,
            filter_mode,
            smime,
        } => {
            let update = DomainUpdate {
                local_delivery: local_delivery.map(YesNo::as_bool),
                default_plan: plan,
                filter_mode: filter_mode.map(mode),
                smime_allowed: smime.map(YesNo::as_bool),
            };
            let before = store.get_domain(&parse_domain(&name)?).await.explain()?;
            let d = store.update_domain(&before.name, &update).await.explain()?;
            println!("updated domain {}", d.name);
            if before.local_delivery && !d.local_delivery {
                println!(
                    "Local Delivery is now No: mail for {} goes to its external MX. Once your migration is complete \
                     and all mailboxes are created, switch it back with `hermod domain set {} --local-delivery yes`.",
                    d.name, d.name
                );
            }
        }
        DomainCmd::Remove {
            name,
            with_accounts,
        } => {
            let name = parse_domain(&name)?;
            store.remove_domain(&name, with_accounts).await.explain()?;
            println!("removed domain {name}");
        }
        DomainCmd::Admin {
            name,
            account,
            revoke,
        } => {
            let (domain, account) = (parse_domain(&name)?, parse_addr(&account)?);
            store
                .set_domain_admin(&account, &domain, !revoke)
                .await
                .explain()?;
            println!(
                "{account} is {} an admin of {domain}",
                if revoke { "no longer" } else { "now" }
            );
        }
    }
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

async fn user(store: &Store, settings: &Settings, cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add {
            address,
            name,
            plan,
            quota,
        } => {
            let address = parse_addr(&address)?;
            // Check what can be checked before asking for a password.
            store.get_domain(address.domain()).await.explain()?;
            if store.find_account(&address).await.explain()?.is_some() {
                return Err(explain(StoreError::Exists("user", address.to_string())));
            }
            let password = output::read_password(&format!("Password for {address}: "))?;
            let a = store
                .add_account(NewAccount {
                    address,
                    display_name: name,
                    password,
                    plan,
                    quota_bytes: quota.unwrap_or(settings.limits_default_quota),
                })
                .await
                .explain()?;
            println!("added user {} (plan {})", a.address, a.plan);
        }
        UserCmd::List {
            domain,
            search,
            json,
        } => {
            let domain = domain.as_deref().map(parse_domain).transpose()?;
            if let Some(d) = &domain {
                store.get_domain(d).await.explain()?;
            }
            let accounts = store
                .list_accounts(domain.as_ref(), search.as_deref())
                .await
                .explain()?;
            if json.json {
                print_json(&accounts);
            } else {
                output::table(
                    &["ADDRESS", "NAME", "PLAN", "LIMIT", "ENABLED"],
                    accounts.iter().map(|a| {
                        vec![
                            a.address.to_string(),
                            a.display_name.clone(),
                            a.plan.clone(),
                            a.send_limit_override
                                .map(|n| format!("{n} (override)"))
                                .unwrap_or_else(|| "plan".into()),
                            yes_no(a.enabled).into(),
                        ]
                    }),
                );
            }
        }
        UserCmd::Show { address, json } => {
            let a = store.get_account(&parse_addr(&address)?).await.explain()?;
            let limit = store.daily_limit(&a).await.explain()?;
            let sent = store
                .sent_since(&a.address, day_window_start())
                .await
                .explain()?;
            let send_as = store.list_send_as(&a.address).await.explain()?;
            let admin_of = store.admin_domains(&a.address).await.explain()?;
            let inbox = store.inbox_count(&a.address).await.explain()?;
            if json.json {
                let mut v = serde_json::to_value(&a)?;
                v["daily_limit"] = limit.into();
                v["sent_last_24h"] = sent.into();
                v["send_as"] = serde_json::to_value(&send_as)?;
                v["admin_of"] = serde_json::to_value(&admin_of)?;
                v["inbox_messages"] = inbox.into();
                print_json(&v);
            } else {
                output::fields(&[
                    ("address", a.address.to_string()),
                    ("name", a.display_name.clone()),
                    ("plan", a.plan.clone()),
                    (
                        "sent in last 24h",
                        format!(
                            "{sent} of {limit}{}",
                            if a.send_limit_override.is_some() {
                                " (account override)"
                            } else {
                                ""
                            }
                        ),
                    ),
                    (
                        "quota",
                        if a.quota_bytes == 0 {
                            "unlimited".into()
                        } else {
                            format!("{} bytes", a.quota_bytes)
                        },
                    ),
                    ("inbox", format!("{inbox} messages")),
                    ("enabled", yes_no(a.enabled).into()),
                    ("filtering", a.filter_mode.as_str().into()),
                    (
                        "send email as",
                        send_as
                            .iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    (
                        "admin of",
                        admin_of
                            .iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    ("created", output::time(a.created_at)),
                ]);
            }
        }
        UserCmd::Set {
            address,
            name,
            plan,
            send_limit,
            quota,
            enabled,
            filter_mode,
        } => {
            let send_limit_override = match send_limit.as_deref() {
                None => None,
                Some("none") => Some(None),
                Some(n) => Some(Some(n.parse::<u32>().map_err(|_| {
                    anyhow!("--send-limit takes a number of messages per 24 hours, or \"none\" to use the plan's limit")
                })?)),
            };
            let update = AccountUpdate {
                display_name: name,
                plan,
                send_limit_override,
                quota_bytes: quota,
                enabled: enabled.map(YesNo::as_bool),
                filter_mode: filter_mode.map(mode),
            };
            let a = store
                .update_account(&parse_addr(&address)?, &update)
                .await
                .explain()?;
            println!("updated user {}", a.address);
        }
        UserCmd::Passwd { address } => {
            let address = parse_addr(&address)?;
            store.get_account(&address).await.explain()?;
            let password = output::read_password(&format!("New password for {address}: "))?;
            store.set_password(&address, &password).await.explain()?;
            println!("password changed for {address}");
        }
        UserCmd::Remove { address } => {
            let address = parse_addr(&address)?;
            store.remove_account(&address).await.explain()?;
            println!("removed user {address}");
        }
        UserCmd::SendAs(cmd) => match cmd {
            SendAsCmd::Grant { account, address } => {
                let (account, address) = (parse_addr(&account)?, parse_addr(&address)?);
                store.grant_send_as(&account, &address).await.explain()?;
                println!("{account} may now send as {address}");
            }
            SendAsCmd::Revoke { account, address } => {
                let (account, address) = (parse_addr(&account)?, parse_addr(&address)?);
                store.revoke_send_as(&account, &address).await.explain()?;
                println!("{account} may no longer send as {address}");
            }
            SendAsCmd::List { account, json } => {
                let list = store.list_send_as(&parse_addr(&account)?).await.explain()?;
                if json.json {
                    print_json(&list);
                } else {
                    for a in list {
                        println!("{a}");
                    }
                }
            }
        },
    }
    Ok(())
}

async fn alias(store: &Store, cmd: AliasCmd) -> Result<()> {
    match cmd {
        AliasCmd::Add { alias, target } => {
            let (alias, target) = (parse_addr(&alias)?, parse_addr(&target)?);
            store.add_alias(&alias, &target).await.explain()?;
            println!("{alias} now delivers to {target}");
        }
        AliasCmd::List { domain, json } => {
            let domain = domain.as_deref().map(parse_domain).transpose()?;
            let aliases = store.list_aliases(domain.as_ref()).await.explain()?;
            if json.json {
                print_json(&aliases);
            } else {
                output::table(
                    &["ALIAS", "DELIVERS TO"],
                    aliases.iter().map(|a| {
                        vec![
                            a.address.to_string(),
                            a.targets
                                .iter()
                                .map(|t| t.to_string())
                                .collect::<Vec<_>>()
                                .join(", "),
                        ]
                    }),
                );
            }
        }
        AliasCmd::Remove { alias, target } => {
            let alias = parse_addr(&alias)?;
            let target = target.as_deref().map(parse_addr).transpose()?;
            store
                .remove_alias(&alias, target.as_ref())
                .await
                .explain()?;
            println!(
                "removed alias {alias}{}",
                target.map(|t| format!(" → {t}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn scope_of(scope: &ScopeArgs) -> Result<FilterScope> {
    Ok(match (&scope.domain, &scope.user) {
        (Some(d), _) => FilterScope::Domain(parse_domain(d)?),
        (None, Some(u)) => FilterScope::User(parse_addr(u)?),
        (None, None) => FilterScope::System,
    })
}

fn kind(k: Kind) -> FilterKind {
    match k {
        Kind::Block => FilterKind::Block,
        Kind::Allow => FilterKind::Allow,
    }
}

async fn filter(store: &Store, cmd: FilterCmd) -> Result<()> {
    match cmd {
        FilterCmd::Add {
            kind: k,
            pattern,
            scope,
        } => {
            let scope = scope_of(&scope)?;
            let pattern = FilterPattern::parse(&pattern).map_err(|e| {
                anyhow!(
                    "{e}; a pattern is an address (a@b.com), a domain (b.com) or a suffix (*.xyz)"
                )
            })?;
            let entry = store
                .add_filter(&scope, kind(k), &pattern)
                .await
                .explain()?;
            println!(
                "added {} entry {} ({} list{}) with id {}",
                kind(k).as_str(),
                entry.pattern,
                scope.kind(),
                if scope.owner().is_empty() {
                    String::new()
                } else {
                    format!(" of {}", scope.owner())
                },
                entry.id
            );
        }
        FilterCmd::List {
            scope,
            all,
            include_users,
            kind: k,
            search,
            json,
        } => {
            let query = FilterQuery {
                scope: if all { None } else { Some(scope_of(&scope)?) },
                include_users,
                kind: k.map(kind),
                search,
            };
            let entries = store.list_filters(&query).await.explain()?;
            if json.json {
                print_json(&entries);
            } else {
                output::table(
                    &["ID", "SCOPE", "OWNER", "KIND", "PATTERN"],
                    entries.iter().map(|e| {
                        vec![
                            e.id.to_string(),
                            e.scope.kind().into(),
                            e.scope.owner(),
                            e.kind.as_str().into(),
                            e.pattern.to_string(),
                        ]
                    }),
                );
            }
        }
        FilterCmd::Remove { id } => {
            let e = store.remove_filter(id, None).await.explain()?;
            println!(
                "removed {} entry {} ({} list)",
                e.kind.as_str(),
                e.pattern,
                e.scope.kind()
            );
        }
    }
    Ok(())
}

async fn plan(store: &Store, cmd: PlanCmd) -> Result<()> {
    match cmd {
        PlanCmd::List(Json { json }) => {
            let plans = store.list_plans().await.explain()?;
            if json {
                print_json(&plans);
            } else {
                output::table(
                    &["PLAN", "MESSAGES PER 24H"],
                    plans
                        .iter()
                        .map(|p| vec![p.name.clone(), p.daily_limit.to_string()]),
                );
            }
        }
        PlanCmd::Set { name, daily_limit } => {
            let p = store.set_plan(&name, daily_limit).await.explain()?;
            println!(
                "plan {} allows {} messages per 24 hours",
                p.name, p.daily_limit
            );
        }
    }
    Ok(())
}

/// Reads "30m", "24h", "7d" (ago) or "2026-12-01" (UTC) into milliseconds.
pub fn parse_since(s: &str) -> Result<i64> {
    let s = s.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = date.and_hms_opt(0, 0, 0).context("bad date")?;
        return Ok(start.and_utc().timestamp_millis());
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow!("--since {s:?}: use 30m, 24h, 7d or a date like 2026-12-01"))?;
    let ms = match unit {
        "m" => n * 60_000,
        "h" | "" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => bail!("--since {s:?}: use 30m, 24h, 7d or a date like 2026-12-01"),
    };
    Ok(now_ms() - ms)
}

async fn logs(store: &Store, cmd: LogsCmd) -> Result<()> {
    match cmd {
        LogsCmd::Incoming {
            domain,
            since,
            sender,
            recipient,
            status,
            limit,
            json,
        } => {
            let domain = domain.as_deref().map(parse_domain).transpose()?;
            if let Some(d) = &domain {
                store.get_domain(d).await.explain()?;
            }
            let status = status
                .as_deref()
                .map(|s| {
                    LogStatus::parse(s).ok_or_else(|| {
                        anyhow!("--status {s:?}: use accepted, rejected or deferred")
                    })
                })
                .transpose()?;
            let q = IncomingQuery {
                domain,
                since: since.as_deref().map(parse_since).transpose()?,
                until: None,
                sender,
                recipient,
                status,
                limit: Some(limit),
            };
            let entries = store.list_incoming(&q).await.explain()?;
            if json.json {
                print_json(&entries);
            } else {
                output::table(
                    &[
                        "TIME",
                        "CLIENT",
                        "SENDER",
                        "RECIPIENT",
                        "STATUS",
                        "SUBJECT",
                        "REPLY",
                    ],
                    entries.iter().map(|e| {
                        vec![
                            output::time(e.at),
                            e.client_ip.clone(),
                            if e.sender.is_empty() {
                                "<>".into()
                            } else {
                                e.sender.clone()
                            },
                            e.recipient.clone(),
                            e.status.as_str().into(),
                            e.subject.clone().unwrap_or_default(),
                            e.reply.clone(),
                        ]
                    }),
                );
            }
        }
        LogsCmd::Outgoing {
            user,
            since,
            limit,
            json,
        } => {
            let account = store.get_account(&parse_addr(&user)?).await.explain()?;
            let since = since
                .as_deref()
                .map(parse_since)
                .transpose()?
                .unwrap_or_else(day_window_start);
            let messages = store
                .list_outgoing(Some(&account.address), None, since, limit)
                .await
                .explain()?;
            let sent = store
                .sent_since(&account.address, day_window_start())
                .await
                .explain()?;
            let limit = store.daily_limit(&account).await.explain()?;
            if json.json {
                print_json(&serde_json::json!({
                    "account": account.address,
                    "sent_last_24h": sent,
                    "daily_limit": limit,
                    "messages": messages,
                }));
            } else {
                println!(
                    "{}: {sent} of {limit} messages sent in the last 24 hours",
                    account.address
                );
                output::table(
                    &["TIME", "SUBJECT", "RECIPIENT", "STATUS", "HOST", "REPLY"],
                    messages.iter().flat_map(|m| {
                        m.recipients.iter().map(move |r| {
                            vec![
                                output::time(m.at),
                                m.subject.clone().unwrap_or_default(),
                                r.recipient.clone(),
                                r.status.as_str().into(),
                                r.host.clone().unwrap_or_default(),
                                r.reply.clone().unwrap_or_default(),
                            ]
                        })
                    }),
                );
            }
        }
    }
    Ok(())
}

async fn queue(store: &Store, settings: &Settings, cmd: QueueCmd) -> Result<()> {
    match cmd {
        QueueCmd::List(Json { json }) => {
            let entries = store.list_queue().await.explain()?;
            if json {
                print_json(&entries);
            } else {
                output::table(
                    &[
                        "ID",
                        "QUEUED",
                        "SENDER",
                        "RECIPIENT",
                        "STATUS",
                        "ATTEMPTS",
                        "LAST REPLY",
                    ],
                    entries.iter().map(|q| {
                        vec![
                            q.id.to_string(),
                            output::time(q.created_at),
                            if q.sender.is_empty() {
                                "<>".into()
                            } else {
                                q.sender.clone()
                            },
                            q.recipient.clone(),
                            q.status.clone(),
                            q.attempts.to_string(),
                            q.last_reply.clone().unwrap_or_default(),
                        ]
                    }),
                );
            }
        }
        QueueCmd::Show { id, json } => {
            let q = store.get_queue_entry(id).await.map_err(queue_hint)?;
            if json.json {
                print_json(&q);
            } else {
                output::fields(&[
                    ("id", q.id.to_string()),
                    ("queued", output::time(q.created_at)),
                    (
                        "sender",
                        if q.sender.is_empty() {
                            "<>".into()
                        } else {
                            q.sender.clone()
                        },
                    ),
                    ("recipient", q.recipient.clone()),
                    ("domain", q.domain.clone()),
                    ("status", q.status.clone()),
                    ("attempts", q.attempts.to_string()),
                    ("next attempt", output::time(q.next_attempt)),
                    ("last reply", q.last_reply.clone().unwrap_or_default()),
                    ("message", q.blob_id.clone()),
                ]);
            }
        }
        QueueCmd::Retry { id, all } => {
            let n = store
                .queue_retry(if all { None } else { id })
                .await
                .map_err(queue_hint)?;
            println!(
                "{n} entr{} will be tried now",
                if n == 1 { "y" } else { "ies" }
            );
        }
        QueueCmd::Bounce { id } => {
            let blobs =
                hermod_store::FsBlobStore::open(settings.effective_blob_dir()).map_err(explain)?;
            let q = hermod_outbound::bounce_entry(store, &blobs, settings, id)
                .await
                .map_err(|e| anyhow!("{e}; see `hermod queue list`"))?;
            println!(
                "entry {id} ({} to {}) bounced; the sender is told with a delivery status notification",
                if q.sender.is_empty() { "<>" } else { &q.sender },
                q.recipient
            );
        }
        QueueCmd::Remove { id } => {
            let q = store.queue_remove(id).await.map_err(queue_hint)?;
            println!(
                "removed entry {id} ({} to {}); the sender was not told",
                q.sender, q.recipient
            );
        }
    }
    Ok(())
}

fn queue_hint(e: StoreError) -> anyhow::Error {
    match &e {
        StoreError::NotFound("queue entry", id) => {
            anyhow!(
                "queue entry {id} does not exist (it may have been delivered); see `hermod queue list`"
            )
        }
        _ => explain(e),
    }
}
