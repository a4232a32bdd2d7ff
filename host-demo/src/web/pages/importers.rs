//! Settings → Importers: one card per enabled plugin (status, what needs
//! the user, Sync now with live progress, disconnect: [`super::importer_card`]),
//! the disclaimer and its acceptance, the connect form built from the plugin's
//! fields, and the MFA step as its own page. Every form posts with the CSRF token.

use super::importer_card::card_markup;
use super::{csrf_input, layout, notice, see_other, slug};
use crate::host::DisclaimerState;
use crate::plugins::{Descriptor, Field, Kind};
use crate::web::api::{blocking, follow, DISCONNECT_NOTE};
use crate::web::auth::SignedIn;
use crate::web::error::{PageResult, WebError};
use crate::web::importers::{self, Step};
use crate::web::markdown::section_html;
use crate::web::state::AppState;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/importers", get(list))
        .route(
            "/settings/importers/{plugin}/connect",
            get(connect_page).post(connect),
        )
        .route("/settings/importers/{plugin}/accept", post(accept))
        .route(
            "/settings/importers/{plugin}/step",
            get(step_page).post(step),
        )
        .route("/settings/importers/{plugin}/sync", post(sync))
        .route("/settings/importers/{plugin}/stream", get(stream))
        .route("/settings/importers/{plugin}/disconnect", post(disconnect))
}

#[derive(Deserialize, Default)]
struct Notice {
    done: Option<String>,
}

fn notice_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "connected" => "Connected. The first sync starts now or at the scheduler's next look.",
        "disconnected" => DISCONNECT_NOTE,
        "accepted" => "Disclaimer accepted.",
        "sync" => "Sync started; its progress shows below.",
        "queued" => "The server is running as many syncs as it allows at once; yours is queued and starts when one of them finishes.",
        _ => return None,
    })
}

async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(n): Query<Notice>,
) -> PageResult {
    let mut cards = Vec::new();
    for d in importers::enabled(&state) {
        cards.push(importers::card(&state, signed.handle(), &d.id)?);
    }
    let body = html! {
        (notice(notice_text(n.done.as_deref())))
        @if cards.is_empty() { p { "No importer is enabled on this server. You can still " a href="/upload" { "upload files" } "." } }
        @for card in &cards { (card_markup(&state, &signed, card)) }
    };
    Ok(layout("Importers", Some(&signed), body).into_response())
}

fn connect_markup(
    signed: &SignedIn,
    d: &Descriptor,
    state: &DisclaimerState,
    error: Option<&str>,
) -> Markup {
    let disclaimer = &d.disclaimer;
    html! {
        @if let Some(e) = error { p class="error" role="alert" id="connect-error" { (e) } }
        @if *state != DisclaimerState::Accepted {
            section id="disclaimer" aria-labelledby="disclaimer-title" {
                h2 id="disclaimer-title" { (disclaimer.title) " (version " (disclaimer.version) ")" }
                @if *state == DisclaimerState::Changed { p class="attention" { "This disclaimer changed since you accepted it; read it again." } }
                div class="markdown" { (PreEscaped(section_html(&disclaimer.markdown, &disclaimer.title, pulldown_cmark::HeadingLevel::H2))) }
                form id="accept-form" method="post" action={ "/settings/importers/" (d.id) "/accept" } {
                    (csrf_input(signed))
                    input type="hidden" name="sha256" value=(disclaimer.sha256);
                    p {
                        input id="accept-disclaimer" name="accept" type="checkbox" value="yes" required;
                        label for="accept-disclaimer" { "I have read and accept this disclaimer" }
                    }
                    button id="accept-submit" type="submit" { "Accept and go on" }
                }
            }
        } @else {
            form id="connect-form" method="post" enctype="multipart/form-data" action={ "/settings/importers/" (d.id) "/connect" } {
                (csrf_input(signed))
                @for f in d.credential_fields.iter().filter(|f| f.kind != Kind::OneTimeCode) { (field_markup(f, false, offers_token_file(&d.credential_fields))) }
                button id="connect-submit" type="submit" { "Connect" }
            }
        }
        p class="alternative" { "Or, without credentials: " a href="/upload" { "upload FIT files or a Garmin data export" } "." }
    }
}

/// Whether the plugin takes a token file, which replaces the password (as the
/// server's `inputs_for` accepts).
fn offers_token_file(fields: &[Field]) -> bool {
    fields.iter().any(|f| f.kind == Kind::SecretFile)
}

/// One input for `f`; `asked` on the step page, where the code the plugin
/// asks for is what the form is for; `token_file_offered` when a token file
/// may stand in for a password.
fn field_markup(f: &Field, asked: bool, token_file_offered: bool) -> Markup {
    let id = format!("field-{}", f.key);
    let (kind, autocomplete) = match f.kind {
        Kind::Email => ("email", "email"),
        Kind::Secret => ("password", "current-password"),
        Kind::OneTimeCode => ("text", "one-time-code"),
        Kind::Url => ("url", "url"),
        Kind::Number => ("number", "off"),
        Kind::SecretFile => ("file", "off"),
        Kind::Bool => ("checkbox", "off"),
        Kind::Text => ("text", "off"),
    };
    // A token file replaces the password, so neither is required on the page
    // (the server checks that one of them came). A one-time code is optional at
    // connect, but the step asking for it needs it.
    let replaced_by_token = token_file_offered && f.kind == Kind::Secret;
    let required = (f.required && f.kind != Kind::SecretFile && !replaced_by_token)
        || (asked && f.kind == Kind::OneTimeCode);
    let label = match (required, f.label.strip_suffix(')')) {
        (true, _) => f.label.clone(),
        (false, _) if replaced_by_token => format!("{} (or a token file below)", f.label),
        (false, Some(open)) => format!("{open}, optional)"),
        (false, None) => format!("{} (optional)", f.label),
    };
    html! {
        p {
            label for=(id) { (label) }
            @if f.kind == Kind::OneTimeCode {
                input id=(id) name=(f.key) type="text" inputmode="numeric" autocomplete=(autocomplete) required[required] aria-describedby=[(!f.help.is_empty()).then(|| format!("{id}-help"))];
            } @else {
                input id=(id) name=(f.key) type=(kind) autocomplete=(autocomplete) required[required]
                    value=[f.default_value.as_deref().filter(|_| !f.kind.is_secret())]
                    aria-describedby=[(!f.help.is_empty()).then(|| format!("{id}-help"))];
            }
            @if !f.help.is_empty() { span class="hint" id={ (id) "-help" } { (f.help) } }
        }
    }
}

async fn connect_page(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(plugin): Path<String>,
) -> PageResult {
    let d = importers::descriptor(&state, &plugin)?;
    let st = state.host.disclaimer_state_for(signed.handle(), &plugin)?;
    let title = format!("Connect {}", d.name);
    Ok(layout(
        &title,
        Some(&signed),
        connect_markup(&signed, &d, &st, None),
    )
    .into_response())
}

#[derive(Deserialize)]
struct AcceptForm {
    csrf: Option<String>,
    sha256: String,
    accept: Option<String>,
}

async fn accept(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(plugin): Path<String>,
    form: Result<Form<AcceptForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(form) =
        form.map_err(|e| WebError::BadRequest(format!("the form was malformed: {e}")))?;
    signed.check_form_csrf(&headers, form.csrf.as_deref())?;
    let d = importers::descriptor(&state, &plugin)?;
    if form.accept.as_deref() != Some("yes") {
        return Err(WebError::BadRequest("tick the box to accept the disclaimer".into()).into());
    }
    if form.sha256 != d.disclaimer.sha256 {
        return Err(WebError::Conflict(
            "the disclaimer changed while you read it; read it again".into(),
        )
        .into());
    }
    state.host.accept_disclaimer_for(signed.handle(), &plugin)?;
    Ok(see_other(&format!("/settings/importers/{plugin}/connect")))
}

/// Reads a small multipart form (the connect and MFA forms, a token file)
/// into its fields by name.
async fn small_form(mut multipart: Multipart) -> Result<HashMap<String, String>, WebError> {
    let mut fields = HashMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("the form was malformed: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let text = field.text().await.map_err(|e| {
            WebError::BadRequest(format!("the form field {name:?} could not be read: {e}"))
        })?;
        fields.insert(name, text.trim_end().to_string());
    }
    Ok(fields)
}

async fn connect(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(plugin): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let multipart =
        multipart.map_err(|e| WebError::BadRequest(format!("the form was malformed: {e}")))?;
    let fields = small_form(multipart).await?;
    signed.check_form_csrf(&headers, fields.get("csrf").map(String::as_str))?;
    let d = importers::descriptor(&state, &plugin)?;
    // A missing field is answered on the form itself, like the plugin's refusals.
    let inputs = match importers::inputs_for(&d.credential_fields, |k| fields.get(k).cloned()) {
        Ok(inputs) => inputs,
        Err(e) => return after_step(&state, &signed, &plugin, Err(e)),
    };
    let user = signed.handle().clone();
    let id = plugin.clone();
    let step = blocking(move |s| importers::begin(s, &user, &id, inputs), &state).await;
    after_step(&state, &signed, &plugin, step)
}

fn after_step(
    state: &AppState,
    signed: &SignedIn,
    plugin: &str,
    step: Result<Step, WebError>,
) -> PageResult {
    match step {
        Ok(Step::Connected { .. }) => Ok(see_other("/settings/importers?done=connected")),
        Ok(Step::NeedInput(token, _)) => Ok(see_other(&format!(
            "/settings/importers/{plugin}/step?flow={token}"
        ))),
        Err(e @ (WebError::Refused(_) | WebError::TooMany { .. } | WebError::BadRequest(_))) => {
            let d = importers::descriptor(state, plugin)?;
            let st = state.host.disclaimer_state_for(signed.handle(), plugin)?;
            let title = format!("Connect {}", d.name);
            Ok((
                e.status(),
                layout(
                    &title,
                    Some(signed),
                    connect_markup(signed, &d, &st, Some(&e.to_string())),
                ),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct FlowQuery {
    flow: String,
}

async fn step_page(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(plugin): Path<String>,
    Query(q): Query<FlowQuery>,
) -> PageResult {
    let flow = state
        .flows
        .peek(&q.flow, signed.handle(), state.host.now())
        .ok_or_else(|| {
            WebError::NotFound(
                "this sign-in step is unknown or expired; start connecting again".into(),
            )
        })?;
    let body = html! {
        @if !flow.message.is_empty() { p id="mfa-message" { (flow.message) } }
        @for (key, message) in &flow.errors { p class="error" role="alert" { @if !key.is_empty() { (key) ": " } (message) } }
        form id="mfa-form" method="post" action={ "/settings/importers/" (plugin) "/step" } {
            (csrf_input(&signed))
            input type="hidden" name="flow" value=(q.flow);
            @for f in &flow.fields { (field_markup(f, true, false)) }
            button id="mfa-submit" type="submit" { "Continue" }
        }
    };
    Ok(layout("Verification code", Some(&signed), body).into_response())
}

async fn step(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(plugin): Path<String>,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let Form(fields) =
        form.map_err(|e| WebError::BadRequest(format!("the form was malformed: {e}")))?;
    signed.check_form_csrf(&headers, fields.get("csrf").map(String::as_str))?;
    let token = fields.get("flow").cloned().unwrap_or_default();
    let pending = state
        .flows
        .peek(&token, signed.handle(), state.host.now())
        .ok_or_else(|| {
            WebError::NotFound(
                "this sign-in step is unknown or expired; start connecting again".into(),
            )
        })?;
    let inputs = pending
        .fields
        .iter()
        .map(|f| {
            (
                f.key.clone(),
                bincio_state::SecretString::new(fields.get(&f.key).cloned().unwrap_or_default()),
            )
        })
        .collect();
    let user = signed.handle().clone();
    let step = blocking(move |s| importers::answer(s, &user, &token, inputs), &state).await;
    after_step(&state, &signed, &plugin, step)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

async fn sync(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(plugin): Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> PageResult {
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    signed.check_form_csrf(&headers, csrf.as_deref())?;
    let (_, started) = importers::sync_now(&state, signed.handle(), &plugin)?;
    let done = if started == crate::scheduler::RunNow::Queued {
        "queued"
    } else {
        "sync"
    };
    Ok(see_other(&format!(
        "/settings/importers?done={done}#card-{}",
        slug(&plugin)
    )))
}

async fn stream(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(plugin): Path<String>,
) -> PageResult {
    let connection = importers::current_connection(&state, signed.handle(), &plugin)?
        .ok_or_else(|| WebError::NotFound("no connection".into()))?;
    let run = state
        .live
        .get(&connection.id)
        .ok_or_else(|| WebError::NotFound("no run since the server started".into()))?;
    Ok(follow(run, state.stopping.clone()).into_response())
}

async fn disconnect(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(plugin): Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response, crate::web::error::PageError> {
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    signed.check_form_csrf(&headers, csrf.as_deref())?;
    let user = signed.handle().clone();
    let id = plugin.clone();
    blocking(move |s| importers::disconnect(s, &user, &id), &state).await?;
    Ok(see_other("/settings/importers?done=disconnected"))
}
