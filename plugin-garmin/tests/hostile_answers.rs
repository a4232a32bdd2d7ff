//! Answers a hostile server might give, against the emulator over
//! 127.0.0.1: bodies far larger than any real answer are refused at the
//! plugin's cap with a clear error, holding no more than the cap.

mod common;

use common::connect::*;
use common::*;
use garmin_emulator::{Fault, Target};
use host_api::ErrorKind;

/// The process's peak resident memory so far, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_one_gib_di_token_answer_is_refused_at_the_cap_with_bounded_memory() {
    const GIB: u64 = 1 << 30;
    // Every client id's answer is a GiB; the web host sets no JWT_WEB either, so the
    // connect fails and its error shows the DI cap.
    let mut config = config();
    config.issue_web_cookie = false;
    let h = Harness::new(config, serde_json::json!({}));
    h.emulator
        .set_fault(Fault::HugeBody { bytes: GIB }.on(Target::Token));
    let before = peak_rss_kib();
    let e = failed(h.connect(DEMO, PASSWORD));
    let grown_kib = peak_rss_kib().saturating_sub(before);
    assert_eq!(e.kind, ErrorKind::PERMANENT, "{e:?}");
    assert!(
        e.detail.contains("larger than 65536 bytes"),
        "the error names the cap: {}",
        e.detail
    );
    assert!(h.secrets.get("tokens").is_none(), "nothing was stored");
    // Held whole, the body would add a GiB; the cap is 64 KiB per answer.
    assert!(
        grown_kib < 64 << 10,
        "peak memory grew by {grown_kib} KiB reading a 1 GiB answer"
    );
    h.assert_no_secret_logged(&[PASSWORD]);
}

#[test]
fn a_retry_after_of_u64_max_is_clamped_to_a_day_and_logged() {
    let h = harness();
    h.emulator.set_fault(Fault::TooManyRequests {
        status: 429,
        retry_after: Some(u64::MAX),
        json: false,
    });
    let e = failed(h.connect(DEMO, PASSWORD));
    assert_eq!(e.kind, ErrorKind::RATE_LIMITED, "{e:?}");
    assert_eq!(e.retry_after(), Some(24 * 3600));
    assert!(
        h.logs
            .lines()
            .iter()
            .any(|l| l.contains("asked_secs=18446744073709551615")
                && l.contains("clamped_secs=86400")),
        "the clamp is logged: {:?}",
        h.logs.lines()
    );
}

#[test]
fn a_400_echoing_the_password_and_tokens_is_quoted_scrubbed_and_short() {
    let h = harness();
    common::done(h.connect(DEMO, PASSWORD));
    let tokens = h.secrets.tokens().expect("tokens stored");
    let access = tokens["di_token"].as_str().unwrap().to_string();
    let refresh = tokens["di_refresh_token"].as_str().unwrap().to_string();
    let body = format!(
        "Bad request \x1b[31m: you sent email={DEMO} password={PASSWORD} \
         with Authorization: Bearer {access} and refresh {refresh} {}",
        "padding ".repeat(200)
    );
    h.emulator.set_fault(
        Fault::Answer {
            status: 400,
            body: body.clone(),
        }
        .on(Target::Profile),
    );
    let e = h.check().unwrap_err();
    assert_eq!(e.kind, ErrorKind::PERMANENT, "{e:?}");
    assert!(e.detail.contains("HTTP 400: Bad request"), "{}", e.detail);
    assert!(e.detail.contains("\\u{1b}"), "control characters escaped");
    for secret in [PASSWORD, DEMO, access.as_str(), refresh.as_str()] {
        assert!(!e.detail.contains(secret), "{secret} in {}", e.detail);
        assert!(
            !e.user_message.contains(secret),
            "{secret} in {}",
            e.user_message
        );
    }
    assert!(
        e.detail.len() < body.len() / 4,
        "an excerpt, not the body: {}",
        e.detail.len()
    );
    h.assert_no_secret_logged(&[PASSWORD]);
}
