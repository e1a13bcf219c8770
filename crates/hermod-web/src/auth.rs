//! Who is asking, and may they: the session middleware (cookie → session, CSRF check on
//! every state change) and the [`Principal`] every handler takes.
//!
//! Roles: the operator (an address in `WebState::operators`), a domain admin (an account with
//! rows in the store's domain admins) and a user (anyone who logged in). Every handler asks
//! the principal before it touches an object; an object of a tenant the caller may not see
//! answers 404, exactly like one that does not exist.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use hermod_model::{Account, Domain, DomainName, EmailAddress};

use crate::WebState;
use crate::error::{ApiError, ApiResult};
use crate::session::{COOKIE, Session, tokens_equal};

/// The session of this request, if its cookie names a live one.
#[derive(Clone, Debug)]
pub struct CurrentSession(pub Option<Session>);

/// The most a form body may be when it is read for its CSRF field.
const MAX_FORM: usize = 1024 * 1024;

/// Requests that create a session carry no token yet.
fn csrf_exempt(method: &Method, path: &str) -> bool {
    *method == Method::POST && (path == "/api/v1/session" || path == "/login")
}

fn session_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Resolves the session and refuses a state change without the session's CSRF token
/// (header `X-CSRF-Token`, or the form field `csrf`).
pub async fn session_layer(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/api/")
        && let Some(secret) = bearer(&parts)
    {
        // A script's API token. No CSRF check: a browser never adds this header by itself,
        // and a cross-site page cannot without a CORS preflight this app does not answer.
        return match state.tokens.resolve(&secret).await {
            Some(t) => {
                let session = Session {
                    id: format!("{TOKEN_SESSION}{}", t.id),
                    account: t.account,
                    csrf: String::new(),
                };
                parts.extensions.insert(CurrentSession(Some(session)));
                next.run(Request::from_parts(parts, body)).await
            }
            None => ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "the API token is unknown or revoked; create a new one with POST /api/v1/tokens while logged in with your password",
            )
            .into_response(),
        };
    }
    let session = match session_id(&parts) {
        Some(id) => state.sessions.get(&id).await,
        None => None,
    };
    let mut body = body;
    let changes_state = matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if let Some(s) = &session
        && changes_state
        && !csrf_exempt(&parts.method, parts.uri.path())
    {
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let token = match header_token {
            Some(t) => Some(t),
            None if is_form(&parts) => {
                let bytes = match to_bytes(body, MAX_FORM).await {
                    Ok(b) => b,
                    Err(_) => {
                        return ApiError::bad_request("the form is larger than 1 MiB")
                            .into_response();
                    }
                };
                let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                    .ok()
                    .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf"))
                    .map(|(_, v)| v);
                body = Body::from(bytes);
                token
            }
            None => None,
        };
        match token {
            Some(t) if tokens_equal(&t, &s.csrf) => {}
            _ => return ApiError::csrf().into_response(),
        }
    }
    parts.extensions.insert(CurrentSession(session));
    next.run(Request::from_parts(parts, body)).await
}

/// The id prefix of the stand-in session of a request authenticated by an API token.
pub const TOKEN_SESSION: &str = "token:";

/// The secret of an `Authorization: Bearer` header.
fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| secret.trim().to_string())
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The client's address for the brute-force limiter (unspecified when not served from a
/// socket, as in tests).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The logged-in caller and what they may administer, read from the store on every request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub session: Session,
    pub account: Account,
    pub operator: bool,
    pub admin_of: Vec<DomainName>,
}

impl Principal {
    pub fn address(&self) -> &EmailAddress {
        &self.account.address
    }

    /// True when this request came with an API token rather than a login session.
    pub fn via_token(&self) -> bool {
        self.session.id.starts_with(TOKEN_SESSION)
    }

    pub fn is_admin(&self) -> bool {
        self.operator || !self.admin_of.is_empty()
    }

    pub fn can_admin(&self, domain: &DomainName) -> bool {
        self.operator || self.admin_of.contains(domain)
    }

    pub fn can_see_user(&self, user: &EmailAddress) -> bool {
        user == self.address() || self.can_admin(user.domain())
    }

    pub fn require_operator(&self) -> ApiResult<()> {
        if self.operator {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only the operator can do this; open a support ticket with your provider",
            ))
        }
    }

    /// A domain this caller administers (404 for any other, hosted or not).
    pub async fn domain(&self, state: &WebState, name: &str) -> ApiResult<Domain> {
        let parsed = DomainName::parse(name).map_err(|_| ApiError::not_found("domain", name))?;
        if !self.can_admin(&parsed) {
            return Err(ApiError::not_found("domain", &parsed));
        }
        Ok(state.store.get_domain(&parsed).await?)
    }

    /// An account this caller may see: itself, or any account of a domain it administers.
    pub async fn user(&self, state: &WebState, address: &str) -> ApiResult<Account> {
        let parsed =
            EmailAddress::parse(address).map_err(|_| ApiError::not_found("user", address))?;
        if !self.can_see_user(&parsed) {
            return Err(ApiError::not_found("user", &parsed));
        }
        Ok(state.store.get_account(&parsed).await?)
    }

    /// An account this caller administers (not merely its own account).
    pub async fn managed_user(&self, state: &WebState, address: &str) -> ApiResult<Account> {
        let account = self.user(state, address).await?;
        if !self.can_admin(account.address.domain()) {
            return Err(ApiError::forbidden(
                "only an administrator of your domain can change this; ask them in the Admin Panel",
            ));
        }
        Ok(account)
    }
}

impl FromRequestParts<WebState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> ApiResult<Principal> {
        let session = parts
            .extensions
            .get::<CurrentSession>()
            .and_then(|c| c.0.clone())
            .ok_or_else(ApiError::unauthorized)?;
        let account = match state.store.find_account(&session.account).await? {
            Some(a) if a.enabled => a,
            // Removed or disabled since the login: the session ends here.
            _ => {
                state.sessions.remove(&session.id).await;
                return Err(ApiError::unauthorized());
            }
        };
        let admin_of = state.store.admin_domains(&account.address).await?;
        let operator = state.operators.contains(&account.address);
        Ok(Principal {
            session,
            account,
            operator,
            admin_of,
        })
    }
}

/// A principal for HTML pages: without a session, the browser goes to the login page.
pub struct PageUser(pub Principal);

impl FromRequestParts<WebState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<PageUser, Response> {
        match Principal::from_request_parts(parts, state).await {
            Ok(p) => Ok(PageUser(p)),
            Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => {
                Err(Redirect::to("/login").into_response())
            }
            Err(e) => Err(crate::html::error_page(e)),
        }
    }
}

/// The Set-Cookie value for a new session.
pub fn session_cookie(state: &WebState, session: &Session) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        session.id,
        state.session_ttl.as_secs()
    )
}

/// The Set-Cookie value that removes the session cookie.
pub fn clear_cookie(state: &WebState) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}
