//! Sessions: signing in (argon2id from the users table, the attempt
//! limiter, a new session id every time), the `bincio_session` cookie
//! (HttpOnly, SameSite=Lax, Path=/, Secure over https), the signed-in
//! extractor that every page and API handler behind sign-in takes, CSRF
//! checks, and signing out (the row is deleted: the cookie is dead
//! everywhere it was copied).

pub mod argon;
pub mod limiter;
pub mod password_gate;

use super::error::WebError;
use super::net::{client_info, ClientInfo};
use super::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use bincio_state::{NewSession, SecretString, User, UserHandle, WebSession};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub const COOKIE: &str = "bincio_session";
/// The header JavaScript and API clients send the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field pages send it in.
pub const CSRF_FIELD: &str = "csrf";

/// 32 random bytes as hex: session ids, CSRF tokens, invite tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What a token is stored as.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The request's client (address, https), as the net module sees it.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        Ok(Self(client_info(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// The session cookie's value in `headers`, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// A signed-in request: the user, their live session, and the client.
pub struct SignedIn {
    pub user: User,
    pub session: WebSession,
    pub client: ClientInfo,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let api = parts.uri.path().starts_with("/api/");
        let Client(client) = Client::from_request_parts(parts, state).await?;
        let reject = |e: WebError| {
            if api {
                e.json()
            } else if matches!(e, WebError::SignedOut) {
                axum::response::IntoResponse::into_response(axum::response::Redirect::to("/signin"))
            } else {
                e.page()
            }
        };
        let Some(id) = session_cookie(&parts.headers) else {
            return Err(reject(WebError::SignedOut));
        };
        let now = state.host.now();
        let session = state
            .host
            .db
            .live_session(&token_hash(&id), now)
            .map_err(|e| reject(e.into()))?
            .ok_or_else(|| reject(WebError::SignedOut))?;
        let user = state
            .host
            .db
            .user(&session.user)
            .map_err(|e| reject(e.into()))?
            .ok_or_else(|| reject(WebError::SignedOut))?;
        Ok(Self {
            user,
            session,
            client,
        })
    }
}

impl SignedIn {
    pub fn handle(&self) -> &UserHandle {
        &self.user.handle
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == bincio_state::Role::Admin
    }

    pub fn require_admin(&self) -> Result<(), WebError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(WebError::Forbidden("this page is for admins".into()))
        }
    }

    /// A form post: its `csrf` field (or the header) must be the session's.
    pub fn check_form_csrf(
        &self,
        headers: &HeaderMap,
        field: Option<&str>,
    ) -> Result<(), WebError> {
        let given = field.or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()));
        match given {
            Some(token) if same_token(token, &self.session.csrf_token) => Ok(()),
            _ => Err(csrf_refused()),
        }
    }

    /// A JSON API request that changes something: the CSRF header, or a
    /// JSON body (a cross-site form cannot send one without the browser
    /// asking first); never the cookie alone.
    pub fn check_api_csrf(&self, headers: &HeaderMap) -> Result<(), WebError> {
        if let Some(token) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
            return if same_token(token, &self.session.csrf_token) {
                Ok(())
            } else {
                Err(csrf_refused())
            };
        }
        if is_json(headers) {
            return Ok(());
        }
        Err(csrf_refused())
    }
}

pub fn csrf_refused() -> WebError {
    WebError::Forbidden(
        "this request did not carry the page's security token (CSRF); reload the page and try again"
            .into(),
    )
}

/// A sign-in form posted from another site (login CSRF: signing the victim in
/// as the attacker) is refused. There is no session yet to hold a token, so the
/// browser's own headers decide: `Sec-Fetch-Site` when sent (anything but
/// `same-origin` or `none`, a typed address, is refused), else an `Origin`
/// whose host differs from the request's `Host`. A request with neither (a
/// script, curl) is not a browser and cannot be forged by a site.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let refused = || {
        WebError::Forbidden(
            "a sign-in sent from another site is refused; open this server's own sign-in page"
                .into(),
        )
    };
    if let Some(site) = text("sec-fetch-site") {
        return match site.trim() {
            "same-origin" | "none" => Ok(()),
            _ => Err(refused()),
        };
    }
    let Some(origin) = text("origin") else {
        return Ok(());
    };
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, text("host")) {
        (Some(from), Some(host)) if from.eq_ignore_ascii_case(host.trim()) => Ok(()),
        _ => Err(refused()),
    }
}

/// Whether the request says its body is JSON.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// A fresh session, as the cookie and the page need it.
pub struct NewSignIn {
    pub user: User,
    /// The cookie's value (only its hash is stored).
    pub session_id: String,
    pub csrf_token: String,
}

/// A hash to verify against when the handle is unknown, so a wrong handle
/// takes as long as a wrong password (made once, through the gate).
async fn decoy_hash(state: &AppState) -> Result<String, WebError> {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_try_init(|| state.passwords.hash(SecretString::new(random_token())))
        .await
        .cloned()
}

const WRONG: &str = "wrong handle or password";

/// Checks the handle and password (limited per address and per handle),
/// ends the session the request came with, if any, and makes a new one.
pub async fn sign_in(
    state: &AppState,
    client: ClientInfo,
    old_cookie: Option<String>,
    handle_text: &str,
    password: SecretString,
) -> Result<NewSignIn, WebError> {
    let now = state.host.now();
    let handle_key = handle_text.trim().to_lowercase();
    state
        .limiter
        .check(client.ip, &handle_key, now)
        .map_err(|limited| WebError::TooMany {
            message: limited.to_string(),
            retry_after_secs: limited.retry_after_secs,
        })?;
    let handle = UserHandle::parse(handle_text.trim()).ok();
    let user = match &handle {
        Some(h) => state.host.db.user(h)?,
        None => None,
    };
    let hash = match &handle {
        Some(h) if user.is_some() => state.host.db.password_hash(h)?,
        _ => None,
    };
    let known = hash.is_some();
    let hash = match hash {
        Some(hash) => hash,
        None => decoy_hash(state).await?,
    };
    let verified = state.passwords.verify(hash, password).await? && known;
    let user = match user {
        Some(user) if verified && !user.is_disabled() => user,
        _ => {
            state.limiter.record_failure(client.ip, &handle_key, now);
            tracing::info!(target: "web::auth", ip = %client.ip, "sign-in refused");
            return Err(WebError::Refused(WRONG.into()));
        }
    };
    if let Some(old) = old_cookie {
        state.host.db.delete_session(&token_hash(&old))?;
    }
    let session_id = random_token();
    let csrf_token = random_token();
    let ttl = i64::try_from(state.config.session_ttl.as_secs()).unwrap_or(i64::MAX);
    state.host.db.create_session(&NewSession {
        id_sha256: &token_hash(&session_id),
        user: &user.handle,
        csrf_token: &csrf_token,
        now,
        expires_at: now.saturating_add(ttl),
    })?;
    tracing::info!(target: "web::auth", user = %user.handle, "signed in");
    Ok(NewSignIn {
        user,
        session_id,
        csrf_token,
    })
}

/// The Set-Cookie value of a new session.
pub fn set_cookie(session_id: &str, https: bool, max_age_secs: u64) -> HeaderValue {
    cookie_value(session_id, https, max_age_secs)
}

/// The Set-Cookie value that removes the cookie.
pub fn clear_cookie(https: bool) -> HeaderValue {
    cookie_value("", https, 0)
}

fn cookie_value(value: &str, https: bool, max_age_secs: u64) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a hex token makes a valid header")
}

/// Ends the session server-side.
pub fn sign_out(state: &AppState, signed_in: &SignedIn) -> Result<(), WebError> {
    state.host.db.delete_session(&signed_in.session.id_sha256)?;
    tracing::info!(target: "web::auth", user = %signed_in.user.handle, "signed out");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_from_another_site_is_refused_by_the_browsers_headers() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (name, value) in pairs {
                h.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            h
        };
        let host = ("host", "127.0.0.1:8080");
        for allowed in [
            headers(&[host]),
            headers(&[host, ("sec-fetch-site", "same-origin")]),
            headers(&[host, ("sec-fetch-site", "none")]),
            headers(&[host, ("origin", "http://127.0.0.1:8080")]),
        ] {
            assert!(check_same_origin(&allowed).is_ok(), "{allowed:?}");
        }
        for refused in [
            headers(&[host, ("sec-fetch-site", "cross-site")]),
            headers(&[host, ("sec-fetch-site", "same-site")]),
            headers(&[host, ("origin", "https://evil.example")]),
            headers(&[host, ("origin", "null")]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
            // Sec-Fetch-Site wins over a matching Origin.
            headers(&[
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "cross-site"),
            ]),
        ] {
            assert!(check_same_origin(&refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_only_over_https() {
        let plain = set_cookie("abc", false, 60);
        assert_eq!(
            plain.to_str().unwrap(),
            "bincio_session=abc; HttpOnly; SameSite=Lax; Path=/; Max-Age=60"
        );
        assert!(set_cookie("abc", true, 60)
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
        assert!(clear_cookie(false).to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; bincio_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("xyz"));
        assert_eq!(session_cookie(&HeaderMap::new()), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("a", "ab"));
    }
}
