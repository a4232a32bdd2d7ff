//! A login waiting for its MFA code: the HTTP client holding the SSO
//! session cookies, the flow that asked, and what its verify POST needs.
//!
//! It lives only in memory (see `connect::PendingFlows`); the code is used
//! once and never stored or logged.

use crate::browser::header::REFERER;
use crate::browser::{transport_error, Client, StatusCode};
use crate::clock::Clock;
use crate::di_token::Ticket;
use crate::errors::{GarminError, Result};
use crate::html;
use crate::settings::Settings;
use crate::sso_answers::{read_answer, read_page, Answer};
use crate::sso_endpoints::{widget_service_url, widget_signin_query, JsonFlow};
use serde_json::json;

/// Where a sign-in flow got to.
pub enum Step {
    /// Signed in: a service ticket to exchange for tokens.
    Ticket(SignedIn),
    /// Garmin wants a one-time code first.
    Mfa(PendingMfa),
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ticket(t) => write!(f, "Ticket({:?})", t.ticket),
            Self::Mfa(m) => write!(f, "Mfa({})", m.flow_name()),
        }
    }
}

/// A finished sign-in: the service ticket, and the browser connection whose
/// SSO session issued it (the `JWT_WEB` fallback redeems the ticket on it).
pub struct SignedIn {
    pub ticket: Ticket,
    pub session: Client,
}

pub struct PendingMfa {
    client: Client,
    kind: Kind,
}

enum Kind {
    Json { flow: JsonFlow, method: String },
    Widget { csrf: String, referer: String },
}

/// What Garmin said about a code.
#[derive(Debug)]
pub enum Verdict {
    Ticket(Ticket),
    WrongCode,
}

impl PendingMfa {
    pub fn json(client: Client, flow: JsonFlow, method: String) -> Self {
        Self {
            client,
            kind: Kind::Json { flow, method },
        }
    }

    pub fn widget(client: Client, csrf: String, referer: String) -> Self {
        Self {
            client,
            kind: Kind::Widget { csrf, referer },
        }
    }

    /// The connection holding the SSO session (its cookies) of this login.
    pub fn session(&self) -> Client {
        self.client.clone()
    }

    /// The flow's name, for logs.
    pub fn flow_name(&self) -> &'static str {
        match &self.kind {
            Kind::Json { flow, .. } => flow.name(),
            Kind::Widget { .. } => "widget",
        }
    }

    pub async fn verify(
        &mut self,
        settings: &Settings,
        clock: &Clock,
        code: &str,
    ) -> Result<Verdict> {
        match &mut self.kind {
            Kind::Json { flow, method } => {
                verify_json(&self.client, settings, clock, *flow, method, code).await
            }
            Kind::Widget { csrf, referer } => {
                verify_widget(&self.client, settings, clock, csrf, referer, code).await
            }
        }
    }
}

/// The flow's own verify endpoint; when that one cannot answer (rate limit,
/// 5xx, network, HTML, a 403 challenge) the other flow's endpoint, as Garmin's
/// clients do. A definite "wrong code" is not submitted a second time. The
/// ticket is bound to the service URL of the login that asked for the code,
/// whichever endpoint completes it (as Garmin's clients exchange it). An error
/// from both leaves the pending login as it was (the caller keeps it).
async fn verify_json(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    flow: JsonFlow,
    method: &str,
    code: &str,
) -> Result<Verdict> {
    let first = verify_json_at(client, settings, clock, flow, flow, method, code).await;
    let first_error = match first {
        Ok(verdict) => return Ok(verdict),
        Err(e) if is_passing(&e) => e,
        Err(e) => return Err(e),
    };
    tracing::debug!(target: "garmin::mfa", "verify at {} failed ({first_error}); trying {}", flow.name(), flow.other().name());
    match verify_json_at(client, settings, clock, flow, flow.other(), method, code).await {
        Ok(verdict) => Ok(verdict),
        Err(second) if second.is_rate_limited() && first_error.is_rate_limited() => Err(second),
        Err(_) => Err(first_error),
    }
}

/// A verify failure that says nothing about the code: the endpoint could not answer.
pub fn is_passing(error: &GarminError) -> bool {
    matches!(
        error,
        GarminError::RateLimited { .. } | GarminError::Transient { .. }
    ) || error.is_blocked_at_edge()
}

async fn verify_json_at(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    flow: JsonFlow,
    via: JsonFlow,
    method: &str,
    code: &str,
) -> Result<Verdict> {
    let endpoint = format!("{} MFA verify", via.name());
    let response = client
        .post(via.api_url(settings, "mfa/verifyCode"))
        .query(&via.api_query(settings))
        .headers(flow.post_headers(settings))
        .body(
            json!({
                "mfaMethod": method,
                "mfaVerificationCode": code,
                "rememberMyBrowser": true,
                "reconsentList": [],
                "mfaSetup": false,
            })
            .to_string(),
        )
        .send()
        .await
        .map_err(|e| transport_error(&endpoint, e))?;
    match read_answer(response, &endpoint, settings, clock).await? {
        Answer::Successful(ticket) => Ok(Verdict::Ticket(flow.ticket(settings, ticket))),
        Answer::MfaRequired(_) | Answer::Other(_) => Ok(Verdict::WrongCode),
    }
}

async fn verify_widget(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    csrf: &mut String,
    referer: &str,
    code: &str,
) -> Result<Verdict> {
    const ENDPOINT: &str = "widget MFA verify";
    let response = client
        .post(format!(
            "{}/sso/verifyMFA/loginEnterMfaCode",
            settings.sso()
        ))
        .query(&widget_signin_query(settings))
        .header(REFERER, referer)
        .form(&[
            ("mfa-code", code),
            ("embed", "true"),
            ("_csrf", csrf.as_str()),
            ("fromPage", "setupEnterMfaCode"),
        ])
        .send()
        .await
        .map_err(|e| transport_error(ENDPOINT, e))?;
    let page = read_page(response, ENDPOINT, settings, clock).await?;
    if page.status.is_server_error() {
        return Err(GarminError::transient(
            ENDPOINT,
            format!("HTTP {}", page.status.as_u16()),
        ));
    }
    if page.status == StatusCode::FORBIDDEN {
        return Err(GarminError::challenge(ENDPOINT));
    }
    if page.title.eq_ignore_ascii_case("success") {
        if let Some(ticket) = html::service_ticket(&page.text) {
            return Ok(Verdict::Ticket(Ticket {
                ticket,
                service_url: widget_service_url(settings),
            }));
        }
    }
    // The page asking again carries a fresh CSRF token for the next try.
    if let Some(fresh) = html::csrf_token(&page.text) {
        *csrf = fresh;
    }
    Ok(Verdict::WrongCode)
}
