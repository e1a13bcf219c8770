//! Delivery rules of a user (`/api/v1/rules/ann@example.com`) or of a domain
//! (`/api/v1/rules/example.com`): list, create (disabled, at the end), read, replace, enable,
//! disable, move, remove.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hermod_model::rules::{Action, Condition, MatchMode, Rule, check_rule_name};
use hermod_store::{NewRule, RuleOwner};
use serde::Deserialize;

use super::ApiJson;
use crate::WebState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Whose rules, if the caller may see them (404 otherwise).
pub async fn owner(p: &Principal, state: &WebState, owner: &str) -> ApiResult<RuleOwner> {
    match RuleOwner::parse(owner) {
        Ok(RuleOwner::User(_)) => Ok(RuleOwner::User(p.user(state, owner).await?.address)),
        Ok(RuleOwner::Domain(_)) => Ok(RuleOwner::Domain(p.domain(state, owner).await?.name)),
        Err(_) => Err(ApiError::not_found("user or domain", owner)),
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// Checks a rule that is still being built: its name, and each condition and action given
/// so far. An empty list is allowed until the rule is enabled.
pub fn check_draft(rule: &NewRule) -> ApiResult<()> {
    check_rule_name(&rule.name).map_err(invalid)?;
    for (i, c) in rule.conditions.iter().enumerate() {
        let probe = Rule {
            id: 0,
            owner: String::new(),
            name: rule.name.clone(),
            enabled: false,
            position: 0,
            match_mode: MatchMode::All,
            conditions: vec![c.clone()],
            actions: vec![Action::Stop],
        };
        hermod_rules::validate(&probe).map_err(|e| {
            invalid(format!(
                "condition {}: {}",
                i + 1,
                e.strip_prefix("condition 1: ").unwrap_or(&e)
            ))
        })?;
    }
    if !rule.actions.is_empty() {
        let probe = Rule {
            id: 0,
            owner: String::new(),
            name: rule.name.clone(),
            enabled: false,
            position: 0,
            match_mode: MatchMode::All,
            conditions: vec![Condition {
                field: "subject".into(),
                op: "contains".into(),
                term: "x".into(),
            }],
            actions: rule.actions.clone(),
        };
        hermod_rules::validate(&probe).map_err(invalid)?;
    }
    Ok(())
}

/// Checks a rule that is to run.
pub fn check_complete(rule: &Rule) -> ApiResult<()> {
    hermod_rules::validate(rule)
        .map_err(|e| invalid(format!("rule {} cannot be enabled yet: {e}", rule.name)))
}

fn new_rule_of(rule: &Rule) -> NewRule {
    NewRule {
        name: rule.name.clone(),
        match_mode: rule.match_mode.clone(),
        conditions: rule.conditions.clone(),
        actions: rule.actions.clone(),
    }
}

pub async fn list(
    p: Principal,
    State(state): State<WebState>,
    Path(owner_s): Path<String>,
) -> ApiResult<Json<Vec<Rule>>> {
    let owner = owner(&p, &state, &owner_s).await?;
    Ok(Json(state.store.list_rules(&owner).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: String,
    #[serde(default = "all")]
    pub match_mode: MatchMode,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Replace only: enable or disable in the same request (the panel's Save Rule).
    pub enabled: Option<bool>,
}

fn all() -> MatchMode {
    MatchMode::All
}

pub async fn create(
    p: Principal,
    State(state): State<WebState>,
    Path(owner_s): Path<String>,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    let owner = owner(&p, &state, &owner_s).await?;
    if body.enabled == Some(true) {
        return Err(ApiError::bad_request(
            "new rules start disabled; create the rule, then POST .../enable",
        ));
    }
    let new = NewRule {
        name: body.name,
        match_mode: body.match_mode,
        conditions: body.conditions,
        actions: body.actions,
    };
    check_draft(&new)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.add_rule(&owner, new).await?),
    ))
}

pub async fn get_one(
    p: Principal,
    State(state): State<WebState>,
    Path((owner_s, name)): Path<(String, String)>,
) -> ApiResult<Json<Rule>> {
    let owner = owner(&p, &state, &owner_s).await?;
    Ok(Json(state.store.get_rule(&owner, &name).await?))
}

/// Saves a rule's new content and, when asked, its state: enabling checks the whole rule.
pub async fn save(
    state: &WebState,
    owner: &RuleOwner,
    name: &str,
    new: NewRule,
    enabled: Option<bool>,
) -> ApiResult<Rule> {
    let current = state.store.get_rule(owner, name).await?;
    check_draft(&new)?;
    let will_run = enabled.unwrap_or(current.enabled);
    if will_run {
        let candidate = Rule {
            name: new.name.clone(),
            match_mode: new.match_mode.clone(),
            conditions: new.conditions.clone(),
            actions: new.actions.clone(),
            ..current.clone()
        };
        check_complete(&candidate)?;
    }
    let saved = state.store.update_rule(owner, name, &new).await?;
    if let Some(on) = enabled
        && on != saved.enabled
    {
        state.store.set_rule_enabled(owner, &saved.name, on).await?;
        return Ok(state.store.get_rule(owner, &saved.name).await?);
    }
    Ok(saved)
}

pub async fn replace(
    p: Principal,
    State(state): State<WebState>,
    Path((owner_s, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<Json<Rule>> {
    let owner = owner(&p, &state, &owner_s).await?;
    let new = NewRule {
        name: body.name,
        match_mode: body.match_mode,
        conditions: body.conditions,
        actions: body.actions,
    };
    Ok(Json(save(&state, &owner, &name, new, body.enabled).await?))
}

pub async fn set_enabled(
    state: &WebState,
    owner: &RuleOwner,
    name: &str,
    on: bool,
) -> ApiResult<Rule> {
    let rule = state.store.get_rule(owner, name).await?;
    save(state, owner, name, new_rule_of(&rule), Some(on)).await
}

pub async fn enable(
    p: Principal,
    State(state): State<WebState>,
    Path((owner_s, name)): Path<(String, String)>,
) -> ApiResult<Json<Rule>> {
    let owner = owner(&p, &state, &owner_s).await?;
    Ok(Json(set_enabled(&state, &owner, &name, true).await?))
}

pub async fn disable(
    p: Principal,
    State(state): State<WebState>,
    Path((owner_s, name)): Path<(String, String)>,
) -> ApiResult<Json<Rule>> {
    let owner = owner(&p, &state, &owner_s).await?;
    Ok(Json(set_enabled(&state, &owner, &name, false).await?))
}

#[derive(Deserialize)]
pub struct MoveBody {
    /// 1 runs first.
    pub position: usize,
}

pub async fn move_to(
    p: Principal,
    State(state): State<WebState>,
    Path((owner_s, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<MoveBody>,
) -> ApiResult<Json<Vec<Rule>>> {
    let owner = owner(&p, &state, &owner_s).await?;
    state.store.move_rule(&owner, &name, body.position).await?;
    Ok(Json(state.store.list_rules(&owner).await?))
}

pub async fn remove(
    p: Principal,
    State(state): State<WebState>,
    Path((owner_s, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let owner = owner(&p, &state, &owner_s).await?;
    state.store.remove_rule(&owner, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
