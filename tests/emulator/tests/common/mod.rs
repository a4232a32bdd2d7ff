//! Test helpers: a small blocking client that speaks the emulator's protocol the way
//! garminconnect does (sign-in page, credential POST, DI exchange, Bearer API calls).

#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use garmin_emulator::Emulator;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

pub const IOS_SERVICE: &str = "https://mobile.integration.garmin.com/gcm/ios";
pub const PORTAL_SERVICE: &str = "https://connect.garmin.com/app";
pub const TICKET_GRANT: &str =
    "https://connectapi.garmin.com/di-oauth2-service/oauth/grant/service_ticket";
pub const FIRST_CLIENT: &str = "GARMIN_CONNECT_MOBILE_ANDROID_DI_2025Q2";

/// The User-Agent the test client sends to the SSO (a browser's, as the sign-in pages need one).
pub const BROWSER_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

/// A client with its own cookie jar (one SSO session).
pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .user_agent(BROWSER_UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

pub fn mobile_query() -> [(&'static str, &'static str); 3] {
    [
        ("clientId", "GCM_IOS_DARK"),
        ("locale", "en-US"),
        ("service", IOS_SERVICE),
    ]
}

pub fn portal_query() -> [(&'static str, &'static str); 3] {
    [
        ("clientId", "GarminConnect"),
        ("locale", "en-US"),
        ("service", PORTAL_SERVICE),
    ]
}

/// GETs the mobile sign-in page (sets the session cookies).
pub fn mobile_page(c: &Client, base: &str) -> Response {
    c.get(format!("{base}/mobile/sso/en_US/sign-in"))
        .query(&[("clientId", "GCM_IOS_DARK"), ("service", IOS_SERVICE)])
        .send()
        .expect("sign-in page")
}

/// POSTs credentials to the mobile JSON login (after the page, with its Referer).
pub fn mobile_post(c: &Client, base: &str, email: &str, password: &str) -> Response {
    c.post(format!("{base}/mobile/api/login"))
        .query(&mobile_query())
        .header("Referer", format!("{base}/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios"))
        .header("Origin", base)
        .json(&json!({ "username": email, "password": password, "rememberMe": true, "captchaToken": "" }))
        .send()
        .expect("login POST")
}

/// Page + POST; returns (HTTP status, JSON body).
pub fn mobile_login(c: &Client, base: &str, email: &str, password: &str) -> (u16, Value) {
    assert_eq!(mobile_page(c, base).status(), 200);
    let resp = mobile_post(c, base, email, password);
    let status = resp.status().as_u16();
    (status, resp.json().expect("login answers JSON"))
}

/// POSTs the JSON MFA code to `/{flow}/api/mfa/verifyCode`.
pub fn verify_code(c: &Client, base: &str, flow: &str, code: &str) -> Value {
    let query = if flow == "portal" {
        portal_query()
    } else {
        mobile_query()
    };
    c.post(format!("{base}/{flow}/api/mfa/verifyCode"))
        .query(&query)
        .header("Origin", base)
        .json(&json!({ "mfaMethod": "email", "mfaVerificationCode": code, "rememberMyBrowser": true, "reconsentList": [], "mfaSetup": false }))
        .send()
        .expect("verifyCode")
        .json()
        .expect("verifyCode answers JSON")
}

fn basic(client_id: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:")))
}

/// The DI ticket exchange.
pub fn exchange(base: &str, ticket: &str, service_url: &str, client_id: &str) -> Response {
    client()
        .post(format!("{base}/di-oauth2-service/oauth/token"))
        .header("Authorization", basic(client_id))
        .form(&[
            ("client_id", client_id),
            ("service_ticket", ticket),
            ("grant_type", TICKET_GRANT),
            ("service_url", service_url),
        ])
        .send()
        .expect("DI exchange")
}

/// The DI refresh grant.
pub fn refresh(base: &str, refresh_token: &str, client_id: &str) -> Response {
    client()
        .post(format!("{base}/di-oauth2-service/oauth/token"))
        .header("Authorization", basic(client_id))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ])
        .send()
        .expect("DI refresh")
}

/// A full mobile login without MFA; returns the DI token response.
pub fn login_tokens(emu: &Emulator, email: &str, password: &str) -> Value {
    let base = emu.base_url();
    let (status, body) = mobile_login(&client(), &base, email, password);
    assert_eq!(
        body["responseStatus"]["type"], "SUCCESSFUL",
        "{status} {body}"
    );
    let ticket = body["serviceTicketId"].as_str().expect("ticket");
    let resp = exchange(&base, ticket, IOS_SERVICE, FIRST_CLIENT);
    assert_eq!(resp.status(), 200);
    resp.json().expect("token JSON")
}

/// A Bearer GET on connectapi.
pub fn api_get(base: &str, path: &str, token: &str) -> Response {
    client()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .header("User-Agent", "GCM-Android-5.23")
        .header("X-Garmin-User-Agent", "com.garmin.android.apps.connectmobile/5.23; ; Google/sdk_gphone64_arm64/google; Android/33; Dalvik/2.1.0")
        .header("Accept", "application/json")
        .send()
        .expect("API GET")
}

/// The status of a Bearer GET of the account's `socialProfile`.
pub fn profile_status(base: &str, token: &str) -> reqwest::StatusCode {
    api_get(base, "/userprofile-service/socialProfile", token).status()
}

/// The payload of a JWT (no signature check, as clients do).
pub fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("three-part JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload"))
        .expect("JSON payload")
}

/// The entry names of a zip.
pub fn zip_names(bytes: &[u8]) -> zip::result::ZipResult<Vec<String>> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    Ok(archive.file_names().map(str::to_string).collect())
}
