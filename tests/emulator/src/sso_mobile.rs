//! The JSON login flows: mobile (`/mobile/...`, iOS app) and portal (`/portal/...`, web). A
//! sign-in page that sets the session cookies, the credential POST answering `responseStatus`,
//! and the JSON MFA `verifyCode`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::config::{
    ANDROID_CLIENT_ID, ANDROID_SERVICE_URL, IOS_CLIENT_ID, IOS_SERVICE_URL, PORTAL_CLIENT_ID,
    PORTAL_SERVICE_URL,
};
use crate::responses::{html, json};
use crate::sso_checks;
use crate::sso_login::{evaluate_login, ticket_for, verify_mfa, LoginOutcome, MfaOutcome};
use crate::sso_session::{ensure_session, in_session, referer_path, session_id};
use crate::state::{Flow, Shared};

type Params = Query<HashMap<String, String>>;

/// The sign-in page path of a JSON flow.
fn sign_in_path(flow: Flow) -> &'static str {
    match flow {
        Flow::Portal => "/portal/sso/en-US/sign-in",
        _ => "/mobile/sso/en_US/sign-in",
    }
}

/// Whether `clientId`/`service` is a pair this flow serves.
fn known_client(
    flow: Flow,
    knobs: &crate::state::Knobs,
    params: &HashMap<String, String>,
) -> Option<String> {
    let client = params.get("clientId")?;
    let service = params.get("service")?;
    let serves = |id: &str, url: &str| client == id && *service == knobs.on_domain(url);
    let ok = match flow {
        Flow::Portal => serves(PORTAL_CLIENT_ID, PORTAL_SERVICE_URL),
        _ => {
            serves(IOS_CLIENT_ID, IOS_SERVICE_URL) || serves(ANDROID_CLIENT_ID, ANDROID_SERVICE_URL)
        }
    };
    ok.then(|| service.clone())
}

fn status_body(kind: &str) -> Value {
    json!({ "type": kind, "message": "", "httpStatus": if kind == "SUCCESSFUL" { "OK" } else { "UNAUTHORIZED" } })
}

/// The answer that completes a login: the service ticket for `service_url`.
fn ticket_answer(service_url: &str, ticket: &str) -> Response {
    json(
        StatusCode::OK,
        json!({
            "serviceURL": service_url,
            "serviceTicketId": ticket,
            "responseStatus": status_body("SUCCESSFUL"),
            "customerMfaInfo": null,
        }),
    )
}

fn malformed_body() -> Response {
    json(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "status-code": "400", "message": "Malformed JSON body" } }),
    )
}

fn bad_client() -> Response {
    json(
        StatusCode::BAD_REQUEST,
        json!({ "error": { "status-code": "400", "message": "Invalid clientId or service" } }),
    )
}

/// A JSON flow as a type, so that one handler serves the routes of both flows.
pub trait JsonFlow {
    const FLOW: Flow;
}

/// The mobile (iOS/Android app) flow under `/mobile/...`.
pub struct Mobile;
/// The web portal flow under `/portal/...`.
pub struct Portal;

impl JsonFlow for Mobile {
    const FLOW: Flow = Flow::Mobile;
}

impl JsonFlow for Portal {
    const FLOW: Flow = Flow::Portal;
}

/// `GET .../sso/.../sign-in`: the page that sets the session cookies.
pub async fn sign_in_page<F: JsonFlow>(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    if known_client(F::FLOW, &shared.knobs, &params).is_none() {
        return html(
            StatusCode::BAD_REQUEST,
            "Garmin SSO",
            "<p>Invalid client or service.</p>",
        );
    }
    in_session(&shared, &headers, |_| {
        html(
            StatusCode::OK,
            "Garmin Connect",
            "<div id=\"root\"></div>\n<script>window.GAUTH_CONFIG={\"locale\":\"en_US\"};</script>",
        )
    })
}

/// `POST .../api/login`: the credentials.
pub async fn login<F: JsonFlow>(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let flow = F::FLOW;
    let shared = &*shared;
    let Some(service_url) = known_client(flow, &shared.knobs, &params) else {
        return bad_client();
    };
    if let Some(refused) = sso_checks::json_post(shared, &headers, &params) {
        return refused;
    }
    let session = session_id(shared, &headers);
    let referer_ok = if shared.knobs.require_browser_headers {
        headers
            .get(axum::http::header::REFERER)
            .and_then(|v| v.to_str().ok())
            == Some(sso_checks::expected_referer(&shared.base_url, flow, &shared.knobs).as_str())
    } else {
        referer_path(&headers).as_deref() == Some(sign_in_path(flow))
    };
    if shared.knobs.require_sign_in_cookies && (session.is_none() || !referer_ok) {
        // Garmin answers a POST without the sign-in page's cookies and Referer with 429.
        return html(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "<p>Too Many Requests</p>",
        );
    }
    let session = session.unwrap_or_else(|| ensure_session(shared, &headers).0);
    let Ok(creds) = serde_json::from_slice::<Value>(&body) else {
        return malformed_body();
    };
    let field = |name: &str| {
        creds
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match evaluate_login(
        shared,
        &session,
        flow,
        &service_url,
        &field("username"),
        &field("password"),
    ) {
        LoginOutcome::Success { email } => {
            ticket_answer(&service_url, &ticket_for(shared, &email, &service_url))
        }
        LoginOutcome::MfaRequired { method, .. } => json(
            StatusCode::OK,
            json!({
                "serviceURL": service_url,
                "responseStatus": status_body("MFA_REQUIRED"),
                "customerMfaInfo": { "mfaLastMethodUsed": method, "email": "d***@example.com", "phoneNumber": null },
            }),
        ),
        LoginOutcome::InvalidCredentials => json(
            StatusCode::UNAUTHORIZED,
            json!({ "responseStatus": status_body("INVALID_USERNAME_PASSWORD") }),
        ),
        LoginOutcome::Locked => json(
            StatusCode::UNAUTHORIZED,
            json!({ "responseStatus": status_body("ACCOUNT_LOCKED") }),
        ),
        LoginOutcome::CaptchaRequired => json(
            StatusCode::OK,
            json!({ "responseStatus": status_body("CAPTCHA_REQUIRED") }),
        ),
    }
}

/// `POST .../api/mfa/verifyCode`: the MFA code. The ticket is bound to the service URL of the
/// login that asked for MFA, whichever of the two verify endpoints completes it (clients fall
/// back from one to the other).
pub async fn verify_code<F: JsonFlow>(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if known_client(F::FLOW, &shared.knobs, &params).is_none() {
        return bad_client();
    }
    if let Some(refused) = sso_checks::json_post(&shared, &headers, &params) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return malformed_body();
    };
    let code = request
        .get("mfaVerificationCode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let session = session_id(&shared, &headers);
    match verify_mfa(&shared, session.as_deref(), code) {
        MfaOutcome::Ticket {
            ticket,
            service_url,
        } => ticket_answer(&service_url, &ticket),
        MfaOutcome::WrongCode => json(
            StatusCode::BAD_REQUEST,
            json!({ "responseStatus": status_body("MFA_CODE_INVALID") }),
        ),
        MfaOutcome::NoPendingLogin => json(
            StatusCode::BAD_REQUEST,
            json!({ "responseStatus": status_body("INVALID_MFA_SESSION") }),
        ),
    }
}
