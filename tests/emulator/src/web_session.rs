//! The web app's side of a service ticket, for clients whose DI exchange diauth refuses (see
//! [`crate::EmulatorConfig::accepted_client_ids`]): `GET <service URL>?ticket=…` at `/gcm/ios`,
//! `/gcm/android`, `/app` and `/sso/embed` redeems a ticket issued for that service URL, once,
//! for a `JWT_WEB` cookie (a 302 to `/modern/` that sets it), as Garmin's web hosts do. The API
//! then accepts the cookie with the web app's `NK: NT` header ([`web_cookie_account`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::di_oauth::mint_jwt;
use crate::responses::{html, invalid_token, json};
use crate::state::{random_token, AccessGrant, Shared};

/// The cookie's name.
pub const COOKIE: &str = "JWT_WEB";
/// The `client_id` claim of the cookie's JWT.
const WEB_CLIENT_ID: &str = "GarminConnect";

/// The path of a service URL (`https://host/gcm/ios` → `/gcm/ios`).
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// `GET /sso/embed`: the widget's start page, or with `ticket` the redemption of a widget ticket.
pub async fn embed(
    shared: State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if params.contains_key("ticket") {
        return redeem(shared, Query(params), uri).await;
    }
    crate::sso_widget::embed(shared, headers).await
}

/// `GET <service path>?ticket=…`: a valid ticket bound to this service becomes a `JWT_WEB`.
pub async fn redeem(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let Some(ticket) = params.get("ticket") else {
        return html(
            StatusCode::OK,
            "Garmin Connect",
            "<p>Sign in to continue.</p>",
        );
    };
    let now = shared.clock.now_unix();
    let email = {
        let mut state = shared.lock();
        let Some(found) = state.tickets.get(ticket).cloned() else {
            return refused("Unknown or already used service ticket");
        };
        if found.expires_at <= now {
            state.tickets.remove(ticket);
            return refused("Service ticket expired");
        }
        if path_of(&found.service_url) != uri.path() {
            return refused("Service ticket was not issued for this service");
        }
        state.tickets.remove(ticket);
        found.email
    };
    let mut redirect = (StatusCode::FOUND, [(header::LOCATION, "/modern/")]).into_response();
    if !shared.knobs.issue_web_cookie {
        return redirect;
    }
    let exp = now + shared.knobs.access_token_ttl_s;
    let jti = random_token(16).to_lowercase();
    let value = mint_jwt(&shared, WEB_CLIENT_ID, &email, now, exp, &jti);
    {
        let mut state = shared.lock();
        state.stats.web_tickets_redeemed += 1;
        state.web_cookies.insert(
            value.clone(),
            AccessGrant {
                email,
                client_id: WEB_CLIENT_ID.to_string(),
                exp,
            },
        );
    }
    let cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax");
    redirect.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a JWT is ASCII"),
    );
    redirect
}

/// `GET /modern/`: where the redemption lands.
pub async fn modern() -> Response {
    html(StatusCode::OK, "Garmin Connect", "<div id=\"app\"></div>")
}

fn refused(why: &str) -> Response {
    html(
        StatusCode::UNAUTHORIZED,
        "Garmin Connect",
        &format!("<p>{why}</p>"),
    )
}

/// The `JWT_WEB` value of a request's `Cookie` header.
pub fn cookie_of(headers: &HeaderMap) -> Option<String> {
    crate::sso_session::cookie(headers, COOKIE)
}

/// The account of an API request signed with `JWT_WEB`, which needs the web app's `NK: NT`
/// and `Origin` (403 without them, as Garmin's web proxy answers) and a live cookie (401).
pub fn web_cookie_account(
    shared: &Shared,
    headers: &HeaderMap,
    cookie: &str,
) -> Result<String, Box<Response>> {
    let header_is = |name: &str, want: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == want)
    };
    let origin = shared.knobs.on_domain("https://connect.garmin.com");
    if !header_is("nk", "NT") || !header_is("origin", &origin) {
        return Err(Box::new(json(
            StatusCode::FORBIDDEN,
            json!({ "message": "Forbidden: a JWT_WEB request needs NK: NT and the web app's Origin" }),
        )));
    }
    let now = shared.clock.now_unix();
    let state = shared.lock();
    match state.web_cookies.get(cookie) {
        Some(grant) if grant.exp > now => Ok(grant.email.clone()),
        Some(_) => Err(Box::new(invalid_token("JWT_WEB expired"))),
        None => Err(Box::new(invalid_token("JWT_WEB is not valid"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_urls_path_and_a_cookie_header_are_read() {
        assert_eq!(
            path_of("https://mobile.integration.garmin.com/gcm/ios"),
            "/gcm/ios"
        );
        assert_eq!(path_of("http://127.0.0.1:9/sso/embed"), "/sso/embed");
        assert_eq!(path_of("https://connect.garmin.com"), "/");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; JWT_WEB=xyz; c=d"),
        );
        assert_eq!(cookie_of(&headers).as_deref(), Some("xyz"));
        headers.insert(header::COOKIE, HeaderValue::from_static("JWT_WEBX=1"));
        assert_eq!(cookie_of(&headers), None);
    }
}
