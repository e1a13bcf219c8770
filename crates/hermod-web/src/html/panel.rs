//! The User Panel: dashboard, Filtering, Track Deliveries, Password.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use hermod_model::{FilterEntry, FilterScope};
use serde::Deserialize;

use super::{FlashQuery, Page, flash_message, render, render_status, see_other};
use crate::WebState;
use crate::api::filters::{ListQuery, add_entry, entries};
use crate::api::logs::user_deliveries_of;
use crate::api::users::{PasswordBody, UserPatch, apply_patch, change_password};
use crate::auth::PageUser;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/panel", get(dashboard))
        .route("/panel/filtering", get(filtering).post(filter_add))
        .route("/panel/filtering/{id}/remove", post(filter_remove))
        .route("/panel/filtering/mode", post(mode_save))
        .route("/panel/deliveries", get(deliveries))
        .route("/panel/password", get(password_page).post(password_submit))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardTpl {
    page: Page,
}

async fn dashboard(PageUser(p): PageUser) -> Response {
    render(&DashboardTpl {
        page: Page::new(&p, "User Panel"),
    })
}

#[derive(Template)]
#[template(path = "filtering.html")]
struct FilteringTpl {
    page: Page,
    mode: String,
    entries: Vec<FilterEntry>,
}

async fn filtering_page(
    p: &crate::auth::Principal,
    state: &WebState,
    flash: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let list = entries(
        state,
        FilterScope::User(p.address().clone()),
        &ListQuery::default(),
    )
    .await;
    match list {
        Ok(entries) => render_status(
            if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
            &FilteringTpl {
                page: Page::new(p, "Filtering").flash(flash).error(error),
                mode: p.account.filter_mode.as_str().to_string(),
                entries,
            },
        ),
        Err(e) => super::error_page(e),
    }
}

async fn filtering(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<FlashQuery>,
) -> Response {
    filtering_page(&p, &state, flash_message(q.flash.as_deref()), None).await
}

#[derive(Deserialize)]
struct FilterForm {
    kind: String,
    pattern: String,
}

async fn filter_add(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Form(f): Form<FilterForm>,
) -> Response {
    let scope = FilterScope::User(p.address().clone());
    match add_entry(&state, &scope, &f.kind, &f.pattern).await {
        Ok(_) => see_other("/panel/filtering?flash=filter-added"),
        Err(e) => filtering_page(&p, &state, None, Some(e.message)).await,
    }
}

async fn filter_remove(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(id): Path<i64>,
) -> Response {
    let scope = FilterScope::User(p.address().clone());
    match state.store.remove_filter(id, Some(&scope)).await {
        Ok(_) => see_other("/panel/filtering?flash=removed"),
        Err(e) => super::error_page(e.into()),
    }
}

#[derive(Deserialize)]
struct ModeForm {
    filter_mode: String,
}

/// The user's own "Accept e-mails from": Everyone, or whitelist and address book only.
async fn mode_save(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Form(f): Form<ModeForm>,
) -> Response {
    let patch = UserPatch {
        filter_mode: Some(f.filter_mode),
        ..Default::default()
    };
    match apply_patch(&p, &state, &p.account, patch).await {
        Ok(_) => see_other("/panel/filtering?flash=policy-saved"),
        Err(e) => filtering_page(&p, &state, None, Some(e.message)).await,
    }
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesTpl {
    page: Page,
    sent: u64,
    limit: u32,
    messages: Vec<hermod_model::OutgoingMessage>,
}

async fn deliveries(PageUser(p): PageUser, State(state): State<WebState>) -> Response {
    match user_deliveries_of(&state, &p.account, 500).await {
        Ok(d) => render(&DeliveriesTpl {
            page: Page::new(&p, "Track Deliveries"),
            sent: d.sent_24h,
            limit: d.daily_limit.unwrap_or(0),
            messages: d.messages,
        }),
        Err(e) => super::error_page(e),
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordTpl {
    page: Page,
}

async fn password_page(PageUser(p): PageUser, Query(q): Query<FlashQuery>) -> Response {
    render(&PasswordTpl {
        page: Page::new(&p, "Password").flash(flash_message(q.flash.as_deref())),
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    password: String,
    confirm: String,
}

async fn password_submit(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let error = if f.password != f.confirm {
        Some(
            "the new password and its confirmation differ; type the same password twice"
                .to_string(),
        )
    } else {
        let body = PasswordBody {
            password: f.password,
            current_password: Some(f.current_password),
        };
        change_password(&p, &state, &p.account, body)
            .await
            .err()
            .map(|e| e.message)
    };
    match error {
        None => see_other("/panel/password?flash=password"),
        Some(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordTpl {
                page: Page::new(&p, "Password").error(Some(e)),
            },
        ),
    }
}
