//! What the sign-in pages need from a request (on by default): a User-Agent on every SSO step;
//! on the JSON POSTs the SSO's Origin, a JSON Content-Type, the `locale` query; and the whole
//! sign-in page URL as the credential POST's Referer. Also the list's short pages and its 400
//! for `endDate` without `startDate`.

mod common;

use common::*;
use garmin_emulator::{Emulator, EmulatorConfig};
use serde_json::json;

fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default_demo()).expect("start")
}

fn post(c: &reqwest::blocking::Client, base: &str) -> reqwest::blocking::RequestBuilder {
    c.post(format!("{base}/mobile/api/login"))
        .query(&mobile_query())
        .header("Referer", format!("{base}/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios"))
        .header("Origin", base)
}

const CREDENTIALS: &str = r#"{"username":"demo@example.com","password":"demo-password","rememberMe":true,"captchaToken":""}"#;

#[test]
fn every_sso_step_needs_a_user_agent() {
    let emu = emulator();
    let bare = reqwest::blocking::Client::new();
    let page = bare
        .get(format!("{}/sso/embed", emu.base_url()))
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 403);
    let page = client()
        .get(format!("{}/sso/embed", emu.base_url()))
        .send()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
}

#[test]
fn the_json_login_needs_origin_content_type_locale_and_the_whole_referer() {
    let emu = emulator();
    let base = emu.base_url();
    let c = client();
    assert_eq!(mobile_page(&c, &base).status(), 200);
    let json_type = ("Content-Type", "application/json");

    let no_origin = c
        .post(format!("{base}/mobile/api/login"))
        .query(&mobile_query())
        .header(json_type.0, json_type.1)
        .body(CREDENTIALS)
        .send()
        .unwrap();
    assert_eq!(no_origin.status().as_u16(), 403);

    let form_type = post(&c, &base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(CREDENTIALS)
        .send()
        .unwrap();
    assert_eq!(form_type.status().as_u16(), 415);

    let no_locale = c
        .post(format!("{base}/mobile/api/login"))
        .query(&[("clientId", "GCM_IOS_DARK"), ("service", IOS_SERVICE)])
        .header("Referer", format!("{base}/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios"))
        .header("Origin", &base)
        .header(json_type.0, json_type.1)
        .body(CREDENTIALS)
        .send()
        .unwrap();
    assert_eq!(no_locale.status().as_u16(), 400);

    // The right path with an unencoded query is not the page's URL: 429, as Garmin answers.
    let path_only = c
        .post(format!("{base}/mobile/api/login"))
        .query(&mobile_query())
        .header(
            "Referer",
            format!("{base}/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service={IOS_SERVICE}"),
        )
        .header("Origin", &base)
        .header(json_type.0, json_type.1)
        .body(CREDENTIALS)
        .send()
        .unwrap();
    assert_eq!(path_only.status().as_u16(), 429);

    let ok = post(&c, &base)
        .header(json_type.0, json_type.1)
        .body(CREDENTIALS)
        .send()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

#[test]
fn lists_come_in_capped_pages_and_refuse_an_end_without_a_start() {
    let mut config = EmulatorConfig::default_demo();
    config.list_page_cap = 4;
    let emu = Emulator::start(config).unwrap();
    let grant = emu.mint_tokens("demo@example.com", FIRST_CLIENT);
    let base = emu.base_url();
    let list = "/activitylist-service/activities/search/activities";
    let page: serde_json::Value = api_get(
        &base,
        &format!("{list}?start=0&limit=20"),
        &grant.access_token,
    )
    .json()
    .unwrap();
    assert_eq!(
        page.as_array().unwrap().len(),
        4,
        "a short page, not the end"
    );
    let next: serde_json::Value = api_get(
        &base,
        &format!("{list}?start=4&limit=20"),
        &grant.access_token,
    )
    .json()
    .unwrap();
    assert_eq!(next.as_array().unwrap().len(), 4);
    let refused = api_get(
        &base,
        &format!("{list}?start=0&limit=20&endDate=2030-01-01"),
        &grant.access_token,
    );
    assert_eq!(refused.status().as_u16(), 400);
    let body: serde_json::Value = refused.json().unwrap();
    assert_eq!(body, json!({"message": "endDate without startDate"}));
    let window = api_get(
        &base,
        &format!("{list}?start=0&limit=20&startDate=2000-01-01&endDate=2030-01-01"),
        &grant.access_token,
    );
    assert_eq!(window.status().as_u16(), 200);
}
