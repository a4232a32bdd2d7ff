//! Through the emulator's edge (`--edge`: HTTPS, HTTP/2, JA4 and HTTP/2 fingerprints, non-browser
//! TLS refused on the SSO and DI paths): the plugin signs in with each strategy and with MFA,
//! syncs and refreshes; the JA4 it showed for each strategy is one of the curl_cffi fixture's.

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::edge::browser_fingerprints;
use garmin_emulator::{EdgeConnection, Fault, Target};
use host_api::ConnectStep;
use serde_json::json;
use std::time::Duration;

fn edge_harness(overrides: serde_json::Value) -> Harness {
    Harness::new(config().with_edge(), overrides)
}

/// The edge connections that carried an SSO or DI request.
fn guarded(connections: &[EdgeConnection]) -> Vec<&EdgeConnection> {
    connections
        .iter()
        .filter(|c| {
            c.paths.iter().any(|p| {
                p.starts_with("/mobile/")
                    || p.starts_with("/portal/")
                    || p.starts_with("/sso/")
                    || p.starts_with("/di-oauth2-service/")
            })
        })
        .collect()
}

fn fixture_ja4s() -> Vec<String> {
    browser_fingerprints().into_iter().map(|f| f.ja4).collect()
}

#[test]
fn each_strategy_signs_in_through_the_edge_with_a_browser_fingerprint() {
    let fixture = fixture_ja4s();
    for strategy in ["mobile", "widget", "portal"] {
        let h = edge_harness(json!({ "login_strategies": strategy }));
        let (account_id, _) = done(h.connect(DEMO, PASSWORD));
        assert_eq!(account_id, "81234567", "{strategy}");
        let stats = h.emulator.stats();
        assert_eq!(stats.edge_challenges, 0, "{strategy}: challenged");
        assert_eq!(stats.edge_rate_limited, 0, "{strategy}: rate limited");
        assert_eq!((stats.logins, stats.token_exchanges), (1, 1), "{strategy}");
        let seen = guarded(&stats.edge_connections);
        assert!(!seen.is_empty(), "{strategy}: no SSO connection recorded");
        for c in &seen {
            let ja4 = c.ja4.as_deref().expect("a ClientHello was read");
            assert!(
                fixture.iter().any(|f| f == ja4),
                "{strategy}: JA4 {ja4} is not one of curl_cffi's {fixture:?}"
            );
            assert_eq!(c.alpn.as_deref(), Some("h2"), "{strategy}: ALPN");
            assert_eq!(
                c.server_name.as_deref(),
                Some("localhost"),
                "{strategy}: SNI"
            );
            let h2 = c.http2.as_deref().expect("an HTTP/2 fingerprint");
            let parts: Vec<&str> = h2.split('|').collect();
            assert_eq!(parts.len(), 4, "{strategy}: {h2}");
            assert!(
                parts[3].contains('m') && parts[3].contains('p'),
                "{strategy}: {h2}"
            );
            eprintln!(
                "edge: strategy {strategy}: JA4 {ja4}, HTTP/2 {h2}, paths {:?}",
                c.paths
            );
        }
        h.assert_no_secret_logged(&[PASSWORD]);
    }
}

#[test]
fn mfa_through_the_edge() {
    let h = edge_harness(json!({}));
    let flow_id = match h.connect(MFA_EMAIL, PASSWORD) {
        ConnectStep::NeedInput { flow_id, .. } => flow_id.to_string(),
        other => panic!("expected NeedInput, got {other:?}"),
    };
    let (account_id, _) = done(h.resume(&flow_id, MFA_CODE));
    assert!(!account_id.is_empty());
    let stats = h.emulator.stats();
    assert_eq!(stats.edge_challenges, 0);
    assert!(stats.mfa_verifies >= 1);
    h.assert_no_secret_logged(&[PASSWORD, MFA_CODE]);
}

#[test]
fn sync_and_refresh_through_the_edge() {
    let h = edge_harness(json!({}));
    done(h.connect(DEMO, PASSWORD));
    let ledger = Ledger::default();
    let first = h.sync(&ledger, None).expect("first sync");
    assert!(first.imported > 0, "{first:?}");
    // A day later the access token has expired: the refresh goes through the edge too.
    h.emulator.advance_clock(Duration::from_secs(25 * 3600));
    h.sync(&ledger, None).expect("sync after expiry");
    let stats = h.emulator.stats();
    assert_eq!(stats.refreshes, 1);
    assert_eq!(stats.edge_challenges, 0);
    let refresh_conns: Vec<_> = stats
        .edge_connections
        .iter()
        .filter(|c| c.paths.iter().any(|p| p.starts_with("/di-oauth2-service/")))
        .collect();
    assert!(!refresh_conns.is_empty());
}

#[test]
fn a_blocked_profile_moves_on_to_the_next_one() {
    // Safari iOS is turned away once at the edge (429): the mobile strategy tries Safari next.
    let h = edge_harness(json!({ "login_strategies": "mobile" }));
    h.emulator.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: None,
            json: false,
        }
        .on(Target::SignInPage)
        .times(1),
    );
    done(h.connect(DEMO, PASSWORD));
    let stats = h.emulator.stats();
    assert_eq!(stats.sign_in_pages, 2, "a second profile loaded the page");
    assert_eq!(stats.logins, 1);
}
