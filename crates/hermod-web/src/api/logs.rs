//! Incoming Logs and Track Deliveries.

use axum::Json;
use axum::extract::{Path, State};
use hermod_model::{IncomingLogEntry, LogStatus, OutgoingMessage};
use hermod_store::{IncomingQuery, day_window_start};
use serde::{Deserialize, Serialize};

use super::ApiQuery;
use crate::WebState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize, Default)]
pub struct IncomingParams {
    pub domain: Option<String>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    /// Accepted, Rejected or Deferred.
    pub status: Option<String>,
    /// Unix milliseconds.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub limit: Option<u32>,
}

/// Incoming Log entries the caller may see: a domain admin its domains', the operator all,
/// a user only the entries addressed to itself.
pub async fn incoming_entries(
    p: &Principal,
    state: &WebState,
    q: &IncomingParams,
) -> ApiResult<Vec<IncomingLogEntry>> {
    let limit = q.limit.unwrap_or(200).min(1000);
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(LogStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status: {s:?} is not known; use Accepted, Rejected or Deferred"
            ))
        })?),
        None => None,
    };
    let base = IncomingQuery {
        domain: None,
        since: q.since,
        until: q.until,
        sender: q.sender.clone(),
        recipient: q.recipient.clone(),
        status,
        limit: Some(limit),
    };
    let domain = q.domain.as_deref().filter(|d| !d.is_empty());
    let mut out = Vec::new();
    if !p.is_admin() && domain.is_none() {
        // A user: only what was addressed to it, matched exactly (the store's match is a
        // substring, so joann@ would otherwise see ann@'s mail).
        let me = p.address().to_string();
        let query = IncomingQuery {
            domain: Some(p.address().domain().clone()),
            recipient: Some(me.clone()),
            ..base
        };
        out = state
            .store
            .list_incoming(&query)
            .await?
            .into_iter()
            .filter(|e| e.recipient.eq_ignore_ascii_case(&me))
            .collect();
    } else {
        let domains = match domain {
            Some(d) => vec![Some(p.domain(state, d).await?.name)],
            None if p.operator => vec![None],
            None => p.admin_of.iter().cloned().map(Some).collect(),
        };
        for domain in domains {
            let query = IncomingQuery {
                domain,
                ..base.clone()
            };
            out.extend(state.store.list_incoming(&query).await?);
        }
    }
    out.sort_by(|a, b| b.at.cmp(&a.at).then(b.id.cmp(&a.id)));
    out.truncate(limit as usize);
    Ok(out)
}

pub async fn incoming(
    p: Principal,
    State(state): State<WebState>,
    ApiQuery(q): ApiQuery<IncomingParams>,
) -> ApiResult<Json<Vec<IncomingLogEntry>>> {
    Ok(Json(incoming_entries(&p, &state, &q).await?))
}

/// Track Deliveries: what was sent in the last 24 hours against the daily limit.
#[derive(Serialize)]
pub struct Deliveries {
    pub sent_24h: u64,
    /// Present for one account.
    pub daily_limit: Option<u32>,
    pub messages: Vec<OutgoingMessage>,
}

#[derive(Deserialize, Default)]
pub struct DeliveryParams {
    pub limit: Option<u32>,
}

pub async fn user_deliveries_of(
    state: &WebState,
    account: &hermod_model::Account,
    limit: u32,
) -> ApiResult<Deliveries> {
    let since = day_window_start();
    Ok(Deliveries {
        sent_24h: state.store.sent_since(&account.address, since).await?,
        daily_limit: Some(state.store.daily_limit(account).await?),
        messages: state
            .store
            .list_outgoing(Some(&account.address), None, since, limit)
            .await?,
    })
}

pub async fn user_deliveries(
    p: Principal,
    State(state): State<WebState>,
    Path(address): Path<String>,
    ApiQuery(q): ApiQuery<DeliveryParams>,
) -> ApiResult<Json<Deliveries>> {
    let account = p.user(&state, &address).await?;
    let limit = q.limit.unwrap_or(500).min(5000);
    Ok(Json(user_deliveries_of(&state, &account, limit).await?))
}

pub async fn domain_deliveries(
    p: Principal,
    State(state): State<WebState>,
    Path(domain): Path<String>,
    ApiQuery(q): ApiQuery<DeliveryParams>,
) -> ApiResult<Json<Deliveries>> {
    let d = p.domain(&state, &domain).await?;
    let limit = q.limit.unwrap_or(500).min(5000);
    let messages = state
        .store
        .list_outgoing(None, Some(&d.name), day_window_start(), limit)
        .await?;
    Ok(Json(Deliveries {
        sent_24h: messages.iter().map(|m| u64::from(m.counted)).sum(),
        daily_limit: None,
        messages,
    }))
}
