//! Delivery Rules, following the FAQ's guide: New Rule → name → Add Rule → pencil icon →
//! New 'AND' Condition (Match Field, Condition, Term) → Add Condition → Deliver to E-mail /
//! Delete → the red DISABLED label toggles to the green ENABLED → Save Rule.
//!
//! Conditions and actions are stored as they are added; the rule's state changes only with
//! Save Rule, and a rule that runs is checked whole before each change.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use hermod_model::rules::{Action, Condition, Rule};
use hermod_store::{NewRule, RuleOwner};
use serde::Deserialize;

use super::{FlashQuery, Page, flash_message, is_htmx, render, render_status, see_other};
use crate::WebState;
use crate::api::rules::{check_draft, save};
use crate::auth::{PageUser, Principal};
use crate::error::ApiError;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/panel/rules", get(list).post(create))
        .route("/panel/rules/{name}", get(editor).post(save_rule))
        .route("/panel/rules/{name}/delete", post(remove))
        .route("/panel/rules/{name}/move", post(move_rule))
        .route("/panel/rules/{name}/conditions", post(add_condition))
        .route(
            "/panel/rules/{name}/conditions/{index}/remove",
            post(remove_condition),
        )
        .route("/panel/rules/{name}/actions", post(add_action))
        .route(
            "/panel/rules/{name}/actions/{index}/remove",
            post(remove_action),
        )
}

/// The Match Field choices: (value, label).
pub const FIELDS: &[(&str, &str)] = &[
    ("to", "To"),
    ("from", "From"),
    ("cc", "Cc"),
    ("to-or-cc", "To or Cc"),
    ("subject", "Subject"),
    ("body", "Body"),
    ("list-id", "List-Id"),
    ("size", "Size"),
    ("has-attachment", "Has attachment"),
];

/// The Condition choices: (value, label).
pub const OPS: &[(&str, &str)] = &[
    ("contains", "contains"),
    ("not-contains", "does not contain"),
    ("is", "is"),
    ("is-not", "is not"),
    ("begins-with", "begins with"),
    ("ends-with", "ends with"),
    ("matches", "matches (regular expression)"),
    ("greater-than", "greater than"),
    ("less-than", "less than"),
];

fn label(table: &[(&str, &'static str)], value: &str) -> String {
    table
        .iter()
        .find(|(v, _)| v.eq_ignore_ascii_case(value))
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| value.to_string())
}

/// An action in words.
pub fn describe(a: &Action) -> String {
    match a {
        Action::Folder { folder } => format!("Move to folder {folder}"),
        Action::Forward { to, keep_copy } => {
            if *keep_copy {
                format!("Deliver to e-mail {to} (keep a copy)")
            } else {
                format!("Deliver to e-mail {to}")
            }
        }
        Action::Delete => "Delete".into(),
        Action::MarkRead => "Mark as read".into(),
        Action::Flag => "Flag".into(),
        Action::AutoReply {
            subject,
            start,
            end,
            interval_days,
            ..
        } => {
            let mut d = format!(
                "Auto-reply \u{201c}{subject}\u{201d} (at most once per sender every {interval_days} day(s)"
            );
            if let Some(s) = start {
                d.push_str(&format!(", from {}", super::format_date(*s)));
            }
            if let Some(e) = end {
                // `end` is exclusive: the last active day is the day before.
                d.push_str(&format!(", until {}", super::format_date(*e - 1)));
            }
            d.push(')');
            d
        }
        Action::Stop => "Stop processing more rules".into(),
    }
}

pub struct RuleRow {
    pub name: String,
    pub enabled: bool,
    pub position: usize,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesTpl {
    page: Page,
    rules: Vec<RuleRow>,
    count: usize,
}

fn owner_of(p: &Principal) -> RuleOwner {
    RuleOwner::User(p.address().clone())
}

async fn list_page(p: &Principal, state: &WebState, page: Page, status: StatusCode) -> Response {
    let rules = match state.store.list_rules(&owner_of(p)).await {
        Ok(r) => r,
        Err(e) => return super::error_page(e.into()),
    };
    let rows: Vec<RuleRow> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleRow {
            name: r.name.clone(),
            enabled: r.enabled,
            position: i + 1,
            summary: if r.conditions.is_empty() && r.actions.is_empty() {
                "No conditions or actions yet".into()
            } else {
                format!(
                    "{} condition(s), actions: {}",
                    r.conditions.len(),
                    r.actions
                        .iter()
                        .map(describe)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        })
        .collect();
    render_status(
        status,
        &RulesTpl {
            page,
            count: rows.len(),
            rules: rows,
        },
    )
}

async fn list(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<FlashQuery>,
) -> Response {
    let page = Page::new(&p, "Delivery Rules").flash(flash_message(q.flash.as_deref()));
    list_page(&p, &state, page, StatusCode::OK).await
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn create(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Form(f): Form<NameForm>,
) -> Response {
    let new = NewRule {
        name: f.name.trim().to_string(),
        match_mode: hermod_model::rules::MatchMode::All,
        conditions: Vec::new(),
        actions: Vec::new(),
    };
    let result = match check_draft(&new) {
        Ok(()) => state
            .store
            .add_rule(&owner_of(&p), new)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other("/panel/rules?flash=added"),
        Err(e) => {
            let page = Page::new(&p, "Delivery Rules").error(Some(e.message));
            list_page(&p, &state, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

pub struct CondRow {
    pub field: String,
    pub op: String,
    pub term: String,
}

/// The conditions and actions part of the editor (swapped in place by htmx).
#[derive(Template)]
#[template(path = "rule_parts.html")]
struct PartsTpl {
    name: String,
    csrf: String,
    conditions: Vec<CondRow>,
    actions: Vec<String>,
    part_error: Option<String>,
    fields: &'static [(&'static str, &'static str)],
    ops: &'static [(&'static str, &'static str)],
}

#[derive(Template)]
#[template(path = "rule_edit.html")]
struct EditorTpl {
    page: Page,
    name: String,
    csrf: String,
    enabled: bool,
    conditions: Vec<CondRow>,
    actions: Vec<String>,
    part_error: Option<String>,
    fields: &'static [(&'static str, &'static str)],
    ops: &'static [(&'static str, &'static str)],
}

fn cond_rows(rule: &Rule) -> Vec<CondRow> {
    rule.conditions
        .iter()
        .map(|c| CondRow {
            field: label(FIELDS, &c.field),
            op: label(OPS, &c.op),
            term: c.term.clone(),
        })
        .collect()
}

fn editor_page(p: &Principal, rule: &Rule, error: Option<String>, status: StatusCode) -> Response {
    render_status(
        status,
        &EditorTpl {
            page: Page::new(p, &format!("Edit rule {}", rule.name)).error(error),
            name: rule.name.clone(),
            csrf: p.session.csrf.clone(),
            enabled: rule.enabled,
            conditions: cond_rows(rule),
            actions: rule.actions.iter().map(describe).collect(),
            part_error: None,
            fields: FIELDS,
            ops: OPS,
        },
    )
}

fn parts(p: &Principal, rule: &Rule, part_error: Option<String>) -> Response {
    // htmx swaps only 2xx answers, so a refused condition comes back as 200 with its error.
    render(&PartsTpl {
        name: rule.name.clone(),
        csrf: p.session.csrf.clone(),
        conditions: cond_rows(rule),
        actions: rule.actions.iter().map(describe).collect(),
        part_error,
        fields: FIELDS,
        ops: OPS,
    })
}

async fn editor(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
) -> Response {
    match state.store.get_rule(&owner_of(&p), &name).await {
        Ok(rule) => editor_page(&p, &rule, None, StatusCode::OK),
        Err(e) => super::error_page(e.into()),
    }
}

/// Changes a rule's conditions or actions with `change` and answers with the editor (or,
/// for htmx, its conditions-and-actions part).
async fn edit_parts(
    p: &Principal,
    state: &WebState,
    headers: &HeaderMap,
    name: &str,
    change: impl FnOnce(&mut NewRule) -> Result<(), String>,
) -> Response {
    let owner = owner_of(p);
    let rule = match state.store.get_rule(&owner, name).await {
        Ok(r) => r,
        Err(e) => return super::error_page(e.into()),
    };
    let mut new = NewRule {
        name: rule.name.clone(),
        match_mode: rule.match_mode.clone(),
        conditions: rule.conditions.clone(),
        actions: rule.actions.clone(),
    };
    let result = match change(&mut new) {
        Ok(()) => save(state, &owner, name, new, None).await,
        Err(e) => Err(ApiError::bad_request(e)),
    };
    match (result, is_htmx(headers)) {
        (Ok(saved), true) => parts(p, &saved, None),
        (Ok(_), false) => see_other(&format!("/panel/rules/{}", urlencode(name))),
        (Err(e), true) => parts(p, &rule, Some(e.message)),
        (Err(e), false) => editor_page(p, &rule, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

/// Percent-encodes a path segment.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize)]
struct ConditionForm {
    field: String,
    op: String,
    #[serde(default)]
    term: String,
}

async fn add_condition(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<ConditionForm>,
) -> Response {
    edit_parts(&p, &state, &headers, &name, |rule| {
        rule.conditions.push(Condition {
            field: f.field,
            op: f.op,
            term: f.term.trim().to_string(),
        });
        Ok(())
    })
    .await
}

async fn remove_condition(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((name, index)): Path<(String, usize)>,
) -> Response {
    edit_parts(&p, &state, &headers, &name, |rule| {
        if index < rule.conditions.len() {
            rule.conditions.remove(index);
            Ok(())
        } else {
            Err("that condition is no longer there; reload the page".into())
        }
    })
    .await
}

#[derive(Deserialize)]
struct ActionForm {
    action: String,
    to: Option<String>,
    keep_copy: Option<String>,
    folder: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    /// `YYYY-MM-DD`: active from the start of this day (UTC).
    start: Option<String>,
    /// `YYYY-MM-DD`: active through the end of this day (UTC).
    end: Option<String>,
    interval_days: Option<String>,
}

fn action_of(f: ActionForm) -> Result<Action, String> {
    Ok(match f.action.as_str() {
        "forward" => Action::Forward {
            to: f.to.unwrap_or_default().trim().to_string(),
            keep_copy: f.keep_copy.is_some(),
        },
        "delete" => Action::Delete,
        "folder" => Action::Folder {
            folder: f.folder.unwrap_or_default().trim().to_string(),
        },
        "mark_read" => Action::MarkRead,
        "flag" => Action::Flag,
        "stop" => Action::Stop,
        "auto_reply" => {
            let date = |field: &str, v: Option<String>| {
                super::parse_date(field, v.as_deref().unwrap_or("")).map_err(|e| e.message)
            };
            let interval = f.interval_days.unwrap_or_default();
            let interval_days = interval.trim().parse::<u32>().map_err(|_| {
                format!("reply interval: {interval:?} is not a number of days; enter 1 to 365")
            })?;
            Action::AutoReply {
                subject: f.subject.unwrap_or_default().trim().to_string(),
                // Browsers send CRLF line ends; the body is stored with LF.
                body: f.body.unwrap_or_default().replace("\r\n", "\n"),
                start: date("active from", f.start)?,
                end: date("active until", f.end)?.map(|e| e + 86_400),
                interval_days,
            }
        }
        other => return Err(format!("{other:?} is not an action this page offers")),
    })
}

async fn add_action(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    edit_parts(&p, &state, &headers, &name, |rule| {
        rule.actions.push(action_of(f)?);
        Ok(())
    })
    .await
}

async fn remove_action(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    headers: HeaderMap,
    Path((name, index)): Path<(String, usize)>,
) -> Response {
    edit_parts(&p, &state, &headers, &name, |rule| {
        if index < rule.actions.len() {
            rule.actions.remove(index);
            Ok(())
        } else {
            Err("that action is no longer there; reload the page".into())
        }
    })
    .await
}

#[derive(Deserialize)]
struct SaveForm {
    enabled: Option<String>,
}

/// Save Rule: the state from the DISABLED/ENABLED toggle; enabling checks the whole rule.
async fn save_rule(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<SaveForm>,
) -> Response {
    let owner = owner_of(&p);
    let rule = match state.store.get_rule(&owner, &name).await {
        Ok(r) => r,
        Err(e) => return super::error_page(e.into()),
    };
    let new = NewRule {
        name: rule.name.clone(),
        match_mode: rule.match_mode.clone(),
        conditions: rule.conditions.clone(),
        actions: rule.actions.clone(),
    };
    match save(&state, &owner, &name, new, Some(f.enabled.is_some())).await {
        Ok(_) => see_other("/panel/rules?flash=saved"),
        Err(e) => editor_page(&p, &rule, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

async fn remove(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
) -> Response {
    match state.store.remove_rule(&owner_of(&p), &name).await {
        Ok(()) => see_other("/panel/rules?flash=removed"),
        Err(e) => super::error_page(e.into()),
    }
}

#[derive(Deserialize)]
struct MoveForm {
    position: usize,
}

async fn move_rule(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    match state
        .store
        .move_rule(&owner_of(&p), &name, f.position.max(1))
        .await
    {
        Ok(()) => see_other("/panel/rules"),
        Err(e) => super::error_page(e.into()),
    }
}
