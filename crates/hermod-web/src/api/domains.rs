//! Domains, plans, domain admins and aliases.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hermod_model::{Alias, Domain, DomainName, FilterMode, Plan};
use hermod_store::DomainUpdate;
use serde::Deserialize;

use super::{ApiJson, ApiQuery, parse_address};
use crate::WebState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

pub async fn list_plans(
    _p: Principal,
    State(state): State<WebState>,
) -> ApiResult<Json<Vec<Plan>>> {
    Ok(Json(state.store.list_plans().await?))
}

#[derive(Deserialize)]
pub struct PlanBody {
    pub daily_limit: u32,
}

pub async fn set_plan(
    p: Principal,
    State(state): State<WebState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PlanBody>,
) -> ApiResult<Json<Plan>> {
    p.require_operator()?;
    Ok(Json(state.store.set_plan(&name, body.daily_limit).await?))
}

pub async fn list(p: Principal, State(state): State<WebState>) -> ApiResult<Json<Vec<Domain>>> {
    let all = state.store.list_domains().await?;
    Ok(Json(
        all.into_iter().filter(|d| p.can_admin(&d.name)).collect(),
    ))
}

#[derive(Deserialize)]
pub struct NewDomain {
    pub name: String,
    #[serde(default = "yes")]
    pub local_delivery: bool,
    pub default_plan: Option<String>,
}

fn yes() -> bool {
    true
}

pub async fn add(
    p: Principal,
    State(state): State<WebState>,
    ApiJson(body): ApiJson<NewDomain>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    p.require_operator()?;
    let name = DomainName::parse(&body.name).map_err(|e| {
        ApiError::bad_request(format!("name: {:?} is not a domain name ({e})", body.name))
    })?;
    let plan = body.default_plan.unwrap_or_else(|| "basic".into());
    let domain = state
        .store
        .add_domain(&name, body.local_delivery, &plan)
        .await?;
    Ok((StatusCode::CREATED, Json(domain)))
}

pub async fn get_one(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
) -> ApiResult<Json<Domain>> {
    Ok(Json(p.domain(&state, &domain).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DomainPatch {
    pub local_delivery: Option<bool>,
    pub default_plan: Option<String>,
    pub filter_mode: Option<String>,
    pub smime_allowed: Option<bool>,
}

pub fn parse_filter_mode(s: &str) -> ApiResult<FilterMode> {
    FilterMode::parse(s).ok_or_else(|| {
        ApiError::bad_request(format!(
            "filter_mode: {s:?} is not known; use \"everyone\" (Accept e-mails from Everyone) or \"whitelist_only\" (whitelist and address book only)"
        ))
    })
}

pub async fn update(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
    ApiJson(body): ApiJson<DomainPatch>,
) -> ApiResult<Json<Domain>> {
    let domain = p.domain(&state, &domain).await?;
    if body.smime_allowed.is_some() {
        p.require_operator()?;
    }
    let update = DomainUpdate {
        local_delivery: body.local_delivery,
        default_plan: body.default_plan,
        filter_mode: body
            .filter_mode
            .as_deref()
            .map(parse_filter_mode)
            .transpose()?,
        smime_allowed: body.smime_allowed,
    };
    Ok(Json(
        state.store.update_domain(&domain.name, &update).await?,
    ))
}

pub async fn add_admin(
    p: Principal,
    State(state): State<WebState>,
    Path((domain, address)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let domain = p.domain(&state, &domain).await?;
    let account = p.user(&state, &address).await?;
    if account.address.domain() != &domain.name && !p.operator {
        return Err(ApiError::forbidden(
            "only the operator can make an account of another domain an administrator",
        ));
    }
    state
        .store
        .set_domain_admin(&account.address, &domain.name, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_admin(
    p: Principal,
    State(state): State<WebState>,
    Path((domain, address)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let domain = p.domain(&state, &domain).await?;
    let address = parse_address("address", &address)?;
    state
        .store
        .set_domain_admin(&address, &domain.name, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_aliases(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
) -> ApiResult<Json<Vec<Alias>>> {
    let domain = p.domain(&state, &domain).await?;
    Ok(Json(state.store.list_aliases(Some(&domain.name)).await?))
}

#[derive(Deserialize)]
pub struct NewAlias {
    pub address: String,
    pub target: String,
}

pub async fn add_alias(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
    ApiJson(body): ApiJson<NewAlias>,
) -> ApiResult<StatusCode> {
    let domain = p.domain(&state, &domain).await?;
    let address = parse_address("address", &body.address)?;
    let target = parse_address("target", &body.target)?;
    if address.domain() != &domain.name {
        return Err(ApiError::bad_request(format!(
            "address: {address} is not in {}; an alias must be an address of this domain",
            domain.name
        )));
    }
    state.store.add_alias(&address, &target).await?;
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
pub struct AliasTarget {
    pub target: Option<String>,
}

pub async fn remove_alias(
    p: Principal,
    State(state): State<WebState>,
    Path((domain, address)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<AliasTarget>,
) -> ApiResult<StatusCode> {
    let domain = p.domain(&state, &domain).await?;
    let address = parse_address("address", &address)?;
    if address.domain() != &domain.name {
        return Err(ApiError::not_found("alias", &address));
    }
    let target = q
        .target
        .as_deref()
        .map(|t| parse_address("target", t))
        .transpose()?;
    state.store.remove_alias(&address, target.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
