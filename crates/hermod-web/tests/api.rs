//! The REST API through `hermod_web::app`, on a real store.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::json;

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_me_tells_the_roles() {
    let t = setup().await;
    let r = t
        .send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"login": "admin@a.example", "password": PASSWORD}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let id = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert_eq!(id.len(), 64);
    let c = t.login("admin@a.example").await;
    let me = t.get(&c, "/api/v1/me").await.json();
    assert_eq!(me["address"], "admin@a.example");
    assert_eq!(me["admin_domains"], json!(["a.example"]));
    assert_eq!(me["operator"], false);
    let op = t.login("op@a.example").await;
    assert_eq!(t.get(&op, "/api/v1/me").await.json()["operator"], true);

    // Wrong password: 401 with a JSON error.
    let r = t
        .send(
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"login": "ann@a.example", "password": "nope-nope"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("full e-mail address")
    );

    // No session: 401; after logout the cookie no longer works.
    let anon = Client {
        cookie: String::new(),
        csrf: String::new(),
    };
    assert_eq!(
        t.get(&anon, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.call(&c, "DELETE", "/api/v1/session", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&c, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Unknown API paths answer JSON.
    let r = t.get(&op, "/api/v1/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].is_string());
}

/// Puts sample values in a route's placeholders.
fn concrete(path: &str) -> String {
    path.replace("{domain}", "a.example")
        .replace("{address}", "ann@a.example")
        .replace("{owner}", "ann@a.example")
        .replace("{name}", "r1")
        .replace("{sender}", "x@a.example")
        .replace("{id}", "1")
}

#[tokio::test]
async fn every_state_change_refuses_a_missing_or_wrong_csrf_token() {
    let t = setup().await;
    let op = t.login("op@a.example").await;
    let routes = hermod_web::api::router();
    let mut checked = 0;
    for (method, path) in routes.routes() {
        if *method == "get" || *path == "/api/v1/session" && *method == "post" {
            continue;
        }
        for token in [None, Some("0".repeat(64))] {
            let mut b = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(concrete(path))
                .header(header::COOKIE, &op.cookie)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(tok) = &token {
                b = b.header("x-csrf-token", tok);
            }
            let r = t.send(b.body(Body::from("{}")).unwrap()).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.text
            );
            assert!(
                r.json()["error"].as_str().unwrap().contains("CSRF"),
                "{path}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked}");
    // Forms: the csrf field must be right too.
    let ann = t.login("ann@a.example").await;
    let bad = Client {
        cookie: ann.cookie.clone(),
        csrf: "wrong".into(),
    };
    let r = t.form(&bad, "/panel/rules", &[("name", "x")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["error"].is_string());
    let r = t.form(&ann, "/panel/rules", &[("name", "x")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let t = setup().await;
    let ann = t.login("ann@a.example").await;
    let doc = t.get(&ann, "/api/v1/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = hermod_web::api::router();
    for (method, path) in routes.routes() {
        assert!(
            doc["paths"][*path][*method].is_object(),
            "{method} {path} is routed but missing from openapi.json"
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.routes().len(),
        "openapi.json lists routes that do not exist"
    );
}

async fn tenant_matrix(t: &TestApp) {
    let admin_a = t.login("admin@a.example").await;
    let ann = t.login("ann@a.example").await;
    let bob = t.login("bob@b.example").await;
    // Objects of b.example exist...
    let admin_b = t.login("admin@b.example").await;
    let r = t
        .call(
            &admin_b,
            "POST",
            "/api/v1/rules/b.example",
            Some(json!({"name": "dom_rule"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .call(
            &bob,
            "POST",
            "/api/v1/rules/bob@b.example",
            Some(json!({"name": "bobs"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .call(
            &admin_b,
            "POST",
            "/api/v1/domains/b.example/filters",
            Some(json!({"kind": "block", "pattern": "spam.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let b_filter = r.json()["id"].as_i64().unwrap();
    let r = t
        .call(
            &bob,
            "POST",
            "/api/v1/users/bob@b.example/filters",
            Some(json!({"kind": "block", "pattern": "x.example"})),
        )
        .await;
    let bob_filter = r.json()["id"].as_i64().unwrap();
    let r = t
        .call(
            &admin_b,
            "POST",
            "/api/v1/domains/b.example/aliases",
            Some(json!({"address": "sales@b.example", "target": "bob@b.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // ...and the admin of a.example gets 404 for every one of them.
    let cases: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", "/api/v1/domains/b.example".into(), None),
        (
            "PATCH",
            "/api/v1/domains/b.example".into(),
            Some(json!({"local_delivery": false})),
        ),
        ("GET", "/api/v1/domains/b.example/aliases".into(), None),
        (
            "POST",
            "/api/v1/domains/b.example/aliases".into(),
            Some(json!({"address": "x@b.example", "target": "ann@a.example"})),
        ),
        (
            "DELETE",
            "/api/v1/domains/b.example/aliases/sales@b.example".into(),
            None,
        ),
        (
            "GET",
            "/api/v1/domains/b.example/filters?include_users=true".into(),
            None,
        ),
        (
            "POST",
            "/api/v1/domains/b.example/filters".into(),
            Some(json!({"kind": "allow", "pattern": "a.example"})),
        ),
        (
            "DELETE",
            format!("/api/v1/domains/b.example/filters/{b_filter}"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/domains/a.example/filters/{b_filter}"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/domains/a.example/filters/{bob_filter}"),
            None,
        ),
        ("GET", "/api/v1/domains/b.example/deliveries".into(), None),
        (
            "PUT",
            "/api/v1/domains/b.example/admins/ann@a.example".into(),
            None,
        ),
        ("GET", "/api/v1/users/bob@b.example".into(), None),
        (
            "PATCH",
            "/api/v1/users/bob@b.example".into(),
            Some(json!({"display_name": "x"})),
        ),
        (
            "PUT",
            "/api/v1/users/bob@b.example/password".into(),
            Some(json!({"password": "another-pass-1"})),
        ),
        ("GET", "/api/v1/users/bob@b.example/send-as".into(), None),
        (
            "POST",
            "/api/v1/users/bob@b.example/send-as".into(),
            Some(json!({"address": "x@a.example"})),
        ),
        ("GET", "/api/v1/users/bob@b.example/filters".into(), None),
        (
            "DELETE",
            format!("/api/v1/users/bob@b.example/filters/{bob_filter}"),
            None,
        ),
        ("GET", "/api/v1/users/bob@b.example/deliveries".into(), None),
        ("GET", "/api/v1/users?domain=b.example".into(), None),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"address": "new@b.example", "password": "long-enough-1"})),
        ),
        ("GET", "/api/v1/logs/incoming?domain=b.example".into(), None),
        ("GET", "/api/v1/rules/b.example".into(), None),
        ("GET", "/api/v1/rules/b.example/dom_rule".into(), None),
        (
            "PUT",
            "/api/v1/rules/b.example/dom_rule".into(),
            Some(json!({"name": "dom_rule"})),
        ),
        ("DELETE", "/api/v1/rules/b.example/dom_rule".into(), None),
        ("GET", "/api/v1/rules/bob@b.example".into(), None),
        ("GET", "/api/v1/rules/bob@b.example/bobs".into(), None),
        (
            "POST",
            "/api/v1/rules/bob@b.example".into(),
            Some(json!({"name": "evil"})),
        ),
        (
            "POST",
            "/api/v1/rules/bob@b.example/bobs/enable".into(),
            None,
        ),
        (
            "POST",
            "/api/v1/rules/bob@b.example/bobs/move".into(),
            Some(json!({"position": 1})),
        ),
        ("DELETE", "/api/v1/rules/bob@b.example/bobs".into(), None),
        ("GET", "/api/v1/domains/nonexistent.example".into(), None),
    ];
    for (method, path, body) in &cases {
        let r = t.call(&admin_a, method, path, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "admin@a {method} {path}: {}",
            r.text
        );
        assert!(r.json()["error"].is_string());
    }
    // A plain user: 404 for its own domain, other users and their rules, too.
    let user_cases = [
        ("GET", "/api/v1/domains/a.example"),
        ("GET", "/api/v1/users/admin@a.example"),
        ("GET", "/api/v1/rules/admin@a.example"),
        ("GET", "/api/v1/rules/bob@b.example/bobs"),
        ("DELETE", "/api/v1/rules/bob@b.example/bobs"),
        ("GET", "/api/v1/rules/a.example"),
        ("GET", "/api/v1/users/bob@b.example/filters"),
        ("GET", "/api/v1/domains/a.example/aliases"),
    ];
    for (method, path) in user_cases {
        let r = t.call(&ann, method, path, None).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "ann {method} {path}: {}",
            r.text
        );
    }
    // Lists show only the caller's tenant.
    let users = t.get(&admin_a, "/api/v1/users").await.json();
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["address"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ann@a.example") && !names.iter().any(|n| n.ends_with("b.example")),
        "{names:?}"
    );
    let users = t.get(&ann, "/api/v1/users").await.json();
    assert_eq!(users.as_array().unwrap().len(), 1);
    let domains = t.get(&admin_a, "/api/v1/domains").await.json();
    assert_eq!(domains.as_array().unwrap().len(), 1);
    assert_eq!(t.get(&ann, "/api/v1/domains").await.json(), json!([]));
    // Nothing of b.example changed.
    assert!(
        t.store
            .get_rule(
                &hermod_store::RuleOwner::User(addr("bob@b.example")),
                "bobs"
            )
            .await
            .is_ok()
    );
    assert!(t.store.get_filter(b_filter).await.is_ok());
    assert!(t.store.get_filter(bob_filter).await.is_ok());
    assert!(
        t.store
            .get_domain(&dom("b.example"))
            .await
            .unwrap()
            .local_delivery
    );
    // The operator sees everything.
    let op = t.login("op@a.example").await;
    assert_eq!(
        t.get(&op, "/api/v1/domains/b.example").await.status,
        StatusCode::OK
    );
    assert_eq!(
        t.get(&op, "/api/v1/rules/bob@b.example/bobs").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn no_role_reaches_another_tenants_objects_sqlite() {
    tenant_matrix(&setup().await).await;
}

#[tokio::test]
async fn no_role_reaches_another_tenants_objects_postgres() {
    if let Some(store) = pg_store().await {
        tenant_matrix(&populate(store, None).await).await;
    }
}

#[tokio::test]
async fn domains_users_aliases_and_send_as() {
    let t = setup().await;
    let admin = t.login("admin@a.example").await;
    let r = t
        .call(&admin, "PATCH", "/api/v1/domains/a.example", Some(json!({"local_delivery": false, "filter_mode": "whitelist_only", "default_plan": "enhanced"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["local_delivery"], false);
    assert_eq!(r.json()["filter_mode"], "whitelist_only");
    let r = t
        .call(
            &admin,
            "PATCH",
            "/api/v1/domains/a.example",
            Some(json!({"filter_mode": "nobody"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("everyone"));
    let r = t
        .call(
            &admin,
            "PATCH",
            "/api/v1/domains/a.example",
            Some(json!({"smime_allowed": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Users: create, search, get, patch, password.
    let r = t
        .call(&admin, "POST", "/api/v1/users", Some(json!({"address": "Carl@A.example", "display_name": "Carl", "password": "carl-password-1"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["address"], "carl@a.example");
    assert_eq!(r.json()["plan"], "enhanced");
    assert_eq!(r.json()["daily_limit"], 1200);
    assert!(r.json().get("password_hash").is_none());
    let r = t.get(&admin, "/api/v1/users?search=carl").await.json();
    assert_eq!(r.as_array().unwrap().len(), 1);
    let r = t
        .call(
            &admin,
            "PATCH",
            "/api/v1/users/carl@a.example",
            Some(json!({"plan": "basic", "quota_bytes": 1000, "display_name": "Carl C"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["daily_limit"], 300);
    let r = t
        .call(
            &admin,
            "PATCH",
            "/api/v1/users/carl@a.example",
            Some(json!({"send_limit_override": 5000})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "the operator raises limits"
    );
    let op = t.login("op@a.example").await;
    let r = t
        .call(
            &op,
            "PATCH",
            "/api/v1/users/carl@a.example",
            Some(json!({"send_limit_override": 5000})),
        )
        .await;
    assert_eq!(r.json()["daily_limit"], 5000);
    let r = t
        .call(
            &op,
            "PATCH",
            "/api/v1/users/carl@a.example",
            Some(json!({"send_limit_override": null})),
        )
        .await;
    assert_eq!(r.json()["daily_limit"], 300);
    let r = t
        .call(
            &admin,
            "PATCH",
            "/api/v1/users/carl@a.example",
            Some(json!({"bogus": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"].as_str().unwrap().contains("bogus"));
    let r = t
        .call(
            &admin,
            "PUT",
            "/api/v1/users/carl@a.example/password",
            Some(json!({"password": "new-carl-pass-2"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(
        t.store
            .verify_login(&addr("carl@a.example"), "new-carl-pass-2")
            .await
            .unwrap()
            .is_some()
    );
    // A user changes its own password only with the current one, and cannot change its plan.
    let ann = t.login("ann@a.example").await;
    let r = t
        .call(
            &ann,
            "PUT",
            "/api/v1/users/ann@a.example/password",
            Some(json!({"password": "ann-new-pass-1", "current_password": "wrong"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .call(
            &ann,
            "PUT",
            "/api/v1/users/ann@a.example/password",
            Some(json!({"password": "ann-new-pass-1", "current_password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = t
        .call(
            &ann,
            "PATCH",
            "/api/v1/users/ann@a.example",
            Some(json!({"plan": "enhanced"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .call(
            &ann,
            "PATCH",
            "/api/v1/users/ann@a.example",
            Some(json!({"display_name": "Ann A", "filter_mode": "whitelist_only"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Aliases.
    let r = t
        .call(
            &admin,
            "POST",
            "/api/v1/domains/a.example/aliases",
            Some(json!({"address": "sales@a.example", "target": "ann@a.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .get(&admin, "/api/v1/domains/a.example/aliases")
        .await
        .json();
    assert_eq!(r[0]["address"], "sales@a.example");
    let r = t
        .call(
            &admin,
            "POST",
            "/api/v1/domains/a.example/aliases",
            Some(json!({"address": "sales@b.example", "target": "ann@a.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t
        .call(
            &admin,
            "DELETE",
            "/api/v1/domains/a.example/aliases/sales@a.example",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Send email as.
    let r = t
        .call(
            &admin,
            "POST",
            "/api/v1/users/carl@a.example/send-as",
            Some(json!({"address": "ceo@a.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .call(
            &admin,
            "POST",
            "/api/v1/users/carl@a.example/send-as",
            Some(json!({"address": "ceo@b.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get(&admin, "/api/v1/users/carl@a.example/send-as")
            .await
            .json(),
        json!(["ceo@a.example"])
    );
    let r = t
        .call(
            &ann,
            "POST",
            "/api/v1/users/ann@a.example/send-as",
            Some(json!({"address": "ceo@a.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only admins grant");
    let r = t
        .call(
            &admin,
            "DELETE",
            "/api/v1/users/carl@a.example/send-as/ceo@a.example",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Plans and domains (operator).
    assert_eq!(
        t.get(&ann, "/api/v1/plans").await.json()[0]["daily_limit"],
        300
    );
    assert_eq!(
        t.call(
            &admin,
            "PUT",
            "/api/v1/plans/pro",
            Some(json!({"daily_limit": 5000}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.call(
            &op,
            "PUT",
            "/api/v1/plans/pro",
            Some(json!({"daily_limit": 5000}))
        )
        .await
        .status,
        StatusCode::OK
    );
    let r = t
        .call(
            &op,
            "POST",
            "/api/v1/domains",
            Some(json!({"name": "c.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .call(
            &op,
            "PUT",
            "/api/v1/domains/c.example/admins/carl@a.example",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        t.store
            .admin_domains(&addr("carl@a.example"))
            .await
            .unwrap()
            .len(),
        1
    );
    let r = t
        .call(
            &op,
            "DELETE",
            "/api/v1/domains/c.example/admins/carl@a.example",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Disabling an account ends its sessions.
    let r = t
        .call(
            &admin,
            "PATCH",
            "/api/v1/users/ann@a.example",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.get(&ann, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn filters_at_every_scope() {
    let t = setup().await;
    let admin = t.login("admin@a.example").await;
    let ann = t.login("ann@a.example").await;
    let op = t.login("op@a.example").await;
    let r = t
        .call(
            &ann,
            "POST",
            "/api/v1/users/ann@a.example/filters",
            Some(json!({"kind": "block", "pattern": "pest@spam.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let ann_entry = r.json()["id"].as_i64().unwrap();
    let r = t
        .call(
            &ann,
            "POST",
            "/api/v1/users/ann@a.example/filters",
            Some(json!({"kind": "maybe", "pattern": "x.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t
        .call(
            &admin,
            "POST",
            "/api/v1/domains/a.example/filters",
            Some(json!({"kind": "block", "pattern": "bad.example"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let own = t
        .get(&admin, "/api/v1/domains/a.example/filters")
        .await
        .json();
    assert_eq!(own.as_array().unwrap().len(), 1);
    let all = t
        .get(
            &admin,
            "/api/v1/domains/a.example/filters?include_users=true&search=spam",
        )
        .await
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["owner"], "ann@a.example");
    // The admin removes the user's entry (the FAQ's workflow).
    let r = t
        .call(
            &admin,
            "DELETE",
            &format!("/api/v1/domains/a.example/filters/{ann_entry}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        t.get(&ann, "/api/v1/users/ann@a.example/filters")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    // System list: operator only.
    assert_eq!(
        t.call(
            &admin,
            "POST",
            "/api/v1/filters/system",
            Some(json!({"kind": "block", "pattern": "*.xyz"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = t
        .call(
            &op,
            "POST",
            "/api/v1/filters/system",
            Some(json!({"kind": "block", "pattern": "*.xyz"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        t.get(&op, "/api/v1/filters/system")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        t.call(&op, "DELETE", &format!("/api/v1/filters/system/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn logs_and_track_deliveries() {
    use hermod_model::{DeliveryStatus, IncomingLogEntry, LogStatus};
    let t = setup().await;
    let entry = |rcpt: &str, domain: &str| IncomingLogEntry {
        id: 0,
        at: hermod_store::now_ms(),
        client_ip: "192.0.2.1".into(),
        helo: "mx.remote.example".into(),
        sender: "someone@remote.example".into(),
        recipient: rcpt.into(),
        domain: domain.into(),
        subject: Some("hello".into()),
        status: LogStatus::Accepted,
        reply: "250 ok".into(),
    };
    t.store
        .log_incoming(&[
            entry("ann@a.example", "a.example"),
            entry("joann@a.example", "a.example"),
            entry("bob@b.example", "b.example"),
        ])
        .await
        .unwrap();
    let admin = t.login("admin@a.example").await;
    let ann = t.login("ann@a.example").await;
    let op = t.login("op@a.example").await;
    assert_eq!(
        t.get(&admin, "/api/v1/logs/incoming")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        t.get(&admin, "/api/v1/logs/incoming?status=Rejected")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        t.get(&admin, "/api/v1/logs/incoming?status=bogus")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.get(&op, "/api/v1/logs/incoming")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let mine = t.get(&ann, "/api/v1/logs/incoming").await.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["recipient"], "ann@a.example");

    t.store
        .record_outgoing(&hermod_store::NewOutgoing {
            account: addr("ann@a.example"),
            sender: "ann@a.example".into(),
            subject: Some("report".into()),
            size: 100,
            counted: 1,
            recipients: vec![("x@remote.example".into(), DeliveryStatus::Queued, None)],
        })
        .await
        .unwrap();
    let d = t
        .get(&ann, "/api/v1/users/ann@a.example/deliveries")
        .await
        .json();
    assert_eq!(d["sent_24h"], 1);
    assert_eq!(d["daily_limit"], 300);
    assert_eq!(d["messages"][0]["recipients"][0]["status"], "queued");
    let d = t
        .get(&admin, "/api/v1/domains/a.example/deliveries")
        .await
        .json();
    assert_eq!(d["messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        t.get(&admin, "/api/v1/users/ann@a.example").await.json()["sent_24h"],
        1
    );
}

#[tokio::test]
async fn rules_crud_enable_and_move() {
    let t = setup().await;
    let ann = t.login("ann@a.example").await;
    let base = "/api/v1/rules/ann@a.example";
    let r = t
        .call(&ann, "POST", base, Some(json!({"name": "forward all"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("underscores or hyphens")
    );
    let r = t
        .call(&ann, "POST", base, Some(json!({"name": "forward_all"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["enabled"], false);
    assert_eq!(
        t.call(&ann, "POST", base, Some(json!({"name": "forward_all"})))
            .await
            .status,
        StatusCode::CONFLICT
    );
    // An empty rule cannot run.
    let r = t
        .call(&ann, "POST", &format!("{base}/forward_all/enable"), None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"].as_str().unwrap().contains("condition"));
    let body = json!({
        "name": "forward_all",
        "conditions": [{"field": "to", "op": "contains", "term": "ann@a.example"}],
        "actions": [{"action": "forward", "to": "ann@elsewhere.example", "keep_copy": false}, {"action": "delete"}],
        "enabled": true
    });
    let r = t
        .call(&ann, "PUT", &format!("{base}/forward_all"), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["enabled"], true);
    let r = t.call(&ann, "PUT", &format!("{base}/forward_all"), Some(json!({"name": "forward_all", "conditions": [{"field": "subject", "op": "bogus", "term": "x"}]}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("condition 1"),
        "{}",
        r.text
    );
    assert_eq!(
        t.call(&ann, "POST", &format!("{base}/forward_all/disable"), None)
            .await
            .json()["enabled"],
        false
    );
    assert_eq!(
        t.call(&ann, "POST", &format!("{base}/forward_all/enable"), None)
            .await
            .json()["enabled"],
        true
    );
    t.call(&ann, "POST", base, Some(json!({"name": "second"})))
        .await;
    let r = t
        .call(
            &ann,
            "POST",
            &format!("{base}/second/move"),
            Some(json!({"position": 1})),
        )
        .await;
    assert_eq!(r.json()[0]["name"], "second");
    assert_eq!(t.get(&ann, base).await.json().as_array().unwrap().len(), 2);
    assert_eq!(
        t.get(&ann, &format!("{base}/forward_all")).await.json()["actions"][1]["action"],
        "delete"
    );
    assert_eq!(
        t.call(&ann, "DELETE", &format!("{base}/second"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&ann, &format!("{base}/second")).await.status,
        StatusCode::NOT_FOUND
    );
    // Bad JSON gets a JSON error.
    let r = t
        .send(
            Request::post(base)
                .header(header::COOKIE, &ann.cookie)
                .header("x-csrf-token", &ann.csrf)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("JSON"));
    // A domain admin manages the domain's rules.
    let admin = t.login("admin@a.example").await;
    let r = t
        .call(
            &admin,
            "POST",
            "/api/v1/rules/a.example",
            Some(json!({"name": "domain_rule"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        t.get(&admin, "/api/v1/rules/ann@a.example")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
