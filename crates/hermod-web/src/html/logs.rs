//! Incoming Logs: the Admin Panel's (a domain admin sees its domains' entries, the operator
//! every entry) and the User Panel's (only what was addressed to the user). Both use the
//! API's `incoming_entries`, so the two can never disagree on who sees what.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Page, format_time_ms, parse_date, render_status};
use crate::WebState;
use crate::api::logs::{IncomingParams, incoming_entries};
use crate::auth::{PageUser, Principal};
use crate::error::ApiError;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/admin/logs", get(admin_logs))
        .route("/panel/logs", get(user_logs))
}

/// The filter form, as the browser sends it.
#[derive(Deserialize, Default)]
struct LogForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    sender: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    domain: String,
}

pub struct LogRow {
    pub at: String,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub status: &'static str,
    pub rejected: bool,
    pub reply: String,
}

#[derive(Template)]
#[template(path = "incoming_logs.html")]
struct LogsTpl {
    page: Page,
    action: &'static str,
    domains: Vec<String>,
    form: LogForm,
    rows: Vec<LogRow>,
}

async fn logs_page(
    p: &Principal,
    state: &WebState,
    form: LogForm,
    action: &'static str,
) -> Response {
    let admin_view = action == "/admin/logs";
    let result = async {
        let since = parse_date("from", &form.from)?;
        // "until" is the whole day it names.
        let until = parse_date("until", &form.until)?;
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(ApiError::bad_request(
                "the From date is after the Until date; swap them",
            ));
        }
        let params = IncomingParams {
            domain: Some(form.domain.clone()).filter(|d| admin_view && !d.is_empty()),
            sender: Some(form.sender.clone()),
            recipient: Some(form.recipient.clone()),
            status: Some(form.status.clone()),
            since: since.map(|s| s * 1000),
            until: until.map(|u| (u + 86_400) * 1000 - 1),
            limit: Some(500),
        };
        incoming_entries(p, state, &params).await
    }
    .await;
    let (rows, error) = match result {
        Ok(entries) => (entries, None),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            (Vec::new(), Some(e.message))
        }
        Err(e) => return super::error_page(e),
    };
    let domains = if admin_view {
        match state.store.list_domains().await {
            Ok(all) => all
                .into_iter()
                .filter(|d| p.can_admin(&d.name))
                .map(|d| d.name.to_string())
                .collect(),
            Err(e) => return super::error_page(e.into()),
        }
    } else {
        Vec::new()
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &LogsTpl {
            page: Page::new(p, "Incoming Logs").error(error),
            action,
            domains,
            form,
            rows: rows
                .into_iter()
                .map(|e| LogRow {
                    at: format_time_ms(e.at),
                    sender: if e.sender.is_empty() {
                        "<>".into()
                    } else {
                        e.sender
                    },
                    recipient: e.recipient,
                    subject: e.subject.unwrap_or_default(),
                    status: e.status.as_str(),
                    rejected: e.status == hermod_model::LogStatus::Rejected,
                    reply: e.reply,
                })
                .collect(),
        },
    )
}

async fn admin_logs(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(form): Query<LogForm>,
) -> Response {
    if !p.is_admin() {
        return super::error_page(ApiError::not_found("page", "/admin/logs"));
    }
    logs_page(&p, &state, form, "/admin/logs").await
}

/// The User Panel's view: every caller, admin or not, sees only its own entries here.
async fn user_logs(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(form): Query<LogForm>,
) -> Response {
    let own = Principal {
        operator: false,
        admin_of: Vec::new(),
        ..p
    };
    logs_page(&own, &state, form, "/panel/logs").await
}
