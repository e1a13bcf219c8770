//! The OpenAPI 3.1 document of `/api/v1`, written by hand from one table. A test checks that
//! every routed (method, path) is in it.

use axum::Json;
use serde_json::{Value, json};

/// (method, path, summary, request body schema or "").
const OPERATIONS: &[(&str, &str, &str, &str)] = &[
    ("get", "/api/v1/openapi.json", "This document.", ""),
    (
        "post",
        "/api/v1/session",
        "Log in with the full e-mail address and password; sets the session cookie and returns the CSRF token.",
        "Login",
    ),
    ("delete", "/api/v1/session", "Log out.", ""),
    (
        "get",
        "/api/v1/me",
        "Who is logged in, their roles and the CSRF token.",
        "",
    ),
    (
        "get",
        "/api/v1/tokens",
        "Your API tokens (names and ids; never the secrets).",
        "",
    ),
    (
        "post",
        "/api/v1/tokens",
        "Create an API token for scripts (needs a password login, not a token); the response's token_secret is shown only once.",
        "NewToken",
    ),
    (
        "delete",
        "/api/v1/tokens/{id}",
        "Revoke one of your API tokens.",
        "",
    ),
    (
        "get",
        "/api/v1/plans",
        "Plans and their daily send limits.",
        "",
    ),
    (
        "put",
        "/api/v1/plans/{name}",
        "Operator: create a plan or change its daily limit.",
        "Plan",
    ),
    (
        "get",
        "/api/v1/domains",
        "Domains the caller administers (all for the operator).",
        "",
    ),
    (
        "post",
        "/api/v1/domains",
        "Operator: add a hosted domain.",
        "NewDomain",
    ),
    ("get", "/api/v1/domains/{domain}", "One domain.", ""),
    (
        "patch",
        "/api/v1/domains/{domain}",
        "Change Local Delivery, the default plan, the accept policy (filter_mode) or (operator) S/MIME.",
        "DomainPatch",
    ),
    (
        "put",
        "/api/v1/domains/{domain}/admins/{address}",
        "Make an account an administrator of the domain.",
        "",
    ),
    (
        "delete",
        "/api/v1/domains/{domain}/admins/{address}",
        "Remove an administrator of the domain.",
        "",
    ),
    (
        "get",
        "/api/v1/domains/{domain}/aliases",
        "The domain's aliases.",
        "",
    ),
    (
        "post",
        "/api/v1/domains/{domain}/aliases",
        "Add an alias target.",
        "NewAlias",
    ),
    (
        "delete",
        "/api/v1/domains/{domain}/aliases/{address}",
        "Remove an alias (or one target with ?target=).",
        "",
    ),
    (
        "get",
        "/api/v1/domains/{domain}/filters",
        "The domain's block/allow list (?kind, ?search, ?include_users=true for its users' lists).",
        "",
    ),
    (
        "post",
        "/api/v1/domains/{domain}/filters",
        "Add a block or allow entry for the domain.",
        "NewFilter",
    ),
    (
        "delete",
        "/api/v1/domains/{domain}/filters/{id}",
        "Remove an entry of the domain or of one of its users.",
        "",
    ),
    (
        "get",
        "/api/v1/domains/{domain}/deliveries",
        "Track Deliveries for the whole domain (last 24 hours).",
        "",
    ),
    (
        "get",
        "/api/v1/users",
        "Accounts the caller may see (?domain, ?search).",
        "",
    ),
    (
        "post",
        "/api/v1/users",
        "Create an account in a domain the caller administers.",
        "NewUser",
    ),
    (
        "get",
        "/api/v1/users/{address}",
        "One account with its daily limit and 24-hour send count.",
        "",
    ),
    (
        "patch",
        "/api/v1/users/{address}",
        "Change the name or accept policy (the user), plan, quota or enabled (admin), or the send limit override (operator).",
        "UserPatch",
    ),
    (
        "put",
        "/api/v1/users/{address}/password",
        "Change a password (one's own needs current_password).",
        "Password",
    ),
    (
        "get",
        "/api/v1/users/{address}/send-as",
        "Addresses the account may send as (Permissions → Send email as).",
        "",
    ),
    (
        "post",
        "/api/v1/users/{address}/send-as",
        "Allow the account to send as an address.",
        "SendAs",
    ),
    (
        "delete",
        "/api/v1/users/{address}/send-as/{sender}",
        "Withdraw a Send email as permission.",
        "",
    ),
    (
        "get",
        "/api/v1/users/{address}/filters",
        "The user's block/allow list.",
        "",
    ),
    (
        "post",
        "/api/v1/users/{address}/filters",
        "Add a block or allow entry for the user.",
        "NewFilter",
    ),
    (
        "delete",
        "/api/v1/users/{address}/filters/{id}",
        "Remove an entry of the user's list.",
        "",
    ),
    (
        "get",
        "/api/v1/users/{address}/deliveries",
        "Track Deliveries: messages of the last 24 hours, each recipient's status, the count against the daily limit.",
        "",
    ),
    (
        "get",
        "/api/v1/filters/system",
        "Operator: the system block/allow list.",
        "",
    ),
    (
        "post",
        "/api/v1/filters/system",
        "Operator: add a system entry (e.g. block *.xyz).",
        "NewFilter",
    ),
    (
        "delete",
        "/api/v1/filters/system/{id}",
        "Operator: remove a system entry.",
        "",
    ),
    (
        "get",
        "/api/v1/logs/incoming",
        "Incoming Logs (?domain, ?sender, ?recipient, ?status, ?since, ?until, ?limit).",
        "",
    ),
    (
        "get",
        "/api/v1/rules/{owner}",
        "Delivery rules of a user (address) or a domain, in run order.",
        "",
    ),
    (
        "post",
        "/api/v1/rules/{owner}",
        "Create a rule; it starts disabled and runs last.",
        "Rule",
    ),
    ("get", "/api/v1/rules/{owner}/{name}", "One rule.", ""),
    (
        "put",
        "/api/v1/rules/{owner}/{name}",
        "Replace a rule's name, conditions and actions, and optionally enable or disable it (Save Rule).",
        "Rule",
    ),
    (
        "delete",
        "/api/v1/rules/{owner}/{name}",
        "Remove a rule.",
        "",
    ),
    (
        "post",
        "/api/v1/rules/{owner}/{name}/enable",
        "Enable a rule (it must have a condition and an action).",
        "",
    ),
    (
        "post",
        "/api/v1/rules/{owner}/{name}/disable",
        "Disable a rule.",
        "",
    ),
    (
        "post",
        "/api/v1/rules/{owner}/{name}/move",
        "Move a rule to a position (1 runs first).",
        "Move",
    ),
];

fn schemas() -> Value {
    let s = |props: Value, required: &[&str]| json!({"type": "object", "properties": props, "required": required});
    json!({
        "Error": s(json!({"error": {"type": "string", "description": "What is wrong and what to do."}}), &["error"]),
        "Login": s(json!({"login": {"type": "string", "format": "email"}, "password": {"type": "string"}}), &["login", "password"]),
        "Plan": s(json!({"daily_limit": {"type": "integer", "minimum": 0}}), &["daily_limit"]),
        "NewDomain": s(json!({"name": {"type": "string"}, "local_delivery": {"type": "boolean", "default": true}, "default_plan": {"type": "string"}}), &["name"]),
        "DomainPatch": s(json!({"local_delivery": {"type": "boolean"}, "default_plan": {"type": "string"}, "filter_mode": {"enum": ["everyone", "whitelist_only"]}, "smime_allowed": {"type": "boolean"}}), &[]),
        "NewAlias": s(json!({"address": {"type": "string", "format": "email"}, "target": {"type": "string", "format": "email"}}), &["address", "target"]),
        "NewFilter": s(json!({"kind": {"enum": ["block", "allow"]}, "pattern": {"type": "string", "description": "An address, a domain or *.suffix."}}), &["kind", "pattern"]),
        "NewUser": s(json!({"address": {"type": "string", "format": "email"}, "display_name": {"type": "string"}, "password": {"type": "string"}, "plan": {"type": "string"}, "quota_bytes": {"type": "integer"}}), &["address", "password"]),
        "UserPatch": s(json!({"display_name": {"type": "string"}, "plan": {"type": "string"}, "send_limit_override": {"type": ["integer", "null"]}, "quota_bytes": {"type": "integer"}, "enabled": {"type": "boolean"}, "filter_mode": {"enum": ["everyone", "whitelist_only"]}}), &[]),
        "Password": s(json!({"password": {"type": "string"}, "current_password": {"type": "string"}}), &["password"]),
        "SendAs": s(json!({"address": {"type": "string", "format": "email"}}), &["address"]),
        "Condition": s(json!({"field": {"type": "string", "description": "from, to, cc, to-or-cc, subject, body, list-id, size, has-attachment or a header name"}, "op": {"type": "string", "description": "contains, not-contains, is, is-not, begins-with, ends-with, matches, greater-than, less-than"}, "term": {"type": "string"}}), &["field", "op", "term"]),
        "Action": {"type": "object", "required": ["action"], "properties": {"action": {"enum": ["folder", "forward", "delete", "mark_read", "flag", "auto_reply", "stop"]}, "folder": {"type": "string"}, "to": {"type": "string"}, "keep_copy": {"type": "boolean"}, "subject": {"type": "string"}, "body": {"type": "string"}, "start": {"type": ["integer", "null"]}, "end": {"type": ["integer", "null"]}, "interval_days": {"type": "integer"}}},
        "Rule": s(json!({"name": {"type": "string", "pattern": "^[\\w-]{1,64}$"}, "match_mode": {"enum": ["all", "any"]}, "conditions": {"type": "array", "items": {"$ref": "#/components/schemas/Condition"}}, "actions": {"type": "array", "items": {"$ref": "#/components/schemas/Action"}}, "enabled": {"type": "boolean"}}), &["name"]),
        "NewToken": s(json!({"name": {"type": "string", "maxLength": 64, "description": "What the token is for."}}), &["name"]),
        "Move": s(json!({"position": {"type": "integer", "minimum": 1}}), &["position"]),
    })
}

/// The document, built once per request (it is small).
pub fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, body) in OPERATIONS {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": "Success (201 when created, 204 when nothing is returned)."},
                "default": {"description": "An error.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if *method != "get" && *path != "/api/v1/session" {
            op["description"] = json!(
                "With a session cookie, needs the session's CSRF token in the X-CSRF-Token header (not with a Bearer token)."
            );
        }
        if !body.is_empty() {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Hermod API", "version": "1", "description": "The REST API behind Hermod's Admin Panel and User Panel. Log in with POST /api/v1/session; the session cookie authenticates later requests, and every POST, PUT, PATCH and DELETE needs the CSRF token it returns. Errors are {\"error\": \"...\"}. Scripts can instead send Authorization: Bearer with a token from POST /api/v1/tokens (no CSRF token needed then); only the token's SHA-256 is kept, and tokens currently last until the server restarts."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::session::COOKIE},
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token from POST /api/v1/tokens."}
            }
        },
        "security": [{"session": []}, {"bearer": []}]
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
