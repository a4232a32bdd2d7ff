//! The SSO's JSON login API, in its two variants: `mobile` (the iOS app's
//! `/mobile/...` endpoints) and `portal` (the web's `/portal/...`).
//!
//! Both load the sign-in page first (its cookies and a matching Referer are
//! what keep the credential POST from drawing a 429), pause like a person,
//! then POST the credentials as JSON and read `responseStatus.type`.

use crate::browser::header::{ACCEPT, ACCEPT_LANGUAGE, USER_AGENT};
use crate::browser::{transport_error, Client, StatusCode};
use crate::clock::Clock;
use crate::errors::{GarminError, Result};
use crate::http;
use crate::identity::{ACCEPT_HTML, ACCEPT_LANGUAGE_VALUE};
use crate::mfa::{PendingMfa, SignedIn, Step};
use crate::settings::Settings;
use crate::sso_answers::{read_answer, refusal, Answer};
use crate::sso_endpoints::JsonFlow;
use serde_json::json;

/// One login over `flow`: page, pause, credential POST.
pub async fn login(
    client: Client,
    settings: &Settings,
    clock: &Clock,
    flow: JsonFlow,
    email: &str,
    password: &str,
) -> Result<Step> {
    let page_endpoint = format!("{} sign-in page", flow.name());
    let mut page = client
        .get(flow.page_url(settings))
        .query(&[
            ("clientId", flow.client_id().to_string()),
            ("service", flow.service_url(settings)),
        ])
        .header(ACCEPT, ACCEPT_HTML)
        .header(ACCEPT_LANGUAGE, ACCEPT_LANGUAGE_VALUE);
    if let Some(ua) = flow.user_agent() {
        page = page.header(USER_AGENT, ua);
    }
    let page = page
        .send()
        .await
        .map_err(|e| transport_error(&page_endpoint, e))?;
    let status = page.status();
    http::check_login_rate_limit(status, page.headers(), &page_endpoint, settings, clock)?;
    if status == StatusCode::FORBIDDEN {
        return Err(GarminError::challenge(&page_endpoint));
    }
    // The body only matters for its cookies, which the jar has taken.
    drop(page);

    let (low, high) = flow.pause_range();
    http::pause(http::jittered(settings.login_pause(), low, high)).await;

    let endpoint = format!("{} login", flow.name());
    tracing::debug!(target: "garmin::login", flow = flow.name(), "posting credentials");
    let response = client
        .post(flow.api_url(settings, "login"))
        .query(&flow.api_query(settings))
        .headers(flow.post_headers(settings))
        .body(
            json!({"username": email, "password": password, "rememberMe": true, "captchaToken": ""})
                .to_string(),
        )
        .send()
        .await
        .map_err(|e| transport_error(&endpoint, e))?;
    match read_answer(response, &endpoint, settings, clock).await? {
        Answer::Successful(ticket) => Ok(Step::Ticket(SignedIn {
            ticket: flow.ticket(settings, ticket),
            session: client,
        })),
        Answer::MfaRequired(method) => {
            tracing::info!(target: "garmin::login", flow = flow.name(), method = %method, "Garmin asks for an MFA code");
            Ok(Step::Mfa(PendingMfa::json(client, flow, method)))
        }
        Answer::Other(kind) => Err(refusal(&endpoint, &kind)),
    }
}
