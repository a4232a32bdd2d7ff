//! The `ImportSink` a plugin gets, driven through its abi_stable trait
//! object exactly as a plugin would: contains, import, defer, due_retries,
//! commit (cursor in the same transaction as the rows), and the host-side
//! finish after a sync that did not commit.

mod import_support;

use abi_stable::std_types::{RStr, RString, RVec};
use bincio_state::{ConnectionId, LedgerOutcome, StateDb};
use host_api::{ErrorKind, ImportItem, ImportOutcome, ImportSinkBox};
use host_demo::clock::ManualClock;
use host_demo::import::{open_local, ImportPipeline, SharedPipeline};
use host_demo::services::import_sink::PipelineSink;
use import_support::*;
use std::sync::Arc;

const PLUGIN: &str = "dev.bincio.garmin";
const START: i64 = 1_800_000_000;

struct Setup {
    _data: tempfile::TempDir,
    data_dir: std::path::PathBuf,
    db: StateDb,
    connection: ConnectionId,
    clock: ManualClock,
    sink: PipelineSink,
}

fn setup() -> Setup {
    setup_with(|pipeline| pipeline)
}

fn setup_with(configure: impl FnOnce(ImportPipeline) -> ImportPipeline) -> Setup {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_owned();
    let clock = ManualClock::new(START);
    let pipeline = configure(
        open_local(&data_dir, HANDLE)
            .unwrap()
            .with_clock(Arc::new(clock.clone())),
    );
    let db = pipeline.db().clone();
    let connection = db.create_connection(PLUGIN, START).unwrap();
    let sink = PipelineSink::new(
        SharedPipeline::new(pipeline),
        PLUGIN,
        connection.clone(),
        Arc::new(clock.clone()),
    );
    Setup {
        _data: data,
        data_dir,
        db,
        connection,
        clock,
        sink,
    }
}

fn item(external_id: &str, bytes: Vec<u8>) -> ImportItem {
    ImportItem {
        external_id: external_id.into(),
        file_name: format!("{external_id}.fit").into(),
        bytes: RVec::from(bytes),
    }
}

fn contains(service: &ImportSinkBox, external_id: &str) -> bool {
    service.contains(RStr::from(external_id)).unwrap()
}

fn ledger_outcome(db: &StateDb, external_id: &str) -> Option<LedgerOutcome> {
    db.ledger_by_external_id(PLUGIN, external_id)
        .unwrap()
        .map(|e| e.outcome)
}

#[test]
fn contains_import_and_commit_store_rows_with_their_cursor() {
    let s = setup();
    let service = s.sink.to_service();
    assert!(!contains(&service, "101"));

    let ride = fixture("1526615320.fit");
    let Ok(ImportOutcome::Imported { activity_id }) =
        ImportOutcome::from_abi(service.import(item("101", ride.clone())).unwrap())
    else {
        panic!("first import");
    };
    assert!(
        contains(&service, "101"),
        "known while its batch is pending"
    );
    assert_eq!(
        ledger_outcome(&s.db, "101"),
        None,
        "nothing durable before commit"
    );
    assert_eq!(s.db.cursor(&s.connection).unwrap(), None);

    // At least once delivery: the same external id again is a duplicate.
    assert_eq!(
        service.import(item("101", ride.clone())).unwrap(),
        ImportOutcome::Duplicate {
            activity_id: activity_id.clone()
        }
    );
    // The same bytes under another id: a duplicate, and now known by that id.
    assert_eq!(
        service.import(item("102", ride)).unwrap(),
        ImportOutcome::Duplicate {
            activity_id: activity_id.clone()
        }
    );
    assert!(contains(&service, "102"));
    // Not an activity: rejected for good, with the reason.
    match ImportOutcome::from_abi(
        service
            .import(item("103", fixture("Settings.fit")))
            .unwrap(),
    ) {
        Ok(ImportOutcome::Rejected { reason }) => {
            assert!(
                reason.contains("103.fit") && reason.contains("not an activity"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }

    service.commit(RStr::from("cursor-1")).unwrap();
    assert_eq!(
        s.db.cursor(&s.connection).unwrap().as_deref(),
        Some("cursor-1")
    );
    assert_eq!(ledger_outcome(&s.db, "101"), Some(LedgerOutcome::Imported));
    assert_eq!(ledger_outcome(&s.db, "102"), Some(LedgerOutcome::Duplicate));
    assert_eq!(ledger_outcome(&s.db, "103"), Some(LedgerOutcome::Rejected));
    let row = s.db.ledger_by_external_id(PLUGIN, "101").unwrap().unwrap();
    assert_eq!(row.connection_id.as_ref(), Some(&s.connection));
    assert_eq!(row.activity_id.as_deref(), Some(activity_id.as_str()));
    assert_eq!(row.at, START);

    // The activity is in the store, marked as coming from Garmin Connect.
    let stored = s.sink_store_activity(&activity_id);
    assert_eq!(stored["source"], "garmin_connect");
    assert_eq!(stored["source_file"], "101.fit");
    let ids = check_store(&s.data_dir.join(HANDLE), &schema());
    assert!(ids.contains(activity_id.as_str()));

    // A sink over a reopened pipeline knows all three. (The first pipeline
    // goes first: it holds the store's one-writer lock.)
    drop(service);
    drop(s.sink);
    let reopened = PipelineSink::new(
        SharedPipeline::new(open_local(&s.data_dir, HANDLE).unwrap()),
        PLUGIN,
        s.connection.clone(),
        Arc::new(s.clock.clone()),
    )
    .to_service();
    for id in ["101", "102", "103"] {
        assert!(contains(&reopened, id), "{id}");
    }
    assert!(!contains(&reopened, "104"));
}

impl Setup {
    fn sink_store_activity(&self, id: &str) -> serde_json::Value {
        let path = self
            .data_dir
            .join(HANDLE)
            .join("activities")
            .join(format!("{id}.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
}

#[test]
fn deferred_items_come_back_when_their_backoff_has_passed() {
    let s = setup();
    let service = s.sink.to_service();
    service
        .defer(RStr::from("201"), RStr::from("download failed: HTTP 503"))
        .unwrap();
    assert!(service.due_retries().unwrap().is_empty(), "not due at once");
    assert_eq!(s.db.pending_retries(&s.connection).unwrap().len(), 1);

    s.clock.advance(24 * 3600 + 1);
    let due = service.due_retries().unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].external_id, RString::from("201"));
    assert_eq!(due[0].attempts, 1);
    assert_eq!(
        due[0].last_error,
        RString::from("download failed: HTTP 503")
    );

    service
        .defer(RStr::from("201"), RStr::from("connection reset"))
        .unwrap();
    assert!(
        service.due_retries().unwrap().is_empty(),
        "backed off again"
    );
    s.clock.advance(24 * 3600 + 1);
    let due = service.due_retries().unwrap();
    assert_eq!(
        (due[0].attempts, due[0].last_error.as_str()),
        (2, "connection reset")
    );

    // Retried and imported: no longer offered, and its retry row goes with
    // the batch's commit.
    let outcome = service.import(item("201", synthetic(1, 20))).unwrap();
    assert!(
        matches!(outcome.as_enum(), Ok(ImportOutcome::Imported { .. })),
        "{outcome:?}"
    );
    assert!(
        service.due_retries().unwrap().is_empty(),
        "settled in the pending batch"
    );
    assert_eq!(
        s.db.pending_retries(&s.connection).unwrap().len(),
        1,
        "until commit"
    );
    service.commit(RStr::from("c")).unwrap();
    assert!(s.db.pending_retries(&s.connection).unwrap().is_empty());
}

#[test]
fn a_sink_dropped_without_commit_leaves_its_rows_for_finish() {
    let s = setup();
    let service = s.sink.to_service();
    service.import(item("301", synthetic(1, 20))).unwrap();
    service.commit(RStr::from("after-301")).unwrap();
    service.import(item("302", synthetic(2, 20))).unwrap();
    service.import(item("303", synthetic(3, 20))).unwrap();
    drop(service);
    assert_eq!(ledger_outcome(&s.db, "302"), None);

    s.sink.finish().unwrap();
    assert_eq!(ledger_outcome(&s.db, "302"), Some(LedgerOutcome::Imported));
    assert_eq!(ledger_outcome(&s.db, "303"), Some(LedgerOutcome::Imported));
    assert_eq!(
        s.db.cursor(&s.connection).unwrap().as_deref(),
        Some("after-301"),
        "finish never moves the cursor"
    );
    assert_eq!(check_store(&s.data_dir.join(HANDLE), &schema()).len(), 3);
}

#[test]
fn a_store_failure_is_transient_and_keeps_the_cursor_behind() {
    let s = setup();
    let service = s.sink.to_service();
    service.import(item("401", synthetic(1, 20))).unwrap();
    service.commit(RStr::from("c1")).unwrap();

    service.import(item("402", synthetic(2, 20))).unwrap();
    // The activities folder becomes a file: every write into it fails.
    let activities = s.data_dir.join(HANDLE).join("activities");
    let aside = s.data_dir.join("activities-aside");
    std::fs::rename(&activities, &aside).unwrap();
    std::fs::write(&activities, b"not a folder").unwrap();

    let error = service.commit(RStr::from("c2")).unwrap_err();
    assert_eq!(error.kind, ErrorKind::TRANSIENT, "{error}");
    assert!(
        error.user_message.contains("activities"),
        "names what failed: {error}"
    );
    assert_eq!(s.db.cursor(&s.connection).unwrap().as_deref(), Some("c1"));
    assert_eq!(ledger_outcome(&s.db, "402"), None);

    // Fixed, but 402's decision went with the failed batch: a later cursor of this run would
    // pass it, so it is refused and the cursor stays behind 402.
    std::fs::remove_file(&activities).unwrap();
    std::fs::rename(&aside, &activities).unwrap();
    let error = service.commit(RStr::from("c2")).unwrap_err();
    assert_eq!(error.kind, ErrorKind::TRANSIENT, "{error}");
    assert!(error.user_message.contains("next sync"), "{error}");
    assert_eq!(s.db.cursor(&s.connection).unwrap().as_deref(), Some("c1"));
    s.sink.finish().unwrap();

    // The next run lists 402 again from c1 and stores it.
    let outcome = service.import(item("402", synthetic(2, 20))).unwrap();
    assert!(
        matches!(outcome.as_enum(), Ok(ImportOutcome::Imported { .. })),
        "{outcome:?}"
    );
    service.commit(RStr::from("c2")).unwrap();
    assert_eq!(s.db.cursor(&s.connection).unwrap().as_deref(), Some("c2"));
    assert_eq!(ledger_outcome(&s.db, "402"), Some(LedgerOutcome::Imported));
    assert_eq!(check_store(&s.data_dir.join(HANDLE), &schema()).len(), 2);
}

#[test]
fn a_batch_lost_on_the_flush_thread_holds_back_every_later_cursor_of_its_run() {
    // A batch of one: each import goes to the flush thread at once, without a cursor.
    let s = setup_with(|pipeline| pipeline.with_batch_items(1));
    let service = s.sink.to_service();
    let activities = s.data_dir.join(HANDLE).join("activities");
    let aside = s.data_dir.join("activities-aside");
    service.import(item("601", synthetic(1, 20))).unwrap();
    service.commit(RStr::from("c1")).unwrap();
    std::fs::rename(&activities, &aside).unwrap();
    std::fs::write(&activities, b"not a folder").unwrap();
    // 602 fails on the flush thread; 603 is decided behind it.
    service.import(item("602", synthetic(2, 20))).unwrap();
    let _ = service.import(item("603", synthetic(3, 20)));
    std::fs::remove_file(&activities).unwrap();
    std::fs::rename(&aside, &activities).unwrap();
    let _ = service.import(item("604", synthetic(4, 20)));
    let error = service.commit(RStr::from("c4")).unwrap_err();
    assert_eq!(error.kind, ErrorKind::TRANSIENT, "{error}");
    assert_eq!(
        s.db.cursor(&s.connection).unwrap().as_deref(),
        Some("c1"),
        "no cursor passes 602"
    );
    assert_eq!(ledger_outcome(&s.db, "602"), None);
}

#[test]
fn clones_on_several_threads_share_one_batch() {
    let s = setup();
    let service = s.sink.to_service();
    std::thread::scope(|scope| {
        for t in 0..4u32 {
            let service = service.clone();
            scope.spawn(move || {
                for i in 0..5u32 {
                    let n = t * 5 + i;
                    let outcome = service
                        .import(item(&format!("5{n:02}"), synthetic(n, 20)))
                        .unwrap();
                    assert!(
                        matches!(outcome.as_enum(), Ok(ImportOutcome::Imported { .. })),
                        "{outcome:?}"
                    );
                }
            });
        }
    });
    service.commit(RStr::from("all")).unwrap();
    assert_eq!(s.db.ledger_entries(PLUGIN).unwrap().len(), 20);
    assert_eq!(check_store(&s.data_dir.join(HANDLE), &schema()).len(), 20);
}
