//! Reading what the SSO answered: the JSON flows' `responseStatus`, the
//! widget's HTML pages, rate limits and challenges on the way, and the
//! refusals they mean. Above the endpoints, below every flow.

use crate::browser::{self, Response, StatusCode};
use crate::clock::Clock;
use crate::errors::{GarminError, Result};
use crate::html;
use crate::http;
use crate::settings::Settings;
use serde_json::Value;

/// What a JSON SSO answer says, once rate limits and challenges are out.
#[derive(Debug, PartialEq)]
pub enum Answer {
    Successful(String),
    MfaRequired(String),
    Other(String),
}

/// Reads and classifies a login or MFA answer (research §1.1).
pub async fn read_answer(
    response: Response,
    endpoint: &str,
    settings: &Settings,
    clock: &Clock,
) -> Result<Answer> {
    let status = response.status();
    http::check_login_rate_limit(status, response.headers(), endpoint, settings, clock)?;
    if status == StatusCode::FORBIDDEN {
        return Err(GarminError::challenge(endpoint));
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

/// A page the widget answered: status, final URL (after redirects) and text.
pub struct Page {
    pub status: StatusCode,
    pub url: String,
    pub text: String,
    pub title: String,
}

pub async fn read_page(
    response: Response,
    endpoint: &str,
    settings: &Settings,
    clock: &Clock,
) -> Result<Page> {
    let status = response.status();
    http::check_login_rate_limit(status, response.headers(), endpoint, settings, clock)?;
    let url = response.uri().to_string();
    let body = browser::read_body(endpoint, response, browser::ANSWER_LIMIT).await?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let title = html::title(&text).unwrap_or_default();
    Ok(Page {
        status,
        url,
        text,
        title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
