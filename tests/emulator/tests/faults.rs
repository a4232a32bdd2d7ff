//! Every switchable failure mode, its scope (target and count) and clearing.

mod common;

use std::time::Duration;

use common::*;
use garmin_emulator::{synthetic_activities, Account, Emulator, EmulatorConfig, Fault, Target};
use serde_json::Value;
use time::macros::datetime;

const EMAIL: &str = "a@example.com";

fn emulator() -> (Emulator, String, u64) {
    let acts = synthetic_activities(
        3,
        datetime!(2024-06-30 07:00 UTC),
        Duration::from_secs(3600),
    );
    let id = acts[0].id;
    let emu = Emulator::start(
        EmulatorConfig::empty().with_account(Account::new(EMAIL, "pw").with_activities(acts)),
    )
    .unwrap();
    let token = emu.mint_tokens(EMAIL, FIRST_CLIENT).access_token;
    (emu, token, id)
}

fn login_type(emu: &Emulator) -> (u16, Value) {
    let c = client();
    assert_eq!(mobile_page(&c, &emu.base_url()).status(), 200);
    let resp = mobile_post(&c, &emu.base_url(), EMAIL, "pw");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn download(emu: &Emulator, token: &str, id: u64) -> reqwest::blocking::Response {
    api_get(
        &emu.base_url(),
        &format!("/download-service/files/activity/{id}"),
        token,
    )
}

#[test]
fn login_faults_answer_their_response_status_then_run_out() {
    let (emu, _, _) = emulator();
    for (fault, expected) in [
        (Fault::InvalidCredentials, "INVALID_USERNAME_PASSWORD"),
        (Fault::AccountLocked, "ACCOUNT_LOCKED"),
        (Fault::CaptchaRequired, "CAPTCHA_REQUIRED"),
        (Fault::MfaRequired, "MFA_REQUIRED"),
    ] {
        emu.set_fault(fault.times(1));
        assert_eq!(login_type(&emu).1["responseStatus"]["type"], expected);
        assert_eq!(login_type(&emu).1["responseStatus"]["type"], "SUCCESSFUL");
    }
}

#[test]
fn forced_mfa_accepts_the_default_code_and_wrong_mfa_code_refuses_it() {
    let (emu, _, _) = emulator();
    emu.set_fault(Fault::MfaRequired.times(1));
    emu.set_fault(Fault::WrongMfaCode.times(1));
    let c = client();
    let (_, body) = mobile_login(&c, &emu.base_url(), EMAIL, "pw");
    assert_eq!(body["responseStatus"]["type"], "MFA_REQUIRED");
    assert_eq!(
        verify_code(&c, &emu.base_url(), "mobile", "123456")["responseStatus"]["type"],
        "MFA_CODE_INVALID"
    );
    assert_eq!(
        verify_code(&c, &emu.base_url(), "mobile", "123456")["responseStatus"]["type"],
        "SUCCESSFUL"
    );
}

#[test]
fn rate_limits_with_and_without_retry_after_in_html_and_json() {
    let (emu, _, _) = emulator();
    emu.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: Some(30),
            json: false,
        }
        .times(1),
    );
    let c = client();
    mobile_page(&c, &emu.base_url());
    let resp = mobile_post(&c, &emu.base_url(), EMAIL, "pw");
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    assert!(resp.text().unwrap().contains("<title>"));

    emu.set_fault(
        Fault::TooManyRequests {
            status: 427,
            retry_after: None,
            json: true,
        }
        .times(1),
    );
    let resp = mobile_post(&c, &emu.base_url(), EMAIL, "pw");
    assert_eq!(resp.status(), 427);
    assert!(resp.headers().get("retry-after").is_none());
    assert_eq!(resp.json::<Value>().unwrap()["error"]["status-code"], "429");

    // The "429 hidden in a JSON body" case, and a rate limit on the sign-in page.
    emu.set_fault(
        Fault::TooManyRequests {
            status: 200,
            retry_after: None,
            json: true,
        }
        .times(1),
    );
    let (status, body) = login_type(&emu);
    assert_eq!(
        (status, body["error"]["status-code"].as_str()),
        (200, Some("429"))
    );
    emu.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: None,
            json: false,
        }
        .on(Target::SignInPage)
        .times(1),
    );
    assert_eq!(mobile_page(&client(), &emu.base_url()).status(), 429);
    assert_eq!(emu.stats().logins, 3);
}

#[test]
fn cloudflare_challenge_and_html_instead_of_json() {
    let (emu, token, _) = emulator();
    emu.set_fault(Fault::CloudflareChallenge.times(1));
    let c = client();
    mobile_page(&c, &emu.base_url());
    let resp = mobile_post(&c, &emu.base_url(), EMAIL, "pw");
    assert_eq!(resp.status(), 403);
    let html = resp.text().unwrap();
    assert!(html.contains("Just a moment...") && html.contains("__cf_chl"));

    emu.set_fault(Fault::HtmlInsteadOfJson.on(Target::List).times(1));
    let resp = api_get(
        &emu.base_url(),
        "/activitylist-service/activities/search/activities",
        &token,
    );
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(resp.json::<Value>().is_err());
}

#[test]
fn server_errors_and_other_statuses() {
    let (emu, token, id) = emulator();
    emu.set_fault(Fault::Status(503).on(Target::List).times(2));
    emu.set_fault(Fault::Status(502).on(Target::Download(Some(id))).times(1));
    emu.set_fault(Fault::Status(204).on(Target::Profile).times(1));
    let list = || {
        api_get(
            &emu.base_url(),
            "/activitylist-service/activities/search/activities",
            &token,
        )
        .status()
        .as_u16()
    };
    assert_eq!([list(), list(), list()], [503, 503, 200]);
    let resp = download(&emu, &token, id);
    assert_eq!(resp.status(), 502);
    assert!(resp.text().unwrap().contains("502 Bad Gateway"));
    assert_eq!(download(&emu, &token, id).status(), 200);
    assert_eq!(profile_status(&emu.base_url(), &token), 204);
}

#[test]
fn reset_mid_body_sends_headers_then_drops_the_connection() {
    let (emu, token, id) = emulator();
    emu.set_fault(Fault::ResetMidBody.times(1));
    let resp = download(&emu, &token, id);
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().is_err(), "body should break off");
    let resp = download(&emu, &token, id);
    assert!(zip_names(&resp.bytes().unwrap()).is_ok());
    // Any request kind can be cut, e.g. the list.
    emu.set_fault(Fault::ResetMidBody.on(Target::List).times(1));
    let resp = api_get(
        &emu.base_url(),
        "/activitylist-service/activities/search/activities",
        &token,
    );
    assert!(resp.bytes().is_err());
}

#[test]
fn truncated_zip_and_zip_without_fit() {
    let (emu, token, id) = emulator();
    emu.set_fault(Fault::TruncatedZip.times(1));
    let bytes = download(&emu, &token, id).bytes().unwrap();
    assert!(zip_names(&bytes).is_err(), "a truncated zip must not open");
    emu.set_fault(Fault::ZipWithoutFit.on(Target::Download(Some(id))));
    let names = zip_names(&download(&emu, &token, id).bytes().unwrap()).unwrap();
    assert_eq!(names, vec![format!("{id}_ACTIVITY.gpx")]);
    emu.clear_faults();
    let names = zip_names(&download(&emu, &token, id).bytes().unwrap()).unwrap();
    assert_eq!(names, vec![format!("{id}_ACTIVITY.fit")]);
}

#[test]
fn slow_answers_outlast_a_short_client_timeout() {
    let (emu, token, _) = emulator();
    emu.set_fault(
        Fault::Delay(Duration::from_secs(3))
            .on(Target::Count)
            .times(1),
    );
    let mut native = reqwest::header::HeaderMap::new();
    native.insert("user-agent", "GCM-Android-5.23".parse().unwrap());
    native.insert(
        "x-garmin-user-agent",
        "com.garmin.android.apps.connectmobile/5.23"
            .parse()
            .unwrap(),
    );
    let impatient = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(300))
        .default_headers(native)
        .build()
        .unwrap();
    let err = impatient
        .get(format!(
            "{}/activitylist-service/activities/count",
            emu.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Count spent: the next answer comes at once.
    let ok = impatient
        .get(format!(
            "{}/activitylist-service/activities/count",
            emu.base_url()
        ))
        .bearer_auth(&token)
        .send();
    assert_eq!(ok.unwrap().status(), 200);
}

#[test]
fn refresh_succeeds_while_the_api_still_answers_401() {
    let (emu, _, _) = emulator();
    let grant = emu.mint_tokens(EMAIL, FIRST_CLIENT);
    emu.set_fault(Fault::TokenNotActive.on(Target::Api));
    let resp = api_get(
        &emu.base_url(),
        "/userprofile-service/socialProfile",
        &grant.access_token,
    );
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("Token is not active"));
    let fresh: Value = refresh(&emu.base_url(), &grant.refresh_token, FIRST_CLIENT)
        .json()
        .unwrap();
    let access = fresh["access_token"].as_str().unwrap();
    assert_eq!(profile_status(&emu.base_url(), access), 401);
    emu.clear_faults();
    assert_eq!(profile_status(&emu.base_url(), access), 200);
}

#[test]
fn invalid_grant_on_refresh_and_on_the_ticket_exchange() {
    let (emu, _, _) = emulator();
    let grant = emu.mint_tokens(EMAIL, FIRST_CLIENT);
    emu.set_fault(Fault::InvalidGrant.times(1));
    let resp = refresh(&emu.base_url(), &grant.refresh_token, FIRST_CLIENT);
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");
    assert_eq!(
        refresh(&emu.base_url(), &grant.refresh_token, FIRST_CLIENT).status(),
        200
    );
    emu.set_fault(Fault::InvalidGrant.on(Target::Token).times(1));
    let (_, body) = mobile_login(&client(), &emu.base_url(), EMAIL, "pw");
    let ticket = body["serviceTicketId"].as_str().unwrap();
    assert_eq!(
        exchange(&emu.base_url(), ticket, IOS_SERVICE, FIRST_CLIENT).status(),
        400
    );
    assert_eq!(
        exchange(&emu.base_url(), ticket, IOS_SERVICE, FIRST_CLIENT).status(),
        200
    );
}

#[test]
fn faults_are_counted_in_stats_and_logged() {
    let (emu, token, id) = emulator();
    emu.set_fault(Fault::Status(500).on(Target::Any));
    let _ = download(&emu, &token, id);
    let stats = emu.stats();
    assert_eq!((stats.downloads, stats.total), (1, 1));
    assert_eq!(
        stats.requests,
        vec![(
            "GET".to_string(),
            format!("/download-service/files/activity/{id}")
        )]
    );
}
