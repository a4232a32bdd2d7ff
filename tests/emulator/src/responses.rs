//! Canned answers shared by the handlers: JSON and HTML pages, Garmin's error bodies, and the
//! responses of the faults applied before a handler runs.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::faults::Fault;

/// A JSON body with `status`.
pub fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An HTML page `<title>{title}</title>` with `body` inside `<body>`.
pub fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        page,
    )
        .into_response()
}

/// The API's 401 for a missing, unknown, expired or refused token.
pub fn invalid_token(description: &str) -> Response {
    let mut resp = json(
        StatusCode::UNAUTHORIZED,
        json!({ "message": description, "error": "invalid_token" }),
    );
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("ascii header"),
    );
    resp
}

/// The API's 404 body.
pub fn not_found(what: &str) -> Response {
    json(
        StatusCode::NOT_FOUND,
        json!({ "clientMessage": what, "errorId": crate::state::random_token(16), "error": "NotFoundException" }),
    )
}

/// The DI endpoint's OAuth error body.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// Cloudflare's bot challenge page (403).
pub fn cloudflare_challenge() -> Response {
    html(
        StatusCode::FORBIDDEN,
        "Just a moment...",
        "<div id=\"challenge-body\">Checking if the site connection is secure</div>\n<script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8c1\"></script>\n<script>window._cf_chl_opt={cvId:'3',cType:'managed'};var __cf_chl_rt_tk='emulated';</script>",
    )
}

/// The answer of a fault the shared layer applies before the handler (see
/// [`Fault::is_pre_handler`]); `None` for faults handled elsewhere.
pub fn pre_handler_fault(fault: &Fault) -> Option<Response> {
    let resp = match fault {
        Fault::TooManyRequests {
            status,
            retry_after,
            json: as_json,
        } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            let mut resp = if *as_json {
                json(
                    status,
                    json!({ "error": { "status-code": "429", "message": "Too Many Requests" } }),
                )
            } else {
                html(
                    status,
                    "Access denied | sso.garmin.com used Cloudflare to restrict access",
                    "<h1>Error 1015</h1><p>You are being rate limited</p><p>The owner of this website (sso.garmin.com) has banned you temporarily from accessing this website.</p>",
                )
            };
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            resp
        }
        Fault::RetryAfterHeader(value) => {
            let mut resp = json(
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "error": { "status-code": "429", "message": "Too Many Requests" } }),
            );
            if let Ok(value) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(header::RETRY_AFTER, value);
            }
            resp
        }
        Fault::StatusWithBody(code, body) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_REQUEST);
            (status, body.clone()).into_response()
        }
        Fault::CloudflareChallenge => cloudflare_challenge(),
        Fault::HtmlInsteadOfJson => html(
            StatusCode::OK,
            "Garmin Connect",
            "<div id=\"root\">Garmin Connect is loading...</div>",
        ),
        Fault::Status(204) => StatusCode::NO_CONTENT.into_response(),
        Fault::Status(502) => html(
            StatusCode::BAD_GATEWAY,
            "502 Bad Gateway",
            "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center>",
        ),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json(
                status,
                json!({ "message": status.canonical_reason().unwrap_or("error"), "error": code.to_string() }),
            )
        }
        Fault::TokenNotActive => invalid_token("Token is not active"),
        Fault::InvalidGrant => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid refresh token or service ticket",
        ),
        Fault::HugeBody { bytes } => crate::faults::huge_body(*bytes),
        Fault::Answer { status, body } => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
            body.clone(),
        )
            .into_response(),
        _ => return None,
    };
    Some(resp)
}
