//! The IMAP command tree: what a client asked for, after the grammar, before any meaning.
//!
//! Strings are already unquoted / taken from their literal; mailbox names are still in the
//! client's encoding (modified UTF-7 unless UTF8=ACCEPT is enabled): see [`crate::mutf7`].

use chrono::{DateTime, FixedOffset, NaiveDate};

/// A complete command with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    pub tag: String,
    pub command: Command,
}

/// One IMAP command, grouped by the state it is normally used in (the server enforces states).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    // Any state.
    Capability,
    Noop,
    Logout,
    /// RFC 2971: `ID NIL` or `ID ("name" "value" ...)`.
    Id(Option<Vec<(String, Option<String>)>>),

    // Not authenticated.
    StartTls,
    Login {
        user: String,
        password: String,
    },
    /// `AUTHENTICATE mech [initial-response]` (SASL-IR). The mechanism is upper-cased; the
    /// initial response is kept as sent (base64 text, or "=" for an empty one).
    Authenticate {
        mechanism: String,
        initial: Option<String>,
    },

    // Authenticated.
    /// `ENABLE cap ...`, the names upper-cased.
    Enable(Vec<String>),
    /// SELECT (read-write) or EXAMINE (read-only), with CONDSTORE / QRESYNC parameters.
    Select {
        mailbox: String,
        read_only: bool,
        condstore: bool,
        qresync: Option<Qresync>,
    },
    /// `CREATE name [(USE (\Drafts ...))]` (RFC 6154 CREATE-SPECIAL-USE).
    Create {
        mailbox: String,
        special_use: Vec<String>,
    },
    Delete {
        mailbox: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Subscribe {
        mailbox: String,
    },
    Unsubscribe {
        mailbox: String,
    },
    /// LIST, LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), and LSUB (`lsub: true`).
    List(List),
    Namespace,
    Status {
        mailbox: String,
        items: Vec<StatusItem>,
    },
    Append(Append),
    Idle,
    /// RFC 9208.
    GetQuota {
        root: String,
    },
    GetQuotaRoot {
        mailbox: String,
    },
    /// Resource names upper-cased.
    SetQuota {
        root: String,
        limits: Vec<(String, u64)>,
    },
    /// RFC 4978: `COMPRESS DEFLATE` (algorithm upper-cased).
    Compress {
        algorithm: String,
    },

    // Selected.
    Check,
    Close,
    Unselect,
    /// EXPUNGE, or UID EXPUNGE with its set (UIDPLUS).
    Expunge {
        uids: Option<SequenceSet>,
    },
    Search(Search),
    Fetch(Fetch),
    Store(Store),
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: String,
    },
}

impl Command {
    /// The command's name as a client writes it, for logs and "command X not allowed now".
    pub fn name(&self) -> &'static str {
        match self {
            Command::Capability => "CAPABILITY",
            Command::Noop => "NOOP",
            Command::Logout => "LOGOUT",
            Command::Id(_) => "ID",
            Command::StartTls => "STARTTLS",
            Command::Login { .. } => "LOGIN",
            Command::Authenticate { .. } => "AUTHENTICATE",
            Command::Enable(_) => "ENABLE",
            Command::Select {
                read_only: false, ..
            } => "SELECT",
            Command::Select {
                read_only: true, ..
            } => "EXAMINE",
            Command::Create { .. } => "CREATE",
            Command::Delete { .. } => "DELETE",
            Command::Rename { .. } => "RENAME",
            Command::Subscribe { .. } => "SUBSCRIBE",
            Command::Unsubscribe { .. } => "UNSUBSCRIBE",
            Command::List(l) if l.lsub => "LSUB",
            Command::List(_) => "LIST",
            Command::Namespace => "NAMESPACE",
            Command::Status { .. } => "STATUS",
            Command::Append(_) => "APPEND",
            Command::Idle => "IDLE",
            Command::GetQuota { .. } => "GETQUOTA",
            Command::GetQuotaRoot { .. } => "GETQUOTAROOT",
            Command::SetQuota { .. } => "SETQUOTA",
            Command::Compress { .. } => "COMPRESS",
            Command::Check => "CHECK",
            Command::Close => "CLOSE",
            Command::Unselect => "UNSELECT",
            Command::Expunge { .. } => "EXPUNGE",
            Command::Search(_) => "SEARCH",
            Command::Fetch(_) => "FETCH",
            Command::Store(_) => "STORE",
            Command::Copy { .. } => "COPY",
            Command::Move { .. } => "MOVE",
        }
    }
}

/// `QRESYNC (uidvalidity modseq [known-uids] [(seq-set uid-set)])` (RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qresync {
    pub uidvalidity: u32,
    pub modseq: u64,
    pub known_uids: Option<SequenceSet>,
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List {
    /// LSUB instead of LIST.
    pub lsub: bool,
    pub reference: String,
    /// One pattern, or several in `("a" "b")` form (LIST-EXTENDED).
    pub patterns: Vec<String>,
    /// Selection options: `(SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE)`.
    pub select_subscribed: bool,
    pub select_remote: bool,
    pub select_recursive: bool,
    pub select_special_use: bool,
    /// Return options: `RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (...))`.
    pub return_subscribed: bool,
    pub return_children: bool,
    pub return_special_use: bool,
    pub return_status: Option<Vec<StatusItem>>,
}

/// A STATUS data item (also used by LIST-STATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    Deleted,
    Size,
    HighestModSeq,
    AppendLimit,
}

impl StatusItem {
    /// The item's name as written in STATUS requests and responses.
    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
        }
    }
}

/// `APPEND mailbox [(flags)] [date-time] literal`; MULTIAPPEND gives several messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub mailbox: String,
    pub messages: Vec<AppendMessage>,
}

/// One message of an APPEND (several with MULTIAPPEND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// As sent, except the system flags (`\Seen` ...) in their canonical case.
    pub flags: Vec<String>,
    pub date: Option<DateTime<FixedOffset>>,
    /// The message bytes, from `{n}`, `{n+}` or `~{n}` (literal8).
    pub data: Vec<u8>,
}

/// A sequence set: `1:4,7,9:*`, or `$` (the saved search result, RFC 5182).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceSet {
    Ranges(Vec<(SeqNum, SeqNum)>),
    Saved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    Value(u32),
    /// `*`: the largest number in use.
    Largest,
}

/// SEARCH / UID SEARCH, with ESEARCH return options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub uid: bool,
    pub charset: Option<String>,
    /// `RETURN (...)` given (ESEARCH); an empty list means `RETURN ()` (= ALL).
    pub ret: Option<Vec<SearchReturn>>,
    /// The criteria; several top-level keys are an implicit AND.
    pub criteria: SearchKey,
}

/// An ESEARCH return option (RFC 4731), SAVE from SEARCHRES (RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
}

/// A search criterion; strings are as sent (the server decides matching and charset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    And(Vec<SearchKey>),
    Or(Box<SearchKey>, Box<SearchKey>),
    Not(Box<SearchKey>),
    SequenceSet(SequenceSet),
    Uid(SequenceSet),
    Answered,
    Deleted,
    Draft,
    Flagged,
    Seen,
    Recent,
    New,
    Old,
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unseen,
    Keyword(String),
    Unkeyword(String),
    Bcc(String),
    Cc(String),
    From(String),
    To(String),
    Subject(String),
    Body(String),
    Text(String),
    Header(String, String),
    Before(NaiveDate),
    On(NaiveDate),
    Since(NaiveDate),
    SentBefore(NaiveDate),
    SentOn(NaiveDate),
    SentSince(NaiveDate),
    Larger(u64),
    Smaller(u64),
    /// `MODSEQ [entry-name entry-type] n` (CONDSTORE); the entry is ignored.
    ModSeq(u64),
    /// WITHIN (RFC 5032): seconds.
    Older(u64),
    Younger(u64),
}

/// FETCH / UID FETCH, with CONDSTORE / QRESYNC modifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub uid: bool,
    pub set: SequenceSet,
    /// Items with the macros (ALL, FAST, FULL) expanded.
    pub items: Vec<FetchItem>,
    /// `(CHANGEDSINCE n)`.
    pub changed_since: Option<u64>,
    /// `(CHANGEDSINCE n VANISHED)` (QRESYNC, UID FETCH only).
    pub vanished: bool,
}

/// One FETCH data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    Envelope,
    /// BODYSTRUCTURE (with extension data).
    BodyStructure,
    /// BODY without a section: the structure without extension data.
    Body,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    Section {
        peek: bool,
        section: Section,
        partial: Option<(u32, u32)>,
    },
    /// `BINARY[part]<partial>` / `BINARY.PEEK[...]` (RFC 3516).
    Binary {
        peek: bool,
        part: Vec<u32>,
        partial: Option<(u32, u32)>,
    },
    BinarySize {
        part: Vec<u32>,
    },
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Text,
    Rfc822Size,
    Uid,
    ModSeq,
}

/// `[1.2.HEADER.FIELDS (From To)]`: the part path, then what of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub part: Vec<u32>,
    pub text: Option<SectionText>,
}

/// The part of a section after the part path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    Header,
    /// Field names as the client wrote them (the response echoes them).
    HeaderFields(Vec<String>),
    HeaderFieldsNot(Vec<String>),
    Text,
    Mime,
}

/// STORE / UID STORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub uid: bool,
    pub set: SequenceSet,
    /// `(UNCHANGEDSINCE n)` (CONDSTORE).
    pub unchanged_since: Option<u64>,
    pub mode: StoreMode,
    /// `.SILENT`.
    pub silent: bool,
    /// As sent, except the system flags (`\Seen` ...) in their canonical case.
    pub flags: Vec<String>,
}

/// How STORE changes the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}
