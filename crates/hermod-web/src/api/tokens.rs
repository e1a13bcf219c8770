//! `/api/v1/tokens`: API tokens of the caller's own account, for scripts. The secret is
//! returned once, by the POST that creates it; only its SHA-256 is kept.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::ApiJson;
use crate::WebState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::tokens::{ApiToken, MAX_PER_ACCOUNT};

#[derive(Deserialize)]
pub struct NewToken {
    /// What the token is for, e.g. "backup script".
    pub name: String,
}

#[derive(Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <token>`. Shown only now; store it safely.
    pub token_secret: String,
}

pub async fn list(p: Principal, State(state): State<WebState>) -> Json<Vec<ApiToken>> {
    Json(state.tokens.list(p.address()).await)
}

pub async fn create(
    p: Principal,
    State(state): State<WebState>,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    if p.via_token() {
        return Err(ApiError::forbidden(
            "a token cannot create tokens; log in with your password (POST /api/v1/session) to create one",
        ));
    }
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "name: give the token a name of 1 to 64 characters, e.g. \"backup script\"",
        ));
    }
    let (token, secret) = state
        .tokens
        .create(p.address().clone(), name)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "you already have {MAX_PER_ACCOUNT} tokens; revoke one you no longer use (DELETE /api/v1/tokens/{{id}})"
                ),
            )
        })?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            token_secret: secret,
        }),
    ))
}

pub async fn revoke(
    p: Principal,
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.tokens.revoke(p.address(), &id).await {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token", &id))
    }
}
