//! Fidelity proof: the real Python client `garminconnect` 0.3.20 (with curl_cffi, in the
//! virtualenv `cargo xtask test` makes) logs into the emulator through each of its strategies,
//! with and without MFA, lists activities and downloads an original.
//!
//! Needs that virtualenv (`$BINCIO_PYTHON_VENV`, default `target/interop-venv`); fails with a
//! message saying to run `cargo xtask test` when it is missing (never skips, never installs).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use garmin_emulator::{Activity, Emulator, EmulatorConfig, Fault, Target};
use serde_json::Value;

const MANUAL_ID: u64 = 4_242_424_242;

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The virtualenv's python with garminconnect 0.3.20 and curl_cffi, as `cargo xtask test`
/// prepares it (`$BINCIO_PYTHON_VENV`, else `target/interop-venv`). Never installs anything.
fn venv_with_client() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(find_venv).clone()
}

fn find_venv() -> PathBuf {
    let venv = std::env::var_os("BINCIO_PYTHON_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv"));
    let py = venv_python(&venv);
    let ready = Command::new(&py)
        .args(["-c", "import importlib.metadata as m, curl_cffi; assert m.version('garminconnect') == '0.3.20'"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ready,
        "the interop virtualenv ({}) with garminconnect 0.3.20 and curl_cffi is missing: run `cargo xtask test` (it makes it; set BINCIO_PYTHON_VENV to use another)",
        venv.display()
    );
    py
}

/// Runs the interop script against `base_url`; its last stdout line is the results object.
fn run_script(py: &Path, base_url: &str, mode: &str) -> Value {
    run_script_with(py, base_url, mode, &[])
}

fn run_script_with(py: &Path, base_url: &str, mode: &str, extra: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/garmin_interop.py");
    let mut child = Command::new(py)
        .arg(&script)
        .arg(base_url)
        .arg(mode)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the interop script");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the script") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the interop script did not finish within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = out_reader
        .join()
        .expect("stdout reader")
        .unwrap_or_default();
    let err = err_reader
        .join()
        .expect("stderr reader")
        .unwrap_or_default();
    assert!(
        status.success(),
        "interop script failed ({status}):\n{out}\n{err}"
    );
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("script output is not JSON ({e}):\n{out}\n{err}"))
}

fn paths(outcome: &Value) -> Vec<String> {
    outcome["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {}",
                r[0].as_str().unwrap_or(""),
                r[1].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn garminconnect_0_3_20_logs_in_lists_and_downloads() {
    let py = venv_with_client();
    let emulator = Emulator::start(EmulatorConfig::default_demo()).expect("start emulator");
    let start = emulator.activities("demo@example.com")[0].start;
    emulator.add_activity(
        "demo@example.com",
        Activity::manual(
            MANUAL_ID,
            start - Duration::from_secs(86_400),
            "Manual gym",
            "strength_training",
            0.0,
            1800.0,
        ),
    );
    let results = run_script(&py, &emulator.base_url(), "scenarios");
    let failed: Vec<_> = results
        .as_object()
        .expect("results object")
        .iter()
        .filter(|(k, v)| !k.starts_with('_') && v["ok"] != Value::Bool(true))
        .collect();
    assert!(failed.is_empty(), "scenarios failed: {failed:#?}");

    // Every login strategy, MFA or not, ended with a token the API accepts and the profile loaded.
    for name in [
        "login_default_chain",
        "login_mobile+requests",
        "login_widget+cffi",
        "login_portal+cffi",
        "login_portal+requests",
        "mfa_default_chain",
        "mfa_widget",
        "mfa_portal",
    ] {
        let r = &results[name];
        let account = if name.starts_with("mfa") {
            "mfa-rider"
        } else {
            "demo-runner"
        };
        assert_eq!(r["display_name"], account, "{name}: {r}");
        assert_eq!(r["unit_system"], "metric", "{name}");
        assert_eq!(r["jwt_has_exp"], true, "{name}");
        assert_eq!(
            r["jwt_client_id"], "GARMIN_CONNECT_MOBILE_ANDROID_DI_2025Q2",
            "{name}"
        );
        assert_eq!(r["has_refresh_token"], true, "{name}");
    }
    // Each strategy really went through its own flow.
    let default_chain = paths(&results["login_default_chain"]);
    assert_eq!(
        default_chain[..2],
        ["GET /mobile/sso/en_US/sign-in", "POST /mobile/api/login"],
        "{default_chain:?}"
    );
    assert!(paths(&results["login_widget+cffi"]).contains(&"POST /sso/signin".to_string()));
    assert!(
        paths(&results["login_portal+requests"]).contains(&"POST /portal/api/login".to_string())
    );
    assert!(paths(&results["mfa_default_chain"])
        .contains(&"POST /mobile/api/mfa/verifyCode".to_string()));
    assert_eq!(results["mfa_default_chain"]["prompts"], 1);
    let widget_mfa = paths(&results["mfa_widget"]);
    assert!(
        widget_mfa.contains(&"POST /sso/verifyMFA/mfaCode".to_string()),
        "{widget_mfa:?}"
    );
    assert!(
        widget_mfa.contains(&"POST /sso/verifyMFA/loginEnterMfaCode".to_string()),
        "{widget_mfa:?}"
    );
    assert!(paths(&results["mfa_portal"]).contains(&"POST /portal/api/mfa/verifyCode".to_string()));
    assert_eq!(results["mfa_deferred_resume"]["status"], "needs_mfa");
    assert_eq!(results["mfa_deferred_resume"]["display_name"], "mfa-rider");

    // Failures surface as the client's authentication error.
    assert_eq!(
        results["wrong_password"]["error"],
        "GarminConnectAuthenticationError"
    );
    assert_eq!(
        results["wrong_mfa_code"]["error"],
        "GarminConnectAuthenticationError"
    );

    // The list matches what the emulator holds, newest first, and pages end with [].
    let held = emulator.activities("demo@example.com");
    let list = &results["list"];
    assert_eq!(list["page_len"], 5);
    assert_eq!(list["all_len"].as_u64(), Some(held.len() as u64));
    assert_eq!(list["total_count"].as_u64(), Some(held.len() as u64));
    assert_eq!(list["past_end_len"], 0);
    let mut expected: Vec<_> = held.iter().collect();
    expected.sort_by_key(|a| std::cmp::Reverse((a.start.unix_timestamp(), a.id)));
    let ids: Vec<u64> = list["ids_newest_first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(ids, expected.iter().map(|a| a.id).collect::<Vec<_>>());
    assert_eq!(list["manual_ids"], serde_json::json!([MANUAL_ID]));

    // The original is a zip holding {id}_ACTIVITY.fit, byte for byte the served FIT.
    let download = &results["download_original"];
    let newest_with_file = expected.iter().find(|a| a.fit.is_some()).unwrap();
    assert_eq!(
        download["names"],
        serde_json::json!([format!("{}_ACTIVITY.fit", newest_with_file.id)])
    );
    assert_eq!(
        download["fit_bytes"].as_u64(),
        Some(newest_with_file.fit.as_ref().unwrap().len() as u64)
    );
    assert_eq!(download["fit_signature"], ".FIT");
    assert_eq!(
        results["download_manual"]["error"],
        "GarminConnectNotFoundError"
    );

    // Stored tokens work without SSO; refresh rotates the refresh token.
    assert_eq!(results["tokens_and_refresh"]["no_sso"], true);
    assert_eq!(results["tokens_and_refresh"]["rotated"], true);
    assert!(
        results["_meta"]["sleeps_skipped"].as_u64().unwrap_or(0) > 0,
        "anti-WAF sleeps were not intercepted"
    );
    let stats = emulator.stats();
    assert!(
        stats.logins >= 9
            && stats.mfa_verifies >= 4
            && stats.refreshes >= 1
            && stats.downloads >= 2,
        "{stats:?}"
    );
}

#[test]
fn garminconnect_falls_through_rate_limits_and_client_ids_and_retries_after_401() {
    let py = venv_with_client();
    let config =
        EmulatorConfig::default_demo().with_accepted_client_ids(&["GARMIN_CONNECT_MOBILE_IOS_DI"]);
    let emulator = Emulator::start(config).expect("start emulator");
    // First credential POST rate limited: the client moves to its next TLS profile.
    emulator.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: None,
            json: false,
        }
        .times(1),
    );
    // The login's verification call is refused once: the client refreshes and retries.
    emulator.set_fault(Fault::TokenNotActive.on(Target::Profile).times(1));
    let results = run_script(&py, &emulator.base_url(), "resilience");
    let login = &results["login"];
    assert_eq!(login["ok"], true, "{login:#}");
    assert_eq!(login["di_client_id"], "GARMIN_CONNECT_MOBILE_IOS_DI");
    assert_eq!(results["list"]["len"], 3);
    let stats = emulator.stats();
    assert_eq!(
        stats.logins, 2,
        "one rate-limited POST, then success: {stats:?}"
    );
    assert_eq!(
        stats.token_exchanges, 4,
        "three refused client ids, then the iOS one"
    );
    assert_eq!(
        stats.refreshes, 1,
        "401 on socialProfile triggers one refresh"
    );
    let requests: Vec<String> = paths(login);
    let first_profile = requests
        .iter()
        .position(|p| p == "GET /userprofile-service/socialProfile")
        .unwrap();
    assert_eq!(
        requests[first_profile + 1],
        "POST /di-oauth2-service/oauth/token",
        "{requests:?}"
    );
    assert_eq!(
        requests[first_profile + 2],
        "GET /userprofile-service/socialProfile",
        "{requests:?}"
    );
}

/// Interop both ways through `--edge`: garminconnect with curl_cffi (its browser TLS) logs in,
/// plain and with MFA; with curl_cffi's strategies skipped (plain `requests` only) the edge
/// refuses it, as the reference expects of Garmin's real edge.
#[test]
fn garminconnect_passes_the_edge_with_curl_cffi_and_is_refused_without() {
    let py = venv_with_client();
    let emulator = Emulator::start(EmulatorConfig::default_demo().with_edge()).expect("start");
    let ca = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "edge-ca-{}.pem",
        emulator.base_url().rsplit(':').next().unwrap_or("0")
    ));
    std::fs::write(&ca, emulator.ca_pem().expect("edge CA")).expect("write the CA");
    let results = run_script_with(&py, &emulator.base_url(), "edge", &[ca.to_str().unwrap()]);
    for name in [
        "login_with_curl_cffi",
        "list_after_edge_login",
        "mfa_with_curl_cffi",
        "refused_without_curl_cffi",
    ] {
        assert_eq!(
            results[name]["ok"],
            Value::Bool(true),
            "{name}: {}",
            serde_json::to_string_pretty(&results[name]).unwrap()
        );
    }
    let refused = &results["refused_without_curl_cffi"];
    assert!(!refused["token"].as_bool().unwrap_or(true));
    let stats = emulator.stats();
    assert!(
        stats.edge_challenges + stats.edge_rate_limited > 0,
        "the plain client was turned away"
    );
    // Every connection that got through to an SSO or DI path showed a fixture JA4.
    let browsers = garmin_emulator::EdgeConfig::default().browser_ja4s;
    let mut passed = 0;
    for c in &stats.edge_connections {
        let ja4 = c.ja4.clone().unwrap_or_default();
        if browsers.contains(&ja4) {
            passed += 1;
        }
    }
    assert!(
        passed > 0,
        "no curl_cffi connection was recognised: {:?}",
        stats.edge_connections
    );
}
