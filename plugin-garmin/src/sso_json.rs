//! The SSO's JSON login API, in its two variants: `mobile` (the iOS app's
//! `/mobile/...` endpoints) and `portal` (the web's `/portal/...`).
//!
//! Both load the sign-in page first (its cookies and a matching Referer are
//! what keep the credential POST from drawing a 429), pause like a person,
//! then POST the credentials as JSON and read `responseStatus.type`.

use crate::browser::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_LANGUAGE, CONTENT_TYPE, ORIGIN, REFERER, USER_AGENT,
};
use crate::browser::{self, transport_error, Client, StatusCode};
use crate::clock::Clock;
use crate::di_token::Ticket;
use crate::errors::{GarminError, Result};
use crate::http;
use crate::identity::*;
use crate::login::Step;
use crate::mfa::PendingMfa;
use crate::settings::Settings;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFlow {
    Mobile,
    Portal,
}

impl JsonFlow {
    pub fn name(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Portal => "portal",
        }
    }
    pub fn other(self) -> Self {
        match self {
            Self::Mobile => Self::Portal,
            Self::Portal => Self::Mobile,
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Portal => "portal",
        }
    }
    fn client_id(self) -> &'static str {
        match self {
            Self::Mobile => IOS_CLIENT_ID,
            Self::Portal => PORTAL_CLIENT_ID,
        }
    }
    /// The service URL on the configured domain (`garmin.cn` accounts get `.cn`).
    pub fn service_url(self, settings: &Settings) -> String {
        settings.on_domain(match self {
            Self::Mobile => IOS_SERVICE_URL,
            Self::Portal => PORTAL_SERVICE_URL,
        })
    }
    /// A service ticket this flow's SSO issued (bound to its service URL).
    pub fn ticket(self, settings: &Settings, ticket: String) -> Ticket {
        Ticket {
            ticket,
            service_url: self.service_url(settings),
        }
    }
    /// The User-Agent the flow prescribes: the iOS app's for mobile; the portal
    /// sends the emulated browser's own (so UA and TLS agree).
    fn user_agent(self) -> Option<&'static str> {
        match self {
            Self::Mobile => Some(IOS_LOGIN_UA),
            Self::Portal => None,
        }
    }
    /// The sign-in page (note `en_US` for mobile, `en-US` for the portal).
    fn page_url(self, settings: &Settings) -> String {
        let locale = match self {
            Self::Mobile => "en_US",
            Self::Portal => "en-US",
        };
        format!("{}/{}/sso/{locale}/sign-in", settings.sso(), self.prefix())
    }
    /// The Referer of the POSTs: the page URL with its query, URL-encoded
    /// for mobile, verbatim for the portal (as Garmin's clients send them).
    fn referer(self, settings: &Settings) -> String {
        let page = self.page_url(settings);
        let service = self.service_url(settings);
        match self {
            Self::Mobile => reqwest::Url::parse_with_params(
                &page,
                &[
                    ("clientId", self.client_id()),
                    ("service", service.as_str()),
                ],
            )
            .map(String::from)
            .unwrap_or(page),
            Self::Portal => format!("{page}?clientId={}&service={service}", self.client_id()),
        }
    }
    /// The query of every POST of this flow.
    pub fn api_query(self, settings: &Settings) -> [(&'static str, String); 3] {
        [
            ("clientId", self.client_id().to_string()),
            ("locale", "en-US".to_string()),
            ("service", self.service_url(settings)),
        ]
    }
    pub fn api_url(self, settings: &Settings, path: &str) -> String {
        format!("{}/{}/api/{path}", settings.sso(), self.prefix())
    }
    /// The anti-WAF pause between the page and the POST, as multiples of
    /// `login_pause_ms` (3 s by default: 2–5 s mobile, 10–20 s portal).
    fn pause_range(self) -> (f64, f64) {
        match self {
            Self::Mobile => (2.0 / 3.0, 5.0 / 3.0),
            Self::Portal => (10.0 / 3.0, 20.0 / 3.0),
        }
    }
    /// Headers of the login and MFA POSTs.
    pub fn post_headers(self, settings: &Settings) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        };
        if let Some(ua) = self.user_agent() {
            put(USER_AGENT, ua);
        }
        put(ACCEPT, ACCEPT_JSON_LOGIN);
        put(ACCEPT_LANGUAGE, ACCEPT_LANGUAGE_VALUE);
        put(CONTENT_TYPE, "application/json");
        put(ORIGIN, settings.sso());
        put(REFERER, &self.referer(settings));
        h
    }
}

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
        return Err(challenge(&page_endpoint));
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
        Answer::Successful(ticket) => Ok(Step::Ticket(flow.ticket(settings, ticket))),
        Answer::MfaRequired(method) => {
            tracing::info!(target: "garmin::login", flow = flow.name(), method = %method, "Garmin asks for an MFA code");
            Ok(Step::Mfa(PendingMfa::json(client, flow, method)))
        }
        Answer::Other(kind) => Err(refusal(&endpoint, &kind)),
    }
}

/// What a JSON SSO answer says, once rate limits and challenges are out.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Successful(String),
    MfaRequired(String),
    Other(String),
}

/// Reads and classifies a login or MFA answer (research §1.1).
pub async fn read_answer(
    response: browser::Response,
    endpoint: &str,
    settings: &Settings,
    clock: &Clock,
) -> Result<Answer> {
    let status = response.status();
    http::check_login_rate_limit(status, response.headers(), endpoint, settings, clock)?;
    if status == StatusCode::FORBIDDEN {
        return Err(challenge(endpoint));
    }
    let body = browser::read_body(endpoint, response, browser::ANSWER_LIMIT).await?;
    classify(status, &body, endpoint, settings)
}

fn classify(
    status: StatusCode,
    body: &[u8],
    endpoint: &str,
    settings: &Settings,
) -> Result<Answer> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let what = if status.is_server_error() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!(
                "HTTP {}: an HTML page where JSON was expected ({})",
                status.as_u16(),
                crate::excerpt::excerpt(
                    crate::html::title(&String::from_utf8_lossy(body))
                        .unwrap_or_default()
                        .as_bytes(),
                    &[]
                )
            )
        };
        return Err(GarminError::transient(endpoint, what));
    };
    let hidden_429 = value
        .pointer("/error/status-code")
        .is_some_and(|c| c.as_str() == Some("429") || c.as_u64() == Some(429));
    if hidden_429 {
        return Err(GarminError::rate_limited(
            endpoint,
            None,
            settings.login_rate_limit_wait_secs,
        ));
    }
    let kind = value
        .pointer("/responseStatus/type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match kind.as_str() {
        "SUCCESSFUL" => value
            .get("serviceTicketId")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| Answer::Successful(t.to_string()))
            .ok_or_else(|| {
                GarminError::permanent(endpoint, "SUCCESSFUL without a serviceTicketId")
            }),
        "MFA_REQUIRED" => Ok(Answer::MfaRequired(
            value
                .pointer("/customerMfaInfo/mfaLastMethodUsed")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .unwrap_or("email")
                .to_string(),
        )),
        "" if status.is_server_error() => Err(GarminError::transient(
            endpoint,
            format!("HTTP {}", status.as_u16()),
        )),
        "" => Err(GarminError::permanent(
            endpoint,
            format!("HTTP {} without responseStatus.type", status.as_u16()),
        )),
        other => Ok(Answer::Other(other.chars().take(80).collect())),
    }
}

/// The error for a `responseStatus.type` that is neither success nor MFA.
pub fn refusal(endpoint: &str, kind: &str) -> GarminError {
    let detail = format!("{endpoint}: {kind}");
    match kind {
        "INVALID_USERNAME_PASSWORD" => GarminError::BadCredentials { detail },
        "CAPTCHA_REQUIRED" => GarminError::needs_user(
            "Garmin asks for a CAPTCHA before it lets this server sign in. Sign in once on connect.garmin.com from a browser, wait a few hours, then reconnect (or connect with a token file).",
            detail,
        ),
        k if k.contains("LOCKED") || k.contains("DISABLED") => GarminError::AccountLocked { detail },
        _ => GarminError::permanent(endpoint, format!("unexpected responseStatus.type {kind}")),
    }
}

/// Whether `error` is what the edge answers a fingerprint it blocks (403
/// challenge, 427/429): another browser profile may get through.
pub fn blocked_at_edge(error: &GarminError) -> bool {
    error.is_rate_limited()
        || matches!(error, GarminError::NeedsUser { detail, .. } if detail.ends_with(CHALLENGE_DETAIL))
}

const CHALLENGE_DETAIL: &str = "HTTP 403 challenge";

/// A Cloudflare challenge (403): a browser check this client cannot pass.
pub fn challenge(endpoint: &str) -> GarminError {
    GarminError::needs_user(
        "Garmin's bot protection (Cloudflare) blocked the sign-in from this server's network. Try again later, or connect with a token file made on another machine.",
        format!("{endpoint}: {CHALLENGE_DETAIL}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_json(status: u16, body: Value) -> Result<Answer> {
        classify(
            StatusCode::from_u16(status).unwrap(),
            body.to_string().as_bytes(),
            "mobile login",
            &Settings::default(),
        )
    }

    #[test]
    fn reads_each_answer() {
        assert_eq!(
            classify_json(
                200,
                json!({"responseStatus": {"type": "SUCCESSFUL"}, "serviceTicketId": "ST-1"})
            )
            .unwrap(),
            Answer::Successful("ST-1".into())
        );
        assert_eq!(
            classify_json(200, json!({"responseStatus": {"type": "MFA_REQUIRED"}, "customerMfaInfo": {"mfaLastMethodUsed": "sms"}})).unwrap(),
            Answer::MfaRequired("sms".into())
        );
        assert_eq!(
            classify_json(
                200,
                json!({"responseStatus": {"type": "MFA_REQUIRED"}, "customerMfaInfo": null})
            )
            .unwrap(),
            Answer::MfaRequired("email".into())
        );
        assert_eq!(
            classify_json(
                401,
                json!({"responseStatus": {"type": "INVALID_USERNAME_PASSWORD"}})
            )
            .unwrap(),
            Answer::Other("INVALID_USERNAME_PASSWORD".into())
        );
        assert!(classify_json(200, json!({"error": {"status-code": "429"}}))
            .unwrap_err()
            .is_rate_limited());
        assert!(matches!(
            classify_json(200, json!({"responseStatus": {"type": "SUCCESSFUL"}})),
            Err(GarminError::Permanent { .. })
        ));
    }

    #[test]
    fn html_instead_of_json_is_transient_and_named() {
        let e = classify(
            StatusCode::OK,
            b"<html><title>Just a moment...</title>",
            "mobile login",
            &Settings::default(),
        )
        .unwrap_err();
        match e {
            GarminError::Transient { endpoint, detail } => {
                assert_eq!(endpoint, "mobile login");
                assert!(detail.contains("Just a moment"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_map_to_their_kinds() {
        assert!(matches!(
            refusal("x", "INVALID_USERNAME_PASSWORD"),
            GarminError::BadCredentials { .. }
        ));
        assert!(matches!(
            refusal("x", "CAPTCHA_REQUIRED"),
            GarminError::NeedsUser { .. }
        ));
        assert!(matches!(
            refusal("x", "ACCOUNT_LOCKED"),
            GarminError::AccountLocked { .. }
        ));
        assert!(matches!(
            refusal("x", "SOMETHING_NEW"),
            GarminError::Permanent { .. }
        ));
    }

    #[test]
    fn the_mobile_referer_is_url_encoded_and_the_portal_one_is_not() {
        let s = Settings {
            sso_base_url: "http://127.0.0.1:9".into(),
            ..Settings::default()
        };
        assert_eq!(
            JsonFlow::Mobile.referer(&s),
            "http://127.0.0.1:9/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios"
        );
        assert_eq!(
            JsonFlow::Portal.referer(&s),
            "http://127.0.0.1:9/portal/sso/en-US/sign-in?clientId=GarminConnect&service=https://connect.garmin.com/app"
        );
    }
}
