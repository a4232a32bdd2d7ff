//! Connecting and staying signed in, against the Garmin emulator over
//! 127.0.0.1: the login chain, MFA, error mapping, token refresh and
//! rotation, re-login, token import, disconnect. Every test also checks
//! that no secret reached the log (captured at TRACE).

mod common;

use common::*;
use garmin_emulator::{Account, EmulatorConfig, Fault, Target};
use host_api::{ConnectStep, ErrorKind, Importer};
use serde_json::json;
use std::time::Duration;

const DEMO: &str = "demo@example.com";
const PASSWORD: &str = "demo-password";
const MFA_EMAIL: &str = "code@example.com";
const MFA_CODE: &str = "739184";

fn config() -> EmulatorConfig {
    EmulatorConfig::default_demo()
        .with_account(Account::new(MFA_EMAIL, PASSWORD).with_mfa(MFA_CODE))
}

fn harness() -> Harness {
    Harness::new(config(), json!({}))
}

#[test]
fn connect_without_mfa_stores_tokens_and_check_reads_the_profile() {
    let h = harness();
    let (account_id, name) = done(h.connect(DEMO, PASSWORD));
    assert_eq!(
        (account_id.as_str(), name.as_str()),
        ("81234567", "demo-runner")
    );
    assert_eq!(
        h.secrets.keys(),
        vec!["email", "last_password_login", "password", "tokens"]
    );
    assert_eq!(h.secrets.get("password").as_deref(), Some(PASSWORD));
    let tokens = h.secrets.tokens().unwrap();
    assert_eq!(
        tokens["di_client_id"],
        "GARMIN_CONNECT_MOBILE_ANDROID_DI_2025Q2"
    );
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.sign_in_pages, stats.logins, stats.token_exchanges),
        (1, 1, 1)
    );

    let info = h.check().unwrap();
    assert_eq!(info.account_id.as_str(), "81234567");
    assert_eq!(h.emulator.stats().logins, 1, "check must not log in again");
    h.assert_no_secret_logged(&[PASSWORD]);
}

#[test]
fn connect_with_mfa_takes_a_wrong_code_then_the_right_one() {
    let h = harness();
    let flow_id = match h.connect(MFA_EMAIL, PASSWORD) {
        ConnectStep::NeedInput {
            flow_id,
            fields,
            errors,
            ..
        } => {
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].key.as_str(), "mfa_code");
            assert!(errors.is_empty());
            flow_id.to_string()
        }
        other => panic!("expected NeedInput, got {other:?}"),
    };
    assert_eq!(h.importer.pending_flows(), 1);
    assert!(h.secrets.get("tokens").is_none());

    match h.resume(&flow_id, "000000") {
        ConnectStep::NeedInput {
            flow_id: again,
            errors,
            ..
        } => {
            assert_eq!(again.as_str(), flow_id, "a wrong code keeps the same flow");
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].key.as_str(), "mfa_code");
        }
        other => panic!("expected NeedInput again, got {other:?}"),
    }
    // The wrong code was submitted once, not once per endpoint.
    assert_eq!(h.emulator.stats().mfa_verifies, 1);

    let (account_id, _) = done(h.resume(&flow_id, MFA_CODE));
    assert!(!account_id.is_empty());
    assert_eq!(h.importer.pending_flows(), 0);
    assert!(h.secrets.tokens().is_some());
    let e = failed(h.resume(&flow_id, MFA_CODE));
    assert_eq!(
        e.kind,
        ErrorKind::NEEDS_USER_ACTION,
        "a finished flow is gone"
    );
    h.assert_no_secret_logged(&[PASSWORD, MFA_CODE]);
}

#[test]
fn the_widget_strategy_logs_in_with_and_without_mfa() {
    let h = Harness::new(config(), json!({"login_strategies": "widget"}));
    done(h.connect(DEMO, PASSWORD));
    let stats = h.emulator.stats();
    assert_eq!((stats.logins, stats.token_exchanges), (1, 1));

    let h = Harness::on(h.emulator.clone(), json!({"login_strategies": "widget"}));
    let flow_id = match h.connect(MFA_EMAIL, PASSWORD) {
        ConnectStep::NeedInput { flow_id, .. } => flow_id.to_string(),
        other => panic!("expected NeedInput, got {other:?}"),
    };
    assert!(matches!(
        h.resume(&flow_id, "111111"),
        ConnectStep::NeedInput { .. }
    ));
    done(h.resume(&flow_id, MFA_CODE));
    h.assert_no_secret_logged(&[PASSWORD, MFA_CODE]);
}

#[test]
fn the_client_ids_are_tried_in_order_and_the_one_that_worked_refreshes() {
    let config = config().with_accepted_client_ids(&["GARMIN_CONNECT_MOBILE_IOS_DI"]);
    let h = Harness::new(config, json!({}));
    done(h.connect(DEMO, PASSWORD));
    assert_eq!(
        h.emulator.stats().token_exchanges,
        4,
        "three refused, the fourth accepted"
    );
    assert_eq!(
        h.secrets.tokens().unwrap()["di_client_id"],
        "GARMIN_CONNECT_MOBILE_IOS_DI"
    );
    h.emulator.advance_clock(Duration::from_secs(25 * 3600));
    h.check().unwrap();
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.refreshes, stats.logins),
        (1, 1),
        "refreshed with the bound client id"
    );
}

#[test]
fn the_portal_strategy_logs_in() {
    let h = Harness::new(config(), json!({"login_strategies": "portal"}));
    done(h.connect(DEMO, PASSWORD));
    assert_eq!(h.emulator.stats().logins, 1);
}

#[test]
fn a_wrong_password_is_invalid_credentials_after_exactly_one_attempt() {
    let h = harness();
    let e = failed(h.connect(DEMO, "not-the-password"));
    assert_eq!(e.kind, ErrorKind::INVALID_CREDENTIALS);
    assert_eq!(
        h.emulator.stats().logins,
        1,
        "the chain stops at a verdict on the credentials"
    );
    assert!(h.secrets.get("tokens").is_none() && h.secrets.get("password").is_none());
    h.assert_no_secret_logged(&["not-the-password"]);
}

#[test]
fn a_locked_account_needs_the_user_after_one_attempt() {
    let h = harness();
    h.emulator.set_fault(Fault::AccountLocked);
    let e = failed(h.connect(DEMO, PASSWORD));
    assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION);
    assert!(e.user_message.contains("locked"), "{}", e.user_message);
    assert_eq!(h.emulator.stats().logins, 1);
}

#[test]
fn a_cloudflare_challenge_or_captcha_everywhere_needs_the_user() {
    for fault in [Fault::CloudflareChallenge, Fault::CaptchaRequired] {
        let h = harness();
        h.emulator.set_fault(fault.clone());
        let e = failed(h.connect(DEMO, PASSWORD));
        assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION, "{fault:?}: {e}");
        assert_eq!(
            h.emulator.stats().logins,
            3,
            "{fault:?}: each strategy tried once"
        );
    }
}

#[test]
fn a_429_at_login_is_rate_limited_with_garmins_wait_or_an_hour() {
    let h = harness();
    h.emulator.set_fault(Fault::TooManyRequests {
        status: 429,
        retry_after: Some(120),
        json: false,
    });
    let e = failed(h.connect(DEMO, PASSWORD));
    assert_eq!(e.kind, ErrorKind::RATE_LIMITED);
    assert_eq!(e.retry_after(), Some(120));
    assert!(e.user_message.contains("2 min"), "{}", e.user_message);
    assert_eq!(
        h.emulator.stats().logins,
        3,
        "one credential POST per strategy, no retry loop"
    );

    let h = harness();
    h.emulator.set_fault(Fault::TooManyRequests {
        status: 200,
        retry_after: None,
        json: true,
    });
    let e = failed(h.connect(DEMO, PASSWORD));
    assert_eq!(e.kind, ErrorKind::RATE_LIMITED);
    assert_eq!(e.retry_after(), Some(3600));
    h.assert_no_secret_logged(&[PASSWORD]);
}

#[test]
fn a_verify_endpoint_that_cannot_answer_falls_back_to_the_other_one() {
    let h = harness();
    let flow_id = match h.connect(MFA_EMAIL, PASSWORD) {
        ConnectStep::NeedInput { flow_id, .. } => flow_id.to_string(),
        other => panic!("{other:?}"),
    };
    h.emulator
        .set_fault(Fault::Status(503).on(Target::Mfa).times(1));
    done(h.resume(&flow_id, MFA_CODE));
    let stats = h.emulator.stats();
    assert_eq!(
        stats.mfa_verifies, 2,
        "mobile answered 503, portal completed it"
    );
    assert!(stats
        .requests
        .iter()
        .any(|(_, p)| p == "/portal/api/mfa/verifyCode"));
}

#[test]
fn html_where_json_was_expected_is_transient_and_names_the_endpoint() {
    let h = harness();
    h.emulator
        .set_fault(Fault::HtmlInsteadOfJson.on(Target::Login));
    let e = failed(h.connect(DEMO, PASSWORD));
    assert_eq!(e.kind, ErrorKind::TRANSIENT, "{e}");
    assert!(e.user_message.contains("login"), "{}", e.user_message);

    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    h.emulator
        .set_fault(Fault::HtmlInsteadOfJson.on(Target::Profile));
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::TRANSIENT);
    assert!(
        e.user_message.contains("socialProfile"),
        "{}",
        e.user_message
    );
    h.emulator.clear_faults();
    h.emulator.set_fault(Fault::Status(500).on(Target::Profile));
    h.emulator.reset_stats();
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::TRANSIENT);
    assert_eq!(h.emulator.stats().social_profile, 3, "bounded retries");
}

#[test]
fn a_rate_limited_first_strategy_falls_through_to_the_next() {
    let h = harness();
    h.emulator.set_fault(
        Fault::TooManyRequests {
            status: 427,
            retry_after: None,
            json: false,
        }
        .times(1),
    );
    done(h.connect(DEMO, PASSWORD));
    assert_eq!(h.emulator.stats().logins, 2);
}

#[test]
fn an_expired_access_token_is_refreshed_silently() {
    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    h.emulator.reset_stats();
    h.emulator.advance_clock(Duration::from_secs(25 * 3600));
    h.check().unwrap();
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.refreshes, stats.logins, stats.sign_in_pages),
        (1, 0, 0)
    );
    assert_eq!(
        stats.social_profile, 1,
        "refreshed before the request, not after a 401"
    );
    h.assert_no_secret_logged(&[PASSWORD]);
}

#[test]
fn a_401_from_the_api_gets_one_refresh_and_one_retry() {
    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    h.emulator.reset_stats();
    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Profile).times(1));
    h.check().unwrap();
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.social_profile, stats.refreshes, stats.logins),
        (2, 1, 0)
    );

    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Profile));
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION);
    assert_eq!(h.emulator.stats().refreshes, 2, "one more refresh, no loop");
}

#[test]
fn refresh_tokens_rotate_and_the_newest_is_stored() {
    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    let first = h.secrets.tokens().unwrap()["di_refresh_token"].clone();
    let mut seen = vec![first];
    for _ in 0..3 {
        h.emulator.advance_clock(Duration::from_secs(25 * 3600));
        h.check().unwrap();
        let current = h.secrets.tokens().unwrap()["di_refresh_token"].clone();
        assert!(!seen.contains(&current), "the refresh token rotated");
        seen.push(current);
    }
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.refreshes, stats.logins),
        (3, 1),
        "rotation never forced a new login"
    );
    // A host restart: a new importer instance reuses the stored tokens.
    let restarted = Harness::on(h.emulator.clone(), json!({}));
    restarted
        .secrets
        .values
        .lock()
        .unwrap()
        .extend(h.secrets.values.lock().unwrap().clone());
    h.emulator.advance_clock(Duration::from_secs(25 * 3600));
    restarted.check().unwrap();
    assert_eq!(h.emulator.stats().logins, 1);
    h.assert_no_secret_logged(&[PASSWORD]);
}

#[test]
fn a_dead_refresh_token_leads_to_exactly_one_password_login() {
    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    h.emulator.reset_stats();
    // Past the 30-day refresh lifetime, and past the 6-hour login budget.
    h.emulator
        .advance_clock(Duration::from_secs(31 * 24 * 3600));
    h.check().unwrap();
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.refreshes, stats.logins, stats.token_exchanges),
        (1, 1, 1)
    );
    h.check().unwrap();
    assert_eq!(h.emulator.stats().logins, 1, "the new tokens are reused");
    h.assert_no_secret_logged(&[PASSWORD]);
}

#[test]
fn a_password_login_inside_the_budget_is_rate_limited_with_the_remaining_wait() {
    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    h.emulator.reset_stats();
    // Tokens dead one minute after the connect's password login.
    h.emulator.revoke_refresh_tokens(DEMO);
    h.emulator.advance_clock(Duration::from_secs(60));
    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Profile).times(1));
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::RATE_LIMITED, "{e}");
    let wait = e.retry_after().unwrap();
    assert!((6 * 3600 - 120..=6 * 3600 - 60).contains(&wait), "{wait}");
    assert!(e.user_message.contains("5 h"), "{}", e.user_message);
    assert_eq!(h.emulator.stats().logins, 0, "no login inside the budget");

    // Once the budget has passed, the same situation logs in once.
    h.emulator.advance_clock(Duration::from_secs(6 * 3600));
    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Profile).times(1));
    h.check().unwrap();
    assert_eq!(h.emulator.stats().logins, 1);
}

#[test]
fn a_relogin_that_needs_mfa_asks_the_user() {
    let h = harness();
    let flow_id = match h.connect(MFA_EMAIL, PASSWORD) {
        ConnectStep::NeedInput { flow_id, .. } => flow_id.to_string(),
        other => panic!("{other:?}"),
    };
    done(h.resume(&flow_id, MFA_CODE));
    h.emulator
        .advance_clock(Duration::from_secs(31 * 24 * 3600));
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION);
    assert!(e.user_message.contains("MFA"), "{}", e.user_message);
}

#[test]
fn a_token_file_connects_without_a_password() {
    let h = harness();
    let grant = h
        .emulator
        .mint_tokens(DEMO, "GARMIN_CONNECT_MOBILE_ANDROID_DI");
    let file = json!({
        "di_token": grant.access_token,
        "di_refresh_token": grant.refresh_token,
        "di_client_id": grant.client_id,
    })
    .to_string();
    // Expiring within 15 minutes: connect refreshes first.
    h.emulator
        .advance_clock(Duration::from_secs(24 * 3600 - 300));
    h.emulator.reset_stats();
    let (account_id, _) = done(h.begin(&[("garmin_tokens", &file)]));
    assert_eq!(account_id, "81234567");
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.logins, stats.sign_in_pages, stats.refreshes),
        (0, 0, 1)
    );
    assert!(h.secrets.get("password").is_none());
    assert_ne!(
        h.secrets.tokens().unwrap()["di_refresh_token"],
        grant.refresh_token.as_str()
    );
    h.assert_no_secret_logged(&[&grant.access_token, &grant.refresh_token]);
}

#[test]
fn a_bad_or_dead_token_file_is_refused_and_nothing_is_kept() {
    let h = harness();
    let e = failed(h.begin(&[("garmin_tokens", "{\"oauth_token\": 1}")]));
    assert_eq!(e.kind, ErrorKind::INVALID_CREDENTIALS);
    assert!(e.user_message.contains("di_token"), "{}", e.user_message);

    let grant = h
        .emulator
        .mint_tokens(DEMO, "GARMIN_CONNECT_MOBILE_ANDROID_DI");
    h.emulator.revoke_refresh_tokens(DEMO);
    h.emulator.advance_clock(Duration::from_secs(25 * 3600));
    let file = json!({"di_token": grant.access_token, "di_refresh_token": grant.refresh_token})
        .to_string();
    let e = failed(h.begin(&[("garmin_tokens", &file)]));
    assert_eq!(e.kind, ErrorKind::INVALID_CREDENTIALS);
    assert!(
        h.secrets.get("tokens").is_none(),
        "refused tokens are not kept"
    );
    assert_eq!(h.emulator.stats().logins, 0);
}

#[test]
fn disconnect_forgets_everything_and_drops_pending_flows() {
    let h = harness();
    done(h.connect(DEMO, PASSWORD));
    assert!(matches!(
        h.connect(MFA_EMAIL, PASSWORD),
        ConnectStep::NeedInput { .. }
    ));
    assert_eq!(h.importer.pending_flows(), 1);
    h.importer.disconnect(h.ctx()).into_result().unwrap();
    assert!(h.secrets.keys().is_empty(), "{:?}", h.secrets.keys());
    assert_eq!(h.importer.pending_flows(), 0);
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION);
}

#[test]
fn missing_credentials_are_refused_without_a_request() {
    let h = harness();
    let e = failed(h.begin(&[("email", DEMO)]));
    assert_eq!(e.kind, ErrorKind::INVALID_CREDENTIALS);
    assert_eq!(h.emulator.stats().total, 0);
}

#[test]
fn the_exported_module_builds_a_working_importer() {
    let emulator = garmin_emulator::Emulator::start(config()).unwrap();
    let settings = test_settings(&emulator.base_url(), json!({}));
    let logs = Captured::default();
    let init = host_api::HostInit {
        api_level: host_api::API_LEVEL,
        host_version: "test".into(),
        settings_json: settings.to_string().into(),
        data_dir: "".into(),
        logger: host_api::Logger_TO::from_ptr(
            abi_stable::std_types::RArc::new(logs),
            abi_stable::sabi_trait::TD_Opaque,
        ),
    };
    let importer = plugin_garmin::create(init).unwrap();
    let secrets = Secrets::default();
    let ctx = host_api::ConnectionContext {
        connection_id: "c".into(),
        secrets: host_api::SecretStore_TO::from_ptr(
            abi_stable::std_types::RArc::new(secrets.clone()),
            abi_stable::sabi_trait::TD_Opaque,
        ),
        cancel: host_api::Cancel_TO::from_ptr(
            abi_stable::std_types::RArc::new(Flag::default()),
            abi_stable::sabi_trait::TD_Opaque,
        ),
    };
    let inputs = vec![
        host_api::FieldValue::new("email", DEMO),
        host_api::FieldValue::new("password", PASSWORD),
    ];
    done(importer.begin_connect(ctx.clone(), inputs.into()));
    assert_eq!(
        importer
            .check(ctx)
            .into_result()
            .unwrap()
            .display_name
            .as_str(),
        "demo-runner"
    );
}
