//! The SSO embed widget: the HTML form login (research §1.3). Three pages
//! (embed, sign-in form with its CSRF token, the form POST), each answer
//! judged by its `<title>`.

use crate::browser::header::{ACCEPT, CONTENT_TYPE, REFERER};
use crate::browser::{transport_error, Client, StatusCode};
use crate::clock::Clock;
use crate::di_token::Ticket;
use crate::errors::{GarminError, Result};
use crate::excerpt::excerpt;
use crate::html;
use crate::http;
use crate::mfa::{PendingMfa, SignedIn, Step};
use crate::settings::Settings;
use crate::sso_answers::{read_page, Page};
use crate::sso_endpoints::{widget_service_url, widget_signin_query};
use serde_json::json;

pub async fn login(
    client: Client,
    settings: &Settings,
    clock: &Clock,
    email: &str,
    password: &str,
) -> Result<Step> {
    let sso = settings.sso();
    let embed = client
        .get(format!("{sso}/sso/embed"))
        .query(&[
            ("id", "gauth-widget"),
            ("embedWidget", "true"),
            ("gauthHost", &format!("{sso}/sso")),
        ])
        .send()
        .await
        .map_err(|e| transport_error("widget embed page", e))?;
    let embed = read_page(embed, "widget embed page", settings, clock).await?;
    ensure_ok(&embed, "widget embed page")?;

    let form = client
        .get(format!("{sso}/sso/signin"))
        .query(&widget_signin_query(settings))
        .header(REFERER, widget_service_url(settings))
        .send()
        .await
        .map_err(|e| transport_error("widget sign-in page", e))?;
    let form = read_page(form, "widget sign-in page", settings, clock).await?;
    ensure_ok(&form, "widget sign-in page")?;
    let csrf = html::csrf_token(&form.text).ok_or_else(|| {
        GarminError::permanent("widget sign-in page", "no _csrf token in the form")
    })?;

    http::pause(http::jittered(settings.login_pause(), 1.0, 8.0 / 3.0)).await;

    tracing::debug!(target: "garmin::login", flow = "widget", "posting credentials");
    let answer = client
        .post(format!("{sso}/sso/signin"))
        .query(&widget_signin_query(settings))
        .header(REFERER, form.url.as_str())
        .form(&[
            ("username", email),
            ("password", password),
            ("embed", "true"),
            ("_csrf", csrf.as_str()),
        ])
        .send()
        .await
        .map_err(|e| transport_error("widget login", e))?;
    let page = read_page(answer, "widget login", settings, clock).await?;
    judge(client, settings, clock, page).await
}

fn ensure_ok(page: &Page, endpoint: &str) -> Result<()> {
    match page.status {
        s if s.is_success() => Ok(()),
        StatusCode::FORBIDDEN => Err(GarminError::challenge(endpoint)),
        s => Err(GarminError::transient(
            endpoint,
            format!(
                "HTTP {} ({})",
                s.as_u16(),
                excerpt(page.title.as_bytes(), &[])
            ),
        )),
    }
}

/// Judges the page the credential POST led to (research §1.3 step 5).
async fn judge(client: Client, settings: &Settings, clock: &Clock, page: Page) -> Result<Step> {
    const ENDPOINT: &str = "widget login";
    let title = page.title.to_ascii_lowercase();
    let detail = format!(
        "HTTP {}, title {:?}",
        page.status.as_u16(),
        excerpt(page.title.as_bytes(), &[])
    );
    if ["bad gateway", "service unavailable", "502", "503"]
        .iter()
        .any(|t| title.contains(t))
        || page.status.is_server_error()
    {
        return Err(GarminError::transient(ENDPOINT, detail));
    }
    if title.contains("just a moment")
        || title.contains("cloudflare")
        || page.status == StatusCode::FORBIDDEN
    {
        return Err(GarminError::challenge(ENDPOINT));
    }
    if title.contains("locked") {
        return Err(GarminError::AccountLocked { detail });
    }
    if ["invalid", "incorrect", "account error"]
        .iter()
        .any(|t| title.contains(t))
        || page.text.contains("Invalid sign in")
        || html::js_var(&page.text, "status").as_deref() == Some("FAIL")
    {
        return Err(GarminError::BadCredentials { detail });
    }
    if title.contains("unable to sign in") || title.contains("unable to login") {
        return Err(GarminError::needs_user(
            "Garmin does not allow web sign-in for this account (child or family accounts are restricted). Connect with a token file instead.",
            detail,
        ));
    }
    // MFA and success first: real pages load a CAPTCHA script whatever they say.
    let mfa_method = html::js_var(&page.text, "mfaMethod").filter(|m| !m.is_empty());
    if title.contains("mfa")
        || (title.contains("authentication application") && mfa_method.is_some())
    {
        return start_mfa(
            client,
            settings,
            clock,
            page,
            mfa_method.unwrap_or_else(|| "email".into()),
        )
        .await;
    }
    if title == "success" {
        let ticket = html::service_ticket(&page.text).ok_or_else(|| {
            GarminError::permanent(ENDPOINT, "a Success page without a service ticket")
        })?;
        return Ok(Step::Ticket(SignedIn {
            ticket: Ticket {
                ticket,
                service_url: widget_service_url(settings),
            },
            session: client,
        }));
    }
    if page.text.to_ascii_lowercase().contains("captcha") {
        return Err(GarminError::needs_user(
            "Garmin asks for a CAPTCHA before it lets this server sign in. Sign in once on connect.garmin.com from a browser, wait a few hours, then reconnect (or connect with a token file).",
            detail,
        ));
    }
    Err(GarminError::permanent(
        ENDPOINT,
        format!("unexpected page: {detail}"),
    ))
}

/// The widget's MFA page: ask for delivery when Garmin has not sent the code
/// yet (email/SMS), then keep what the verify POST needs.
async fn start_mfa(
    client: Client,
    settings: &Settings,
    clock: &Clock,
    page: Page,
    method: String,
) -> Result<Step> {
    let csrf = html::csrf_token(&page.text).ok_or_else(|| {
        GarminError::permanent("widget MFA page", "no _csrf token on the MFA page")
    })?;
    let sent_to = html::js_var(&page.text, "codeSentTo").unwrap_or_default();
    let delivered_by_garmin = ["email", "sms"]
        .iter()
        .any(|m| method.eq_ignore_ascii_case(m));
    if delivered_by_garmin && sent_to.is_empty() {
        let var = |name| html::js_var(&page.text, name).unwrap_or_default();
        let response = client
            .post(format!("{}/sso/verifyMFA/mfaCode", settings.sso()))
            .query(&[("clientId", var("clientId"))])
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/plain, */*")
            .header(REFERER, page.url.as_str())
            .body(json!({"customerGuid": var("customerGuid"), "mfaMethod": method, "locale": var("locale")}).to_string())
            .send()
            .await
            .map_err(|e| transport_error("widget MFA code request", e))?;
        let status = response.status();
        http::check_login_rate_limit(
            status,
            response.headers(),
            "widget MFA code request",
            settings,
            clock,
        )?;
        if !status.is_success() {
            return Err(GarminError::transient(
                "widget MFA code request",
                format!("HTTP {}", status.as_u16()),
            ));
        }
    }
    tracing::info!(target: "garmin::login", flow = "widget", method = %method, "Garmin asks for an MFA code");
    Ok(Step::Mfa(PendingMfa::widget(client, csrf, page.url)))
}
