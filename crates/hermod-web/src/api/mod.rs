//! The REST API under `/api/v1`. JSON in, JSON out; errors are `{"error": "..."}`.
//!
//! Every route is registered through [`ApiRouter`], which remembers its method and path so a
//! test can check that the OpenAPI document lists each one.

pub mod domains;
pub mod filters;
pub mod logs;
pub mod rules;
pub mod session;
pub mod tokens;
pub mod users;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde::de::DeserializeOwned;

use crate::WebState;
use crate::error::ApiError;

/// A router that remembers what it routes.
pub struct ApiRouter {
    router: Router<WebState>,
    routes: Vec<(&'static str, &'static str)>,
}

impl ApiRouter {
    fn new() -> ApiRouter {
        ApiRouter {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        route: MethodRouter<WebState>,
    ) -> ApiRouter {
        self.routes.push((method, path));
        self.router = self.router.route(path, route);
        self
    }

    fn get<H: Handler<T, WebState>, T: 'static>(self, path: &'static str, h: H) -> ApiRouter {
        self.add("get", path, get(h))
    }
    fn post<H: Handler<T, WebState>, T: 'static>(self, path: &'static str, h: H) -> ApiRouter {
        self.add("post", path, post(h))
    }
    fn put<H: Handler<T, WebState>, T: 'static>(self, path: &'static str, h: H) -> ApiRouter {
        self.add("put", path, put(h))
    }
    fn patch<H: Handler<T, WebState>, T: 'static>(self, path: &'static str, h: H) -> ApiRouter {
        self.add("patch", path, patch(h))
    }
    fn delete<H: Handler<T, WebState>, T: 'static>(self, path: &'static str, h: H) -> ApiRouter {
        self.add("delete", path, delete(h))
    }

    /// Every (method, path) routed, methods in lower case as OpenAPI writes them.
    pub fn routes(&self) -> &[(&'static str, &'static str)] {
        &self.routes
    }

    pub fn into_router(self) -> Router<WebState> {
        self.router
    }
}

/// Every API route.
pub fn router() -> ApiRouter {
    ApiRouter::new()
        .get("/api/v1/openapi.json", crate::openapi::document)
        .post("/api/v1/session", session::login)
        .delete("/api/v1/session", session::logout)
        .get("/api/v1/me", session::me)
        .get("/api/v1/tokens", tokens::list)
        .post("/api/v1/tokens", tokens::create)
        .delete("/api/v1/tokens/{id}", tokens::revoke)
        .get("/api/v1/plans", domains::list_plans)
        .put("/api/v1/plans/{name}", domains::set_plan)
        .get("/api/v1/domains", domains::list)
        .post("/api/v1/domains", domains::add)
        .get("/api/v1/domains/{domain}", domains::get_one)
        .patch("/api/v1/domains/{domain}", domains::update)
        .put(
            "/api/v1/domains/{domain}/admins/{address}",
            domains::add_admin,
        )
        .delete(
            "/api/v1/domains/{domain}/admins/{address}",
            domains::remove_admin,
        )
        .get("/api/v1/domains/{domain}/aliases", domains::list_aliases)
        .post("/api/v1/domains/{domain}/aliases", domains::add_alias)
        .delete(
            "/api/v1/domains/{domain}/aliases/{address}",
            domains::remove_alias,
        )
        .get("/api/v1/domains/{domain}/filters", filters::list_domain)
        .post("/api/v1/domains/{domain}/filters", filters::add_domain)
        .delete(
            "/api/v1/domains/{domain}/filters/{id}",
            filters::remove_domain,
        )
        .get(
            "/api/v1/domains/{domain}/deliveries",
            logs::domain_deliveries,
        )
        .get("/api/v1/users", users::list)
        .post("/api/v1/users", users::create)
        .get("/api/v1/users/{address}", users::get_one)
        .patch("/api/v1/users/{address}", users::update)
        .put("/api/v1/users/{address}/password", users::set_password)
        .get("/api/v1/users/{address}/send-as", users::list_send_as)
        .post("/api/v1/users/{address}/send-as", users::grant_send_as)
        .delete(
            "/api/v1/users/{address}/send-as/{sender}",
            users::revoke_send_as,
        )
        .get("/api/v1/users/{address}/filters", filters::list_user)
        .post("/api/v1/users/{address}/filters", filters::add_user)
        .delete("/api/v1/users/{address}/filters/{id}", filters::remove_user)
        .get("/api/v1/users/{address}/deliveries", logs::user_deliveries)
        .get("/api/v1/filters/system", filters::list_system)
        .post("/api/v1/filters/system", filters::add_system)
        .delete("/api/v1/filters/system/{id}", filters::remove_system)
        .get("/api/v1/logs/incoming", logs::incoming)
        .get("/api/v1/rules/{owner}", rules::list)
        .post("/api/v1/rules/{owner}", rules::create)
        .get("/api/v1/rules/{owner}/{name}", rules::get_one)
        .put("/api/v1/rules/{owner}/{name}", rules::replace)
        .delete("/api/v1/rules/{owner}/{name}", rules::remove)
        .post("/api/v1/rules/{owner}/{name}/enable", rules::enable)
        .post("/api/v1/rules/{owner}/{name}/disable", rules::disable)
        .post("/api/v1/rules/{owner}/{name}/move", rules::move_to)
}

/// `Json` whose rejection is a JSON error that says what to send.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                format!(
                    "{}; send a JSON body (Content-Type: application/json) as /api/v1/openapi.json describes",
                    rejection.body_text()
                ),
            )),
        }
    }
}

/// `Query` whose rejection is a JSON error.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(rejection) => Err(ApiError::bad_request(format!(
                "{}; see /api/v1/openapi.json for the parameters",
                rejection.body_text()
            ))),
        }
    }
}

/// Parses an address given in a body, with an error that names the field.
pub fn parse_address(field: &str, value: &str) -> Result<hermod_model::EmailAddress, ApiError> {
    hermod_model::EmailAddress::parse(value).map_err(|e| {
        ApiError::bad_request(format!(
            "{field}: {value:?} is not an e-mail address ({e}); write it as name@example.com"
        ))
    })
}
