//! POST/DELETE /api/v1/session and GET /api/v1/me.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hermod_auth::Login;
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::WebState;
use crate::auth::{CurrentSession, Principal, clear_cookie, client_ip, session_cookie};
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize)]
pub struct LoginBody {
    /// The full e-mail address.
    pub login: String,
    pub password: String,
}

#[derive(Serialize)]
pub struct Me {
    pub address: String,
    pub display_name: String,
    pub operator: bool,
    pub admin_domains: Vec<String>,
    /// Send this in the X-CSRF-Token header of every POST, PUT, PATCH and DELETE.
    pub csrf_token: String,
}

pub fn me_of(p: &Principal) -> Me {
    Me {
        address: p.address().to_string(),
        display_name: p.account.display_name.clone(),
        operator: p.operator,
        admin_domains: p.admin_of.iter().map(|d| d.to_string()).collect(),
        csrf_token: p.session.csrf.clone(),
    }
}

/// Checks a login through the shared limiter and opens a session; the session for a
/// successful login, or the error to show.
pub async fn open_session(
    state: &WebState,
    parts: &Parts,
    login: &str,
    password: &str,
) -> ApiResult<crate::Session> {
    let ip = client_ip(parts);
    match state
        .auth
        .login("web", "-", ip, login.trim(), password)
        .await
    {
        Login::Ok(address) => state
            .sessions
            .create(address)
            .await
            .map_err(ApiError::internal),
        Login::Failed => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong e-mail address or password; log in with your full e-mail address",
        )),
        Login::Locked => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins; wait a few minutes and try again",
        )),
    }
}

pub async fn login(
    State(state): State<WebState>,
    parts: Parts,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let session = open_session(&state, &parts, &body.login, &body.password).await?;
    let admin_of = state.store.admin_domains(&session.account).await?;
    let account = state.store.get_account(&session.account).await?;
    let p = Principal {
        operator: state.operators.contains(&account.address),
        session: session.clone(),
        account,
        admin_of,
    };
    Ok((
        [(header::SET_COOKIE, session_cookie(&state, &session))],
        Json(me_of(&p)),
    )
        .into_response())
}

pub async fn logout(
    State(state): State<WebState>,
    axum::Extension(current): axum::Extension<CurrentSession>,
) -> ApiResult<Response> {
    let session = current.0.ok_or_else(ApiError::unauthorized)?;
    state.sessions.remove(&session.id).await;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie(&state))],
    )
        .into_response())
}

pub async fn me(p: Principal) -> Json<Me> {
    Json(me_of(&p))
}
