//! A hostile `Retry-After` (issue 11, point 1): a 429 whose wait is
//! i64::MAX, u64::MAX, 99,999,999,999 s or a year-9999 date neither crashes
//! the host nor freezes the account; the wait is clamped to a day, the clamp
//! is logged, and `status` shows the same next run as the stored cooldown.

use bincio_state::{ConnectionId, CooldownScope};
use bincio_tests::harness::{TestHost, DEMO_EMAIL, PASSWORD};
use bincio_tests::logs;
use garmin_emulator::{EmulatorConfig, Fault, Target};
use host_api::ErrorKind;
use host_demo::clock::Clock;
use host_demo::host::waits::MAX_RATE_LIMIT_WAIT_SECS;
use host_demo::host::HostError;
use host_demo::scheduler::Scheduler;
use host_demo::services::CancelFlag;

const HOSTILE: [&str; 4] = [
    "9223372036854775807",
    "18446744073709551615",
    "99999999999",
    "Fri, 31 Dec 9999 23:59:59 GMT",
];

const DAY: i64 = MAX_RATE_LIMIT_WAIT_SECS as i64;

#[test]
fn a_hostile_retry_after_at_sync_is_clamped_to_a_day_and_status_agrees() {
    for value in HOSTILE {
        let t = TestHost::start(EmulatorConfig::default_demo(), "");
        let connection = t.connect_demo();
        t.emulator
            .set_fault(Fault::RetryAfterHeader(value.into()).on(Target::List));
        let now = t.clock.now();
        let report = t.sync(&connection);
        let error = report.result.as_ref().expect_err("a 429 fails the run");
        assert_eq!(error.kind, ErrorKind::RATE_LIMITED, "{value}: {error:?}");

        let id = ConnectionId::new(&connection);
        let cooldown = t
            .host
            .db
            .cooldown(CooldownScope::Connection(id.clone()), now)
            .unwrap()
            .unwrap_or_else(|| panic!("{value}: a cooldown in the future is stored"));
        assert!(
            cooldown.until > now && cooldown.until <= now + DAY,
            "{value}: cooldown until {} (now {now})",
            cooldown.until
        );
        let status = t.host.status().unwrap();
        let report = status.iter().find(|r| r.connection.id == id).unwrap();
        assert_eq!(report.cooldown_until, Some(cooldown.until), "{value}");
        assert_eq!(report.next_run_at, Some(cooldown.until), "{value}");
        assert_ne!(report.next_run_text(), "due now", "{value}");

        // The scheduler agrees: the connection is not due before the cooldown ends.
        let scheduler = Scheduler::new(t.host.clone(), CancelFlag::new());
        let started = scheduler.tick().unwrap();
        scheduler.wait();
        if let Some(record) = scheduler.take_finished().pop() {
            assert!(matches!(record.outcome, Err(HostError::CoolingDown { .. })));
            let next = record.next_run_at.expect("scheduled");
            assert!(
                next >= cooldown.until && next <= now + DAY + 60,
                "{value}: {next}"
            );
        } else {
            assert!(started.is_empty());
        }
    }
    // The plugin clamps Garmin's Retry-After to a day and logs it, so the
    // host (which clamps too: `waits` unit tests) receives a day at most.
    let log = logs::text();
    assert!(
        log.contains("the server asked for a wait longer than a day; waiting a day"),
        "the clamp is logged"
    );
}

#[test]
fn a_hostile_retry_after_at_login_is_clamped_to_a_day() {
    for value in HOSTILE {
        let t = TestHost::start(EmulatorConfig::default_demo(), "");
        t.emulator
            .set_fault(Fault::RetryAfterHeader(value.into()).on(Target::Login));
        let now = t.clock.now();
        let error = t.connect(DEMO_EMAIL, PASSWORD).expect_err("a 429 at login");
        assert_eq!(
            error.plugin_error().map(|e| e.kind),
            Some(ErrorKind::RATE_LIMITED),
            "{value}: {error}"
        );
        t.emulator.clear_faults();
        match t.connect(DEMO_EMAIL, PASSWORD) {
            Err(HostError::CoolingDown { minutes, .. }) => {
                assert!((1..=DAY / 60).contains(&minutes), "{value}: {minutes} min")
            }
            other => panic!("{value}: the login cooldown holds, got {other:?}"),
        }
        // A day later the account may log in again.
        t.clock.set(now + DAY + 1);
        assert!(t.connect(DEMO_EMAIL, PASSWORD).is_ok(), "{value}");
    }
}
