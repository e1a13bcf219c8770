//! Server-rendered screens (askama + htmx): the login page, the User Panel and the Admin
//! Panel. Forms work without JavaScript; htmx only swaps parts of a page in place.
//!
//! Every value is escaped by askama; nothing from a user is ever marked safe.

pub mod admin;
pub mod domain;
pub mod logs;
pub mod operator;
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
    pub operator: bool,
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
            operator: p.operator,
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
        .merge(logs::router())
        .merge(domain::router())
        .merge(operator::router())
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
        state.sessions.remove(&s.id).await;
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
        "policy-saved" => "Accept e-mails from saved.",
        "alias-added" => "Alias added.",
        "plan-saved" => "Plan saved.",
        "smime-saved" => "S/MIME setting saved.",
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
pub struct FlashQuery {
    pub flash: Option<String>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A form's `YYYY-MM-DD` (an `<input type="date">`) as the Unix time, in seconds, of the
/// start of that day in UTC. `None` for an empty field; an error for anything else.
pub fn parse_date(field: &str, s: &str) -> Result<Option<i64>, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::bad_request(format!("{field}: {s:?} is not a date; use YYYY-MM-DD"));
    let mut it = s.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) => (y, m, d),
        _ => return Err(bad()),
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(Some(days * 86_400))
}

/// Unix seconds as the `YYYY-MM-DD` of that day in UTC (for `<input type="date">`).
pub fn format_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let t = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        format_date(secs),
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("from", "1970-01-01").unwrap(), Some(0));
        assert_eq!(parse_date("from", "").unwrap(), None);
        let s = parse_date("from", "2024-02-29").unwrap().unwrap();
        assert_eq!(format_date(s), "2024-02-29");
        assert_eq!(
            format_time_ms(s * 1000 + 3_723_000),
            "2024-02-29 01:02:03 UTC"
        );
        assert!(parse_date("from", "2023-02-29").is_err());
        assert!(parse_date("from", "yesterday").is_err());
    }
}
