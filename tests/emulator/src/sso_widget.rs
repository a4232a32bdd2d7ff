//! The SSO embed widget: HTML pages with a CSRF token, a form POST classified by the page title,
//! the MFA page with its inline JS variables, the code request and the code form. As on Garmin,
//! the credential POST that needs MFA and the right code answer with 302 redirects (to the MFA
//! page, and to `/sso/login?logintoken=` for the Success page), so a client must follow them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::responses::{html, json};
use crate::sso_login::{evaluate_login, ticket_for, verify_mfa, LoginOutcome, MfaOutcome};
use crate::sso_session::{in_session, session_id};
use crate::state::{random_token, CompletedLogin, Flow, Shared};

type Params = Query<HashMap<String, String>>;

/// Title of the normal sign-in page (and, on Garmin, of most widget pages).
pub const SIGN_IN_TITLE: &str = "GARMIN Authentication Application";
/// Title of the widget's MFA page.
pub const MFA_TITLE: &str = "Enter MFA code for login";
/// Every widget page loads Google's CAPTCHA script, as Garmin's do, whatever the page says: a
/// client must not take the word "captcha" for a CAPTCHA demand.
const CAPTCHA_SCRIPT: &str =
    "<script src=\"https://www.google.com/recaptcha/api.js?render=explicit\" async defer></script>\n";

/// The fields of a form-encoded body (later duplicates win).
pub fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The widget's service URL: the `service` query, which must be an `/sso/embed` URL.
fn widget_service(params: &HashMap<String, String>) -> Option<String> {
    params
        .get("service")
        .filter(|s| s.ends_with("/sso/embed"))
        .cloned()
}

/// A fresh CSRF token stored in session `id`.
fn new_csrf(shared: &Shared, id: &str) -> String {
    let token = random_token(36);
    if let Some(session) = shared.lock().sessions.get_mut(id) {
        session.csrf = Some(token.clone());
    }
    token
}

fn csrf_matches(shared: &Shared, id: &str, sent: Option<&String>) -> bool {
    let state = shared.lock();
    let expected = state.sessions.get(id).and_then(|s| s.csrf.clone());
    expected.is_some() && expected.as_ref() == sent
}

/// The request's session, if the form's `_csrf` is the one that session was given.
fn session_with_csrf(
    shared: &Shared,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Option<String> {
    session_id(shared, headers).filter(|id| csrf_matches(shared, id, fields.get("_csrf")))
}

fn invalid_csrf() -> Response {
    html(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "<p>Invalid CSRF token.</p>",
    )
}

fn invalid_service() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        SIGN_IN_TITLE,
        "<p>Invalid service.</p>",
    )
}

/// A 302 to `location` (a path on this host).
fn redirect(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

fn session_expired() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        SIGN_IN_TITLE,
        "<p>Your session has expired. Sign in again.</p>",
    )
}

fn sign_in_form(csrf: &str, message: &str) -> String {
    format!(
        "<div id=\"login-state\">{message}</div>\n<form method=\"post\" id=\"login-form\">\n<input type=\"email\" name=\"username\" id=\"username\" />\n<input type=\"password\" name=\"password\" id=\"password\" />\n<input type=\"hidden\" name=\"embed\" value=\"true\" />\n<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\" />\n<button type=\"submit\" id=\"login-btn-signin\">Sign In</button>\n</form>"
    )
}

fn mfa_page(
    csrf: &str,
    customer_guid: &str,
    method: &str,
    code_sent_to: &str,
    message: &str,
) -> Response {
    let body = format!(
        "{CAPTCHA_SCRIPT}<script type=\"text/javascript\">\n    var customerGuid = \"{customer_guid}\";\n    var mfaMethod = \"{method}\";\n    var locale = \"en_US\";\n    var clientId = \"GarminConnect\";\n    var codeSentTo = \"{code_sent_to}\";\n</script>\n<div id=\"mfa-state\">{message}</div>\n<form method=\"post\" id=\"mfa-form\" action=\"/sso/verifyMFA/loginEnterMfaCode\">\n<input type=\"text\" name=\"mfa-code\" id=\"mfa-code\" />\n<input type=\"hidden\" name=\"embed\" value=\"true\" />\n<input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\" />\n<input type=\"hidden\" name=\"fromPage\" value=\"setupEnterMfaCode\" />\n</form>"
    );
    html(StatusCode::OK, MFA_TITLE, &body)
}

fn success_page(service_url: &str, ticket: &str) -> Response {
    let body = format!(
        "{CAPTCHA_SCRIPT}<script type=\"text/javascript\">\n    var redirectAfterAccountLoginUrl = \"{service_url}\";\n    var response_url = \"{service_url}?ticket={ticket}\";\n    parent.postMessage({{\"status\":\"SUCCESS\",\"serviceURL\":\"{service_url}\"}}, \"*\");\n</script>\n<p>Signed in. <a href=\"{service_url}?ticket={ticket}\">Continue</a></p>"
    );
    html(StatusCode::OK, "Success", &body)
}

pub async fn embed(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    in_session(&shared, &headers, |_| {
        html(
            StatusCode::OK,
            "GAuth Embedded Version",
            "<div id=\"gauth-widget\"></div>",
        )
    })
}

pub async fn sign_in_page(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    if widget_service(&params).is_none() {
        return invalid_service();
    }
    in_session(&shared, &headers, |id| {
        let csrf = new_csrf(&shared, id);
        html(StatusCode::OK, SIGN_IN_TITLE, &sign_in_form(&csrf, ""))
    })
}

pub async fn sign_in_post(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(service_url) = widget_service(&params) else {
        return invalid_service();
    };
    let fields = form(&body);
    let Some(id) = session_with_csrf(&shared, &headers, &fields) else {
        return invalid_csrf();
    };
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    match evaluate_login(
        &shared,
        &id,
        Flow::Widget,
        &service_url,
        &get("username"),
        &get("password"),
    ) {
        LoginOutcome::Success { email } => {
            success_page(&service_url, &ticket_for(&shared, &email, &service_url))
        }
        LoginOutcome::MfaRequired { .. } => redirect(&format!(
            "/sso/verifyMFA/loginEnterMfaCode?{}",
            uri.query().unwrap_or_default()
        )),
        LoginOutcome::InvalidCredentials => {
            let csrf = new_csrf(&shared, &id);
            html(
                StatusCode::UNAUTHORIZED,
                "Invalid sign in",
                &sign_in_form(&csrf, "Invalid sign in. (Passwords are case sensitive.)"),
            )
        }
        LoginOutcome::Locked => html(
            StatusCode::OK,
            "Account Locked",
            "<p>Your account has been locked.</p>",
        ),
        LoginOutcome::CaptchaRequired => {
            let csrf = new_csrf(&shared, &id);
            html(
                StatusCode::OK,
                SIGN_IN_TITLE,
                &sign_in_form(&csrf, "Please complete the CAPTCHA."),
            )
        }
    }
}

/// `GET /sso/verifyMFA/loginEnterMfaCode`: the MFA page the credential POST redirected to.
pub async fn mfa_code_page(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(id) = session_id(&shared, &headers) else {
        return session_expired();
    };
    let pending = shared
        .lock()
        .sessions
        .get(&id)
        .and_then(|s| s.pending_mfa.clone());
    let Some(pending) = pending else {
        return session_expired();
    };
    let csrf = new_csrf(&shared, &id);
    mfa_page(&csrf, &pending.customer_guid, &pending.method, "", "")
}

/// Whether Garmin sends this method's code only when a client asks for it.
fn delivered_on_request(method: &str) -> bool {
    ["email", "sms"]
        .iter()
        .any(|m| method.eq_ignore_ascii_case(m))
}

/// `POST /sso/verifyMFA/mfaCode`: asks for the code to be (re)sent.
pub async fn request_code(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let guid = request
        .get("customerGuid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = session_id(&shared, &headers);
    let mut state = shared.lock();
    let session = id.and_then(|id| state.sessions.get_mut(&id));
    match session {
        Some(s)
            if s.pending_mfa
                .as_ref()
                .is_some_and(|p| p.customer_guid == guid) =>
        {
            s.code_requested = true;
            json(
                StatusCode::OK,
                json!({ "success": true, "codeSentTo": "d***@example.com" }),
            )
        }
        _ => json(
            StatusCode::BAD_REQUEST,
            json!({ "success": false, "error": "no pending MFA login for this customer" }),
        ),
    }
}

/// `POST /sso/verifyMFA/loginEnterMfaCode`: the code form. A code Garmin was never asked to send
/// (email or SMS without a `/sso/verifyMFA/mfaCode` request) cannot be right.
pub async fn enter_code(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let Some(id) = session_with_csrf(&shared, &headers, &fields) else {
        return invalid_csrf();
    };
    let (pending, code_requested) = shared
        .lock()
        .sessions
        .get(&id)
        .map(|s| (s.pending_mfa.clone(), s.code_requested))
        .unwrap_or_default();
    let never_sent = pending
        .as_ref()
        .is_some_and(|p| delivered_on_request(&p.method) && !code_requested);
    let code = fields.get("mfa-code").cloned().unwrap_or_default();
    let outcome = if never_sent {
        MfaOutcome::WrongCode
    } else {
        verify_mfa(&shared, Some(&id), &code)
    };
    match outcome {
        MfaOutcome::Ticket {
            ticket,
            service_url,
        } => {
            let login_token = random_token(10);
            let location = format!(
                "/sso/login?logintoken={login_token}&{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("service", &service_url)
                    .append_pair("embed", "true")
                    .finish()
            );
            if let Some(session) = shared.lock().sessions.get_mut(&id) {
                session.completed_login = Some(CompletedLogin {
                    login_token,
                    ticket,
                    service_url,
                });
            }
            redirect(&location)
        }
        MfaOutcome::WrongCode => {
            let csrf = new_csrf(&shared, &id);
            let (guid, method) = pending
                .map(|p| (p.customer_guid, p.method))
                .unwrap_or_default();
            mfa_page(
                &csrf,
                &guid,
                &method,
                "d***@example.com",
                "Invalid code. Please try again.",
            )
        }
        MfaOutcome::NoPendingLogin => session_expired(),
    }
}

/// `GET /sso/login?logintoken=…`: where a right MFA code redirects; the Success page, once.
pub async fn completed_login(
    State(shared): State<Arc<Shared>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let Some(id) = session_id(&shared, &headers) else {
        return session_expired();
    };
    let completed = {
        let mut state = shared.lock();
        let session = state.sessions.get_mut(&id);
        session.and_then(|s| {
            s.completed_login
                .take_if(|c| params.get("logintoken") == Some(&c.login_token))
        })
    };
    match completed {
        Some(c) => success_page(&c.service_url, &c.ticket),
        None => session_expired(),
    }
}
