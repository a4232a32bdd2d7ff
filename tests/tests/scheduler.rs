//! The scheduler against the emulator, on a manual clock: interval with
//! jitter, never below the plugin's minimum, one run at a time per
//! connection, `retry_after` honoured, a connection that needs its user
//! paused.

use bincio_state::ConnectionId;
use bincio_tests::harness::{TestHost, DEMO_EMAIL, PASSWORD};
use garmin_emulator::{EmulatorConfig, Fault, Target};
use host_demo::clock::Clock;
use host_demo::scheduler::{Scheduler, JITTER_FRACTION};
use host_demo::services::CancelFlag;
use std::time::Duration;

fn scheduler(t: &TestHost) -> Scheduler {
    Scheduler::new(t.host.clone(), CancelFlag::new())
}

#[test]
fn syncs_run_on_the_interval_with_jitter_and_not_before() {
    let t = TestHost::start(
        EmulatorConfig::default_demo(),
        "max_downloads_per_run = 100",
    );
    let connection = t.connect_demo();
    let s = scheduler(&t);
    let interval = s.interval_secs("dev.bincio.garmin").unwrap();
    assert_eq!(interval, 6 * 3600, "the plugin's default");

    let mut starts = Vec::new();
    for _ in 0..4 {
        let now = t.clock.now();
        assert_eq!(
            s.tick().unwrap(),
            vec![ConnectionId::new(&connection)],
            "due at {now}"
        );
        s.wait();
        let record = s.take_finished().pop().expect("a finished run");
        assert!(
            record.outcome.as_ref().unwrap().result.is_ok(),
            "{:?}",
            record.outcome
        );
        let next = record.next_run_at.expect("scheduled again");
        let wait = next - now;
        let spread = (interval as f64 * JITTER_FRACTION) as i64;
        assert!(
            (interval - spread..=interval + spread).contains(&wait),
            "next run in {wait} s"
        );
        starts.push(wait);

        t.clock.set(next - 1);
        assert!(s.tick().unwrap().is_empty(), "not before its time");
        t.clock.set(next);
    }
    starts.dedup();
    assert!(starts.len() > 1, "jitter varies the interval: {starts:?}");
}

#[test]
fn the_interval_never_goes_below_the_plugins_minimum() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    // interval_minutes is a plugin.toml key; write one asking for 1 minute.
    let config = t.data_dir().join("plugin.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("enabled = true\n", "enabled = true\ninterval_minutes = 1\n"),
    )
    .unwrap();
    let manager = host_demo::plugins::PluginManager::load(&config).unwrap();
    assert_eq!(
        manager
            .entry("dev.bincio.garmin")
            .unwrap()
            .config
            .interval_minutes,
        Some(1)
    );
    let host = host_demo::host::Host::open(&config, t.data_dir(), "me").unwrap();
    let s = Scheduler::new(std::sync::Arc::new(host), CancelFlag::new());
    assert_eq!(s.interval_secs("dev.bincio.garmin").unwrap(), 3600);
}

#[test]
fn one_sync_at_a_time_per_connection() {
    let t = TestHost::start(
        EmulatorConfig::default_demo(),
        "max_downloads_per_run = 100",
    );
    t.connect_demo();
    t.emulator
        .set_fault(Fault::Delay(Duration::from_millis(1500)).on(Target::List));
    let s = scheduler(&t);
    assert_eq!(s.tick().unwrap().len(), 1);
    for _ in 0..5 {
        assert!(
            s.tick().unwrap().is_empty(),
            "a second run must not start while one runs"
        );
        assert_eq!(s.running().len(), 1);
    }
    s.wait();
    assert_eq!(s.take_finished().len(), 1);
}

#[test]
fn retry_after_is_honoured_and_shown() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let connection = t.connect_demo();
    t.emulator.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: Some(7200),
            json: false,
        }
        .on(Target::List)
        .times(1),
    );
    let s = scheduler(&t);
    let now = t.clock.now();
    s.tick().unwrap();
    s.wait();
    let record = s.take_finished().pop().unwrap();
    let error = record.outcome.unwrap().result.expect_err("rate limited");
    assert_eq!(error.kind, host_api::ErrorKind::RATE_LIMITED);
    assert!(
        record.next_run_at.unwrap() >= now + 7200,
        "waits out Retry-After"
    );
    let status = t.host.status().unwrap();
    assert!(
        status[0]
            .attention
            .as_deref()
            .unwrap_or("")
            .contains("rate limited"),
        "{:?}",
        status[0].attention
    );

    t.clock.advance(3600);
    assert!(s.tick().unwrap().is_empty(), "still waiting");
    t.clock.advance(3700);
    assert_eq!(s.tick().unwrap(), vec![ConnectionId::new(&connection)]);
    s.wait();
}

#[test]
fn a_connection_that_needs_its_user_is_paused_and_listed() {
    let t = TestHost::start(
        EmulatorConfig::default_demo(),
        "password_login_min_interval_hours = 0",
    );
    t.connect_demo();
    // Tokens dead and the password changed at Garmin: the re-login fails.
    t.emulator.revoke_refresh_tokens(DEMO_EMAIL);
    t.emulator.advance_clock(Duration::from_secs(30 * 3600));
    t.emulator
        .set_fault(Fault::InvalidCredentials.on(Target::Login));
    let s = scheduler(&t);
    s.tick().unwrap();
    s.wait();
    let record = s.take_finished().pop().unwrap();
    assert_eq!(record.next_run_at, None, "paused");
    let status = t.host.status().unwrap();
    assert_eq!(
        status[0].connection.status,
        bincio_state::ConnectionStatus::NeedsUser
    );
    assert!(
        status[0].attention.as_deref().unwrap().contains("connect"),
        "{:?}",
        status[0].attention
    );
    t.clock.advance(10 * 24 * 3600);
    assert!(
        s.tick().unwrap().is_empty(),
        "never synced while it needs the user"
    );
    let _ = PASSWORD;
}
