//! Garmin's DI OAuth2 endpoint (diauth): a service ticket from the SSO
//! becomes an access/refresh token pair, and a refresh token becomes a new
//! pair (the refresh token rotates).

use crate::browser::{self, header, transport_error, Client, RequestBuilder, StatusCode};
use crate::clock::Clock;
use crate::errors::{GarminError, Result};
use crate::http;
use crate::identity::{self, DI_CLIENT_IDS, DI_TICKET_GRANT};
use crate::jwt;
use crate::settings::Settings;
use crate::tokens::Tokens;
use serde::Deserialize;

const TICKET_ENDPOINT: &str = "DI token exchange";
const REFRESH_ENDPOINT: &str = "DI token refresh";

/// An SSO service ticket and the service URL it was issued for.
#[derive(Clone, PartialEq)]
pub struct Ticket {
    pub ticket: String,
    pub service_url: String,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ticket([redacted] for {})", self.service_url)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
}

fn token_url(settings: &Settings) -> String {
    format!("{}/di-oauth2-service/oauth/token", settings.diauth())
}

/// A POST to the token endpoint as the native app sends it: its headers, and
/// HTTP Basic auth of the client id with an empty secret (`id:`).
fn token_request(client: &Client, settings: &Settings, client_id: &str) -> RequestBuilder {
    client
        .post(token_url(settings))
        .headers(identity::native_headers())
        .basic_auth(client_id, None::<&str>)
}

/// Exchanges `ticket`, trying the known client ids in order with the same
/// ticket: a 429 stops at once, any other refusal tries the next id.
pub async fn exchange_ticket(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    ticket: &Ticket,
) -> Result<Tokens> {
    let mut refusals = Vec::new();
    let mut any_transient = false;
    for client_id in DI_CLIENT_IDS {
        let sent = token_request(client, settings, client_id)
            .header(header::ACCEPT, "application/json,text/html;q=0.9,*/*;q=0.8")
            .header(header::CACHE_CONTROL, "no-cache")
            .form(&[
                ("client_id", client_id),
                ("service_ticket", ticket.ticket.as_str()),
                ("grant_type", DI_TICKET_GRANT),
                ("service_url", ticket.service_url.as_str()),
            ])
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                any_transient = true;
                refusals.push(format!(
                    "{client_id}: {}",
                    transport_error(TICKET_ENDPOINT, e)
                ));
                continue;
            }
        };
        let status = response.status();
        http::check_login_rate_limit(status, response.headers(), TICKET_ENDPOINT, settings, clock)?;
        if status == StatusCode::FORBIDDEN {
            return Err(GarminError::challenge(TICKET_ENDPOINT));
        }
        if !status.is_success() {
            any_transient |= status.is_server_error();
            tracing::debug!(target: "garmin::di", client_id, status = status.as_u16(), "ticket refused for this client id");
            refusals.push(format!(
                "{client_id}: {}",
                refusal_detail(status, response).await
            ));
            continue;
        }
        match parse_answer(response, TICKET_ENDPOINT).await {
            Ok((access, refresh)) => {
                tracing::info!(target: "garmin::di", client_id, "service ticket exchanged for DI tokens");
                let di_client_id = jwt::claims(&access)
                    .and_then(|c| c.client_id)
                    .unwrap_or_else(|| client_id.to_string());
                return Ok(Tokens {
                    di_token: access,
                    di_refresh_token: refresh,
                    di_client_id: Some(di_client_id),
                });
            }
            Err(e) => refusals.push(format!("{client_id}: {e}")),
        }
    }
    let detail = format!("{EVERY_ID_REFUSED}: {}", refusals.join("; "));
    Err(if any_transient {
        GarminError::transient(TICKET_ENDPOINT, detail)
    } else {
        GarminError::permanent(TICKET_ENDPOINT, detail)
    })
}

/// Whether `error` is [`exchange_ticket`] finding no client id diauth would answer with tokens
/// (refusals, answers that are not JSON, 5xx or broken connections), as opposed to a rate
/// limit or a challenge, which stop the exchange at once.
pub fn is_refusal(error: &GarminError) -> bool {
    match error {
        GarminError::Permanent { endpoint, detail }
        | GarminError::Transient { endpoint, detail } => {
            endpoint == TICKET_ENDPOINT && detail.starts_with(EVERY_ID_REFUSED)
        }
        _ => false,
    }
}

const EVERY_ID_REFUSED: &str = "every client id was refused";

/// One refresh grant, retried on 5xx and network errors. A 4xx answer means
/// the refresh token is dead ([`GarminError::TokensDead`]).
pub async fn refresh(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    tokens: &Tokens,
) -> Result<Tokens> {
    let Some(refresh_token) = tokens.di_refresh_token.as_deref() else {
        return Err(GarminError::TokensDead {
            detail: "no refresh token is stored".into(),
        });
    };
    let client_id = tokens.client_id();
    let mut attempt = 0;
    loop {
        let outcome = refresh_once(client, settings, clock, &client_id, refresh_token).await;
        match outcome {
            Err(GarminError::Transient { .. }) if attempt + 1 < settings.retry_attempts.max(1) => {
                http::pause(http::backoff(settings, attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
            Ok((access, new_refresh)) => {
                let di_client_id = jwt::claims(&access)
                    .and_then(|c| c.client_id)
                    .unwrap_or(client_id);
                return Ok(Tokens {
                    di_token: access,
                    di_refresh_token: new_refresh.or_else(|| Some(refresh_token.to_string())),
                    di_client_id: Some(di_client_id),
                });
            }
        }
    }
}

async fn refresh_once(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    client_id: &str,
    refresh_token: &str,
) -> Result<(String, Option<String>)> {
    let response = token_request(client, settings, client_id)
        .header(header::ACCEPT, "application/json")
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .map_err(|e| transport_error(REFRESH_ENDPOINT, e))?;
    let status = response.status();
    if let Some(error) = http::rate_limit_error(
        status,
        response.headers(),
        REFRESH_ENDPOINT,
        clock.now(),
        settings.api_rate_limit_wait_secs,
    ) {
        return Err(error);
    }
    if status.is_server_error() {
        return Err(GarminError::transient(
            REFRESH_ENDPOINT,
            format!("HTTP {}", status.as_u16()),
        ));
    }
    if !status.is_success() {
        return Err(GarminError::TokensDead {
            detail: refusal_detail(status, response).await,
        });
    }
    let answer = parse_answer(response, REFRESH_ENDPOINT).await?;
    tracing::info!(target: "garmin::di", "DI tokens refreshed");
    Ok(answer)
}

/// The most read of a token answer (a real one is about 3 KB).
pub const ANSWER_LIMIT: usize = 64 << 10;
/// The most read of a refusal, whose `error` code is all that is kept.
const REFUSAL_LIMIT: usize = 16 << 10;

/// "HTTP 400 invalid_grant": the status and the OAuth `error` code only.
async fn refusal_detail(status: StatusCode, response: browser::Response) -> String {
    let body = browser::read_body("DI token refusal", response, REFUSAL_LIMIT)
        .await
        .unwrap_or_default();
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
    match code {
        Some(code) => format!(
            "HTTP {} {}",
            status.as_u16(),
            crate::excerpt::excerpt(code.as_bytes(), &[])
        ),
        None => format!("HTTP {}", status.as_u16()),
    }
}

async fn parse_answer(
    response: browser::Response,
    endpoint: &str,
) -> Result<(String, Option<String>)> {
    let body = browser::read_body(endpoint, response, ANSWER_LIMIT).await?;
    let answer: TokenAnswer = serde_json::from_slice(&body)
        .map_err(|_| GarminError::transient(endpoint, "the answer is not JSON"))?;
    let access = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GarminError::permanent(endpoint, "the answer has no access_token"))?;
    Ok((access, answer.refresh_token.filter(|t| !t.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_has_an_empty_secret() {
        let settings = Settings::default();
        let client = browser::di_client(&settings).unwrap();
        let request = token_request(&client, &settings, "ABC").build().unwrap();
        let auth = request.headers().get(header::AUTHORIZATION).unwrap();
        // base64("ABC:"): the client id, a colon, no secret.
        assert_eq!(auth, "Basic QUJDOg==");
        assert!(auth.is_sensitive(), "kept out of debug output");
    }

    #[test]
    fn a_ticket_never_shows_in_debug() {
        let t = Ticket {
            ticket: "ST-123-secret".into(),
            service_url: "https://x".into(),
        };
        assert!(!format!("{t:?}").contains("ST-123"));
    }
}
