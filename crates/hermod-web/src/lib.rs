//! Hermod's web app: the User Panel, the Admin Panel and the REST API under `/api/v1`, with an
//! OpenAPI document at `/api/v1/openapi.json`. Every asset (CSS, htmx, icons) is embedded.
//!
//! [`app`] builds the whole app from a [`WebState`]; tests call it without a socket, and
//! [`serve`] runs it on listeners.
//!
//! Trust boundaries: everything a browser or script sends is untrusted. Every request is
//! authorised here, on the server, from the session and the store (never from what the page
//! shows); an object of a tenant the caller may not see answers 404 as if it did not exist.
//! Every state change needs the session's CSRF token. HTML is rendered by askama, which
//! escapes every value; no user data is ever marked safe.
//!
//! Invariants: this crate knows nothing of SMTP or IMAP; it reads and changes tenants only
//! through `hermod-store` and checks rules with `hermod-rules`.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
pub mod html;
pub mod openapi;
pub mod session;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use hermod_auth::Authenticator;
use hermod_config::Settings;
use hermod_model::EmailAddress;
use hermod_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::{ApiError, ApiResult};
pub use session::{MemorySessions, Session, SessionStore, StoreSessions};
pub use tokens::{MemoryTokens, StoreTokens, TokenStore};

/// What every handler shares.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Web logins go through the limiter SMTP and IMAP share.
    pub auth: Authenticator,
    pub sessions: Arc<dyn SessionStore>,
    /// API tokens for scripts (in memory by default: they end with the process).
    pub tokens: Arc<dyn TokenStore>,
    /// Accounts that act as the operator (the provider) in the web app.
    pub operators: Arc<Vec<EmailAddress>>,
    /// Mark the session cookie `Secure` (set when the app is served over TLS).
    pub secure_cookies: bool,
    /// Idle time after which a session ends.
    pub session_ttl: Duration,
}

impl WebState {
    /// A state with in-memory sessions that end after one hour idle.
    pub fn new(
        store: Store,
        settings: Settings,
        auth: Authenticator,
        operators: Vec<EmailAddress>,
    ) -> WebState {
        let ttl = Duration::from_secs(3600);
        WebState {
            store: store.clone(),
            settings: Arc::new(settings),
            auth,
            sessions: Arc::new(StoreSessions::new(store.clone(), ttl)),
            tokens: Arc::new(StoreTokens::new(store.clone())),
            operators: Arc::new(operators),
            secure_cookies: false,
            session_ttl: ttl,
        }
    }
}

/// The whole web app.
pub fn app(state: WebState) -> Router {
    Router::new()
        .merge(api::router().into_router())
        .merge(html::router())
        .merge(assets::router())
        .fallback(html::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::session_layer,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// Serves the app over HTTPS on every listener until `shutdown` resolves. Session cookies
/// are marked Secure here.
pub async fn serve_tls(
    listeners: Vec<tokio::net::TcpListener>,
    tls: std::sync::Arc<rustls::ServerConfig>,
    mut state: WebState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::TokioIo;
    use tower::ServiceExt;
    state.secure_cookies = true;
    let app = app(state);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let app = app.clone();
        let acceptor = acceptor.clone();
        let mut rx = rx.clone();
        tasks.spawn(async move {
            loop {
                let (tcp, peer) = tokio::select! {
                    r = listener.accept() => match r {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!(error = %e, "web accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                    _ = rx.changed() => return,
                };
                let app = app.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) = tokio::time::timeout(
                        std::time::Duration::from_secs(30),
                        acceptor.accept(tcp),
                    )
                    .await
                    else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |mut req: hyper::Request<hyper::body::Incoming>| {
                            req.extensions_mut()
                                .insert(axum::extract::ConnectInfo(peer));
                            app.clone().oneshot(req.map(axum::body::Body::new))
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Serves the app on every listener until `shutdown` resolves.
pub async fn serve(
    listeners: Vec<tokio::net::TcpListener>,
    state: WebState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "web listener ready");
        }
        let app = app.clone();
        let mut rx = rx.clone();
        tasks.spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
        });
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    while let Some(done) = tasks.join_next().await {
        done.map_err(std::io::Error::other)??;
    }
    Ok(())
}
