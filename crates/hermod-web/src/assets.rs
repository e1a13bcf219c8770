//! Static assets, compiled into the binary: nothing is fetched from another site.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::WebState;

/// htmx 2.0.11 (0BSD), vendored from the npm package `htmx.org` (see assets/README.md).
pub const HTMX: &[u8] = include_bytes!("../assets/htmx.min.js");
pub const CSS: &[u8] = include_bytes!("../assets/hermod.css");
pub const JS: &[u8] = include_bytes!("../assets/hermod.js");

fn asset(body: &'static [u8], kind: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
}

pub fn router() -> Router<WebState> {
    Router::new()
        .route(
            "/assets/htmx.min.js",
            get(|| async { asset(HTMX, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/hermod.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/hermod.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
}
