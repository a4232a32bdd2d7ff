//! The JSON API under the pages, in BincioActivity's own shapes where it
//! has them (`/api/auth/*`, `/api/me`, `/api/garmin/*`), so its site's
//! sign-in and Garmin panel can talk to this host. State-changing requests
//! need the session's `X-CSRF-Token` header or a JSON body, never the
//! cookie alone. Documented in host-demo/README.md ("The web page").

use super::auth::{self, Client, SignedIn};
use super::error::{ApiResult, WebError};
use super::importers::{self, Step, GARMIN};
use super::live::{LiveRun, RunEvent};
use super::state::AppState;
use crate::host::DisclaimerState;
use crate::scheduler::RunNow;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bincio_state::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/garmin/status", get(status))
        .route("/api/garmin/connect", post(connect))
        .route("/api/garmin/disconnect", post(disconnect))
        .route("/api/garmin/sync", post(sync))
        .route("/api/garmin/sync/stream", get(stream))
}

/// A JSON body, with a clear error for a malformed one.
fn parse<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, WebError> {
    if !auth::is_json(headers) {
        return Err(WebError::BadRequest(
            "send a JSON body with Content-Type: application/json".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| WebError::BadRequest(format!("the JSON body is not valid here: {e}")))
}

impl<'de> Deserialize<'de> for SecretWrap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| SecretWrap(SecretString::new(s)))
    }
}

/// A secret read from JSON straight into a [`SecretString`].
struct SecretWrap(SecretString);

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    let login: LoginBody = parse(&headers, &body)?;
    let signed = auth::sign_in(
        &state,
        client,
        auth::session_cookie(&headers),
        &login.handle,
        login.password.0,
    )
    .await?;
    let mut response = Json(json!({
        "ok": true,
        "handle": signed.user.handle,
        "display_name": signed.user.display_name,
        "csrf_token": signed.csrf_token,
    }))
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        auth::set_cookie(
            &signed.session_id,
            client.https,
            state.config.session_ttl.as_secs(),
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct LoginBody {
    handle: String,
    password: SecretWrap,
}

async fn logout(State(state): State<AppState>, signed: SignedIn, headers: HeaderMap) -> ApiResult {
    signed.check_api_csrf(&headers)?;
    auth::sign_out(&state, &signed)?;
    let mut response = Json(json!({ "ok": true })).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth::clear_cookie(signed.client.https));
    Ok(response)
}

async fn me(signed: SignedIn) -> ApiResult {
    Ok(Json(json!({
        "ok": true,
        "handle": signed.user.handle,
        "display_name": signed.user.display_name,
        "role": signed.user.role,
        "csrf_token": signed.session.csrf_token,
    }))
    .into_response())
}

fn iso(unix: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map(Value::String)
        .unwrap_or(Value::Null)
}

async fn status(State(state): State<AppState>, signed: SignedIn) -> ApiResult {
    let card = importers::card(&state, signed.handle(), GARMIN)?;
    let report = card.report.as_ref();
    let last_sync = report
        .and_then(|r| r.last_run.as_ref())
        .map(|run| iso(run.finished_at.unwrap_or(run.started_at)))
        .unwrap_or(Value::Null);
    Ok(Json(json!({
        "connected": report.is_some_and(|r| r.connection.status == bincio_state::ConnectionStatus::Active),
        "last_sync": last_sync,
        "connection": report.map(|r| r.connection.id.to_string()),
        "account": report.and_then(|r| r.connection.display_name.clone()),
        "status": report.map(|r| r.connection.status.to_string()),
        "last_outcome": report.and_then(|r| r.last_run.as_ref()).and_then(|run| run.outcome.map(|o| o.to_string())),
        "next_run": report.and_then(|r| r.next_run_at).map(iso),
        "attention": report.and_then(|r| importers::attention(&state, r)),
        "running": card.running,
        "disclaimer_accepted": card.disclaimer == DisclaimerState::Accepted,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct ConnectBody {
    email: Option<String>,
    password: Option<SecretWrap>,
    accept_disclaimer: Option<String>,
    /// An MFA continuation: the `flow` of the answer that asked for it.
    flow: Option<String>,
    mfa_code: Option<SecretWrap>,
}

async fn connect(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    signed.check_api_csrf(&headers)?;
    let body: ConnectBody = parse(&headers, &body)?;
    let user = signed.handle().clone();
    if let Some(flow) = body.flow {
        let code = body
            .mfa_code
            .ok_or_else(|| WebError::BadRequest("mfa_code is required with flow".into()))?;
        let pending = state
            .flows
            .peek(&flow, &user, state.host.now())
            .ok_or_else(|| {
                WebError::BadRequest(
                    "this sign-in step is unknown or expired; start connecting again".into(),
                )
            })?;
        let key = pending
            .fields
            .first()
            .map(|f| f.key.clone())
            .unwrap_or_else(|| "mfa_code".into());
        let step = blocking(
            move |s| importers::answer(s, &user, &flow, vec![(key, code.0)]),
            &state,
        )
        .await?;
        return Ok(step_json(step));
    }
    let descriptor = importers::descriptor(&state, GARMIN)?;
    let d = &descriptor.disclaimer;
    if state.host.disclaimer_state_for(&user, GARMIN)? != DisclaimerState::Accepted {
        match &body.accept_disclaimer {
            Some(sha) if auth::same_token(sha, &d.sha256) => {
                state.host.accept_disclaimer_for(&user, GARMIN)?;
            }
            given => {
                let message = if given.is_some() {
                    "accept_disclaimer does not match the current disclaimer's sha256; read it again"
                } else {
                    "read and accept the disclaimer first: send its sha256 as accept_disclaimer"
                };
                return Ok((
                    StatusCode::CONFLICT,
                    Json(json!({
                        "ok": false,
                        "error": message,
                        "disclaimer": {
                            "version": d.version,
                            "sha256": d.sha256,
                            "title": d.title,
                            "markdown": d.markdown,
                        }
                    })),
                )
                    .into_response());
            }
        }
    }
    let mut inputs = Vec::new();
    if let Some(email) = body.email {
        inputs.push(("email".to_string(), SecretString::new(email)));
    }
    if let Some(password) = body.password {
        inputs.push(("password".to_string(), password.0));
    }
    let given: std::collections::HashMap<String, String> = inputs
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    let inputs =
        importers::inputs_for(&descriptor.credential_fields, |key| given.get(key).cloned())?;
    let step = blocking(move |s| importers::begin(s, &user, GARMIN, inputs), &state).await?;
    Ok(step_json(step))
}

/// Runs a plugin call (a login: blocking HTTP) off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce(&AppState) -> Result<T, WebError> + Send + 'static,
    state: &AppState,
) -> Result<T, WebError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .map_err(WebError::internal)?
}

fn step_json(step: Step) -> Response {
    match step {
        Step::Connected {
            connection,
            display_name,
        } => Json(json!({
            "ok": true,
            "connected": true,
            "connection": connection.to_string(),
            "display_name": display_name,
        }))
        .into_response(),
        Step::NeedInput(token, flow) => Json(json!({
            "ok": false,
            "mfa_required": true,
            "flow": token,
            "message": flow.message,
            "fields": flow.fields.iter().map(|f| json!({"key": f.key, "label": f.label, "kind": f.kind.name()})).collect::<Vec<_>>(),
            "errors": flow.errors.iter().map(|(k, m)| json!({"key": k, "message": m})).collect::<Vec<_>>(),
        }))
        .into_response(),
    }
}

pub const DISCONNECT_NOTE: &str = "Your stored Garmin credentials and tokens were deleted; your activities stay. Changing your Garmin password is the only way to be sure stored credentials can't be used.";

async fn disconnect(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
) -> ApiResult {
    signed.check_api_csrf(&headers)?;
    let user = signed.handle().clone();
    let deleted = blocking(move |s| importers::disconnect(s, &user, GARMIN), &state).await?;
    Ok(Json(json!({
        "ok": true,
        "was_connected": deleted.is_some(),
        "secrets_deleted": deleted.unwrap_or(0),
        "message": DISCONNECT_NOTE,
    }))
    .into_response())
}

async fn sync(State(state): State<AppState>, signed: SignedIn, headers: HeaderMap) -> ApiResult {
    signed.check_api_csrf(&headers)?;
    let (connection, started) = importers::sync_now(&state, signed.handle(), GARMIN)?;
    Ok(Json(json!({
        "ok": started != RunNow::Stopping,
        "started": started == RunNow::Started,
        "already_running": started == RunNow::AlreadyRunning,
        "queued": started == RunNow::Queued,
        "connection": connection.to_string(),
    }))
    .into_response())
}

#[derive(Deserialize)]
pub struct StreamQuery {
    /// With the session's CSRF token (an `EventSource` cannot send the
    /// header), a stream starts a run when none is going, as
    /// BincioActivity's panel expects.
    csrf: Option<String>,
}

async fn stream(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(query): Query<StreamQuery>,
) -> ApiResult {
    let connection = importers::current_connection(&state, signed.handle(), GARMIN)?;
    let Some(connection) = connection else {
        return Ok(one_event(RunEvent::Error {
            message: "no Garmin account is connected".into(),
        }));
    };
    let running = state.scheduler.is_running(&connection.id);
    if !running {
        if let Some(token) = &query.csrf {
            if !auth::same_token(token, &signed.session.csrf_token) {
                return Err(auth::csrf_refused().into());
            }
            if let Err(e) = importers::sync_now(&state, signed.handle(), GARMIN) {
                return Ok(one_event(RunEvent::Error {
                    message: e.to_string(),
                }));
            }
        }
    }
    match state.live.get(&connection.id) {
        Some(run) => Ok(follow(run, state.stopping.clone()).into_response()),
        None => Ok(one_event(RunEvent::Error {
            message:
                "no sync has run since the server started; start one with POST /api/garmin/sync"
                    .into(),
        })),
    }
}

fn sse_event(event: &RunEvent) -> Event {
    Event::default().data(serde_json::to_string(event).unwrap_or_else(|_| "{}".into()))
}

fn one_event(event: RunEvent) -> Response {
    let stream = futures_util::stream::iter([Ok::<_, Infallible>(sse_event(&event))]);
    Sse::new(stream).into_response()
}

/// The run from its first event, then as it goes, until its last event or
/// the server stops.
pub fn follow(
    run: Arc<LiveRun>,
    stopping: tokio::sync::watch::Receiver<bool>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let changes = run.subscribe();
    let stream = futures_util::stream::unfold(
        (
            run,
            changes,
            stopping,
            0usize,
            Vec::<RunEvent>::new(),
            false,
        ),
        |(run, mut changes, mut stopping, mut sent, mut queue, mut ended)| async move {
            loop {
                if let Some(event) = (!queue.is_empty()).then(|| queue.remove(0)) {
                    let last = event.is_final();
                    let out = sse_event(&event);
                    return Some((
                        Ok(out),
                        (run, changes, stopping, sent, queue, ended || last),
                    ));
                }
                if ended || *stopping.borrow() {
                    return None;
                }
                let (events, _) = run.events_from(sent);
                if !events.is_empty() {
                    sent += events.len();
                    queue = events;
                    continue;
                }
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { ended = true; },
                    _ = stopping.changed() => {},
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
