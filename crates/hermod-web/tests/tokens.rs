//! API tokens for scripts: create, use with `Authorization: Bearer`, list, revoke.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};

async fn bearer(t: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    t.send(b.body(body).unwrap()).await
}

#[tokio::test]
async fn tokens_are_created_used_listed_and_revoked() {
    let t = setup().await;
    let ann = t.login("ann@a.example").await;
    let r = t
        .call(
            &ann,
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "backup script"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created = r.json();
    let secret = created["token_secret"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("hmd_"));
    // The token works without a cookie, and a state change needs no CSRF token with it.
    let me = bearer(&t, &secret, "GET", "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json()["address"], "ann@a.example");
    let r = bearer(
        &t,
        &secret,
        "POST",
        "/api/v1/users/ann@a.example/filters",
        Some(json!({"kind": "block", "pattern": "pest.example"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // It is ann's, no more: other tenants are not there, and it cannot make more tokens.
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/users/bob@b.example", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/filters/system", None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = bearer(
        &t,
        &secret,
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Listed by name and id, never with the secret.
    let list = t.get(&ann, "/api/v1/tokens").await;
    assert!(!list.text.contains(&secret) && list.text.contains("backup script"));
    assert_eq!(list.json()[0]["id"], id.as_str());
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/tokens", None)
            .await
            .json()[0]["id"],
        id.as_str()
    );
    // A bad name is explained.
    let r = t
        .call(&ann, "POST", "/api/v1/tokens", Some(json!({"name": ""})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // A wrong token is 401 with a JSON error; tokens do nothing for the HTML panels.
    let r = bearer(&t, "hmd_nope", "GET", "/api/v1/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"].as_str().unwrap().contains("token"));
    let r = bearer(&t, &secret, "GET", "/panel", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login");
    // Bob cannot revoke ann's token; ann can, and then it no longer works.
    let bob = t.login("bob@b.example").await;
    assert_eq!(
        t.call(&bob, "DELETE", &format!("/api/v1/tokens/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/me", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        t.call(&ann, "DELETE", &format!("/api/v1/tokens/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(t.get(&ann, "/api/v1/tokens").await.json(), json!([]));
}

#[tokio::test]
async fn an_admin_password_reset_or_disabling_ends_the_tokens() {
    let t = setup().await;
    let ann = t.login("ann@a.example").await;
    let secret = t
        .call(&ann, "POST", "/api/v1/tokens", Some(json!({"name": "s"})))
        .await
        .json()["token_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = t.login("admin@a.example").await;
    let r = t
        .call(
            &admin,
            "PUT",
            "/api/v1/users/ann@a.example/password",
            Some(json!({"password": "a-new-password-2"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A disabled account's tokens stop too.
    let bob = t.login("bob@b.example").await;
    let secret = t
        .call(&bob, "POST", "/api/v1/tokens", Some(json!({"name": "s"})))
        .await
        .json()["token_secret"]
        .as_str()
        .unwrap()
        .to_string();
    let admin_b = t.login("admin@b.example").await;
    let r = t
        .call(
            &admin_b,
            "PATCH",
            "/api/v1/users/bob@b.example",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        bearer(&t, &secret, "GET", "/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}
