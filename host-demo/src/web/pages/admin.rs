//! Admin pages (role admin): the plugin manager (enable or disable a
//! plugin: `plugin.toml` is edited keeping its comments, and takes effect
//! at the next start), users (invite links with an expiry, disable,
//! remove), and the scheduler (each connection's next run, the request
//! budget in use, recent failures).

use super::{csrf_input, layout, notice, see_other};
use crate::host::{format_time, users};
use crate::plugins::edit;
use crate::web::auth::{random_token, token_hash, SignedIn};
use crate::web::error::{PageResult, WebError};
use crate::web::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use bincio_state::{Role, UserHandle};
use maud::html;
use serde::Deserialize;

/// How long an invite link works.
pub const INVITE_TTL_SECS: i64 = 7 * 24 * 3600;
/// How many recent failed runs the scheduler view lists.
const RECENT_FAILURES: usize = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/plugins/{id}/{action}", post(plugin_action))
        .route("/admin/invites", post(invite))
        .route("/admin/users/{handle}/{action}", post(user_action))
}

#[derive(Deserialize, Default)]
struct AdminNotice {
    done: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(n): Query<AdminNotice>,
) -> PageResult {
    render(&state, &signed, n.done.as_deref(), None)
}

/// The admin page; `invite` is a link just made, shown once in the answer
/// to its form (never in a URL, so not in the browser's history).
fn render(
    state: &AppState,
    signed: &SignedIn,
    done: Option<&str>,
    invite: Option<&str>,
) -> PageResult {
    signed.require_admin()?;
    let host = &state.host;
    let manager = &host.manager;
    let users = host.db.users()?;
    let reports = host.status_all()?;
    let now = host.now();
    let mut failures = Vec::new();
    for r in &reports {
        if let Some(run) = &r.last_run {
            if let Some(e) = &run.error {
                failures.push((
                    r.connection.id.to_string(),
                    run.started_at,
                    e.message.clone(),
                ));
            }
        }
    }
    failures.sort_by_key(|f| std::cmp::Reverse(f.1));
    failures.truncate(RECENT_FAILURES);
    let notice_text = match done {
        Some("plugin") => {
            Some("plugin.toml was edited; restart the server for the change to take effect.")
        }
        Some("user") => Some("Done."),
        _ => None,
    };
    let body = html! {
        (notice(notice_text))
        @if let Some(token) = invite {
            p class="notice" role="status" id="invite-link" { "Invite link (works once, for 7 days): " code { "/invite/" (token) } }
        }
        section aria-labelledby="plugins-title" id="admin-plugins" {
            h2 id="plugins-title" { "Plugins" }
            table {
                thead { tr { th scope="col" { "Plugin" } th scope="col" { "Status" } th scope="col" { "Request budget" } th scope="col" { "Action" } } }
                tbody {
                    @for e in &manager.entries {
                        tr {
                            td {
                                (e.config.id)
                                @if let Ok((_, p)) = manager.loaded(&e.config.id) {
                                    details class="plugin-info" id={ "info-" (super::slug(&e.config.id)) } {
                                        summary { "Info" }
                                        dl {
                                            dt { "Name, version" } dd { (p.descriptor.name) " " (p.descriptor.version) }
                                            dt { "Capabilities" } dd { (p.descriptor.capabilities.join(", ")) }
                                            dt { "Credential fields" }
                                            dd { @for f in &p.descriptor.credential_fields { (f.key) " (" (f.kind.name()) ") " } }
                                            dt { "Sync interval" }
                                            dd { (p.descriptor.default_interval.as_secs() / 60) " min by default, at least " (p.descriptor.min_interval.as_secs() / 60) " min" }
                                            dt { "Disclaimer" } dd { "version " (p.descriptor.disclaimer.version) ", sha256 " code { (p.descriptor.disclaimer.sha256) } }
                                        }
                                    }
                                }
                            }
                            td { (e.status.label()) }
                            td {
                                @match manager.loaded(&e.config.id).ok().and_then(|(c, p)| crate::services::request_gate::effective_budget(c, &p.module)) {
                                    Some(l) => {
                                        (l.requests) " per " (l.window_ms / 1000) " s, bursts of " (l.burst)
                                        @if let Ok(Some(until)) = host.db.budget_cooldown_until(&e.config.id, now.saturating_mul(1000)) {
                                            "; slowed down until " (format_time(until / 1000))
                                        }
                                    }
                                    None => "none",
                                }
                            }
                            td {
                                form method="post" action={ "/admin/plugins/" (e.config.id) "/" (if e.config.enabled { "disable" } else { "enable" }) } class="inline" {
                                    (csrf_input(signed))
                                    button type="submit" { (if e.config.enabled { "Disable" } else { "Enable" }) }
                                }
                            }
                        }
                    }
                }
            }
            p class="hint" { "Enabling or disabling edits plugin.toml; it takes effect when the server restarts." }
        }
        section aria-labelledby="users-title" id="admin-users" {
            h2 id="users-title" { "Users" }
            table {
                thead { tr { th scope="col" { "Handle" } th scope="col" { "Role" } th scope="col" { "State" } th scope="col" { "Actions" } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { (u.handle) } td { (u.role.as_str()) }
                            td { (if u.is_disabled() { "disabled" } else { "active" }) }
                            td {
                                @if u.handle != *signed.handle() {
                                    @if !u.is_disabled() {
                                        form method="post" action={ "/admin/users/" (u.handle) "/disable" } class="inline" {
                                            (csrf_input(signed)) button type="submit" { "Disable" }
                                        }
                                    }
                                    form method="post" action={ "/admin/users/" (u.handle) "/remove" } class="inline danger" {
                                        (csrf_input(signed)) button type="submit" { "Remove (activities kept)" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form id="invite-form" method="post" action="/admin/invites" {
                (csrf_input(signed))
                p {
                    label for="invite-role" { "Role of the invited user" }
                    select id="invite-role" name="role" { option value="user" { "user" } option value="admin" { "admin" } }
                }
                button id="invite-submit" type="submit" { "Make an invite link" }
            }
        }
        section aria-labelledby="scheduler-title" id="admin-scheduler" {
            h2 id="scheduler-title" { "Scheduler" }
            table {
                thead { tr { th scope="col" { "Connection" } th scope="col" { "User" } th scope="col" { "Status" } th scope="col" { "Next run" } } }
                tbody {
                    @for r in &reports {
                        tr {
                            td { (r.connection.id) } td { (r.connection.user) } td { (r.connection.status) }
                            td { (if state.scheduler.is_running(&r.connection.id) { "running now".to_string() } else { r.next_run_text() }) }
                        }
                    }
                }
            }
            h3 { "Recent failures" }
            @if failures.is_empty() { p { "None." } }
            ul { @for (id, at, message) in &failures { li { (id) ", " (format_time(*at)) ": " (message) } } }
        }
    };
    Ok(layout("Admin", Some(signed), body).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
    role: Option<String>,
}

async fn plugin_action(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    signed.require_admin()?;
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    signed.check_form_csrf(&headers, csrf.as_deref())?;
    let enable = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(WebError::NotFound("no such action".into()).into()),
    };
    state
        .host
        .manager
        .entry(&id)
        .map_err(|e| WebError::NotFound(e.to_string()))?;
    edit::set_enabled(&state.host.manager.config_path, &id, enable).map_err(WebError::internal)?;
    tracing::info!(target: "web::admin", admin = %signed.user.handle, plugin = %id, enable, "plugin.toml edited");
    Ok(see_other("/admin?done=plugin"))
}

async fn invite(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    signed.require_admin()?;
    let Form(form) =
        form.map_err(|e| WebError::BadRequest(format!("the form was malformed: {e}")))?;
    signed.check_form_csrf(&headers, form.csrf.as_deref())?;
    let role = match form.role.as_deref() {
        Some("admin") => Role::Admin,
        _ => Role::User,
    };
    let token = random_token();
    let now = state.host.now();
    state.host.db.create_invite(
        &token_hash(&token),
        role,
        signed.handle(),
        now,
        now.saturating_add(INVITE_TTL_SECS),
    )?;
    render(&state, &signed, None, Some(&token))
}

async fn user_action(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path((handle, action)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    signed.require_admin()?;
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    signed.check_form_csrf(&headers, csrf.as_deref())?;
    let handle = UserHandle::parse(&handle).map_err(|e| WebError::BadRequest(e.to_string()))?;
    if handle == *signed.handle() {
        return Err(
            WebError::BadRequest("you cannot disable or remove yourself here".into()).into(),
        );
    }
    let host = &state.host;
    match action.as_str() {
        "disable" => users::disable_user(&host.db, handle.as_str(), host.now())?,
        "remove" => {
            users::remove_user(&host.db, &host.data_dir, handle.as_str(), false)?;
        }
        _ => return Err(WebError::NotFound("no such action".into()).into()),
    }
    tracing::info!(target: "web::admin", admin = %signed.user.handle, user = %handle, action, "user changed");
    Ok(see_other("/admin?done=user"))
}
