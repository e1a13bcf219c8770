//! Block and allow lists ("Filtering") at the system, domain and user scopes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hermod_model::{FilterEntry, FilterKind, FilterPattern, FilterScope};
use hermod_store::FilterQuery;
use serde::Deserialize;

use super::{ApiJson, ApiQuery};
use crate::WebState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// "block" or "allow".
    pub kind: Option<String>,
    pub search: Option<String>,
    /// Domain scope only: also the domain's users' lists (the FAQ's "Include Users Blacklist").
    #[serde(default)]
    pub include_users: bool,
}

#[derive(Deserialize)]
pub struct NewEntry {
    /// "block" or "allow".
    pub kind: String,
    /// An address, a domain or `*.suffix`.
    pub pattern: String,
}

pub fn parse_kind(s: &str) -> ApiResult<FilterKind> {
    FilterKind::parse(s).ok_or_else(|| {
        ApiError::bad_request(format!(
            "kind: {s:?} is not known; use \"block\" (blacklist) or \"allow\" (whitelist)"
        ))
    })
}

pub async fn entries(
    state: &WebState,
    scope: FilterScope,
    q: &ListQuery,
) -> ApiResult<Vec<FilterEntry>> {
    let include_users = q.include_users && matches!(scope, FilterScope::Domain(_));
    let query = FilterQuery {
        scope: Some(scope),
        include_users,
        kind: q
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(parse_kind)
            .transpose()?,
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
    };
    Ok(state.store.list_filters(&query).await?)
}

pub async fn add_entry(
    state: &WebState,
    scope: &FilterScope,
    kind: &str,
    pattern: &str,
) -> ApiResult<FilterEntry> {
    let kind = parse_kind(kind)?;
    let pattern = FilterPattern::parse(pattern.trim()).map_err(|e| {
        ApiError::bad_request(format!(
            "pattern: {pattern:?} is not an address, a domain or *.suffix ({e})"
        ))
    })?;
    Ok(state.store.add_filter(scope, kind, &pattern).await?)
}

async fn remove(state: &WebState, id: &str, scope: &FilterScope) -> ApiResult<StatusCode> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("filter entry", id))?;
    state.store.remove_filter(id, Some(scope)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_system(
    p: Principal,
    State(state): State<WebState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<FilterEntry>>> {
    p.require_operator()?;
    Ok(Json(entries(&state, FilterScope::System, &q).await?))
}

pub async fn add_system(
    p: Principal,
    State(state): State<WebState>,
    ApiJson(body): ApiJson<NewEntry>,
) -> ApiResult<(StatusCode, Json<FilterEntry>)> {
    p.require_operator()?;
    let e = add_entry(&state, &FilterScope::System, &body.kind, &body.pattern).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

pub async fn remove_system(
    p: Principal,
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    p.require_operator()?;
    remove(&state, &id, &FilterScope::System).await
}

pub async fn list_domain(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<FilterEntry>>> {
    let d = p.domain(&state, &domain).await?;
    Ok(Json(
        entries(&state, FilterScope::Domain(d.name), &q).await?,
    ))
}

pub async fn add_domain(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
    ApiJson(body): ApiJson<NewEntry>,
) -> ApiResult<(StatusCode, Json<FilterEntry>)> {
    let d = p.domain(&state, &domain).await?;
    let e = add_entry(
        &state,
        &FilterScope::Domain(d.name),
        &body.kind,
        &body.pattern,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// Removes an entry of the domain or of one of its users (the FAQ's admin workflow).
pub async fn remove_domain(
    p: Principal,
    State(state): State<WebState>,
    Path((domain, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let d = p.domain(&state, &domain).await?;
    remove(&state, &id, &FilterScope::Domain(d.name)).await
}

pub async fn list_user(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<FilterEntry>>> {
    let a = p.user(&state, &address).await?;
    Ok(Json(
        entries(&state, FilterScope::User(a.address), &q).await?,
    ))
}

pub async fn add_user(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
    ApiJson(body): ApiJson<NewEntry>,
) -> ApiResult<(StatusCode, Json<FilterEntry>)> {
    let a = p.user(&state, &address).await?;
    let e = add_entry(
        &state,
        &FilterScope::User(a.address),
        &body.kind,
        &body.pattern,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

pub async fn remove_user(
    p: Principal,
    State(state): State<WebState>,
    Path((address, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let a = p.user(&state, &address).await?;
    remove(&state, &id, &FilterScope::User(a.address)).await
}
