//! Errors of the web app. Every error becomes a response with a message that says what is
//! wrong and what to do; internal details (database errors, paths) go to the log only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hermod_store::StoreError;

/// An error answered as `{"error": "..."}` with its status code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// The answer for an object the caller may not see: the same as for one that does not
    /// exist, so a domain admin cannot probe another tenant's names.
    pub fn not_found(kind: &str, name: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{kind} {name} does not exist; check the name"),
        )
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not logged in: POST /api/v1/session with your full e-mail address and password first",
        )
    }
    pub fn csrf() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: send the csrf_token from POST /api/v1/session or GET /api/v1/me in the X-CSRF-Token header (or the csrf form field)",
        )
    }
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "web request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; try again, and if it persists ask the operator to check the server log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(..) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            StoreError::Exists(..) => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            StoreError::Conflict(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}
