//! What Garmin's sign-in pages need from a request beyond cookies: a User-Agent on every SSO
//! step, and on the JSON credential and MFA POSTs the SSO's own `Origin`, a JSON
//! `Content-Type`, the `locale` query, and the whole sign-in page URL as `Referer` (checked with
//! the cookies, see `sso_mobile`). Switched off with `EmulatorConfig::require_browser_headers`.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::config::{IOS_CLIENT_ID, IOS_SERVICE_URL, PORTAL_CLIENT_ID, PORTAL_SERVICE_URL};
use crate::responses::{html, json};
use crate::state::{Flow, Knobs, Shared};

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A request without a User-Agent is not a browser: the edge answers 403 (any SSO step).
pub fn user_agent(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if !shared.knobs.require_browser_headers || !header_str(headers, header::USER_AGENT).is_empty()
    {
        return None;
    }
    Some(html(
        StatusCode::FORBIDDEN,
        "Access denied",
        "<p>Requests without a User-Agent are not allowed.</p>",
    ))
}

/// The JSON POST checks (credentials and MFA code): Origin, Content-Type, locale.
pub fn json_post(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Option<Response> {
    if !shared.knobs.require_browser_headers {
        return None;
    }
    let refuse = |status: StatusCode, message: &str| {
        Some(json(
            status,
            json!({ "error": { "status-code": status.as_str(), "message": message } }),
        ))
    };
    if header_str(headers, header::ORIGIN) != shared.base_url {
        return refuse(StatusCode::FORBIDDEN, "Invalid CORS request");
    }
    if !header_str(headers, header::CONTENT_TYPE).starts_with("application/json") {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    if params.get("locale").is_none_or(|l| l.is_empty()) {
        return refuse(StatusCode::BAD_REQUEST, "Missing locale");
    }
    None
}

/// The exact `Referer` a flow's credential POST carries: its sign-in page with the query,
/// URL-encoded for mobile (as the iOS app's web view sends it), verbatim for the portal; the
/// service URL on the emulated domain.
pub fn expected_referer(base: &str, flow: Flow, knobs: &Knobs) -> String {
    match flow {
        Flow::Portal => format!(
            "{base}/portal/sso/en-US/sign-in?clientId={PORTAL_CLIENT_ID}&service={}",
            knobs.on_domain(PORTAL_SERVICE_URL)
        ),
        _ => format!(
            "{base}/mobile/sso/en_US/sign-in?clientId={IOS_CLIENT_ID}&service={}",
            form_urlencoded::byte_serialize(knobs.on_domain(IOS_SERVICE_URL).as_bytes())
                .collect::<String>()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mobile_referer_is_encoded_and_the_portal_one_is_not() {
        let knobs = Shared::new(crate::EmulatorConfig::empty(), String::new()).knobs;
        assert_eq!(
            expected_referer("https://localhost:1", Flow::Mobile, &knobs),
            "https://localhost:1/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios"
        );
        assert_eq!(
            expected_referer("http://h", Flow::Portal, &knobs),
            "http://h/portal/sso/en-US/sign-in?clientId=GarminConnect&service=https://connect.garmin.com/app"
        );
        let china = Shared::new(
            crate::EmulatorConfig::empty().with_china_domain(),
            String::new(),
        );
        assert!(expected_referer("http://h", Flow::Portal, &china.knobs)
            .ends_with("service=https://connect.garmin.cn/app"));
    }
}
