//! The Admin Panel: Domains (Local Delivery, accept policy, default plan) and Users (search,
//! create, edit, password, Permissions → Send email as).

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use hermod_model::{Account, Domain, Plan};
use hermod_store::{DomainUpdate, NewAccount};
use serde::Deserialize;

use super::rules::urlencode;
use super::{Page, flash_message, render_status, see_other};
use crate::WebState;
use crate::api::domains::parse_filter_mode;
use crate::api::parse_address;
use crate::api::users::{
    PasswordBody, UserPatch, UserQuery, apply_patch, change_password, visible_users,
};
use crate::auth::{PageUser, Principal};
use crate::error::ApiError;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/admin/domains", get(domains))
        .route(
            "/admin/domains/{domain}",
            get(domain_edit).post(domain_save),
        )
        .route("/admin/users", get(users).post(user_create))
        .route("/admin/users/{address}", get(user_edit).post(user_save))
        .route("/admin/users/{address}/password", post(user_password))
        .route("/admin/users/{address}/send-as", post(send_as_add))
        .route(
            "/admin/users/{address}/send-as/remove",
            post(send_as_remove),
        )
}

/// The refusal for a user without an Admin Panel (404, as for a page that does not exist).
fn refuse_non_admin(p: &Principal) -> Option<Response> {
    (!p.is_admin()).then(|| super::error_page(ApiError::not_found("page", "/admin")))
}

#[derive(Template)]
#[template(path = "admin_domains.html")]
struct DomainsTpl {
    page: Page,
    domains: Vec<Domain>,
}

#[derive(Deserialize, Default)]
struct AdminQuery {
    flash: Option<String>,
    search: Option<String>,
    domain: Option<String>,
}

async fn domains(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<AdminQuery>,
) -> Response {
    if let Some(r) = refuse_non_admin(&p) {
        return r;
    }
    match state.store.list_domains().await {
        Ok(all) => render_status(
            StatusCode::OK,
            &DomainsTpl {
                page: Page::new(&p, "Domains").flash(flash_message(q.flash.as_deref())),
                domains: all.into_iter().filter(|d| p.can_admin(&d.name)).collect(),
            },
        ),
        Err(e) => super::error_page(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_domain_edit.html")]
struct DomainEditTpl {
    page: Page,
    domain: Domain,
    plans: Vec<Plan>,
}

async fn domain_form(
    p: &Principal,
    state: &WebState,
    name: &str,
    error: Option<String>,
) -> Response {
    let domain = match p.domain(state, name).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let plans = state.store.list_plans().await.unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &DomainEditTpl {
            page: Page::new(p, &format!("Edit domain {}", domain.name)).error(error),
            domain,
            plans,
        },
    )
}

async fn domain_edit(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
) -> Response {
    domain_form(&p, &state, &name, None).await
}

#[derive(Deserialize)]
struct DomainForm {
    local_delivery: String,
    filter_mode: String,
    default_plan: String,
}

async fn domain_save(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<DomainForm>,
) -> Response {
    let domain = match p.domain(&state, &name).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let result = async {
        let update = DomainUpdate {
            local_delivery: Some(f.local_delivery == "yes"),
            default_plan: Some(f.default_plan),
            filter_mode: Some(parse_filter_mode(&f.filter_mode)?),
            smime_allowed: None,
        };
        state
            .store
            .update_domain(&domain.name, &update)
            .await
            .map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(_) => see_other("/admin/domains?flash=domain-saved"),
        Err(e) => domain_form(&p, &state, &name, Some(e.message)).await,
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersTpl {
    page: Page,
    users: Vec<Account>,
    domains: Vec<String>,
    plans: Vec<Plan>,
    search: String,
    domain: String,
}

async fn users_page(
    p: &Principal,
    state: &WebState,
    q: AdminQuery,
    error: Option<String>,
) -> Response {
    if let Some(r) = refuse_non_admin(p) {
        return r;
    }
    let query = UserQuery {
        domain: q.domain.clone(),
        search: q.search.clone(),
    };
    let users = match visible_users(p, state, &query).await {
        Ok(u) => u,
        Err(e) => return super::error_page(e),
    };
    let domains = match state.store.list_domains().await {
        Ok(all) => all
            .into_iter()
            .filter(|d| p.can_admin(&d.name))
            .map(|d| d.name.to_string())
            .collect(),
        Err(e) => return super::error_page(e.into()),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &UsersTpl {
            page: Page::new(p, "Users")
                .flash(flash_message(q.flash.as_deref()))
                .error(error),
            users,
            domains,
            plans: state.store.list_plans().await.unwrap_or_default(),
            search: q.search.unwrap_or_default(),
            domain: q.domain.unwrap_or_default(),
        },
    )
}

async fn users(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<AdminQuery>,
) -> Response {
    users_page(&p, &state, q, None).await
}

#[derive(Deserialize)]
struct NewUserForm {
    address: String,
    display_name: String,
    password: String,
    plan: String,
}

async fn user_create(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Form(f): Form<NewUserForm>,
) -> Response {
    let result = async {
        let address = parse_address("address", &f.address)?;
        p.domain(&state, address.domain().as_str()).await?;
        state
            .store
            .add_account(NewAccount {
                address,
                display_name: f.display_name,
                password: f.password,
                plan: Some(f.plan).filter(|p| !p.is_empty()),
                quota_bytes: state.settings.limits_default_quota,
            })
            .await
            .map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(_) => see_other("/admin/users?flash=user-added"),
        Err(e) => users_page(&p, &state, AdminQuery::default(), Some(e.message)).await,
    }
}

#[derive(Template)]
#[template(path = "admin_user_edit.html")]
struct UserEditTpl {
    page: Page,
    user: Account,
    plans: Vec<Plan>,
    send_as: Vec<String>,
    quota_mb: u64,
    limit_override: String,
}

async fn user_form(
    p: &Principal,
    state: &WebState,
    address: &str,
    flash: Option<&'static str>,
    error: Option<String>,
) -> Response {
    if let Some(r) = refuse_non_admin(p) {
        return r;
    }
    let user = match p.managed_user(state, address).await {
        Ok(u) => u,
        Err(e) => return super::error_page(e),
    };
    let send_as = state
        .store
        .list_send_as(&user.address)
        .await
        .unwrap_or_default()
        .iter()
        .map(|a| a.to_string())
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &UserEditTpl {
            page: Page::new(p, &format!("Edit user {}", user.address))
                .flash(flash)
                .error(error),
            quota_mb: user.quota_bytes / (1024 * 1024),
            limit_override: user
                .send_limit_override
                .map(|n| n.to_string())
                .unwrap_or_default(),
            user,
            plans: state.store.list_plans().await.unwrap_or_default(),
            send_as,
        },
    )
}

async fn user_edit(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(address): Path<String>,
    Query(q): Query<AdminQuery>,
) -> Response {
    user_form(
        &p,
        &state,
        &address,
        flash_message(q.flash.as_deref()),
        None,
    )
    .await
}

#[derive(Deserialize)]
struct UserForm {
    display_name: String,
    plan: String,
    quota_mb: u64,
    enabled: Option<String>,
    /// Operator only; empty removes the override.
    limit_override: Option<String>,
}

async fn user_save(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(address): Path<String>,
    Form(f): Form<UserForm>,
) -> Response {
    let result = async {
        let user = p.managed_user(&state, &address).await?;
        let send_limit_override = match (p.operator, f.limit_override.as_deref().map(str::trim)) {
            (true, Some("")) => Some(None),
            (true, Some(n)) => Some(Some(n.parse::<u32>().map_err(|_| {
                ApiError::bad_request(
                    "the send limit override must be a whole number, or empty for the plan's limit",
                )
            })?)),
            _ => None,
        };
        let patch = UserPatch {
            display_name: Some(f.display_name),
            plan: Some(f.plan),
            send_limit_override,
            quota_bytes: Some(f.quota_mb.saturating_mul(1024 * 1024)),
            enabled: Some(f.enabled.is_some()),
            filter_mode: None,
        };
        apply_patch(&p, &state, &user, patch).await
    }
    .await;
    match result {
        Ok(u) => see_other(&format!(
            "/admin/users/{}?flash=user-saved",
            urlencode(&u.address.to_string())
        )),
        Err(e) => user_form(&p, &state, &address, None, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
struct AdminPasswordForm {
    password: String,
}

async fn user_password(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(address): Path<String>,
    Form(f): Form<AdminPasswordForm>,
) -> Response {
    let result = async {
        let user = p.managed_user(&state, &address).await?;
        let body = PasswordBody {
            password: f.password,
            current_password: None,
        };
        change_password(&p, &state, &user, body).await
    }
    .await;
    match result {
        Ok(()) => see_other(&format!(
            "/admin/users/{}?flash=password",
            urlencode(&address)
        )),
        Err(e) => user_form(&p, &state, &address, None, Some(e.message)).await,
    }
}

#[derive(Deserialize)]
struct SendAsForm {
    sender: String,
}

async fn send_as_change(
    p: &Principal,
    state: &WebState,
    address: &str,
    sender: &str,
    grant: bool,
) -> Response {
    let result = async {
        let user = p.managed_user(state, address).await?;
        let sender = parse_address("sender", sender)?;
        if grant {
            if !p.can_admin(sender.domain()) {
                return Err(ApiError::forbidden(format!(
                    "you do not administer {}; a user can be allowed to send only as addresses of your domains",
                    sender.domain()
                )));
            }
            state.store.grant_send_as(&user.address, &sender).await?;
        } else {
            state.store.revoke_send_as(&user.address, &sender).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other(&format!(
            "/admin/users/{}?flash=user-saved",
            urlencode(address)
        )),
        Err(e) => user_form(p, state, address, None, Some(e.message)).await,
    }
}

async fn send_as_add(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(address): Path<String>,
    Form(f): Form<SendAsForm>,
) -> Response {
    send_as_change(&p, &state, &address, &f.sender, true).await
}

async fn send_as_remove(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(address): Path<String>,
    Form(f): Form<SendAsForm>,
) -> Response {
    send_as_change(&p, &state, &address, &f.sender, false).await
}
