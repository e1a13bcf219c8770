//! The operator console (operators only; anyone else gets 404): plans and their daily send
//! limits, the system block/allow list (e.g. `*.xyz`), per-domain switches (S/MIME allowed)
//! and a way into any domain's Admin Panel.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use hermod_model::{Domain, FilterScope, Plan};
use hermod_store::DomainUpdate;
use serde::Deserialize;

use super::{FlashQuery, Page, flash_message, render_status, see_other};
use crate::WebState;
use crate::api::filters::{ListQuery, add_entry, entries};
use crate::auth::{PageUser, Principal};
use crate::error::ApiError;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/operator", get(console))
        .route("/operator/plans", post(plan_save))
        .route("/operator/filters", post(filter_add))
        .route("/operator/filters/{id}/remove", post(filter_remove))
        .route("/operator/domains/{domain}/smime", post(smime_save))
}

/// 404 for anyone but the operator, as for a page that does not exist.
fn refuse_non_operator(p: &Principal) -> Option<Response> {
    (!p.operator).then(|| super::error_page(ApiError::not_found("page", "/operator")))
}

pub struct SystemRow {
    pub id: i64,
    pub list: &'static str,
    pub pattern: String,
}

#[derive(Template)]
#[template(path = "operator.html")]
struct ConsoleTpl {
    page: Page,
    plans: Vec<Plan>,
    system: Vec<SystemRow>,
    domains: Vec<Domain>,
}

async fn console_page(
    p: &Principal,
    state: &WebState,
    flash: Option<&'static str>,
    error: Option<String>,
) -> Response {
    if let Some(r) = refuse_non_operator(p) {
        return r;
    }
    let loaded = async {
        let plans = state.store.list_plans().await?;
        let system = entries(state, FilterScope::System, &ListQuery::default()).await?;
        let domains = state.store.list_domains().await?;
        Ok::<_, ApiError>((plans, system, domains))
    }
    .await;
    let (plans, system, domains) = match loaded {
        Ok(x) => x,
        Err(e) => return super::error_page(e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &ConsoleTpl {
            page: Page::new(p, "Operator console").flash(flash).error(error),
            plans,
            system: system
                .into_iter()
                .map(|e| SystemRow {
                    id: e.id,
                    list: if e.kind.as_str() == "block" {
                        "Block"
                    } else {
                        "Allow"
                    },
                    pattern: e.pattern.to_string(),
                })
                .collect(),
            domains,
        },
    )
}

async fn console(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<FlashQuery>,
) -> Response {
    console_page(&p, &state, flash_message(q.flash.as_deref()), None).await
}

/// Answers a change: back to the console with `flash`, or the console with the error.
async fn done(
    p: &Principal,
    state: &WebState,
    result: Result<(), ApiError>,
    flash: &str,
) -> Response {
    if let Some(r) = refuse_non_operator(p) {
        return r;
    }
    match result {
        Ok(()) => see_other(&format!("/operator?flash={flash}")),
        Err(e) if e.status == StatusCode::NOT_FOUND => super::error_page(e),
        Err(e) => console_page(p, state, None, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
struct PlanForm {
    name: String,
    daily_limit: String,
}

/// Creates a plan or changes its daily limit.
async fn plan_save(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Form(f): Form<PlanForm>,
) -> Response {
    let result = async {
        p.require_operator()?;
        let limit = f.daily_limit.trim().parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!(
                "daily limit: {:?} is not a whole number of messages per day",
                f.daily_limit
            ))
        })?;
        state.store.set_plan(f.name.trim(), limit).await?;
        Ok(())
    }
    .await;
    done(&p, &state, result, "plan-saved").await
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
    let result = async {
        p.require_operator()?;
        add_entry(&state, &FilterScope::System, &f.kind, &f.pattern).await?;
        Ok(())
    }
    .await;
    done(&p, &state, result, "filter-added").await
}

async fn filter_remove(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(id): Path<i64>,
) -> Response {
    let result = async {
        p.require_operator()?;
        state
            .store
            .remove_filter(id, Some(&FilterScope::System))
            .await?;
        Ok(())
    }
    .await;
    done(&p, &state, result, "removed").await
}

#[derive(Deserialize)]
struct SmimeForm {
    smime_allowed: Option<String>,
}

async fn smime_save(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<SmimeForm>,
) -> Response {
    let result = async {
        p.require_operator()?;
        let domain = p.domain(&state, &name).await?;
        let update = DomainUpdate {
            smime_allowed: Some(f.smime_allowed.is_some()),
            ..Default::default()
        };
        state.store.update_domain(&domain.name, &update).await?;
        Ok(())
    }
    .await;
    done(&p, &state, result, "smime-saved").await
}
