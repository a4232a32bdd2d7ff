//! DI tokens: JWT claims, expiry on the virtual clock, refresh with rotation (and without),
//! refresh-token expiry and revocation.

mod common;

use std::time::Duration;

use common::*;
use garmin_emulator::{Account, Emulator, EmulatorConfig};
use reqwest::blocking::Response;
use serde_json::Value;

fn one_account(config: EmulatorConfig) -> Emulator {
    Emulator::start(config.with_account(Account::new("a@example.com", "pw")))
        .expect("start emulator")
}

#[test]
fn access_token_is_a_jwt_with_exp_iat_jti_client_id() {
    let emu = one_account(EmulatorConfig::empty());
    let tokens = login_tokens(&emu, "a@example.com", "pw");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3);
    let claims = jwt_payload(access);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 24 * 3600);
    assert_eq!(claims["client_id"], FIRST_CLIENT);
    assert_eq!(claims["jti"], tokens["jti"]);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 24 * 3600);
    assert_eq!(tokens["refresh_token_expires_in"], 30 * 24 * 3600);
}

#[test]
fn expired_access_token_gets_401_with_www_authenticate() {
    let emu = one_account(EmulatorConfig::empty());
    let base = emu.base_url();
    let tokens = login_tokens(&emu, "a@example.com", "pw");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(profile_status(&base, access), 200);
    emu.advance_clock(Duration::from_secs(24 * 3600 + 1));
    let resp = api_get(&base, "/userprofile-service/socialProfile", access);
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    // No or unknown tokens are refused the same way.
    assert_eq!(profile_status(&base, "not-a-token"), 401);
    let bare = client()
        .get(format!("{base}/activitylist-service/activities/count"))
        .header("User-Agent", "GCM-Android-5.23")
        .header(
            "X-Garmin-User-Agent",
            "com.garmin.android.apps.connectmobile/5.23",
        )
        .send()
        .unwrap();
    assert_eq!(bare.status(), 401);
}

#[test]
fn refresh_rotates_the_refresh_token_and_retires_the_old_one() {
    let emu = one_account(EmulatorConfig::empty());
    let base = emu.base_url();
    let tokens = login_tokens(&emu, "a@example.com", "pw");
    let old = tokens["refresh_token"].as_str().unwrap();
    emu.advance_clock(Duration::from_secs(25 * 3600));
    let resp = refresh(&base, old, FIRST_CLIENT);
    assert_eq!(resp.status(), 200);
    let fresh: Value = resp.json().unwrap();
    assert_ne!(fresh["refresh_token"], tokens["refresh_token"]);
    assert_ne!(fresh["access_token"], tokens["access_token"]);
    let access = fresh["access_token"].as_str().unwrap();
    assert_eq!(profile_status(&base, access), 200);
    let reuse = refresh(&base, old, FIRST_CLIENT);
    assert_eq!(reuse.status(), 400);
    assert_eq!(reuse.json::<Value>().unwrap()["error"], "invalid_grant");
    // The rotated one works, but only for the client it was issued to.
    let rotated = fresh["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh(&base, rotated, "GARMIN_CONNECT_MOBILE_IOS_DI").status(),
        400
    );
    assert_eq!(refresh(&base, rotated, FIRST_CLIENT).status(), 200);
    assert_eq!(emu.stats().refreshes, 4);
}

#[test]
fn without_rotation_the_same_refresh_token_comes_back_and_stays_valid() {
    let mut config = EmulatorConfig::empty();
    config.rotate_refresh_tokens = false;
    let emu = one_account(config);
    let base = emu.base_url();
    let tokens = login_tokens(&emu, "a@example.com", "pw");
    let token = tokens["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let fresh: Value = refresh(&base, token, FIRST_CLIENT).json().unwrap();
        assert_eq!(fresh["refresh_token"], tokens["refresh_token"]);
    }
}

#[test]
fn refresh_token_expires_on_the_virtual_clock() {
    let mut config = EmulatorConfig::empty();
    config.refresh_token_ttl = Duration::from_secs(3600);
    let emu = one_account(config);
    let tokens = login_tokens(&emu, "a@example.com", "pw");
    emu.advance_clock(Duration::from_secs(3601));
    let resp = refresh_stored(&emu, &tokens);
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn revoked_refresh_tokens_answer_invalid_grant() {
    let emu = one_account(EmulatorConfig::empty());
    let tokens = login_tokens(&emu, "a@example.com", "pw");
    emu.revoke_refresh_tokens("a@example.com");
    let resp = refresh_stored(&emu, &tokens);
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn minted_tokens_work_like_issued_ones() {
    let emu = one_account(EmulatorConfig::empty());
    let grant = emu.mint_tokens("a@example.com", FIRST_CLIENT);
    assert_eq!(profile_status(&emu.base_url(), &grant.access_token), 200);
    assert_eq!(
        refresh(&emu.base_url(), &grant.refresh_token, FIRST_CLIENT).status(),
        200
    );
    assert_eq!(emu.stats().logins, 0);
}

/// The refresh of the refresh token `tokens` hold, as the first client.
fn refresh_stored(emu: &Emulator, tokens: &Value) -> Response {
    refresh(
        &emu.base_url(),
        tokens["refresh_token"].as_str().unwrap(),
        FIRST_CLIENT,
    )
}
