//! The DI OAuth2 token endpoint (`diauth`): service ticket -> tokens, and refresh. Access tokens
//! are three-part JWTs (HS256-shaped) carrying `exp`, `iat`, `jti`, `client_id`; refresh tokens
//! rotate; tickets are single-use and bound to their service URL.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::DI_TICKET_GRANT;
use crate::responses::{json, oauth_error};
use crate::sso_widget::form;
use crate::state::{random_token, AccessGrant, RefreshGrant, Shared};

/// Scopes written into tokens (as Garmin's DI tokens list them).
const SCOPES: &str = "CONNECT_READ CONNECT_WRITE COMMUNITY_COURSE_READ COMMUNITY_COURSE_WRITE DI_OAUTH_2_AUTHORIZATION_CODE_CREATE";

/// The client id of `Authorization: Basic base64("<client_id>:")`.
fn basic_client_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    decoded.split_once(':').map(|(id, _)| id.to_string())
}

/// Mints a JWT for `client_id`, valid from `iat` to `exp`.
pub(crate) fn mint_jwt(
    shared: &Shared,
    client_id: &str,
    email: &str,
    iat: i64,
    exp: i64,
    jti: &str,
) -> String {
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": "di-oauth-signer-emulator" });
    let guid_hash = Sha256::digest(email.as_bytes());
    let payload = json!({
        "scope": SCOPES.split(' ').collect::<Vec<_>>(),
        "iss": "https://diauth.garmin.com",
        "revocation_eligibility": ["GLOBAL_SIGNOUT"],
        "client_type": "UNDEFINED",
        "exp": exp,
        "iat": iat,
        "garmin_guid": hex::encode(&guid_hash[..16]),
        "jti": jti,
        "client_id": client_id,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mut mac = Sha256::new();
    mac.update(shared.jwt_secret.as_bytes());
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize()))
}

/// Tokens as the DI endpoint issues them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    pub client_id: String,
    pub jti: String,
    pub expires_in: i64,
    pub refresh_token_expires_in: i64,
}

/// Issues an access token for `email`/`client_id` and, unless `keep_refresh` names one to reuse,
/// a new refresh token.
pub fn grant_tokens(
    shared: &Shared,
    email: &str,
    client_id: &str,
    keep_refresh: Option<String>,
) -> TokenGrant {
    let now = shared.clock.now_unix();
    let knobs = &shared.knobs;
    let jti = format!("{}-{}", random_token(8), random_token(12)).to_lowercase();
    let access = mint_jwt(
        shared,
        client_id,
        email,
        now,
        now + knobs.access_token_ttl_s,
        &jti,
    );
    let mut state = shared.lock();
    state.access_tokens.insert(
        access.clone(),
        AccessGrant {
            email: email.to_string(),
            client_id: client_id.to_string(),
            exp: now + knobs.access_token_ttl_s,
        },
    );
    let (refresh, refresh_left) = match keep_refresh {
        Some(token) => {
            let left = state
                .refresh_tokens
                .get(&token)
                .map(|g| g.exp - now)
                .unwrap_or(0);
            (token, left)
        }
        None => {
            let token = format!("{}.{}", random_token(24), random_token(48));
            state.refresh_tokens.insert(
                token.clone(),
                RefreshGrant {
                    email: email.to_string(),
                    client_id: client_id.to_string(),
                    exp: now + knobs.refresh_token_ttl_s,
                    revoked: false,
                },
            );
            (token, knobs.refresh_token_ttl_s)
        }
    };
    TokenGrant {
        access_token: access,
        refresh_token: refresh,
        client_id: client_id.to_string(),
        jti,
        expires_in: knobs.access_token_ttl_s,
        refresh_token_expires_in: refresh_left,
    }
}

fn grant_response(grant: TokenGrant) -> Response {
    json(
        StatusCode::OK,
        json!({
            "scope": SCOPES,
            "jti": grant.jti,
            "access_token": grant.access_token,
            "token_type": "Bearer",
            "refresh_token": grant.refresh_token,
            "expires_in": grant.expires_in,
            "refresh_token_expires_in": grant.refresh_token_expires_in,
        }),
    )
}

/// `POST /di-oauth2-service/oauth/token`.
pub async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form(&body);
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let client_id = get("client_id");
    if basic_client_id(&headers).as_deref() != Some(client_id.as_str()) || client_id.is_empty() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Basic authorization does not match client_id",
        );
    }
    if !shared.knobs.accepted_client_ids.contains(&client_id) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client app validation failed",
        );
    }
    match get("grant_type").as_str() {
        DI_TICKET_GRANT => exchange_ticket(
            &shared,
            &client_id,
            &get("service_ticket"),
            &get("service_url"),
        ),
        "refresh_token" => refresh(&shared, &client_id, &get("refresh_token")),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    }
}

fn exchange_ticket(shared: &Shared, client_id: &str, ticket: &str, service_url: &str) -> Response {
    let now = shared.clock.now_unix();
    let email = {
        let mut state = shared.lock();
        let Some(found) = state.tickets.get(ticket).cloned() else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Unknown or already used service ticket",
            );
        };
        let problem = if found.expires_at <= now {
            Some("Service ticket expired")
        } else if found.service_url != service_url {
            Some("Service ticket was not issued for this service_url")
        } else {
            None
        };
        if let Some(problem) = problem {
            if shared.knobs.burn_ticket_on_failure || found.expires_at <= now {
                state.tickets.remove(ticket);
            }
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", problem);
        }
        state.tickets.remove(ticket);
        found.email
    };
    grant_response(grant_tokens(shared, &email, client_id, None))
}

fn refresh(shared: &Shared, client_id: &str, token: &str) -> Response {
    let now = shared.clock.now_unix();
    let email = {
        let mut state = shared.lock();
        let Some(grant) = state.refresh_tokens.get(token).cloned() else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid refresh token",
            );
        };
        if grant.revoked || grant.exp <= now {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Refresh token expired or revoked",
            );
        }
        if grant.client_id != client_id {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Refresh token was issued to another client",
            );
        }
        if shared.knobs.rotate_refresh_tokens {
            state.refresh_tokens.remove(token);
        }
        grant.email
    };
    let keep = (!shared.knobs.rotate_refresh_tokens).then(|| token.to_string());
    grant_response(grant_tokens(shared, &email, client_id, keep))
}

/// The account email of a currently valid access token.
pub fn validate_access_token(shared: &Shared, token: &str) -> Result<String, &'static str> {
    let now = shared.clock.now_unix();
    let state = shared.lock();
    let grant = state.access_tokens.get(token).ok_or("Token is not valid")?;
    if grant.exp <= now {
        return Err("Token is not active");
    }
    state
        .account(&grant.email)
        .map(|a| a.email.clone())
        .ok_or("Token is not valid")
}
