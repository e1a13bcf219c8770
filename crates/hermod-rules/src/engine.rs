//! Checking rules ([`validate`]) and running them on a message ([`evaluate`]).
//!
//! # Conditions
//!
//! A condition is `field op term`. Field and operator names are
//! case-insensitive (`_` and spaces count as `-`, so `To_or_Cc` and
//! `not contains` work too).
//!
//! | field | values it looks at |
//! | --- | --- |
//! | `from`, `to`, `cc` | each address of the field(s) (lower-case) and each field's decoded text |
//! | `to-or-cc` | the union of `to` and `cc` |
//! | `subject` | the decoded Subject (empty when absent) |
//! | `body` | the decoded text of the text parts (at most 256 KiB) |
//! | `list-id` | the decoded List-Id and the id inside its `<…>` (none when absent) |
//! | `size` | the message size in bytes |
//! | `has-attachment` | whether the message has an attachment |
//! | any other name | the decoded values of every header field of that name; for address headers (Reply-To, Sender, Delivered-To, Return-Path, …) also their addresses |
//!
//! | operator | holds when |
//! | --- | --- |
//! | `contains` | some value contains the term |
//! | `not-contains` | no value contains the term (true when the field is absent) |
//! | `is` | some value equals the term; on address fields the *addresses* are compared (`<…>` around the term is ignored); the field text is used only when it has no address |
//! | `is-not` | no value would satisfy `is` (true when the field is absent) |
//! | `begins-with`, `ends-with` | some value begins / ends with the term |
//!
//! `is` ignores white space around the value and the term, and
//! `begins-with` / `ends-with` ignore it around the value (this matters for
//! the body, whose text usually ends with a line break).
//! | `matches` | the regular expression (Rust `regex` syntax) matches some value |
//! | `greater-than`, `less-than` | `size` only: the size is above / below the term |
//!
//! All text comparisons are case-insensitive (Unicode lower-casing of both
//! sides; regular expressions are compiled case-insensitive). Sizes are
//! written `500`, `10k`, `10KB`, `2M`, `1.5M` or `1G` (K = 1024 bytes);
//! `size is N` is exact. `has-attachment` takes `is`/`is-not` with `yes`,
//! `no`, `true` or `false`. Regular expressions are bounded: at most
//! [`MAX_TERM_LEN`] characters, and the compiled program and lazy DFA are
//! capped, so matching is linear in the text and cannot hang.
//!
//! A rule with match mode `all` matches when every condition holds, `any`
//! when at least one does. A condition that cannot be evaluated (unknown
//! field or operator, bad regex or size, which [`validate`] rejects) is false,
//! and a rule without conditions never matches ([`validate`] rejects both).
//!
//! # Actions and the plan (Sieve-like)
//!
//! [`evaluate`] runs the enabled rules in the order given (the caller passes
//! the domain's rules first, then the user's, each sorted by position).
//! Every matching rule adds its actions to the [`Plan`]; its own actions
//! all apply, wherever `Stop` stands among them.
//!
//! * Without any matching rule the message is kept in INBOX (the *implicit keep*).
//! * `Folder` files a copy into that folder and cancels the implicit INBOX copy;
//!   several folders give a copy in each (`INBOX` may be named explicitly).
//! * `Forward{keep_copy: true}` forwards and leaves the local copy alone
//!   (Sieve `redirect :copy`); `Forward{keep_copy: false}` forwards and cancels
//!   the implicit INBOX copy — explicit `Folder` actions still file. Forward
//!   addresses are normalised and deduplicated.
//! * `Delete` discards every local copy: no INBOX and no folder copy, whichever
//!   rule or order they came from; nothing is bounced and forwards still happen
//!   (the FAQ's "forward and delete"). Unlike Sieve's `discard`, it also
//!   cancels explicit `Folder` copies.
//! * `MarkRead` / `Flag` set `\Seen` / `\Flagged` on every local copy.
//! * `AutoReply`: the first matching one is the plan's `auto_reply`; whether a
//!   reply is really sent is decided by [`crate::autoreply::may_auto_reply`] and
//!   the caller's per-sender interval store.
//! * `Stop` ends processing after the current rule.
//!
//! Actions that [`validate`] rejects are ignored rather than obeyed halfway:
//! a folder action with an empty or control-character name and a forward to
//! an unparseable address do nothing (in particular they do not cancel the
//! INBOX copy, so no mail is lost to a broken rule).

use std::borrow::Cow;
use std::cell::OnceCell;

use hermod_model::EmailAddress;
use hermod_model::rules::{Action, Condition, MatchMode, Rule, check_rule_name};
use regex::{Regex, RegexBuilder};

use crate::autoreply::AutoReplySpec;
use crate::facts::{ADDRESS_HEADERS, MessageFacts, addresses_of};

/// The longest term (and regular expression) a condition may have, in characters.
pub const MAX_TERM_LEN: usize = 1000;
/// Compiled-program size limit for `matches` expressions.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Lazy-DFA cache limit for `matches` expressions.
const REGEX_DFA_LIMIT: usize = 512 * 1024;
/// The longest folder name, in characters.
const MAX_FOLDER_LEN: usize = 255;

/// What a message's matching rules say to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Folders to file a copy into. Empty with `keep` means INBOX.
    pub folders: Vec<String>,
    /// True when a local copy is kept (in INBOX or in `folders`).
    pub keep: bool,
    /// Addresses to forward to (normalised, deduplicated, in rule order).
    pub forwards: Vec<String>,
    /// Set `\Seen` on the local copies.
    pub mark_read: bool,
    /// Set `\Flagged` on the local copies.
    pub flag: bool,
    /// The first matching auto-reply action.
    pub auto_reply: Option<AutoReplySpec>,
    /// Names of the rules that matched, in order (for the log).
    pub matched: Vec<String>,
}

impl Default for Plan {
    /// The plan when no rule matches: keep in INBOX.
    fn default() -> Self {
        Plan {
            folders: Vec::new(),
            keep: true,
            forwards: Vec::new(),
            mark_read: false,
            flag: false,
            auto_reply: None,
            matched: Vec::new(),
        }
    }
}

impl Plan {
    /// The mailboxes that get a local copy: `folders`, or `["INBOX"]` when
    /// the implicit keep stands; empty when the message is not kept.
    pub fn mailboxes(&self) -> Vec<&str> {
        if !self.keep {
            Vec::new()
        } else if self.folders.is_empty() {
            vec!["INBOX"]
        } else {
            self.folders.iter().map(String::as_str).collect()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    From,
    To,
    Cc,
    ToOrCc,
    Subject,
    Body,
    ListId,
    Size,
    HasAttachment,
    /// Another header; the name as written.
    Header(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Contains,
    NotContains,
    Is,
    IsNot,
    BeginsWith,
    EndsWith,
    Matches,
    GreaterThan,
    LessThan,
}

const FIELD_HELP: &str = "use From, To, Cc, To-or-Cc, Subject, Body, List-Id, size, has-attachment or a header name such as X-Priority";
const OP_HELP: &str = "use contains, not-contains, is, is-not, begins-with, ends-with, matches, greater-than or less-than";

fn norm_name(s: &str) -> String {
    s.trim().to_lowercase().replace(['_', ' '], "-")
}

pub(crate) fn parse_field(s: &str) -> Option<Field<'_>> {
    Some(match norm_name(s).as_str() {
        "from" => Field::From,
        "to" => Field::To,
        "cc" => Field::Cc,
        "to-or-cc" => Field::ToOrCc,
        "subject" => Field::Subject,
        "body" => Field::Body,
        "list-id" => Field::ListId,
        "size" => Field::Size,
        "has-attachment" => Field::HasAttachment,
        _ => {
            let name = s.trim();
            let ok = !name.is_empty()
                && name.len() <= 76
                && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
            if !ok {
                return None;
            }
            Field::Header(name)
        }
    })
}

pub(crate) fn parse_op(s: &str) -> Option<Op> {
    Some(match norm_name(s).as_str() {
        "contains" => Op::Contains,
        "not-contains" => Op::NotContains,
        "is" => Op::Is,
        "is-not" => Op::IsNot,
        "begins-with" => Op::BeginsWith,
        "ends-with" => Op::EndsWith,
        "matches" => Op::Matches,
        "greater-than" => Op::GreaterThan,
        "less-than" => Op::LessThan,
        _ => return None,
    })
}

/// Parses a size term: `500`, `10k`, `10 KB`, `2M`, `1.5M`, `1G` (K = 1024).
pub fn parse_size(term: &str) -> Result<u64, String> {
    let t = term.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t).trim_end();
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let num = num.trim();
    let bad = || {
        format!(
            "{term:?} is not a size; write a number of bytes, optionally with K, M or G (e.g. 500, 10K, 2M)"
        )
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    if let Ok(n) = num.parse::<u64>() {
        return n
            .checked_mul(mult)
            .ok_or_else(|| format!("{term:?} is too large a size"));
    }
    let f: f64 = num.parse().map_err(|_| bad())?;
    let bytes = (f * mult as f64).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("{term:?} is too large a size"));
    }
    Ok(bytes as u64)
}

fn parse_bool(term: &str) -> Option<bool> {
    match term.trim().to_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// Compiles a `matches` term: case-insensitive and bounded.
pub(crate) fn build_regex(term: &str) -> Result<Regex, String> {
    if term.chars().count() > MAX_TERM_LEN {
        return Err(format!(
            "the regular expression is longer than {MAX_TERM_LEN} characters; shorten it"
        ));
    }
    RegexBuilder::new(term)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                "the regular expression is too complex; simplify it (fewer repetitions or alternatives)"
                    .to_string()
            }
            other => {
                let detail = other.to_string();
                let last = detail
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                format!(
                    "{term:?} is not a valid regular expression ({last}); check brackets and escape special characters such as . * + ? ( ) [ ] with a backslash"
                )
            }
        })
}

/// Checks a rule before it is saved or imported. The error says what is
/// wrong and how to fix it, for the user.
///
/// A rule must have a valid name, at least one condition (to act on all
/// mail, use the condition `To contains` your own address, as the FAQ
/// shows) and at least one action.
pub fn validate(rule: &Rule) -> Result<(), String> {
    check_rule_name(&rule.name)?;
    if rule.conditions.is_empty() {
        return Err(
            "add at least one condition (to act on all your mail, use: To contains your own address)"
                .into(),
        );
    }
    for (i, c) in rule.conditions.iter().enumerate() {
        validate_condition(c).map_err(|e| format!("condition {}: {e}", i + 1))?;
    }
    if rule.actions.is_empty() {
        return Err(
            "add at least one action (e.g. move to a folder, forward, delete or auto-reply)".into(),
        );
    }
    let mut auto_replies = 0;
    for (i, a) in rule.actions.iter().enumerate() {
        if matches!(a, Action::AutoReply { .. }) {
            auto_replies += 1;
            if auto_replies > 1 {
                return Err(format!(
                    "action {}: a rule can send only one auto-reply; remove the extra one",
                    i + 1
                ));
            }
        }
        validate_action(a).map_err(|e| format!("action {}: {e}", i + 1))?;
    }
    Ok(())
}

fn validate_condition(c: &Condition) -> Result<(), String> {
    let field = parse_field(&c.field).ok_or_else(|| {
        if c.field.trim().is_empty() {
            format!("choose a field to match; {FIELD_HELP}")
        } else {
            format!("{:?} is not a field or header name; {FIELD_HELP}", c.field)
        }
    })?;
    let op = parse_op(&c.op).ok_or_else(|| {
        if c.op.trim().is_empty() {
            format!("choose a condition; {OP_HELP}")
        } else {
            format!("{:?} is not a known condition; {OP_HELP}", c.op)
        }
    })?;
    if c.term.chars().count() > MAX_TERM_LEN {
        return Err(format!(
            "the term is longer than {MAX_TERM_LEN} characters; shorten it"
        ));
    }
    match field {
        Field::Size => {
            if !matches!(op, Op::GreaterThan | Op::LessThan | Op::Is) {
                return Err(format!(
                    "size can only be compared with greater-than, less-than or is, not {:?}",
                    c.op
                ));
            }
            parse_size(&c.term)?;
        }
        Field::HasAttachment => {
            if !matches!(op, Op::Is | Op::IsNot) {
                return Err(format!(
                    "has-attachment can only be tested with is or is-not, not {:?}",
                    c.op
                ));
            }
            if parse_bool(&c.term).is_none() {
                return Err(format!(
                    "has-attachment takes yes or no as its term, not {:?}",
                    c.term
                ));
            }
        }
        _ => match op {
            Op::GreaterThan | Op::LessThan => {
                return Err(format!(
                    "{:?} only works with the size field; use contains, is, begins-with, ends-with or matches for {:?}",
                    c.op, c.field
                ));
            }
            Op::Matches => {
                if c.term.is_empty() {
                    return Err("enter a regular expression as the term".into());
                }
                build_regex(&c.term)?;
            }
            Op::Contains | Op::NotContains | Op::BeginsWith | Op::EndsWith => {
                if c.term.is_empty() {
                    return Err(
                        "the term is empty, so this condition would match every message; enter a term"
                            .into(),
                    );
                }
            }
            Op::Is | Op::IsNot => {}
        },
    }
    Ok(())
}

fn validate_action(a: &Action) -> Result<(), String> {
    match a {
        Action::Folder { folder } => {
            if folder.trim().is_empty() {
                return Err("choose the folder to move the message to".into());
            }
            if folder.chars().any(char::is_control) {
                return Err(format!(
                    "folder name {folder:?} contains a control character; remove it"
                ));
            }
            if folder.trim() != folder {
                return Err(format!(
                    "folder name {folder:?} begins or ends with a space; remove it"
                ));
            }
            if folder.chars().count() > MAX_FOLDER_LEN {
                return Err(format!(
                    "folder names are at most {MAX_FOLDER_LEN} characters"
                ));
            }
        }
        Action::Forward { to, .. } => {
            if to.trim().is_empty() {
                return Err("enter the address to forward to".into());
            }
            if to.matches('@').count() != 1 {
                return Err(format!(
                    "{to:?} is not an e-mail address; enter one address like name@example.com"
                ));
            }
            EmailAddress::parse(to).map_err(|e| {
                format!("{to:?} is not a valid e-mail address ({e}); enter one address like name@example.com")
            })?;
        }
        Action::AutoReply {
            subject,
            body,
            start,
            end,
            interval_days,
        } => {
            if !(1..=365).contains(interval_days) {
                return Err(format!(
                    "the auto-reply interval is {interval_days} days; choose between 1 and 365 days"
                ));
            }
            if subject.trim().is_empty() {
                return Err("enter a subject for the auto-reply".into());
            }
            if subject.contains(['\r', '\n']) {
                return Err("the auto-reply subject must be a single line".into());
            }
            if subject.chars().count() > 998 {
                return Err("the auto-reply subject is too long; shorten it".into());
            }
            if body.trim().is_empty() {
                return Err("enter the text of the auto-reply".into());
            }
            if let (Some(s), Some(e)) = (start, end)
                && s >= e
            {
                return Err(
                    "the auto-reply ends before it starts; set the end after the start".into(),
                );
            }
        }
        Action::Delete | Action::MarkRead | Action::Flag | Action::Stop => {}
    }
    Ok(())
}

/// Lazily lower-cased text shared by the conditions of one evaluation.
struct Ctx<'f> {
    facts: &'f MessageFacts,
    body_lower: OnceCell<String>,
}

/// The values a field stands for.
struct Values<'a> {
    /// Bare addresses (lower-case) for address fields.
    addrs: Vec<Cow<'a, str>>,
    /// Field texts.
    texts: Vec<Cow<'a, str>>,
    /// True for address fields (`is` compares the addresses).
    address_field: bool,
}

fn header_texts<'a>(facts: &'a MessageFacts, name: &'a str) -> Vec<Cow<'a, str>> {
    facts.header_values(name).map(Cow::Borrowed).collect()
}

fn values<'a>(field: Field<'a>, facts: &'a MessageFacts) -> Values<'a> {
    let addr = |list: &'a [String]| list.iter().map(|s| Cow::Borrowed(s.as_str()));
    match field {
        Field::From => Values {
            addrs: addr(&facts.from).collect(),
            texts: header_texts(facts, "from"),
            address_field: true,
        },
        Field::To => Values {
            addrs: addr(&facts.to).collect(),
            texts: header_texts(facts, "to"),
            address_field: true,
        },
        Field::Cc => Values {
            addrs: addr(&facts.cc).collect(),
            texts: header_texts(facts, "cc"),
            address_field: true,
        },
        Field::ToOrCc => Values {
            addrs: addr(&facts.to).chain(addr(&facts.cc)).collect(),
            texts: header_texts(facts, "to")
                .into_iter()
                .chain(header_texts(facts, "cc"))
                .collect(),
            address_field: true,
        },
        Field::Subject => Values {
            addrs: Vec::new(),
            texts: vec![Cow::Borrowed(facts.subject.as_str())],
            address_field: false,
        },
        Field::Body => Values {
            addrs: Vec::new(),
            texts: vec![Cow::Borrowed(facts.body.as_str())],
            address_field: false,
        },
        Field::ListId => {
            let mut texts = Vec::new();
            if let Some(l) = &facts.list_id {
                texts.push(Cow::Borrowed(l.as_str()));
                if let (Some(a), Some(b)) = (l.rfind('<'), l.rfind('>'))
                    && a < b
                {
                    texts.push(Cow::Borrowed(l[a + 1..b].trim()));
                }
            }
            Values {
                addrs: Vec::new(),
                texts,
                address_field: false,
            }
        }
        Field::Header(name) => {
            let lname = name.to_ascii_lowercase();
            let texts = header_texts(facts, name);
            let address_field = ADDRESS_HEADERS.contains(&lname.as_str());
            let addrs = if address_field {
                texts
                    .iter()
                    .flat_map(|t| addresses_of(t.as_bytes(), t))
                    .map(Cow::Owned)
                    .collect()
            } else {
                Vec::new()
            };
            Values {
                addrs,
                texts,
                address_field,
            }
        }
        Field::Size | Field::HasAttachment => Values {
            addrs: Vec::new(),
            texts: Vec::new(),
            address_field: false,
        },
    }
}

fn normalize_address_term(term: &str) -> String {
    let t = term.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(t);
    t.trim().to_lowercase()
}

/// Evaluates one condition; false when it cannot be evaluated.
fn condition_holds(c: &Condition, ctx: &Ctx<'_>) -> bool {
    let (Some(field), Some(op)) = (parse_field(&c.field), parse_op(&c.op)) else {
        return false;
    };
    let facts = ctx.facts;
    match field {
        Field::Size => {
            let Ok(n) = parse_size(&c.term) else {
                return false;
            };
            return match op {
                Op::GreaterThan => facts.size > n,
                Op::LessThan => facts.size < n,
                Op::Is => facts.size == n,
                _ => false,
            };
        }
        Field::HasAttachment => {
            let Some(b) = parse_bool(&c.term) else {
                return false;
            };
            return match op {
                Op::Is => facts.has_attachment == b,
                Op::IsNot => facts.has_attachment != b,
                _ => false,
            };
        }
        _ => {}
    }
    if c.term.chars().count() > MAX_TERM_LEN {
        return false;
    }
    let vals = values(field, facts);
    let lower = |v: &Cow<'_, str>| -> String {
        if field == Field::Body {
            ctx.body_lower
                .get_or_init(|| facts.body.to_lowercase())
                .clone()
        } else {
            v.to_lowercase()
        }
    };
    match op {
        Op::Is | Op::IsNot => {
            let hit = if vals.address_field && !vals.addrs.is_empty() {
                let t = normalize_address_term(&c.term);
                vals.addrs.iter().any(|a| a.as_ref() == t)
            } else {
                let t = c.term.trim().to_lowercase();
                vals.texts.iter().any(|v| lower(v).trim() == t)
            };
            hit == (op == Op::Is)
        }
        Op::Contains | Op::NotContains | Op::BeginsWith | Op::EndsWith => {
            let t = c.term.to_lowercase();
            if t.is_empty() {
                return false;
            }
            let test = |v: &Cow<'_, str>| {
                if field == Field::Body {
                    let b = ctx.body_lower.get_or_init(|| facts.body.to_lowercase());
                    return match op {
                        Op::BeginsWith => b.trim_start().starts_with(&t),
                        Op::EndsWith => b.trim_end().ends_with(&t),
                        _ => b.contains(&t),
                    };
                }
                let v = lower(v);
                match op {
                    Op::BeginsWith => v.starts_with(&t),
                    Op::EndsWith => v.ends_with(&t),
                    _ => v.contains(&t),
                }
            };
            let hit = vals.addrs.iter().chain(&vals.texts).any(test);
            if op == Op::NotContains { !hit } else { hit }
        }
        Op::Matches => {
            if c.term.is_empty() {
                return false;
            }
            let Ok(re) = build_regex(&c.term) else {
                return false;
            };
            vals.addrs.iter().chain(&vals.texts).any(|v| re.is_match(v))
        }
        Op::GreaterThan | Op::LessThan => false,
    }
}

fn rule_matches(rule: &Rule, ctx: &Ctx<'_>) -> bool {
    if rule.conditions.is_empty() {
        return false;
    }
    match rule.match_mode {
        MatchMode::All => rule.conditions.iter().all(|c| condition_holds(c, ctx)),
        MatchMode::Any => rule.conditions.iter().any(|c| condition_holds(c, ctx)),
    }
}

/// True when `rule`'s conditions hold for `facts` (whether or not it is enabled).
pub fn rule_matches_facts(rule: &Rule, facts: &MessageFacts) -> bool {
    rule_matches(
        rule,
        &Ctx {
            facts,
            body_lower: OnceCell::new(),
        },
    )
}

/// Runs the enabled `rules`, in the order given, on a message and returns
/// what to do with it. See the module documentation for the semantics.
pub fn evaluate(rules: &[Rule], facts: &MessageFacts) -> Plan {
    let ctx = Ctx {
        facts,
        body_lower: OnceCell::new(),
    };
    let mut plan = Plan::default();
    let mut implicit_keep = true;
    let mut deleted = false;
    for rule in rules.iter().filter(|r| r.enabled) {
        if !rule_matches(rule, &ctx) {
            continue;
        }
        plan.matched.push(rule.name.clone());
        let mut stop = false;
        for action in &rule.actions {
            match action {
                Action::Folder { folder } => {
                    let f = folder.trim();
                    if f.is_empty() || f.chars().any(char::is_control) {
                        // Unusable (validate rejects it): keep the message rather than lose it.
                        continue;
                    }
                    implicit_keep = false;
                    let f = if f.eq_ignore_ascii_case("inbox") {
                        "INBOX"
                    } else {
                        f
                    };
                    if !plan.folders.iter().any(|x| x == f) {
                        plan.folders.push(f.to_string());
                    }
                }
                Action::Forward { to, keep_copy } => {
                    // An unusable address (validate rejects it) forwards nothing
                    // and cancels nothing.
                    if let Ok(a) = EmailAddress::parse(to) {
                        if !keep_copy {
                            implicit_keep = false;
                        }
                        let a = a.to_string();
                        if !plan.forwards.contains(&a) {
                            plan.forwards.push(a);
                        }
                    }
                }
                Action::Delete => deleted = true,
                Action::MarkRead => plan.mark_read = true,
                Action::Flag => plan.flag = true,
                Action::AutoReply { .. } => {
                    if plan.auto_reply.is_none() {
                        plan.auto_reply = AutoReplySpec::from_action(action);
                    }
                }
                Action::Stop => stop = true,
            }
        }
        if stop {
            break;
        }
    }
    if deleted {
        plan.folders.clear();
        plan.keep = false;
    } else {
        plan.keep = implicit_keep || !plan.folders.is_empty();
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500"), Ok(500));
        assert_eq!(parse_size("10k"), Ok(10_240));
        assert_eq!(parse_size("10 KB"), Ok(10_240));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("1.5m"), Ok(1_572_864));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("k").is_err());
        assert!(parse_size("-5").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("1.2.3").is_err());
    }

    #[test]
    fn names_are_lenient() {
        assert_eq!(parse_field("To_or_Cc"), Some(Field::ToOrCc));
        assert_eq!(parse_field("HAS-ATTACHMENT"), Some(Field::HasAttachment));
        assert_eq!(parse_field("X-Priority"), Some(Field::Header("X-Priority")));
        assert_eq!(parse_field("To or Cc"), Some(Field::ToOrCc));
        assert_eq!(parse_field("bad name"), None);
        assert_eq!(parse_field("a:b"), None);
        assert_eq!(parse_op("Not Contains"), Some(Op::NotContains));
        assert_eq!(parse_op("begins_with"), Some(Op::BeginsWith));
        assert_eq!(parse_op("equals"), None);
    }

    #[test]
    fn hostile_regex_is_bounded() {
        let re = build_regex("(a+)+$").unwrap();
        let hay = "a".repeat(100_000) + "!";
        assert!(!re.is_match(&hay));
        assert!(build_regex("(((((((((((a{1000}){1000}){1000})))))))))").is_err());
        assert!(build_regex(&"a".repeat(1001)).is_err());
        let e = build_regex("(unclosed").unwrap_err();
        assert!(e.contains("not a valid regular expression"), "{e}");
    }
}
