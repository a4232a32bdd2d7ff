//! The HTTP surface: one router serving the paths of all three hosts (sso, connectapi, diauth),
//! behind a gate that classifies each request, counts it, and applies the active faults.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::faults::{Fault, RequestKind};
use crate::request_log::{now_ms, LoggedRequest};
use crate::responses::{json, pre_handler_fault};
use crate::sso_mobile::{Mobile, Portal};
use crate::sso_widget::form;
use crate::state::Shared;
use crate::{api, di_oauth, download, edge, sso_checks, sso_mobile, sso_widget, web_session};

/// Path of the DI token endpoint (on the diauth host).
pub const DI_TOKEN_PATH: &str = "/di-oauth2-service/oauth/token";
/// Largest request body the emulator reads.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The emulator's router over `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        // sso.garmin.com: JSON flows
        .route(
            "/mobile/sso/en_US/sign-in",
            get(sso_mobile::sign_in_page::<Mobile>),
        )
        .route(
            "/portal/sso/en-US/sign-in",
            get(sso_mobile::sign_in_page::<Portal>),
        )
        .route("/mobile/api/login", post(sso_mobile::login::<Mobile>))
        .route("/portal/api/login", post(sso_mobile::login::<Portal>))
        .route(
            "/mobile/api/mfa/verifyCode",
            post(sso_mobile::verify_code::<Mobile>),
        )
        .route(
            "/portal/api/mfa/verifyCode",
            post(sso_mobile::verify_code::<Portal>),
        )
        // sso.garmin.com: embed widget
        .route("/sso/embed", get(web_session::embed))
        .route(
            "/sso/signin",
            get(sso_widget::sign_in_page).post(sso_widget::sign_in_post),
        )
        .route("/sso/verifyMFA/mfaCode", post(sso_widget::request_code))
        .route(
            "/sso/verifyMFA/loginEnterMfaCode",
            get(sso_widget::mfa_code_page).post(sso_widget::enter_code),
        )
        .route("/sso/login", get(sso_widget::completed_login))
        // the web hosts of the service URLs (mobile.integration, connect)
        .route("/gcm/ios", get(web_session::redeem))
        .route("/gcm/android", get(web_session::redeem))
        .route("/app", get(web_session::redeem))
        .route("/modern/", get(web_session::modern))
        // diauth.garmin.com
        .route(DI_TOKEN_PATH, post(di_oauth::token))
        // connectapi.garmin.com
        .route(
            "/userprofile-service/socialProfile",
            get(api::social_profile),
        )
        .route(
            "/userprofile-service/userprofile/user-settings",
            get(api::user_settings),
        )
        .route(
            "/activitylist-service/activities/search/activities",
            get(api::list),
        )
        .route("/activitylist-service/activities/count", get(api::count))
        .route("/activity-service/activity/{id}", get(api::activity_detail))
        .route(
            "/download-service/files/activity/{id}",
            get(download::original),
        )
        .fallback(unknown_path)
        .layer(from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

async fn unknown_path() -> Response {
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({ "message": "No such endpoint in the emulator" }),
    )
}

/// Classifies, counts, applies delays and pre-handler faults, runs the handler, and finally
/// applies a connection reset if one is due.
async fn gate(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large or broken",
        )
            .into_response();
    };
    let is_refresh = path == DI_TOKEN_PATH
        && form(&bytes)
            .get("grant_type")
            .is_some_and(|g| g == "refresh_token");
    let is_redemption = path == "/sso/embed"
        && parts
            .uri
            .query()
            .is_some_and(|q| form(q.as_bytes()).contains_key("ticket"));
    let kind = if is_redemption {
        RequestKind::ServiceTicket
    } else {
        RequestKind::classify(&method, &path, is_refresh)
    };
    let refused = edge::check(&shared, parts.extensions.get(), kind, &path).or_else(|| {
        kind.is_sso()
            .then(|| sso_checks::user_agent(&shared, &parts.headers))
            .flatten()
    });
    if let Some(refused) = refused {
        shared.lock().stats.record(kind, &method, &path);
        return refused;
    }
    let account = if kind.is_api() {
        crate::api::authenticate(&shared, &parts.headers).ok()
    } else {
        None
    };
    let (delay, early, account_limit) = {
        let mut state = shared.lock();
        state.stats.record(kind, &method, &path);
        if account.is_some() {
            if web_session::cookie_of(&parts.headers).is_some() {
                state.stats.api_by_cookie += 1;
            } else {
                state.stats.api_by_bearer += 1;
            }
        }
        let account_limit = account
            .as_deref()
            .and_then(|a| state.request_log.take_account_limit(a));
        state.request_log.entries.push(LoggedRequest {
            at_ms: now_ms(),
            method: method.clone(),
            path: path.clone(),
            account,
            rate_limited: account_limit.is_some(),
        });
        let delay = state.take_fault(kind, |f| matches!(f, Fault::Delay(_)));
        let early = state.take_fault(kind, Fault::is_pre_handler);
        (delay, early, account_limit)
    };
    if let Some(retry_after) = account_limit {
        return pre_handler_fault(&Fault::TooManyRequests {
            status: 429,
            retry_after: Some(retry_after),
            json: true,
        })
        .unwrap_or_else(|| StatusCode::TOO_MANY_REQUESTS.into_response());
    }
    if let Some(Fault::Delay(d)) = delay {
        tokio::time::sleep(d).await;
    }
    if let Some(resp) = early.as_ref().and_then(pre_handler_fault) {
        return resp;
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let reset = shared
        .lock()
        .take_fault(kind, |f| *f == Fault::ResetMidBody)
        .is_some();
    if reset {
        return reset_mid_body(resp).await;
    }
    resp
}

/// `resp` with its full `Content-Length`, but only the first half of the body before the
/// connection is dropped.
async fn reset_mid_body(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let full = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let half = full.slice(..full.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len().max(1)));
    let chunks = futures_util::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                1 => {
                    // Give the server time to flush what was sent before the connection drops.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "emulated reset mid-body",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(chunks))
}
