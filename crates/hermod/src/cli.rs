//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "hermod",
    version,
    about = "Hermod: e-mail hosting in one binary",
    propagate_version = true
)]
pub struct Cli {
    /// Settings file (TOML). Without it: built-in defaults and ./hermod-data.
    #[arg(long, global = true, env = "HERMOD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every listener (SMTP, submission, IMAP, web) until SIGTERM or SIGINT.
    Serve,
    /// Show or check settings.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Hosted domains.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Accounts (mailboxes) and their permissions.
    #[command(subcommand)]
    User(UserCmd),
    /// Aliases: addresses that deliver to other addresses.
    #[command(subcommand)]
    Alias(AliasCmd),
    /// Block and allow lists (system, domain and user scope).
    #[command(subcommand)]
    Filter(FilterCmd),
    /// Plans and their daily send limits.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Incoming Logs and outgoing (Track Deliveries) logs.
    #[command(subcommand)]
    Logs(LogsCmd),
    /// The outbound queue.
    #[command(subcommand)]
    Queue(QueueCmd),
    /// Delivery rules of a user (OWNER = the address) or of a domain (OWNER = the domain,
    /// run before each user's rules).
    #[command(subcommand)]
    Rule(RuleCmd),
}

#[derive(Subcommand, Debug)]
pub enum RuleCmd {
    /// Add a rule (it starts disabled; `hermod rule enable` turns it on).
    ///
    /// Example, the FAQ's forward and delete:
    /// hermod rule add ann@example.com forward_all --if "to contains ann@example.com"
    ///   --forward ann@elsewhere.net --delete
    Add {
        owner: String,
        /// Letters, digits, '_' and '-'.
        name: String,
        #[command(flatten)]
        rule: RuleArgs,
    },
    /// Replace a rule's conditions and actions (keeps its place and state).
    Edit {
        owner: String,
        name: String,
        #[command(flatten)]
        rule: RuleArgs,
    },
    /// The rules in the order they run.
    List {
        owner: String,
        #[command(flatten)]
        json: Json,
    },
    Show {
        owner: String,
        name: String,
        #[command(flatten)]
        json: Json,
    },
    Enable {
        owner: String,
        name: String,
    },
    Disable {
        owner: String,
        name: String,
    },
    /// Move a rule to a position (1 runs first).
    Move {
        owner: String,
        name: String,
        position: usize,
    },
    Remove {
        owner: String,
        name: String,
    },
    /// Print the rules as JSON (for `hermod rule import`), or as a Sieve script.
    Export {
        owner: String,
        /// An equivalent Sieve (RFC 5228) script, for users moving to another provider.
        #[arg(long)]
        sieve: bool,
    },
    /// Import rules from a JSON file made by `hermod rule export` ("-" reads stdin).
    /// Rules with the same name are replaced.
    Import {
        owner: String,
        file: String,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// A condition "FIELD OP TERM": FIELD is from, to, cc, to-or-cc, subject, body, list-id,
    /// size, has-attachment or any header name; OP is contains, not-contains, is, is-not,
    /// begins-with, ends-with, matches, greater-than, less-than. Repeat for more.
    #[arg(long = "if", value_name = "CONDITION", required = true)]
    conditions: Vec<String>,
    /// Match when any condition holds (default: all must hold).
    #[arg(long)]
    pub any: bool,
    /// File into this folder (created if missing).
    #[arg(long)]
    pub folder: Vec<String>,
    /// Forward to this address without keeping a copy here.
    #[arg(long)]
    pub forward: Vec<String>,
    /// Forward to this address and keep a copy here.
    #[arg(long)]
    pub forward_copy: Vec<String>,
    /// Delete the message (no bounce is sent).
    #[arg(long)]
    pub delete: bool,
    #[arg(long)]
    pub mark_read: bool,
    #[arg(long)]
    pub flag: bool,
    /// Auto-reply with this subject (needs --auto-reply-body).
    #[arg(long, requires = "auto_reply_body")]
    pub auto_reply_subject: Option<String>,
    #[arg(long, requires = "auto_reply_subject")]
    pub auto_reply_body: Option<String>,
    /// Days before the same sender gets another auto-reply.
    #[arg(long, default_value_t = 7)]
    pub auto_reply_days: u32,
    /// First day of the auto-reply (YYYY-MM-DD).
    #[arg(long)]
    pub auto_reply_start: Option<String>,
    /// Last day of the auto-reply (YYYY-MM-DD).
    #[arg(long)]
    pub auto_reply_end: Option<String>,
    /// Stop processing further rules.
    #[arg(long)]
    pub stop: bool,
}

impl RuleArgs {
    pub fn conditions(&self) -> &[String] {
        &self.conditions
    }
}

#[derive(Subcommand, Debug)]
pub enum QueueCmd {
    /// Every queued recipient with its state.
    List(Json),
    /// One entry in full.
    Show {
        id: i64,
        #[command(flatten)]
        json: Json,
    },
    /// Try again now: one entry, or with --all every entry.
    Retry {
        #[arg(required_unless_present = "all")]
        id: Option<i64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Drop an entry without telling the sender.
    Remove { id: i64 },
    /// Give up on an entry now and send the sender a bounce.
    Bounce { id: i64 },
}

#[derive(Args, Debug, Clone, Copy)]
pub struct Json {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print the effective settings (defaults filled in), each with its doc.
    Show(Json),
    /// Check a settings file: unknown keys and bad values, each with its line.
    Check { file: PathBuf },
    /// Print the settings reference (Markdown).
    Reference,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum YesNo {
    Yes,
    No,
}

impl YesNo {
    pub fn as_bool(self) -> bool {
        self == YesNo::Yes
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accept e-mails from everyone.
    Everyone,
    /// Accept e-mails from whitelist and address book only.
    WhitelistOnly,
}

#[derive(Subcommand, Debug)]
pub enum DomainCmd {
    /// Host a new domain.
    Add {
        name: String,
        /// Deliver to local mailboxes (yes) or to the domain's external MX (no).
        #[arg(long, value_enum, default_value = "yes")]
        local_delivery: YesNo,
        /// The plan new accounts get.
        #[arg(long, default_value = "basic")]
        plan: String,
    },
    List(Json),
    Show {
        name: String,
        #[command(flatten)]
        json: Json,
    },
    /// Make a DKIM key for the domain's outgoing mail and print the DNS record to publish.
    Dkim {
        name: String,
        /// The selector (the DNS name is SELECTOR._domainkey.DOMAIN).
        #[arg(long, default_value = "hermod")]
        selector: String,
    },
    /// Change a domain's settings.
    Set {
        name: String,
        #[arg(long, value_enum)]
        local_delivery: Option<YesNo>,
        #[arg(long)]
        plan: Option<String>,
        #[arg(long, value_enum)]
        filter_mode: Option<Mode>,
        /// Allow S/MIME in webmail for this domain.
        #[arg(long, value_enum)]
        smime: Option<YesNo>,
    },
    /// Stop hosting a domain.
    Remove {
        name: String,
        /// Also remove its accounts, their mail, rules and lists.
        #[arg(long)]
        with_accounts: bool,
    },
    /// Make an account an admin of a domain (or take it back with --revoke).
    Admin {
        name: String,
        account: String,
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create an account. The password is read from standard input, or prompted for.
    Add {
        address: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Plan (default: the domain's default plan).
        #[arg(long)]
        plan: Option<String>,
        /// Quota in bytes (default: limits.default_quota).
        #[arg(long)]
        quota: Option<u64>,
    },
    List {
        #[arg(long)]
        domain: Option<String>,
        /// Only accounts whose address or name contains this.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Show an account with its send count for the last 24 hours against its limit.
    Show {
        address: String,
        #[command(flatten)]
        json: Json,
    },
    /// Change an account.
    Set {
        address: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        /// Messages per 24 hours for this account, or "none" to use the plan's.
        #[arg(long, value_name = "N|none")]
        send_limit: Option<String>,
        #[arg(long)]
        quota: Option<u64>,
        #[arg(long, value_enum)]
        enabled: Option<YesNo>,
        #[arg(long, value_enum)]
        filter_mode: Option<Mode>,
    },
    /// Set a new password, read from standard input or prompted for.
    Passwd {
        address: String,
    },
    Remove {
        address: String,
    },
    /// "Send email as": addresses an account may send from.
    #[command(subcommand)]
    SendAs(SendAsCmd),
}

#[derive(Subcommand, Debug)]
pub enum SendAsCmd {
    Grant {
        account: String,
        address: String,
    },
    Revoke {
        account: String,
        address: String,
    },
    List {
        account: String,
        #[command(flatten)]
        json: Json,
    },
}

#[derive(Subcommand, Debug)]
pub enum AliasCmd {
    /// Make ALIAS deliver to TARGET (run again to add more targets).
    Add { alias: String, target: String },
    List {
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Remove an alias, or one of its targets.
    Remove {
        alias: String,
        target: Option<String>,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Block,
    Allow,
}

#[derive(Args, Debug, Clone)]
pub struct ScopeArgs {
    /// A domain's list (default: the operator's system list).
    #[arg(long, conflicts_with = "user")]
    pub domain: Option<String>,
    /// A user's list.
    #[arg(long)]
    pub user: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum FilterCmd {
    /// Add an entry: an address, a domain, or a suffix such as *.xyz.
    Add {
        kind: Kind,
        pattern: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    List {
        #[command(flatten)]
        scope: ScopeArgs,
        /// Every scope.
        #[arg(long, conflicts_with_all = ["domain", "user"])]
        all: bool,
        /// With --domain: include the lists of the domain's users.
        #[arg(long, requires = "domain")]
        include_users: bool,
        #[arg(long, value_enum)]
        kind: Option<Kind>,
        /// Only entries containing this text.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Remove an entry by its id (see `hermod filter list`).
    Remove { id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum PlanCmd {
    List(Json),
    /// Create a plan or change its daily send limit.
    Set {
        name: String,
        daily_limit: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum LogsCmd {
    /// The Incoming Logs: every attempt to deliver to a hosted domain.
    Incoming {
        #[arg(long)]
        domain: Option<String>,
        /// How far back: 30m, 24h, 7d, or a date (2026-12-01).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        sender: Option<String>,
        #[arg(long)]
        recipient: Option<String>,
        /// accepted, rejected or deferred.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        json: Json,
    },
    /// Messages a user sent, each recipient with its delivery status.
    Outgoing {
        #[arg(long)]
        user: String,
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        json: Json,
    },
}
