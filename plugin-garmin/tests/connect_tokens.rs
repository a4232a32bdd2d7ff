//! Staying signed in, against the Garmin emulator over 127.0.0.1: token
//! refresh and rotation, re-login, token import and disconnect. Every test
//! also checks that no secret reached the log (captured at TRACE).

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::{Fault, Target};
use host_api::{ConnectStep, ErrorKind};
use serde_json::json;
use std::time::Duration;

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
