//! The `JWT_WEB` fallback, against the emulator with diauth refusing every client id: each
//! strategy (and MFA) still connects, the cookie signs the API calls and is never stored, a
//! restart or a refused cookie costs exactly one password login within the budget, and an
//! answer without the cookie is an error naming the step.

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::{EmulatorConfig, Fault, Target};
use host_api::{ConnectStep, ErrorKind};
use serde_json::{json, Value};
use std::time::Duration;

/// Past the 6-hour password-login budget.
const PAST_BUDGET: Duration = Duration::from_secs(7 * 3600);

fn refusing_diauth() -> EmulatorConfig {
    config().with_accepted_client_ids(&[])
}

fn cookie_harness(overrides: Value) -> Harness {
    Harness::new(refusing_diauth(), overrides)
}

/// A new importer instance on the same emulator holding the same secrets (a host restart).
fn restart(h: &Harness) -> Harness {
    let restarted = Harness::on(h.emulator.clone(), json!({}));
    let values = h.secrets.values.lock().unwrap().clone();
    restarted.secrets.values.lock().unwrap().extend(values);
    restarted
}

/// The cookie signed the calls, and it is nowhere in the secret store.
fn assert_cookie_mode(h: &Harness) {
    let stats = h.emulator.stats();
    assert!(stats.api_by_cookie > 0, "{stats:?}");
    assert_eq!(stats.api_by_bearer, 0);
    assert_eq!(h.secrets.get("tokens"), None, "no DI tokens to keep");
    assert_eq!(h.secrets.get("web_session").as_deref(), Some("JWT_WEB"));
    let stored: Vec<String> = h.secrets.values.lock().unwrap().values().cloned().collect();
    let cookies = h.emulator.issued_web_cookies();
    assert!(!cookies.is_empty());
    for cookie in &cookies {
        assert!(
            stored.iter().all(|v| !v.contains(cookie.as_str())),
            "the JWT_WEB cookie reached the secret store"
        );
    }
    h.assert_logs_hold_none_of(&cookies);
}

#[test]
fn every_strategy_connects_with_the_cookie_when_diauth_refuses_every_client_id() {
    for strategy in ["mobile", "widget", "portal"] {
        let h = cookie_harness(json!({ "login_strategies": strategy }));
        let (account, _) = done(h.connect(DEMO, PASSWORD));
        assert!(!account.is_empty());
        let stats = h.emulator.stats();
        assert_eq!(
            (
                stats.logins,
                stats.token_exchanges,
                stats.web_tickets_redeemed
            ),
            (1, 4, 1),
            "{strategy}: four client ids refused, then one redemption"
        );
        assert_cookie_mode(&h);
        h.assert_no_secret_logged(&[PASSWORD]);
    }
}

#[test]
fn an_mfa_login_falls_back_too() {
    let h = cookie_harness(json!({}));
    let ConnectStep::NeedInput { flow_id, .. } = h.connect(MFA_EMAIL, PASSWORD) else {
        panic!("MFA expected");
    };
    done(h.resume(&flow_id, MFA_CODE));
    assert_eq!(h.emulator.stats().web_tickets_redeemed, 1);
    assert_cookie_mode(&h);
}

#[test]
fn a_sync_in_cookie_mode_imports_everything_listed() {
    let h = cookie_harness(json!({}));
    done(h.connect(DEMO, PASSWORD));
    let ledger = Ledger::default();
    let summary = h.sync(&ledger, Some(500)).expect("sync in cookie mode");
    let listed = h.emulator.activities(DEMO).len();
    assert!(listed > 0);
    assert_eq!(ledger.imported_ids().len(), summary.imported as usize);
    assert!(summary.imported > 0, "{summary:?}");
    assert!(h.emulator.stats().downloads > 0);
    assert_cookie_mode(&h);
}

#[test]
fn a_restart_signs_in_again_once_within_the_budget_and_a_second_is_refused() {
    let h = cookie_harness(json!({}));
    done(h.connect(DEMO, PASSWORD));
    h.emulator.advance_clock(PAST_BUDGET);
    h.emulator.reset_stats();

    let first = restart(&h);
    first
        .check()
        .expect("signed in again with the stored password");
    let stats = h.emulator.stats();
    assert_eq!((stats.logins, stats.web_tickets_redeemed), (1, 1));
    first.check().unwrap();
    assert_eq!(h.emulator.stats().logins, 1, "the new cookie is reused");

    // Another restart right after: the budget refuses a second password login.
    let second = restart(&first);
    let e = second.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::RATE_LIMITED, "{e}");
    assert_eq!(h.emulator.stats().logins, 1, "no credential POST");
    assert_cookie_mode(&first);
}

#[test]
fn a_refused_cookie_leads_to_one_login_and_an_expired_one_too() {
    let h = cookie_harness(json!({}));
    done(h.connect(DEMO, PASSWORD));
    h.emulator.advance_clock(PAST_BUDGET);
    h.emulator.reset_stats();
    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Profile).times(1));
    h.check().expect("a 401 on the cookie: one new login");
    let stats = h.emulator.stats();
    assert_eq!(
        (stats.logins, stats.refreshes, stats.social_profile),
        (1, 0, 2)
    );

    // Past the cookie's exp (24 h): renewed before the request, not after a 401.
    h.emulator.advance_clock(Duration::from_secs(25 * 3600));
    h.emulator.reset_stats();
    h.check().unwrap();
    let stats = h.emulator.stats();
    assert_eq!((stats.logins, stats.social_profile), (1, 1));
}

#[test]
fn an_answer_without_the_cookie_is_an_error_naming_the_step_and_stores_nothing() {
    let mut config = refusing_diauth();
    config.issue_web_cookie = false;
    let h = Harness::new(config, json!({ "login_strategies": "mobile" }));
    let e = failed(h.connect(DEMO, PASSWORD));
    let text = format!("{} {}", e.user_message, e.detail);
    assert!(text.contains("JWT_WEB"), "{text}");
    assert!(text.contains("every client id was refused"), "{text}");
    assert_eq!(h.secrets.get("tokens"), None);
    assert_eq!(h.secrets.get("web_session"), None);
    assert_eq!(
        h.secrets.get("password"),
        None,
        "nothing kept of a failed connect"
    );
}

#[test]
fn the_fallback_passes_the_edge_on_the_logins_browser_connection() {
    let h = Harness::new(refusing_diauth().with_edge(), json!({}));
    done(h.connect(DEMO, PASSWORD));
    let stats = h.emulator.stats();
    assert_eq!(stats.web_tickets_redeemed, 1);
    assert_eq!(stats.edge_challenges, 0);
    assert_cookie_mode(&h);
}
