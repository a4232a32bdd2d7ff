//! `plugin.toml` ranges (issue 11, point 2): every host value and every
//! plugin setting is checked when the file is read, and a value out of range
//! is refused with its key, its line and the allowed range. A property test
//! drives extreme values through parsing, loading and the scheduler; nothing
//! accepted may panic later.

use bincio_state::SecretString;
use bincio_tests::harness::{TestHost, MFA_EMAIL, PASSWORD, PLUGIN};
use bincio_tests::plugin_libraries;
use garmin_emulator::{EmulatorConfig, Fault, Target};
use host_demo::host::waits::MAX_INTERVAL_SECS;
use host_demo::host::{ConnectOutcome, Host};
use host_demo::plugins::{PluginManager, PluginStatus};
use host_demo::scheduler::interval_for;
use proptest::prelude::*;
use std::path::Path;

/// The Garmin plugin's number settings the issue names, and others.
const NUMBER_KEYS: [&str; 8] = [
    "max_download_mib",
    "mfa_flow_timeout_secs",
    "api_rate_limit_wait_secs",
    "login_rate_limit_wait_secs",
    "request_timeout_secs",
    "max_inline_wait_secs",
    "backoff_max_ms",
    "lookback_days",
];

/// A plugin.toml for the Garmin plugin; returns its path and the line of
/// `interval_minutes` and of the one setting.
fn write(dir: &Path, interval: i64, key: &str, value: i64) -> (std::path::PathBuf, usize, usize) {
    let libs = plugin_libraries();
    let text = format!(
        "# a test\n[[plugins]]\nid = {PLUGIN:?}\nlibrary = {:?}\nenabled = true\ninterval_minutes = {interval}\n\n[plugins.settings]\n{key} = {value}\n",
        libs.garmin.display().to_string()
    );
    let path = dir.join("plugin.toml");
    std::fs::write(&path, text).unwrap();
    (path, 6, 9)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn extreme_values_are_refused_when_read_and_accepted_ones_schedule_sanely(
        interval in prop_oneof![
            Just(i64::MAX), Just(i64::MIN), Just(0i64), Just(-1i64), Just(44_641i64),
            any::<i64>(), 1i64..=44_640,
        ],
        key in prop::sample::select(NUMBER_KEYS.to_vec()),
        value in prop_oneof![
            Just(i64::MAX), Just(i64::MIN), Just(-1i64), Just(u32::MAX as i64 + 1),
            Just(u32::MAX as i64), any::<i64>(), 0i64..=100_000,
        ],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, interval_line, setting_line) = write(dir.path(), interval, key, value);
        let manager = PluginManager::load(&path).expect("the file parses");
        if !(1..=44_640).contains(&interval) {
            prop_assert!(manager.entries.is_empty());
            let text = manager.config_errors[0].to_string();
            prop_assert!(text.contains(&format!("plugin.toml:{interval_line}:")), "{}", text);
            prop_assert!(text.contains("interval_minutes") && text.contains("between 1 and 44640"), "{}", text);
            return Ok(());
        }
        let entry = &manager.entries[0];
        match &entry.status {
            PluginStatus::Failed(e) => {
                prop_assert!(!(0..=u32::MAX as i64).contains(&value), "{} = {} refused: {}", key, value, e);
                let text = e.to_string();
                prop_assert!(text.contains(&format!("plugin.toml:{setting_line}:")), "{}", text);
                prop_assert!(text.contains(key) && text.contains("between 0 and 4294967295"), "{}", text);
            }
            PluginStatus::Loaded(plugin) => {
                prop_assert!((0..=u32::MAX as i64).contains(&value), "{} = {} accepted", key, value);
                let secs = interval_for(&entry.config, &plugin.descriptor);
                prop_assert!(secs >= plugin.descriptor.min_interval.as_secs() as i64);
                prop_assert!(secs <= MAX_INTERVAL_SECS as i64);
            }
            PluginStatus::Disabled => prop_assert!(false, "enabled in the file"),
        }
    }
}

/// A plugin.toml for the Garmin plugin whose settings table (at line 6)
/// holds `settings`.
fn with_settings(dir: &Path, settings: &str) -> std::path::PathBuf {
    let text = format!(
        "[[plugins]]\nid = {PLUGIN:?}\nlibrary = {:?}\nenabled = true\n[plugins.settings]\n{settings}\n",
        plugin_libraries().garmin.display().to_string()
    );
    let path = dir.join("plugin.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_setting_the_plugin_refuses_is_reported_when_the_host_opens_with_its_line() {
    // page_size is a number the host accepts (0..=u32::MAX) but the plugin
    // allows only 1..=1000: the host asks the plugin at load time.
    let dir = tempfile::tempdir().unwrap();
    let path = with_settings(dir.path(), "lookback_days = 3\npage_size = 5000");
    let host = Host::open(&path, dir.path(), "me").expect("the host opens");
    let error = host
        .manager
        .loaded(PLUGIN)
        .expect_err("the plugin is not usable")
        .to_string();
    assert!(error.contains("plugin.toml:7:"), "{error}");
    assert!(
        error.contains("page_size") && error.contains("1000"),
        "{error}"
    );
    assert!(!error.contains("column"), "no JSON position: {error}");
}

#[test]
fn an_unknown_or_mistyped_setting_names_its_line() {
    for (line, needle) in [
        ("lookbak_days = 3", "unknown setting"),
        ("lookback_days = \"3\"", "whole number"),
        (
            "sso_base_url = \"file:///etc/passwd\"",
            "http:// or https://",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = with_settings(dir.path(), &format!("\n{line}"));
        let manager = PluginManager::load(&path).unwrap();
        let label = manager.entries[0].status.label();
        assert!(label.contains("plugin.toml:7:"), "{label}");
        assert!(label.contains(needle), "{label}");
    }
}

/// The largest values the file accepts run without a panic: the MFA step,
/// downloads, a 429 without Retry-After. (A plugin that allows less refuses
/// them when the host opens, which is the other acceptable answer.)
#[test]
fn the_largest_accepted_values_do_not_panic_later() {
    let max = u32::MAX;
    let t = TestHost::start(
        EmulatorConfig::default_demo(),
        &format!(
            "max_download_mib = {max}\nmfa_flow_timeout_secs = {max}\napi_rate_limit_wait_secs = {max}\nlogin_rate_limit_wait_secs = {max}"
        ),
    );
    if let Err(e) = t.host.manager.loaded(PLUGIN) {
        let text = e.to_string();
        assert!(
            text.contains("plugin.toml:") && text.contains("between"),
            "{text}"
        );
        return;
    }
    let (connection, flow_id) = match t.connect(MFA_EMAIL, PASSWORD).unwrap() {
        ConnectOutcome::NeedInput {
            connection,
            flow_id,
            ..
        } => (connection, flow_id),
        other => panic!("the MFA account asks for a code, got {other:?}"),
    };
    let code = vec![("mfa_code".to_string(), SecretString::new("123456".into()))];
    let connection = match t
        .host
        .continue_connect(&connection, &flow_id, code)
        .unwrap()
    {
        ConnectOutcome::Connected { connection, .. } => connection.to_string(),
        other => panic!("connected, got {other:?}"),
    };
    let report = t.sync(&connection);
    assert!(report.result.is_ok(), "{:?}", report.result);
    t.emulator.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: None,
            json: true,
        }
        .on(Target::List),
    );
    let report = t.sync(&connection);
    assert!(report.result.is_err());
}
