//! Shared setup: a real store (SQLite in a temp dir, or a fresh PostgreSQL schema), the app
//! built by `hermod_web::app` and driven with `oneshot`, no socket.

#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hermod_model::{DomainName, EmailAddress};
use hermod_store::{NewAccount, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct-horse-1";

pub struct TestApp {
    pub app: Router,
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

pub fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

pub fn dom(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

async fn sqlite_store() -> (Store, Option<tempfile::TempDir>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (Store::open(&url, 4).await.unwrap(), Some(dir))
}

/// A store in a new schema of the test PostgreSQL, or `None` when HERMOD_SKIP_PG=1 and it
/// cannot be reached.
pub async fn pg_store() -> Option<Store> {
    let base = std::env::var("HERMOD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = match Store::open_raw_for_tests(&base).await {
        Ok(a) => a,
        Err(e) if std::env::var("HERMOD_SKIP_PG").as_deref() == Ok("1") => {
            eprintln!("PostgreSQL at {base} unreachable ({e}); skipping the PostgreSQL run");
            return None;
        }
        Err(e) => {
            panic!("PostgreSQL at {base} is not reachable: {e}; set HERMOD_SKIP_PG=1 to skip")
        }
    };
    let schema = format!("web_{}", hex::encode(rand::random::<[u8; 8]>()));
    admin.create_schema(&schema).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(
        Store::open(&format!("{base}{sep}options[search_path]={schema}"), 4)
            .await
            .unwrap(),
    )
}

async fn add_user(store: &Store, address: &str, name: &str) {
    store
        .add_account(NewAccount {
            address: addr(address),
            display_name: name.into(),
            password: PASSWORD.into(),
            plan: None,
            quota_bytes: 0,
        })
        .await
        .unwrap();
}

/// Two tenants: a.example (admin@a.example administers it; ann is a user; op is the
/// operator) and b.example (admin@b.example, bob).
pub async fn populate(store: Store, dir: Option<tempfile::TempDir>) -> TestApp {
    for d in ["a.example", "b.example"] {
        store.add_domain(&dom(d), true, "basic").await.unwrap();
    }
    for (a, n) in [
        ("op@a.example", "Operator"),
        ("admin@a.example", "Admin A"),
        ("ann@a.example", "Ann"),
        ("admin@b.example", "Admin B"),
        ("bob@b.example", "Bob"),
    ] {
        add_user(&store, a, n).await;
    }
    store
        .set_domain_admin(&addr("admin@a.example"), &dom("a.example"), true)
        .await
        .unwrap();
    store
        .set_domain_admin(&addr("admin@b.example"), &dom("b.example"), true)
        .await
        .unwrap();
    let auth = hermod_auth::Authenticator::new(store.clone(), 50, Duration::from_secs(60));
    let state = hermod_web::WebState::new(
        store.clone(),
        hermod_config::Settings::default(),
        auth,
        vec![addr("op@a.example")],
    );
    TestApp {
        app: hermod_web::app(state),
        store,
        _dir: dir,
    }
}

pub async fn setup() -> TestApp {
    let (store, dir) = sqlite_store().await;
    populate(store, dir).await
}

/// A logged-in client: its cookie and CSRF token.
#[derive(Clone)]
pub struct Client {
    pub cookie: String,
    pub csrf: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn login(&self, who: &str) -> Client {
        let r = self
            .send(
                Request::post("/api/v1/session")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        serde_json::json!({"login": who, "password": PASSWORD}).to_string(),
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
        Client {
            cookie: cookie.split(';').next().unwrap().to_string(),
            csrf: r.json()["csrf_token"].as_str().unwrap().to_string(),
        }
    }

    /// A JSON API call with the client's cookie and CSRF token.
    pub async fn call(&self, c: &Client, method: &str, path: &str, body: Option<Value>) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, &c.cookie)
            .header("x-csrf-token", &c.csrf);
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    pub async fn get(&self, c: &Client, path: &str) -> Reply {
        self.call(c, "GET", path, None).await
    }

    /// A form POST as a browser sends it (token in the `csrf` field).
    pub async fn form(&self, c: &Client, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(&str, &str)> = vec![("csrf", &c.csrf)];
        all.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.send(
            Request::post(path)
                .header(header::COOKIE, &c.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}
