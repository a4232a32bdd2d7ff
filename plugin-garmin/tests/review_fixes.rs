//! What a review against the reference client found, each against the emulator: the widget's
//! User-Agent, its 302 redirects and the case of its MFA method, tokens the API refuses, the widget
//! page's CAPTCHA script, MFA that survives a transient error (which costs no try), and the
//! activity list (short pages, explicit date windows, a list that never ends).

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::{synthetic_activities, Account, EmulatorConfig, Fault, Target};
use host_api::ConnectStep;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use time::OffsetDateTime;

const EMAIL: &str = "list@example.com";
const DAY: Duration = Duration::from_secs(24 * 3600);

fn need_code(step: ConnectStep) -> (String, usize) {
    match step {
        ConnectStep::NeedInput {
            flow_id, errors, ..
        } => (flow_id.to_string(), errors.len()),
        other => panic!("expected NeedInput, got {other:?}"),
    }
}

#[test]
fn the_widget_sends_a_browser_user_agent_and_ignores_the_captcha_script() {
    // The emulator refuses SSO requests without a User-Agent, and its Success and MFA pages
    // load a CAPTCHA script, as Garmin's do.
    let h = Harness::new(config(), json!({ "login_strategies": "widget" }));
    done(h.connect(DEMO, PASSWORD));
    let h = Harness::new(config(), json!({ "login_strategies": "widget" }));
    let (flow, _) = need_code(h.connect(MFA_EMAIL, PASSWORD));
    done(h.resume(&flow, MFA_CODE));
}

#[test]
fn tokens_the_api_refuses_move_on_to_the_next_strategy() {
    let h = Harness::new(config(), json!({ "login_strategies": "mobile,widget" }));
    // "Token is not active" on the first profile call and on its retry after a refresh.
    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Profile).times(2));
    done(h.connect(DEMO, PASSWORD));
    let stats = h.emulator.stats();
    assert_eq!(
        stats.logins, 2,
        "the widget logged in after the mobile tokens were refused"
    );
    assert!(stats
        .requests
        .iter()
        .any(|(m, p)| m == "POST" && p == "/sso/signin"));
}

#[test]
fn cached_tokens_the_api_refuses_lead_to_one_fresh_login() {
    let h = Harness::new(config(), json!({}));
    done(h.connect(DEMO, PASSWORD));
    // Past the password-login budget (6 h), with the access token still valid.
    h.emulator.advance_clock(Duration::from_secs(7 * 3600));
    h.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Api).times(2));
    let ledger = Ledger::default();
    let summary = h
        .sync(&ledger, Some(2))
        .expect("the sync signs in again and goes on");
    assert_eq!(summary.imported, 2);
    let stats = h.emulator.stats();
    assert_eq!(stats.logins, 2, "one fresh login");
    assert_eq!(stats.refreshes, 1);
}

#[test]
fn a_pending_mfa_survives_a_transient_error_and_tries_both_endpoints() {
    let h = harness();
    let (flow, _) = need_code(h.connect(MFA_EMAIL, PASSWORD));
    // Both verify endpoints answer 503: the login keeps waiting, and it costs no try.
    h.emulator
        .set_fault(Fault::Status(503).on(Target::Mfa).times(2));
    let (same_flow, errors) = need_code(h.resume(&flow, MFA_CODE));
    assert_eq!((same_flow.as_str(), errors), (flow.as_str(), 1));
    // A challenge at the flow's own endpoint: the other one completes it.
    h.emulator
        .set_fault(Fault::CloudflareChallenge.on(Target::Mfa).times(1));
    done(h.resume(&flow, MFA_CODE));
    let verify_paths: Vec<String> = h
        .emulator
        .stats()
        .requests
        .iter()
        .filter(|(_, p)| p.ends_with("/mfa/verifyCode"))
        .map(|(_, p)| p.clone())
        .collect();
    assert!(
        verify_paths.iter().any(|p| p.starts_with("/portal/")),
        "{verify_paths:?}"
    );
}

/// Whether the emulator saw `method path`.
fn saw(h: &Harness, method: &str, path: &str) -> bool {
    h.emulator
        .stats()
        .requests
        .iter()
        .any(|(m, p)| m == method && p == path)
}

#[test]
fn the_widget_follows_garmins_redirects_and_reads_the_mfa_method_in_any_case() {
    // Garmin answers the credential POST that needs MFA, and the right code, with 302s; the
    // method comes as `EMAIL`, and an e-mailed code is sent only when the client asks for it.
    let mut upper = config();
    upper.mfa_method = "EMAIL".into();
    let h = Harness::new(upper.clone(), json!({ "login_strategies": "widget" }));
    let (flow, _) = need_code(h.connect(MFA_EMAIL, PASSWORD));
    assert!(saw(&h, "GET", "/sso/verifyMFA/loginEnterMfaCode"));
    assert!(
        saw(&h, "POST", "/sso/verifyMFA/mfaCode"),
        "the code was asked for"
    );
    done(h.resume(&flow, MFA_CODE));
    assert!(saw(&h, "GET", "/sso/login"));
    // The JSON flows carry the method back as Garmin wrote it.
    let h = Harness::new(upper, json!({ "login_strategies": "mobile" }));
    let (flow, _) = need_code(h.connect(MFA_EMAIL, PASSWORD));
    done(h.resume(&flow, MFA_CODE));
}

#[test]
fn only_a_wrong_code_counts_against_the_tries() {
    let h = harness();
    let (flow, _) = need_code(h.connect(MFA_EMAIL, PASSWORD));
    // A rate limit, a server error and a bare 403 at both verify endpoints: none is a try.
    for status in [429, 503, 403] {
        h.emulator
            .set_fault(Fault::Status(status).on(Target::Mfa).times(2));
        let (same, errors) = need_code(h.resume(&flow, MFA_CODE));
        assert_eq!((same.as_str(), errors), (flow.as_str(), 1), "HTTP {status}");
    }
    // Four wrong codes of the five allowed: had the three above counted, the second would end
    // the sign-in.
    for _ in 0..4 {
        let (same, _) = need_code(h.resume(&flow, "000000"));
        assert_eq!(same, flow);
    }
    done(h.resume(&flow, MFA_CODE));
}

fn list_harness(
    n: usize,
    page_cap: usize,
    overrides: serde_json::Value,
) -> (Harness, BTreeSet<String>) {
    let acts = synthetic_activities(
        n,
        OffsetDateTime::now_utc() - Duration::from_secs(3600),
        DAY * 3,
    );
    let ids = acts.iter().map(|a| a.id.to_string()).collect();
    let mut config =
        EmulatorConfig::empty().with_account(Account::new(EMAIL, "pw").with_activities(acts));
    config.list_page_cap = page_cap;
    let h = Harness::new(config, overrides);
    h.store_minted_tokens(EMAIL);
    (h, ids)
}

#[test]
fn short_pages_are_not_the_end_and_the_backfill_sends_explicit_windows() {
    // Garmin caps the page at 7 whatever `limit` asks; the history spans three years, so the
    // backfill crosses several date windows; capped runs resume from the cursor.
    let (h, all) = list_harness(400, 7, json!({ "page_size": 20 }));
    let ledger = Ledger::default();
    let mut runs = 0;
    loop {
        let summary = h.sync(&ledger, Some(150)).expect("sync");
        runs += 1;
        if !summary.has_more || runs > 30 {
            break;
        }
    }
    let imported: BTreeSet<String> = ledger.imported_ids().into_iter().collect();
    assert_eq!(
        imported, all,
        "every activity, exactly once, after {runs} runs"
    );
    for (_, path) in h.emulator.stats().requests {
        assert!(!path.contains('?'), "paths are logged without queries");
    }
}

#[test]
fn a_list_that_repeats_its_first_page_forever_ends_the_run() {
    let (h, _) = list_harness(30, 100, json!({ "page_size": 10 }));
    h.emulator.set_fault(Fault::SameListPage);
    let ledger = Ledger::default();
    let summary = h.sync(&ledger, None).expect("the run ends");
    let stats = h.emulator.stats();
    // Each walk stops at its first repeated page (the oldest lookup and two pages), far below
    // the run's budget of 4 x 5 + 50 = 70 requests, which would also end it.
    assert!(
        stats.list_requests <= 5,
        "{} list requests",
        stats.list_requests
    );
    assert_eq!(
        summary.imported, 10,
        "only the one page the list ever shows"
    );
}

#[test]
fn the_list_budget_bounds_a_run_and_later_runs_go_on() {
    let (h, all) = list_harness(
        60,
        100,
        json!({ "page_size": 5, "max_list_requests_per_run": 4 }),
    );
    let ledger = Ledger::default();
    let summary = h.sync(&ledger, None).expect("sync");
    assert!(summary.has_more, "the budget ended the run early");
    assert_eq!(h.emulator.stats().list_requests, 4);
    for _ in 0..60 {
        h.emulator.reset_stats();
        let run = h.sync(&ledger, None).expect("the next run goes on");
        assert!(h.emulator.stats().list_requests <= 4);
        if !run.has_more {
            break;
        }
    }
    let imported: BTreeSet<String> = ledger.imported_ids().into_iter().collect();
    assert_eq!(imported, all);
}
