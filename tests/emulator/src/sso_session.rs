//! The SSO's cookie session: the `SESSION` and `__cf_bm` cookies the sign-in pages set, read back
//! from the `Cookie` header of later SSO requests.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

use crate::state::{random_token, Shared, SsoSession};

pub const SESSION_COOKIE: &str = "SESSION";
pub const CF_BM_COOKIE: &str = "__cf_bm";

/// The value of cookie `name` in the request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The id of a known session the request carries.
pub fn session_id(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    let id = cookie(headers, SESSION_COOKIE)?;
    shared.lock().sessions.contains_key(&id).then_some(id)
}

/// The request's session, or a new one; `true` when new (its cookies must be set).
pub fn ensure_session(shared: &Shared, headers: &HeaderMap) -> (String, bool) {
    if let Some(id) = session_id(shared, headers) {
        return (id, false);
    }
    let id = random_token(32);
    shared
        .lock()
        .sessions
        .insert(id.clone(), SsoSession::default());
    (id, true)
}

/// The page `answer` writes in the request's session (a new one if it carries none), with the
/// session cookies set when the session is new.
pub fn in_session(
    shared: &Shared,
    headers: &HeaderMap,
    answer: impl FnOnce(&str) -> Response,
) -> Response {
    let (id, new) = ensure_session(shared, headers);
    let mut resp = answer(&id);
    if new {
        set_session_cookies(&mut resp, &id);
    }
    resp
}

/// Adds the `Set-Cookie` headers of session `id` (host-only, no `Secure`: the emulator is http).
fn set_session_cookies(resp: &mut Response, id: &str) {
    for value in [
        format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly"),
        format!("{CF_BM_COOKIE}={}; Path=/; HttpOnly", random_token(43)),
    ] {
        resp.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&value).expect("ascii cookie"),
        );
    }
}

/// The path of a `Referer` header (scheme and host ignored: the emulator serves every host).
pub fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let after_scheme = referer
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(referer);
    let path = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    Some(path.split('?').next().unwrap_or(path).to_string())
}
