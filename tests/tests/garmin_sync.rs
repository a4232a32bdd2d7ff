//! Issue 5, end to end: sync that never loses or duplicates an activity, from
//! the emulator over loopback into the real host's pipeline and BAS store.

use bincio_state::LedgerOutcome;
use bincio_tests::harness::{TestHost, PASSWORD, PLUGIN};
use bincio_tests::store_check::check_store;
use garmin_emulator::{synthetic_activities, Account, Activity, EmulatorConfig, Fault, Target};
use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;

const EMAIL: &str = "many@example.com";
const DAY: i64 = 24 * 3600;

fn account_with(activities: Vec<Activity>) -> EmulatorConfig {
    EmulatorConfig::empty().with_account(Account::new(EMAIL, PASSWORD).with_activities(activities))
}

fn connect(t: &TestHost) -> String {
    match t.connect(EMAIL, PASSWORD).expect("connects") {
        host_demo::host::ConnectOutcome::Connected { connection, .. } => connection.to_string(),
        other => panic!("{other:?}"),
    }
}

/// external id -> outcomes recorded for it in the ledger.
fn ledger(t: &TestHost) -> BTreeMap<String, Vec<LedgerOutcome>> {
    let mut map: BTreeMap<String, Vec<LedgerOutcome>> = BTreeMap::new();
    for entry in t.host.db.ledger_entries(PLUGIN).unwrap() {
        if let Some(id) = entry.external_id {
            map.entry(id).or_default().push(entry.outcome);
        }
    }
    map
}

fn store_ids(t: &TestHost) -> std::collections::BTreeSet<String> {
    check_store(&t.data_dir().join("me"))
        .unwrap_or_else(|problems| panic!("store broken: {problems:#?}"))
}

fn recent(count: usize, spacing_hours: u64) -> Vec<Activity> {
    synthetic_activities(
        count,
        OffsetDateTime::now_utc() - Duration::from_secs(3600),
        Duration::from_secs(spacing_hours * 3600),
    )
}

#[test]
fn a_first_sync_of_300_activities_over_several_backfill_runs_imports_all_then_nothing_twice() {
    let activities = recent(300, 8);
    let t = TestHost::start(
        account_with(activities.clone()),
        "max_downloads_per_run = 80\npage_size = 50",
    );
    let connection = connect(&t);

    let reports = t.sync_until_done(&connection, 10);
    assert!(
        reports.len() >= 4,
        "300 at 80 per run takes several runs, took {}",
        reports.len()
    );
    let imported: u32 = reports
        .iter()
        .map(|r| r.result.as_ref().unwrap().imported)
        .sum();
    assert_eq!(imported, 300);
    let ledger = ledger(&t);
    for a in &activities {
        assert_eq!(
            ledger.get(&a.id.to_string()).map(Vec::as_slice),
            Some(&[LedgerOutcome::Imported][..]),
            "activity {}",
            a.id
        );
    }
    assert_eq!(store_ids(&t).len(), 300);

    t.emulator.reset_stats();
    // Nothing new: the run answers from the ledger and never opens the
    // store, so it completes even while another writer holds the store.
    let holder = host_demo::import::open_local(t.data_dir(), "me").unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let host = t.host.clone();
    let id = connection.clone();
    std::thread::spawn(move || {
        let _ = done.send(host.sync_connection(&id, Default::default()));
    });
    let report = finished
        .recv_timeout(Duration::from_secs(120))
        .expect("a sync with nothing new must not wait for the store")
        .unwrap();
    drop(holder);
    let summary = report.result.expect("second sync succeeds");
    assert_eq!(summary.imported, 0);
    let stats = t.emulator.stats();
    assert_eq!(
        stats.list_requests, 1,
        "nothing new: exactly one list request"
    );
    assert_eq!(stats.downloads, 0, "nothing new: no download");
}

#[test]
fn an_activity_uploaded_late_is_still_imported() {
    let t = TestHost::start(account_with(recent(6, 30)), "");
    let connection = connect(&t);
    t.sync_until_done(&connection, 5);

    let mut late = synthetic_activities(
        1,
        OffsetDateTime::now_utc() - Duration::from_secs(5 * DAY as u64),
        Duration::from_secs(3600),
    )
    .remove(0);
    late.listed = false;
    let late_id = late.id;
    t.emulator.add_activity(EMAIL, late);
    t.sync(&connection);
    assert!(
        !ledger(&t).contains_key(&late_id.to_string()),
        "not listed yet"
    );

    t.emulator.set_listed(EMAIL, late_id, true);
    let summary = t.sync(&connection).result.expect("sync succeeds");
    assert_eq!(summary.imported, 1);
    assert!(ledger(&t).contains_key(&late_id.to_string()));
    assert_eq!(store_ids(&t).len(), 7);
}

#[test]
fn with_failures_injected_repeated_syncs_import_every_activity_exactly_once() {
    let activities = recent(40, 20);
    let ids: Vec<u64> = activities.iter().map(|a| a.id).collect();
    let mut manual = synthetic_activities(
        1,
        OffsetDateTime::now_utc() - Duration::from_secs(40 * DAY as u64),
        Duration::from_secs(3600),
    )
    .remove(0);
    manual.fit = None; // a manual activity: its download is a 404
    let manual_id = manual.id;
    let mut all = activities.clone();
    all.push(manual);
    let t = TestHost::start(
        account_with(all),
        "max_downloads_per_run = 15\npage_size = 10",
    );
    let connection = connect(&t);

    t.emulator.set_fault(
        Fault::Status(503)
            .on(Target::Download(Some(ids[1])))
            .times(2),
    );
    t.emulator.set_fault(
        Fault::ResetMidBody
            .on(Target::Download(Some(ids[3])))
            .times(1),
    );
    t.emulator.set_fault(
        Fault::TruncatedZip
            .on(Target::Download(Some(ids[5])))
            .times(3),
    );
    t.emulator
        .set_fault(Fault::ZipWithoutFit.on(Target::Download(Some(ids[7]))));
    t.emulator
        .set_fault(Fault::Status(500).on(Target::List).times(1));
    t.emulator.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: Some(600),
            json: false,
        }
        .on(Target::Download(Some(ids[20])))
        .times(1),
    );

    let mut runs = 0;
    loop {
        runs += 1;
        assert!(
            runs <= 30,
            "did not converge in 30 runs: ledger {:?}",
            ledger(&t).len()
        );
        let report = t.host.sync_connection(&connection, Default::default());
        // A day passes between runs: backoffs, retries and cooldowns are due.
        t.clock.advance(DAY);
        let Ok(report) = report else { continue };
        let done = matches!(&report.result, Ok(s) if !s.has_more && s.deferred == 0);
        let pending = t
            .host
            .db
            .pending_retries(&bincio_state::ConnectionId::new(&connection))
            .unwrap();
        if done && pending.is_empty() {
            break;
        }
    }

    // Permanent rejections are durable in the plugin's committed cursor.
    let cursor = t
        .host
        .db
        .cursor(&bincio_state::ConnectionId::new(&connection))
        .unwrap()
        .expect("a cursor");
    let cursor: serde_json::Value = serde_json::from_str(&cursor).unwrap();
    let rejected = cursor["rejected"]
        .as_object()
        .expect("rejected ids in the cursor");
    let ledger = ledger(&t);
    for (i, id) in ids.iter().enumerate() {
        if i == 7 {
            assert!(!ledger.contains_key(&id.to_string()));
            let reason = rejected[&id.to_string()].as_str().unwrap();
            assert!(reason.contains("FIT") || reason.contains("fit"), "{reason}");
        } else {
            assert_eq!(
                ledger.get(&id.to_string()).map(Vec::as_slice),
                Some(&[LedgerOutcome::Imported][..]),
                "activity #{i} ({id})"
            );
        }
    }
    assert!(
        rejected.contains_key(&manual_id.to_string()),
        "manual activity rejected durably"
    );
    assert_eq!(
        store_ids(&t).len(),
        39,
        "40 activities minus the zip without a .fit"
    );
}
