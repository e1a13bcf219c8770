//! The HTML screens: the FAQ's Forward-and-Delete guide, escaping, assets.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use hermod_model::rules::Action;
use hermod_store::RuleOwner;

async fn page(t: &TestApp, c: &Client, path: &str) -> String {
    let r = t.get(c, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.text
}

#[tokio::test]
async fn login_form_then_the_faq_forward_and_delete_guide() {
    let t = setup().await;
    // Log in to the User Panel with the full e-mail address and password.
    let r = t
        .send(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "login=ann%40a.example&password={PASSWORD}"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me = t
        .get(
            &Client {
                cookie: cookie.clone(),
                csrf: String::new(),
            },
            "/api/v1/me",
        )
        .await
        .json();
    let ann = Client {
        cookie,
        csrf: me["csrf_token"].as_str().unwrap().to_string(),
    };
    // The dashboard has the Delivery Rules icon.
    let dash = page(&t, &ann, "/panel").await;
    for label in [
        "Delivery Rules",
        "Filtering",
        "Track Deliveries",
        "Password",
    ] {
        assert!(dash.contains(label), "{label}");
    }
    // New Rule → name → Add Rule.
    let rules = page(&t, &ann, "/panel/rules").await;
    assert!(rules.contains("New Rule") && rules.contains("Add Rule"));
    let r = t
        .form(&ann, "/panel/rules", &[("name", "forward and delete")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text.contains("underscores or hyphens"));
    let r = t
        .form(&ann, "/panel/rules", &[("name", "forward_and_delete")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The pencil icon next to the new rule opens the editor.
    let rules = page(&t, &ann, "/panel/rules?flash=added").await;
    assert!(rules.contains("href=\"/panel/rules/forward_and_delete\""));
    assert!(rules.contains("aria-label=\"Edit rule forward_and_delete\""));
    assert!(rules.contains("DISABLED"));
    let editor = page(&t, &ann, "/panel/rules/forward_and_delete").await;
    for text in [
        "New 'AND' Condition",
        "Match Field",
        "Condition",
        "Term",
        "Add Condition",
        "Deliver to E-mail",
        "Delete",
        "DISABLED",
        "ENABLED",
        "Save Rule",
    ] {
        assert!(editor.contains(text), "editor lacks {text}");
    }
    // New 'AND' Condition: To contains my address → Add Condition (as htmx does it).
    let r = t
        .send(
            Request::post("/panel/rules/forward_and_delete/conditions")
                .header(header::COOKIE, &ann.cookie)
                .header("x-csrf-token", &ann.csrf)
                .header("hx-request", "true")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("field=to&op=contains&term=ann%40a.example"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.starts_with("<section id=\"rule-parts\""),
        "{}",
        r.text
    );
    assert!(r.text.contains("To contains"));
    // Deliver to E-mail, then Delete (plain form posts).
    let r = t
        .form(
            &ann,
            "/panel/rules/forward_and_delete/actions",
            &[("action", "forward"), ("to", "ann@elsewhere.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = t
        .form(
            &ann,
            "/panel/rules/forward_and_delete/actions",
            &[("action", "delete")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // A bad forward address is refused with the reason.
    let r = t
        .form(
            &ann,
            "/panel/rules/forward_and_delete/actions",
            &[("action", "forward"), ("to", "not an address")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Still disabled until Save Rule with the toggle at ENABLED.
    let owner = RuleOwner::User(addr("ann@a.example"));
    assert!(
        !t.store
            .get_rule(&owner, "forward_and_delete")
            .await
            .unwrap()
            .enabled
    );
    let r = t
        .form(
            &ann,
            "/panel/rules/forward_and_delete",
            &[("enabled", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let rule = t
        .store
        .get_rule(&owner, "forward_and_delete")
        .await
        .unwrap();
    assert!(rule.enabled);
    assert_eq!(rule.conditions[0].field, "to");
    assert_eq!(rule.conditions[0].term, "ann@a.example");
    assert_eq!(
        rule.actions,
        vec![
            Action::Forward {
                to: "ann@elsewhere.example".into(),
                keep_copy: false
            },
            Action::Delete
        ]
    );
    assert!(page(&t, &ann, "/panel/rules").await.contains("ENABLED"));
    // Another user cannot open it.
    let bob = t.login("bob@b.example").await;
    assert_eq!(
        t.get(&bob, "/panel/rules/forward_and_delete").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn user_data_is_escaped_everywhere() {
    let t = setup().await;
    let evil = "<script>alert(1)</script>";
    t.store
        .update_account(
            &addr("ann@a.example"),
            &hermod_store::AccountUpdate {
                display_name: Some(evil.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    t.store
        .record_outgoing(&hermod_store::NewOutgoing {
            account: addr("ann@a.example"),
            sender: "ann@a.example".into(),
            subject: Some(evil.into()),
            size: 1,
            counted: 1,
            recipients: vec![(
                "x@remote.example".into(),
                hermod_model::DeliveryStatus::Bounced,
                Some(evil.into()),
            )],
        })
        .await
        .unwrap();
    let admin = t.login("admin@a.example").await;
    let users = page(&t, &admin, "/admin/users").await;
    assert!(
        users.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "not escaped"
    );
    let edit = page(&t, &admin, "/admin/users/ann@a.example").await;
    let ann = t.login("ann@a.example").await;
    let track = page(&t, &ann, "/panel/deliveries").await;
    for html in [&users, &edit, &track] {
        assert!(!html.contains(evil), "raw script in a page");
    }
    assert!(track.contains("&#60;script&#62;"));
    // A rule condition term with markup is escaped in the editor too.
    t.form(&ann, "/panel/rules", &[("name", "r")]).await;
    t.form(
        &ann,
        "/panel/rules/r/conditions",
        &[("field", "subject"), ("op", "contains"), ("term", evil)],
    )
    .await;
    let editor = page(&t, &ann, "/panel/rules/r").await;
    assert!(!editor.contains(evil) && editor.contains("&#60;script&#62;"));
}

#[tokio::test]
async fn admin_screens_and_roles() {
    let t = setup().await;
    let admin = t.login("admin@a.example").await;
    let domains = page(&t, &admin, "/admin/domains").await;
    assert!(domains.contains("a.example") && !domains.contains("b.example"));
    let edit = page(&t, &admin, "/admin/domains/a.example").await;
    assert!(edit.contains("Local Delivery") && edit.contains("switch Local Delivery back to"));
    assert_eq!(
        t.get(&admin, "/admin/domains/b.example").await.status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .form(
            &admin,
            "/admin/domains/a.example",
            &[
                ("local_delivery", "no"),
                ("filter_mode", "everyone"),
                ("default_plan", "basic"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(
        !t.store
            .get_domain(&dom("a.example"))
            .await
            .unwrap()
            .local_delivery
    );
    // Users: create, edit, Permissions → Send email as.
    let r = t
        .form(
            &admin,
            "/admin/users",
            &[
                ("address", "dan@a.example"),
                ("display_name", "Dan"),
                ("password", "dan-password-1"),
                ("plan", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = t
        .form(
            &admin,
            "/admin/users/dan@a.example/send-as",
            &[("sender", "ceo@a.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(
        page(&t, &admin, "/admin/users/dan@a.example")
            .await
            .contains("ceo@a.example")
    );
    assert_eq!(
        t.get(&admin, "/admin/users/bob@b.example").await.status,
        StatusCode::NOT_FOUND
    );
    // A user has no Admin Panel, and pages need a login.
    let ann = t.login("ann@a.example").await;
    assert_eq!(
        t.get(&ann, "/admin/domains").await.status,
        StatusCode::NOT_FOUND
    );
    let anon = Client {
        cookie: String::new(),
        csrf: String::new(),
    };
    let r = t.get(&anon, "/panel").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login");
    assert!(page(&t, &anon, "/login").await.contains("E-mail address"));
    // Assets are served from the binary.
    let js = t.get(&anon, "/assets/htmx.min.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.text.contains("htmx"));
    assert!(
        js.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    // The other User Panel screens render.
    page(&t, &ann, "/panel/filtering").await;
    page(&t, &ann, "/panel/password").await;
    let r = t
        .form(
            &ann,
            "/panel/filtering",
            &[("kind", "block"), ("pattern", "pest.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(
        page(&t, &ann, "/panel/filtering")
            .await
            .contains("pest.example")
    );
}
