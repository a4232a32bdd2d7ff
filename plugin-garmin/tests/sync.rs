//! Sync against the Garmin emulator: capped runs that resume from the
//! cursor, the one-request steady state, late uploads, and faults that must
//! end, over repeated runs, with every activity imported exactly once.

mod common;

use common::*;
use garmin_emulator::{synthetic_activities, Account, Activity, EmulatorConfig, Fault, Target};
use host_api::{ErrorKind, SyncSummary};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;
use time::OffsetDateTime;

const EMAIL: &str = "sync@example.com";
const DAY: Duration = Duration::from_secs(24 * 3600);

/// `n` activities one day apart, the newest an hour ago, newest first.
fn activities(n: usize) -> Vec<Activity> {
    synthetic_activities(
        n,
        OffsetDateTime::now_utc() - Duration::from_secs(3600),
        DAY,
    )
}

fn harness(acts: Vec<Activity>, overrides: Value) -> Harness {
    let config = EmulatorConfig::empty()
        .with_account(Account::new(EMAIL, "sync-password").with_activities(acts));
    let h = Harness::new(config, overrides);
    h.store_minted_tokens(EMAIL);
    h
}

fn ids(acts: &[Activity]) -> BTreeSet<String> {
    acts.iter().map(|a| a.id.to_string()).collect()
}

fn downloads_of(h: &Harness, id: u64) -> usize {
    let path = format!("/download-service/files/activity/{id}");
    h.emulator
        .stats()
        .requests
        .iter()
        .filter(|(_, p)| *p == path)
        .count()
}

/// Syncs until a run ends with nothing more to do; returns each run's outcome.
fn sync_until_settled(
    h: &Harness,
    ledger: &Ledger,
    max_downloads: Option<u32>,
) -> Vec<Result<SyncSummary, host_api::PluginError>> {
    let mut runs = Vec::new();
    for _ in 0..20 {
        let outcome = h.sync(ledger, max_downloads);
        let settled =
            matches!(&outcome, Ok(s) if !s.has_more) && ledger.state().deferred.is_empty();
        runs.push(outcome);
        if settled {
            return runs;
        }
    }
    panic!(
        "sync did not settle in 20 runs: {:?}",
        runs.iter()
            .map(|r| r.as_ref().map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn capped_runs_import_the_whole_history_and_resume_from_the_cursor() {
    let acts = activities(23);
    let h = harness(
        acts.clone(),
        json!({"page_size": 10, "max_downloads_per_run": 5}),
    );
    let ledger = Ledger::default();
    let mut runs = Vec::new();
    let mut downloads_before = 0;
    loop {
        let summary = h.sync(&ledger, None).expect("no run fails");
        let downloads = h.emulator.stats().downloads;
        assert!(summary.imported <= 5, "{summary:?}");
        assert_eq!(
            downloads - downloads_before,
            u64::from(summary.imported),
            "each run downloads exactly what it imports, at most the cap: {summary:?}"
        );
        downloads_before = downloads;
        let more = summary.has_more;
        runs.push(summary);
        if !more {
            break;
        }
        assert!(runs.len() < 20, "sync did not settle in 20 runs");
    }
    assert_eq!(runs.len(), 5, "23 activities at 5 per run");
    assert!(runs[..4].iter().all(|r| r.has_more));
    assert_eq!(
        ledger.imported_ids().into_iter().collect::<BTreeSet<_>>(),
        ids(&acts)
    );
    assert!(
        ledger.state().import_calls.values().all(|n| *n == 1),
        "each imported once"
    );
    assert_eq!(
        h.emulator.stats().downloads,
        23,
        "no activity downloaded twice"
    );
    let name = ledger
        .state()
        .file_names
        .get(&acts[0].id.to_string())
        .cloned()
        .unwrap();
    assert_eq!(name, format!("{}_ACTIVITY.fit", acts[0].id));
    let cursor: Value = serde_json::from_str(&ledger.cursor().unwrap()).unwrap();
    assert_eq!(cursor["backfill_done"], true);
    assert_eq!(
        h.progress.total.load(std::sync::atomic::Ordering::SeqCst),
        5
    );
    h.assert_no_secret_logged(&["sync-password"]);
}

#[test]
fn the_request_cap_overrides_the_setting() {
    let acts = activities(12);
    let h = harness(
        acts.clone(),
        json!({"page_size": 50, "max_downloads_per_run": 50}),
    );
    let ledger = Ledger::default();
    let summary = h.sync(&ledger, Some(3)).unwrap();
    assert_eq!((summary.imported, summary.has_more), (3, true));
    assert_eq!(h.emulator.stats().downloads, 3);
    // The newest first.
    let got: BTreeSet<String> = ledger.imported_ids().into_iter().collect();
    assert_eq!(got, ids(&acts[..3]));
}

#[test]
fn a_second_sync_with_nothing_new_makes_one_list_request_and_no_download() {
    let acts = activities(30);
    let h = harness(acts, json!({"page_size": 20, "lookback_days": 14}));
    let ledger = Ledger::default();
    let first = h.sync(&ledger, None).unwrap();
    assert_eq!((first.imported, first.has_more), (30, false));
    h.emulator.reset_stats();
    let second = h.sync(&ledger, None).unwrap();
    let stats = h.emulator.stats();
    assert_eq!(
        (
            stats.list_requests,
            stats.downloads,
            stats.logins,
            stats.refreshes
        ),
        (1, 0, 0, 0)
    );
    assert_eq!(
        (second.imported, second.has_more, second.deferred),
        (0, false, 0)
    );
    assert!(
        second.already_there >= 14 && second.already_there <= 20,
        "{second:?}"
    );
}

#[test]
fn a_late_upload_inside_the_lookback_window_is_imported() {
    let acts = activities(30);
    let late = synthetic_activities(
        1,
        OffsetDateTime::now_utc() - 3 * DAY + Duration::from_secs(7200),
        DAY,
    )
    .remove(0)
    .unlisted();
    let late_id = late.id.to_string();
    let mut all = acts.clone();
    all.push(late);
    let h = harness(all, json!({"page_size": 20, "lookback_days": 14}));
    let ledger = Ledger::default();
    h.sync(&ledger, None).unwrap();
    assert!(!ledger.imported_ids().contains(&late_id));

    h.emulator.set_listed(EMAIL, late_id.parse().unwrap(), true);
    h.emulator.reset_stats();
    let summary = h.sync(&ledger, None).unwrap();
    assert_eq!(summary.imported, 1);
    assert!(ledger.imported_ids().contains(&late_id));
    let stats = h.emulator.stats();
    assert_eq!((stats.list_requests, stats.downloads), (1, 1));
}

#[test]
fn new_activities_after_a_complete_sync_are_found_from_the_top() {
    let acts = activities(10);
    let h = harness(acts, json!({"page_size": 5}));
    let ledger = Ledger::default();
    h.sync(&ledger, None).unwrap();
    h.emulator.advance_clock(2 * DAY);
    let newer = synthetic_activities(
        2,
        OffsetDateTime::now_utc() + DAY,
        Duration::from_secs(6 * 3600),
    );
    for a in newer.clone() {
        h.emulator.add_activity(EMAIL, a);
    }
    let summary = h.sync(&ledger, None).unwrap();
    assert_eq!(summary.imported, 2);
    assert!(ids(&newer)
        .iter()
        .all(|id| ledger.imported_ids().contains(id)));
}

#[test]
fn faults_end_over_repeated_runs_with_every_activity_imported_exactly_once() {
    let acts = activities(30);
    let id = |i: usize| acts[i].id;
    let manual = Activity::manual(
        9_000_000_001,
        acts[15].start - Duration::from_secs(3600),
        "Gym",
        "strength_training",
        0.0,
        1800.0,
    );
    let mut all = acts.clone();
    all.push(manual.clone());
    let h = harness(
        all,
        json!({"page_size": 20, "max_downloads_per_run": 8, "retry_attempts": 3}),
    );
    let e = &h.emulator;
    e.set_fault(
        Fault::Status(503)
            .on(Target::Download(Some(id(2))))
            .times(4),
    );
    e.set_fault(
        Fault::ResetMidBody
            .on(Target::Download(Some(id(5))))
            .times(1),
    );
    e.set_fault(
        Fault::TruncatedZip
            .on(Target::Download(Some(id(7))))
            .times(1),
    );
    e.set_fault(
        Fault::TokenNotActive
            .on(Target::Download(Some(id(9))))
            .times(1),
    );
    e.set_fault(Fault::ZipWithoutFit.on(Target::Download(Some(id(12)))));
    e.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: Some(30),
            json: false,
        }
        .on(Target::Download(Some(id(20))))
        .times(1),
    );
    e.set_fault(Fault::Status(502).on(Target::List).times(2));
    e.set_fault(
        Fault::Status(500)
            .on(Target::Download(Some(id(25))))
            .times(2),
    );

    let ledger = Ledger::default();
    let runs = sync_until_settled(&h, &ledger, None);
    let limited: Vec<_> = runs.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(limited.len(), 1, "only the 429 ends a run: {limited:?}");
    assert_eq!(limited[0].kind, ErrorKind::RATE_LIMITED);
    assert_eq!(limited[0].retry_after(), Some(30));

    let expected: BTreeSet<String> = acts
        .iter()
        .filter(|a| a.id != id(12))
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(
        ledger.imported_ids().into_iter().collect::<BTreeSet<_>>(),
        expected,
        "none skipped"
    );
    assert!(
        ledger.state().import_calls.values().all(|n| *n == 1),
        "each imported exactly once"
    );
    let cursor: Value = serde_json::from_str(&ledger.cursor().unwrap()).unwrap();
    let rejected = cursor["rejected"].as_object().unwrap();
    assert!(
        rejected.contains_key(&id(12).to_string()) && rejected.contains_key("9000000001"),
        "{cursor}"
    );
    assert_eq!(
        downloads_of(&h, id(12)),
        1,
        "a zip without FIT is not retried"
    );
    assert_eq!(
        downloads_of(&h, manual.id),
        1,
        "a manual activity is not retried"
    );
    assert_eq!(
        downloads_of(&h, id(5)),
        2,
        "a reset is retried within the run"
    );
    assert_eq!(downloads_of(&h, id(2)), 5, "3 tries, deferred, then 2 more");
    let deferred_ids: Vec<u32> = runs
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|s| s.deferred)
        .collect();
    assert!(deferred_ids.iter().sum::<u32>() >= 2, "{deferred_ids:?}");

    // Settled: the next run lists once and downloads nothing.
    h.emulator.reset_stats();
    let quiet = h.sync(&ledger, None).unwrap();
    assert_eq!(
        (
            h.emulator.stats().list_requests,
            h.emulator.stats().downloads
        ),
        (1, 0)
    );
    assert!(quiet.rejected.is_empty());
    h.assert_no_secret_logged(&["sync-password"]);
}

#[test]
fn a_cancelled_sync_commits_and_says_cancelled() {
    let acts = activities(8);
    let h = harness(acts.clone(), json!({"page_size": 5}));
    let ledger = Ledger::default();
    h.cancel.0.store(true, std::sync::atomic::Ordering::SeqCst);
    let e = h.sync(&ledger, None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::CANCELLED);
    assert!(ledger.state().commits >= 1);
    assert_eq!(h.emulator.stats().downloads, 0);
    h.cancel.0.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(h.sync(&ledger, None).unwrap().imported, 8);
}

#[test]
fn a_sync_without_tokens_needs_the_user_and_sends_nothing() {
    let config = EmulatorConfig::empty().with_account(Account::new(EMAIL, "x"));
    let h = Harness::new(config, json!({}));
    let e = h.sync(&Ledger::default(), None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NEEDS_USER_ACTION);
    assert_eq!(h.emulator.stats().total, 0);
}

#[test]
fn a_sync_after_the_access_token_expired_refreshes_once_and_goes_on() {
    let acts = activities(6);
    let h = harness(acts, json!({}));
    h.emulator.advance_clock(25 * 3600 * Duration::from_secs(1));
    let ledger = Ledger::default();
    assert_eq!(h.sync(&ledger, None).unwrap().imported, 6);
    let stats = h.emulator.stats();
    assert_eq!((stats.refreshes, stats.logins), (1, 0));
    h.assert_no_secret_logged(&[]);
}

#[test]
fn html_instead_of_a_list_ends_the_run_transient_and_names_the_endpoint() {
    let acts = activities(4);
    let h = harness(acts, json!({}));
    h.emulator
        .set_fault(Fault::HtmlInsteadOfJson.on(Target::List).times(1));
    let ledger = Ledger::default();
    let e = h.sync(&ledger, None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TRANSIENT);
    assert!(
        e.user_message.contains("activity list"),
        "{}",
        e.user_message
    );
    assert!(
        ledger.state().commits >= 1,
        "the cursor is committed on the way out"
    );
    assert_eq!(h.sync(&ledger, None).unwrap().imported, 4);
}
