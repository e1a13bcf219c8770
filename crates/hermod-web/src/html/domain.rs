//! The Admin Panel's per-domain screens: Filtering (the domain's blacklist and whitelist, with
//! the FAQ's "Include Users Blacklist" search over every user's list of the domain, and the
//! domain's accept policy) and Aliases.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use hermod_model::{Alias, Domain, FilterScope};
use hermod_store::DomainUpdate;
use serde::Deserialize;

use super::rules::urlencode;
use super::{Page, flash_message, render_status, see_other};
use crate::WebState;
use crate::api::domains::parse_filter_mode;
use crate::api::filters::{ListQuery, add_entry, entries};
use crate::api::parse_address;
use crate::auth::{PageUser, Principal};
use crate::error::ApiError;

pub fn router() -> Router<WebState> {
    Router::new()
        .route("/admin/filtering", get(filtering_start))
        .route(
            "/admin/domains/{domain}/filtering",
            get(filtering).post(filter_add),
        )
        .route(
            "/admin/domains/{domain}/filtering/{id}/remove",
            post(filter_remove),
        )
        .route("/admin/domains/{domain}/filtering/mode", post(mode_save))
        .route("/admin/aliases", get(aliases_start))
        .route(
            "/admin/domains/{domain}/aliases",
            get(aliases).post(alias_add),
        )
        .route("/admin/domains/{domain}/aliases/remove", post(alias_remove))
        .route("/admin/deliveries", get(deliveries_start))
        .route("/admin/domains/{domain}/deliveries", get(deliveries))
}

async fn deliveries_start(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<StartQuery>,
) -> Response {
    start(&p, &state, q, "deliveries").await
}

#[derive(Template)]
#[template(path = "admin_deliveries.html")]
struct DeliveriesTpl {
    page: Page,
    domain: String,
    domains: Vec<String>,
    sent: u64,
    messages: Vec<hermod_model::OutgoingMessage>,
}

/// Admin Panel → Track Deliveries: what the domain's users sent in the last 24 hours, each
/// recipient with its status.
async fn deliveries(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(domain): Path<String>,
) -> Response {
    let d = match p.domain(&state, &domain).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let messages = match state
        .store
        .list_outgoing(None, Some(&d.name), hermod_store::day_window_start(), 1000)
        .await
    {
        Ok(m) => m,
        Err(e) => return super::error_page(e.into()),
    };
    let domains = match my_domains(&p, &state).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    crate::html::render(&DeliveriesTpl {
        page: Page::new(&p, "Track Deliveries"),
        domain: d.name.to_string(),
        domains,
        sent: messages.iter().map(|m| u64::from(m.counted)).sum(),
        messages,
    })
}

#[derive(Deserialize, Default)]
struct StartQuery {
    domain: Option<String>,
}

/// The domains this caller administers, by name.
async fn my_domains(p: &Principal, state: &WebState) -> Result<Vec<String>, ApiError> {
    let mut names: Vec<String> = state
        .store
        .list_domains()
        .await?
        .into_iter()
        .filter(|d| p.can_admin(&d.name))
        .map(|d| d.name.to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// Admin Panel → Filtering (or Aliases): the chosen domain's screen, else the first one's.
async fn start(p: &Principal, state: &WebState, q: StartQuery, screen: &str) -> Response {
    if !p.is_admin() {
        return super::error_page(ApiError::not_found("page", format!("/admin/{screen}")));
    }
    let chosen = match q.domain.filter(|d| !d.is_empty()) {
        Some(d) => d,
        None => match my_domains(p, state).await {
            Ok(names) => match names.into_iter().next() {
                Some(first) => first,
                None => {
                    return super::error_page(ApiError::not_found("domain", "(none administered)"));
                }
            },
            Err(e) => return super::error_page(e),
        },
    };
    see_other(&format!("/admin/domains/{}/{screen}", urlencode(&chosen)))
}

async fn filtering_start(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<StartQuery>,
) -> Response {
    start(&p, &state, q, "filtering").await
}

async fn aliases_start(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Query(q): Query<StartQuery>,
) -> Response {
    start(&p, &state, q, "aliases").await
}

pub struct EntryRow {
    pub id: i64,
    pub list: &'static str,
    /// "Domain" or the user's address.
    pub owner: String,
    pub pattern: String,
}

#[derive(Template)]
#[template(path = "admin_filtering.html")]
struct FilteringTpl {
    page: Page,
    domain: Domain,
    domains: Vec<String>,
    search: String,
    include_users: bool,
    kind: String,
    entries: Vec<EntryRow>,
}

#[derive(Deserialize, Default)]
struct FilterView {
    flash: Option<String>,
    #[serde(default)]
    search: String,
    include_users: Option<String>,
    #[serde(default)]
    kind: String,
}

impl FilterView {
    /// The query string that shows this view again.
    fn back(&self) -> String {
        let mut q = vec![
            ("search", self.search.as_str()),
            ("kind", self.kind.as_str()),
        ];
        if self.include_users.is_some() {
            q.push(("include_users", "on"));
        }
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
}

async fn filtering_page(
    p: &Principal,
    state: &WebState,
    name: &str,
    view: FilterView,
    error: Option<String>,
) -> Response {
    let domain = match p.domain(state, name).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let query = ListQuery {
        kind: Some(view.kind.clone()),
        search: Some(view.search.clone()),
        include_users: view.include_users.is_some(),
    };
    let (list, error) = match entries(state, FilterScope::Domain(domain.name.clone()), &query).await
    {
        Ok(l) => (l, error),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let domains = match my_domains(p, state).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &FilteringTpl {
            page: Page::new(p, &format!("Filtering of {}", domain.name))
                .flash(flash_message(view.flash.as_deref()))
                .error(error),
            domain,
            domains,
            include_users: view.include_users.is_some(),
            entries: list
                .into_iter()
                .map(|e| EntryRow {
                    id: e.id,
                    list: if e.kind.as_str() == "block" {
                        "Blacklist"
                    } else {
                        "Whitelist"
                    },
                    owner: match &e.scope {
                        FilterScope::User(u) => u.to_string(),
                        _ => "Domain".into(),
                    },
                    pattern: e.pattern.to_string(),
                })
                .collect(),
            search: view.search,
            kind: view.kind,
        },
    )
}

async fn filtering(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Query(view): Query<FilterView>,
) -> Response {
    filtering_page(&p, &state, &name, view, None).await
}

#[derive(Deserialize)]
struct FilterForm {
    kind: String,
    pattern: String,
}

async fn filter_add(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<FilterForm>,
) -> Response {
    let domain = match p.domain(&state, &name).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let scope = FilterScope::Domain(domain.name.clone());
    match add_entry(&state, &scope, &f.kind, &f.pattern).await {
        Ok(_) => see_other(&format!(
            "/admin/domains/{}/filtering?flash=filter-added",
            urlencode(domain.name.as_str())
        )),
        Err(e) => filtering_page(&p, &state, &name, FilterView::default(), Some(e.message)).await,
    }
}

/// The minus sign: removes an entry of the domain or of one of its users, then shows the
/// same search again.
async fn filter_remove(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path((name, id)): Path<(String, i64)>,
    Form(view): Form<FilterView>,
) -> Response {
    let domain = match p.domain(&state, &name).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    match state
        .store
        .remove_filter(id, Some(&FilterScope::Domain(domain.name.clone())))
        .await
    {
        Ok(_) => see_other(&format!(
            "/admin/domains/{}/filtering?flash=removed&{}",
            urlencode(domain.name.as_str()),
            view.back()
        )),
        Err(e) => super::error_page(e.into()),
    }
}

#[derive(Deserialize)]
struct ModeForm {
    filter_mode: String,
}

/// Accept e-mails from: Everyone, or whitelist and address book only.
async fn mode_save(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<ModeForm>,
) -> Response {
    let result = async {
        let domain = p.domain(&state, &name).await?;
        let update = DomainUpdate {
            filter_mode: Some(parse_filter_mode(&f.filter_mode)?),
            ..Default::default()
        };
        state.store.update_domain(&domain.name, &update).await?;
        Ok::<_, ApiError>(domain)
    }
    .await;
    match result {
        Ok(d) => see_other(&format!(
            "/admin/domains/{}/filtering?flash=policy-saved",
            urlencode(d.name.as_str())
        )),
        Err(e) if e.status == StatusCode::NOT_FOUND => super::error_page(e),
        Err(e) => filtering_page(&p, &state, &name, FilterView::default(), Some(e.message)).await,
    }
}

#[derive(Template)]
#[template(path = "admin_aliases.html")]
struct AliasesTpl {
    page: Page,
    domain: Domain,
    domains: Vec<String>,
    aliases: Vec<Alias>,
}

async fn aliases_page(
    p: &Principal,
    state: &WebState,
    name: &str,
    flash: Option<&'static str>,
    error: Option<String>,
) -> Response {
    let domain = match p.domain(state, name).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let aliases = match state.store.list_aliases(Some(&domain.name)).await {
        Ok(a) => a,
        Err(e) => return super::error_page(e.into()),
    };
    let domains = match my_domains(p, state).await {
        Ok(d) => d,
        Err(e) => return super::error_page(e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &AliasesTpl {
            page: Page::new(p, &format!("Aliases of {}", domain.name))
                .flash(flash)
                .error(error),
            domain,
            domains,
            aliases,
        },
    )
}

#[derive(Deserialize, Default)]
struct FlashOnly {
    flash: Option<String>,
}

async fn aliases(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Query(q): Query<FlashOnly>,
) -> Response {
    aliases_page(&p, &state, &name, flash_message(q.flash.as_deref()), None).await
}

#[derive(Deserialize)]
struct AliasForm {
    address: String,
    target: String,
}

async fn alias_change(
    p: &Principal,
    state: &WebState,
    name: &str,
    f: AliasForm,
    add: bool,
) -> Response {
    let result = async {
        let domain = p.domain(state, name).await?;
        let address = parse_address("address", &f.address)?;
        if address.domain() != &domain.name {
            return Err(ApiError::bad_request(format!(
                "address: {address} is not in {}; an alias must be an address of this domain",
                domain.name
            )));
        }
        let target = parse_address("target", &f.target)?;
        if add {
            state.store.add_alias(&address, &target).await?;
        } else {
            state.store.remove_alias(&address, Some(&target)).await?;
        }
        Ok(domain)
    }
    .await;
    match result {
        Ok(d) => see_other(&format!(
            "/admin/domains/{}/aliases?flash={}",
            urlencode(d.name.as_str()),
            if add { "alias-added" } else { "removed" }
        )),
        Err(e) if e.status == StatusCode::NOT_FOUND && !add => super::error_page(e),
        Err(e) => aliases_page(p, state, name, None, Some(e.message)).await,
    }
}

async fn alias_add(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<AliasForm>,
) -> Response {
    alias_change(&p, &state, &name, f, true).await
}

async fn alias_remove(
    PageUser(p): PageUser,
    State(state): State<WebState>,
    Path(name): Path<String>,
    Form(f): Form<AliasForm>,
) -> Response {
    alias_change(&p, &state, &name, f, false).await
}
