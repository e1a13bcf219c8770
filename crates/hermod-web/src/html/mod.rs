//! Server-rendered screens (askama + htmx): the login page, the User Panel and the Admin
//! Panel. Forms work without JavaScript; htmx only swaps parts of a page in place.
//!
//! Every value is escaped by askama; nothing from a user is ever marked safe.

pub mod admin;
pub mod panel;
pub mod rules;

use askama::Template;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::WebState;
use crate::auth::{CurrentSession, Principal, clear_cookie, session_cookie};
use crate::error::ApiError;

/// What the layout of every page needs.
pub struct Page {
    pub title: String,
    pub me: String,
    pub csrf: String,
    pub admin: bool,
    pub flash: Option<String>,
    pub error: Option<String>,
}

impl Page {
    pub fn new(p: &Principal, title: &str) -> Page {
        Page {
            title: title.to_string(),
            me: p.address().to_string(),
            csrf: p.session.csrf.clone(),
            admin: p.is_admin(),
            flash: None,
            error: None,
        }
    }
    pub fn flash(mut self, flash: Option<&'static str>) -> Page {
        self.flash = flash.map(str::to_string);
        self
    }
    pub fn error(mut self, error: Option<String>) -> Page {
        self.error = error;
        self
    }
}

pub fn render<T: Template>(t: &T) -> Response {
    render_status(StatusCode::OK, t)
}

pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// True for requests htmx made (they get a fragment instead of a whole page).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTpl {
    status: u16,
    message: String,
}

/// An error as a small page of its own.
pub fn error_page(e: ApiError) -> Response {
    render_status(
        e.status,
        &ErrorTpl {
            status: e.status.as_u16(),
            message: e.message,
        },
    )
}

/// Unknown paths: JSON under /api, a page elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    let e = ApiError::new(
        StatusCode::NOT_FOUND,
        format!("nothing at {}; check the address", uri.path()),
    );
    if uri.path().starts_with("/api/") {
        e.into_response()
    } else {
        error_page(e)
    }
}

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .merge(panel::router())
        .merge(rules::router())
        .merge(admin::router())
}

async fn root(axum::Extension(current): axum::Extension<CurrentSession>) -> Response {
    if current.0.is_some() {
        see_other("/panel")
    } else {
        see_other("/login")
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTpl {
    login: String,
    error: Option<String>,
}

async fn login_page() -> Response {
    render(&LoginTpl {
        login: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login_submit(
    State(state): State<WebState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    match crate::api::session::open_session(&state, &parts, &form.login, &form.password).await {
        Ok(session) => (
            [(header::SET_COOKIE, session_cookie(&state, &session))],
            Redirect::to("/panel"),
        )
            .into_response(),
        Err(e) => render_status(
            e.status,
            &LoginTpl {
                login: form.login,
                error: Some(e.message),
            },
        ),
    }
}

async fn logout(
    State(state): State<WebState>,
    axum::Extension(current): axum::Extension<CurrentSession>,
) -> Response {
    if let Some(s) = current.0 {
        state.sessions.remove(&s.id);
    }
    (
        [(header::SET_COOKIE, clear_cookie(&state))],
        Redirect::to("/login"),
    )
        .into_response()
}

/// `?flash=` keys to fixed messages, so no user text travels through the URL into a page.
pub fn flash_message(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "added" => "Rule added. Click the pencil icon next to it to define what it does.",
        "saved" => "Rule saved.",
        "removed" => "Removed.",
        "domain-saved" => "Domain saved.",
        "user-saved" => "User saved.",
        "user-added" => "User created.",
        "password" => "Password changed.",
        "filter-added" => "Entry added.",
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
pub struct FlashQuery {
    pub flash: Option<String>,
}
