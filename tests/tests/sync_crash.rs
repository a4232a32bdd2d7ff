//! A sync killed with SIGKILL mid-run loses nothing, and the next run
//! completes it: the host binary syncs from the emulator in a child process
//! that is killed again and again, each time after a chosen number of new
//! downloads (so every kill lands mid-run whatever the machine's speed).

use bincio_state::LedgerOutcome;
use bincio_tests::harness::{TestHost, PASSWORD, PLUGIN};
use bincio_tests::plugin_libraries;
use bincio_tests::store_check::check_store;
use garmin_emulator::{synthetic_activities, Account, EmulatorConfig, Fault, Target};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const EMAIL: &str = "crash@example.com";

/// A host connected to an account of `count` activities, 12 h apart, whose
/// downloads the emulator slows so a signal lands mid-run.
fn connected(
    count: usize,
) -> (
    TestHost,
    Vec<garmin_emulator::Activity>,
    bincio_state::ConnectionId,
) {
    let activities = synthetic_activities(
        count,
        OffsetDateTime::now_utc() - Duration::from_secs(3600),
        Duration::from_secs(12 * 3600),
    );
    let config = EmulatorConfig::empty()
        .with_account(Account::new(EMAIL, PASSWORD).with_activities(activities.clone()));
    let t = TestHost::start(config, "max_downloads_per_run = 100\npage_size = 10");
    let connection = match t.connect(EMAIL, PASSWORD).unwrap() {
        host_demo::host::ConnectOutcome::Connected { connection, .. } => connection,
        other => panic!("{other:?}"),
    };
    (t, activities, connection)
}

#[test]
fn a_sync_killed_mid_run_loses_nothing_and_the_next_run_completes_it() {
    let (t, activities, connection) = connected(30);
    let connection = connection.to_string();
    // Slow downloads, so a kill lands in the middle of the run.
    t.emulator
        .set_fault(Fault::Delay(Duration::from_millis(120)).on(Target::Download(None)));

    let host_demo = &plugin_libraries().host_demo;
    let sync = || {
        let mut command = Command::new(host_demo);
        command
            .arg("--config")
            .arg(t.data_dir().join("plugin.toml"))
            .arg("--data-dir")
            .arg(t.data_dir())
            .args(["sync", &connection])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    // At most 3 new downloads per run, 8 runs: fewer than the 30 activities,
    // so every run is still going when its kill comes.
    let mut kills = 0;
    for round in 0..8u64 {
        let wanted = t.emulator.stats().downloads + 1 + round % 3;
        let mut child = sync().spawn().expect("host-demo runs");
        // A hang guard only: the kill itself waits for downloads, not time.
        let deadline = Instant::now() + Duration::from_secs(120);
        while t.emulator.stats().downloads < wanted {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("round {round}: the sync ended ({status}) before download {wanted}");
            }
            assert!(Instant::now() < deadline, "round {round}: no progress");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: killed mid-run");
        kills += 1;
        // After every kill: what is stored is consistent and never doubled.
        let ledger = t.host.db.ledger_entries(PLUGIN).unwrap();
        let mut ids: Vec<_> = ledger
            .iter()
            .filter_map(|e| e.external_id.clone())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "an activity recorded twice");
    }
    assert_eq!(kills, 8, "every sync was killed mid-run");
    let stored = t.host.db.ledger_entries(PLUGIN).unwrap().len();
    assert!(
        stored < activities.len(),
        "the kills left work for the final run: {stored} stored"
    );

    t.emulator.clear_faults();
    let status = sync().status().unwrap();
    assert!(status.success(), "the final sync completes");
    let ledger = t.host.db.ledger_entries(PLUGIN).unwrap();
    for a in &activities {
        let rows: Vec<_> = ledger
            .iter()
            .filter(|e| e.external_id.as_deref() == Some(&a.id.to_string()))
            .collect();
        assert_eq!(rows.len(), 1, "activity {} recorded once", a.id);
        assert_eq!(rows[0].outcome, LedgerOutcome::Imported);
    }
    // Opening the store (as the host does) adopts files a kill left out of
    // the index; then index and files agree and every file validates.
    let host = t.host.clone();
    host.pipeline().expect("store opens");
    let ids =
        check_store(&t.data_dir().join("me")).unwrap_or_else(|p| panic!("store broken: {p:#?}"));
    assert_eq!(ids.len(), activities.len());
}

#[test]
fn ctrl_c_twice_stops_the_scheduler_after_the_item_in_hand_and_commits() {
    let (t, activities, connection) = connected(40);
    t.emulator
        .set_fault(Fault::Delay(Duration::from_millis(150)).on(Target::Download(None)));
    let mut child = Command::new(&plugin_libraries().host_demo)
        .arg("--config")
        .arg(t.data_dir().join("plugin.toml"))
        .arg("--data-dir")
        .arg(t.data_dir())
        .arg("run")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once some activities are in, while the run goes on.
    while t.emulator.stats().downloads < 5 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scheduler exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Twice, as an impatient user does: the second Ctrl-C must not end the
    // process mid-item either (the handler stays installed).
    for _ in 0..2 {
        let interrupted = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(interrupted.success());
        std::thread::sleep(Duration::from_millis(30));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit 0 after Ctrl-C");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Stopped"));

    let run = t
        .host
        .db
        .last_run(&connection)
        .unwrap()
        .expect("a run was recorded");
    assert_eq!(
        run.outcome,
        Some(bincio_state::RunOutcome::Cancelled),
        "{run:?}"
    );
    let imported = t.host.db.ledger_entries(PLUGIN).unwrap().len();
    assert!(
        imported >= 5 && imported < activities.len(),
        "stopped part way: {imported}"
    );
    assert!(
        t.host.db.cursor(&connection).unwrap().is_some(),
        "the cursor was committed"
    );
    let downloads = t.emulator.stats().downloads as usize;
    assert!(
        downloads <= imported + 1,
        "at most the item in hand was left: {downloads} downloads, {imported} stored"
    );
}
