//! Signing in against the Garmin emulator over 127.0.0.1: the login chain
//! (JSON flows, widget, portal), client ids, MFA and its fallbacks, and the
//! exported module. Every test also checks that no secret reached the log
//! (captured at TRACE).

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::{Fault, Target};
use host_api::{ConnectStep, ErrorKind};
use serde_json::json;
use std::time::Duration;

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

/// The login endpoints the emulator saw POSTed to, in order.
fn login_posts(h: &Harness) -> Vec<String> {
    const LOGIN_PATHS: [&str; 6] = [
        "/mobile/api/login",
        "/portal/api/login",
        "/sso/signin",
        "/mobile/api/mfa/verifyCode",
        "/portal/api/mfa/verifyCode",
        "/sso/verifyMFA/loginEnterMfaCode",
    ];
    h.emulator
        .stats()
        .requests
        .into_iter()
        .filter(|(method, path)| method == "POST" && LOGIN_PATHS.contains(&path.as_str()))
        .map(|(_, path)| path)
        .collect()
}

#[test]
fn the_widget_strategy_logs_in_with_and_without_mfa() {
    let h = Harness::new(config(), json!({"login_strategies": "widget"}));
    done(h.connect(DEMO, PASSWORD));
    let stats = h.emulator.stats();
    assert_eq!((stats.logins, stats.token_exchanges), (1, 1));
    assert_eq!(login_posts(&h), ["/sso/signin"], "only the widget was used");

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
    assert_eq!(
        login_posts(&h),
        [
            "/sso/signin",
            "/sso/signin",
            "/sso/verifyMFA/loginEnterMfaCode",
            "/sso/verifyMFA/loginEnterMfaCode",
        ],
        "both logins and both codes went through the widget"
    );
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
    assert_eq!(
        login_posts(&h),
        ["/portal/api/login"],
        "only the portal was used"
    );
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
    done(ConnectStep::from_abi(importer.begin_connect(ctx.clone(), inputs.into())).unwrap());
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
