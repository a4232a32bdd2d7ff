//! How a failed sign-in is reported, against the Garmin emulator over
//! 127.0.0.1: wrong password, locked account, challenges, rate limits, HTML
//! where JSON was expected, missing credentials. Every test also checks that
//! no secret reached the log (captured at TRACE).

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::{Fault, Target};
use host_api::ErrorKind;

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
    // A challenge tries each browser profile of each strategy once (mobile 3, widget 1,
    // portal 3); a CAPTCHA is not a fingerprint matter: each strategy once.
    for (fault, logins) in [(Fault::CloudflareChallenge, 7), (Fault::CaptchaRequired, 3)] {
        let h = harness();
        h.emulator.set_fault(fault.clone());
        let e = failed(h.connect(DEMO, PASSWORD));
        assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION, "{fault:?}: {e}");
        assert_eq!(h.emulator.stats().logins, logins, "{fault:?}");
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
        7,
        "one credential POST per browser profile of each strategy (3 + 1 + 3), no retry loop"
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
fn missing_credentials_are_refused_without_a_request() {
    let h = harness();
    let e = failed(h.begin(&[("email", DEMO)]));
    assert_eq!(e.kind, ErrorKind::INVALID_CREDENTIALS);
    assert_eq!(h.emulator.stats().total, 0);
}
