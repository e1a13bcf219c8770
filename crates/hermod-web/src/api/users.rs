//! Users (accounts), their passwords and "Send email as" grants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hermod_model::{Account, DomainName};
use hermod_store::{AccountUpdate, NewAccount};
use serde::{Deserialize, Serialize};

use super::domains::parse_filter_mode;
use super::{ApiJson, ApiQuery, parse_address};
use crate::WebState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// An account as the panels show it: with its daily limit and the last 24 hours' count.
#[derive(Serialize)]
pub struct UserView {
    #[serde(flatten)]
    pub account: Account,
    pub daily_limit: u32,
    pub sent_24h: u64,
}

pub async fn view(state: &WebState, account: Account) -> ApiResult<UserView> {
    let (sent_24h, daily_limit) = state.store.sent_today(&account).await?;
    Ok(UserView {
        account,
        daily_limit,
        sent_24h,
    })
}

#[derive(Deserialize, Default)]
pub struct UserQuery {
    pub domain: Option<String>,
    pub search: Option<String>,
}

/// The accounts this caller may see, optionally of one domain and matching a search.
pub async fn visible_users(
    p: &Principal,
    state: &WebState,
    q: &UserQuery,
) -> ApiResult<Vec<Account>> {
    let search = q.search.as_deref().filter(|s| !s.trim().is_empty());
    if let Some(d) = q.domain.as_deref().filter(|d| !d.is_empty()) {
        let domain = p.domain(state, d).await?;
        return Ok(state
            .store
            .list_accounts(Some(&domain.name), search)
            .await?);
    }
    if p.operator {
        return Ok(state.store.list_accounts(None, search).await?);
    }
    let mut out = Vec::new();
    for d in &p.admin_of {
        out.extend(state.store.list_accounts(Some(d), search).await?);
    }
    if !p.can_admin(p.address().domain()) {
        // A user sees only itself.
        let me = &p.account;
        let needle = search.map(str::to_lowercase).unwrap_or_default();
        if me.address.to_string().contains(&needle)
            || me.display_name.to_lowercase().contains(&needle)
        {
            out.push(me.clone());
        }
    }
    out.sort_by_key(|a| a.address.to_string());
    Ok(out)
}

pub async fn list(
    p: Principal,
    State(state): State<WebState>,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<Vec<Account>>> {
    Ok(Json(visible_users(&p, &state, &q).await?))
}

#[derive(Deserialize)]
pub struct NewUser {
    pub address: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    pub plan: Option<String>,
    pub quota_bytes: Option<u64>,
}

pub async fn create(
    p: Principal,
    State(state): State<WebState>,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let address = parse_address("address", &body.address)?;
    p.domain(&state, address.domain().as_str()).await?;
    let account = state
        .store
        .add_account(NewAccount {
            address,
            display_name: body.display_name,
            password: body.password,
            plan: body.plan,
            quota_bytes: body
                .quota_bytes
                .unwrap_or(state.settings.limits_default_quota),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, account).await?)))
}

pub async fn get_one(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
) -> ApiResult<Json<UserView>> {
    let account = p.user(&state, &address).await?;
    Ok(Json(view(&state, account).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub plan: Option<String>,
    /// `null` removes the override; absent leaves it.
    #[serde(default, with = "double_option")]
    pub send_limit_override: Option<Option<u32>>,
    pub quota_bytes: Option<u64>,
    pub enabled: Option<bool>,
    pub filter_mode: Option<String>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
        Option::<u32>::deserialize(d).map(Some)
    }
}

/// Applies a patch: the name and the accept policy are the user's own; plan, quota and
/// enabled are the domain admin's; the send limit override is the operator's (the FAQ:
/// "contact our Support team").
pub async fn apply_patch(
    p: &Principal,
    state: &WebState,
    account: &Account,
    body: UserPatch,
) -> ApiResult<Account> {
    let admin = p.can_admin(account.address.domain());
    if (body.plan.is_some() || body.quota_bytes.is_some() || body.enabled.is_some()) && !admin {
        return Err(ApiError::forbidden(
            "only an administrator of your domain can change the plan, quota or enabled state",
        ));
    }
    if body.send_limit_override.is_some() {
        p.require_operator()?;
    }
    if body.enabled == Some(false) && &account.address == p.address() {
        return Err(ApiError::bad_request(
            "you cannot disable your own account; ask another administrator",
        ));
    }
    let update = AccountUpdate {
        display_name: body.display_name,
        plan: body.plan,
        send_limit_override: body.send_limit_override,
        quota_bytes: body.quota_bytes,
        enabled: body.enabled,
        filter_mode: body
            .filter_mode
            .as_deref()
            .map(parse_filter_mode)
            .transpose()?,
    };
    let updated = state
        .store
        .update_account(&account.address, &update)
        .await?;
    if !updated.enabled {
        state.sessions.remove_account(&updated.address).await;
        state.tokens.remove_account(&updated.address).await;
    }
    Ok(updated)
}

pub async fn update(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> ApiResult<Json<UserView>> {
    let account = p.user(&state, &address).await?;
    let updated = apply_patch(&p, &state, &account, body).await?;
    Ok(Json(view(&state, updated).await?))
}

#[derive(Deserialize)]
pub struct PasswordBody {
    pub password: String,
    /// Needed when changing one's own password.
    pub current_password: Option<String>,
}

/// Changes a password: one's own after checking the current one; an administered account's
/// directly (its other sessions end).
pub async fn change_password(
    p: &Principal,
    state: &WebState,
    account: &Account,
    body: PasswordBody,
) -> ApiResult<()> {
    let own = &account.address == p.address();
    if own {
        let current = body.current_password.unwrap_or_default();
        if state
            .store
            .verify_login(&account.address, &current)
            .await?
            .is_none()
        {
            return Err(ApiError::forbidden(
                "current_password is wrong; enter the password you logged in with",
            ));
        }
    } else if !p.can_admin(account.address.domain()) {
        return Err(ApiError::not_found("user", &account.address));
    }
    state
        .store
        .set_password(&account.address, &body.password)
        .await?;
    if !own {
        state.sessions.remove_account(&account.address).await;
        state.tokens.remove_account(&account.address).await;
    }
    Ok(())
}

pub async fn set_password(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let account = p.user(&state, &address).await?;
    change_password(&p, &state, &account, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_send_as(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
) -> ApiResult<Json<Vec<String>>> {
    let account = p.user(&state, &address).await?;
    let list = state.store.list_send_as(&account.address).await?;
    Ok(Json(list.iter().map(|a| a.to_string()).collect()))
}

#[derive(Deserialize)]
pub struct SendAsBody {
    pub address: String,
}

pub async fn grant_send_as(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
    ApiJson(body): ApiJson<SendAsBody>,
) -> ApiResult<StatusCode> {
    let account = p.managed_user(&state, &address).await?;
    let sender = parse_address("address", &body.address)?;
    check_sender_domain(&p, &sender.domain().clone())?;
    state.store.grant_send_as(&account.address, &sender).await?;
    Ok(StatusCode::CREATED)
}

/// A domain admin may let its users send only as addresses of domains it administers;
/// the operator as anything.
fn check_sender_domain(p: &Principal, domain: &DomainName) -> ApiResult<()> {
    if p.can_admin(domain) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "you do not administer {domain}; a user can be allowed to send only as addresses of your domains"
        )))
    }
}

pub async fn revoke_send_as(
    p: Principal,
    State(state): State<WebState>,
    Path((address, sender)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let account = p.managed_user(&state, &address).await?;
    let sender = parse_address("sender", &sender)?;
    state
        .store
        .revoke_send_as(&account.address, &sender)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
