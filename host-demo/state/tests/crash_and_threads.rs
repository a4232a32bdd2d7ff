//! Durability under a real process abort, and sharing across threads and
//! handles. The crash tests re-run this test binary as a child process that
//! aborts mid-work (no destructors, no rollback), then inspect the file.

mod common;

use bincio_state::{ConnectionId, LedgerEntry, LedgerOutcome, StateDb, Vault, LOCAL_SOURCE};
use common::{read, sha, store, Fixture, GARMIN, NOW};
use std::path::Path;
use std::process::Command;

const CHILD_ENV: &str = "BINCIO_STATE_TEST_CHILD";

fn entry(n: u8) -> LedgerEntry {
    LedgerEntry {
        source: GARMIN.to_owned(),
        external_id: Some(format!("ext-{n}")),
        connection_id: Some(ConnectionId::from("garmin-1")),
        content_sha256: sha(n),
        activity_id: Some(format!("activity-{n}")),
        outcome: LedgerOutcome::Imported,
        reason: None,
        at: NOW,
    }
}

/// In the child: record a batch, commit it or not, then abort the process.
fn child_main(mode: &str, db_path: &Path) -> ! {
    let db = StateDb::open(db_path).unwrap();
    let id = ConnectionId::from("garmin-1");
    let mut tx = db.import_tx().unwrap();
    for n in 1..=5 {
        tx.record(&entry(n)).unwrap();
    }
    tx.set_cursor(&id, "after-5").unwrap();
    if mode == "commit" {
        tx.commit().unwrap();
    } else {
        std::mem::forget(tx);
    }
    std::process::abort();
}

fn run_child(test_name: &str, mode: &str, fx: &Fixture) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{mode}:{}", fx.db_path().display()))
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have aborted");
}

fn child_requested() -> Option<(String, std::path::PathBuf)> {
    let value = std::env::var(CHILD_ENV).ok()?;
    let (mode, path) = value.split_once(':')?;
    Some((mode.to_owned(), path.into()))
}

/// The body of a crash test: in the child, record and abort; in the parent,
/// make a connection, let a child abort in `mode`, then reopen the file.
fn database_after_child_abort(test_name: &str, mode: &str) -> (Fixture, StateDb, ConnectionId) {
    if let Some((mode, path)) = child_requested() {
        child_main(&mode, &path);
    }
    let (fx, db, id) = Fixture::with_connection();
    drop(db);
    run_child(test_name, mode, &fx);
    let db = fx.open();
    (fx, db, id)
}

#[test]
fn abort_before_commit_leaves_no_rows_and_no_cursor() {
    let (_fx, db, id) =
        database_after_child_abort("abort_before_commit_leaves_no_rows_and_no_cursor", "abort");
    assert_eq!(db.ledger_count().unwrap(), 0);
    assert_eq!(db.cursor(&id).unwrap(), None);
    // The file is healthy and writable after the crash.
    db.record_ledger_entry(&entry(9)).unwrap();
}

#[test]
fn abort_after_commit_keeps_rows_and_cursor() {
    let (_fx, db, id) =
        database_after_child_abort("abort_after_commit_keeps_rows_and_cursor", "commit");
    assert_eq!(db.ledger_count().unwrap(), 5);
    assert_eq!(db.cursor(&id).unwrap().as_deref(), Some("after-5"));
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_shared_across_threads_and_processes_wait_their_turn() {
    assert_send_sync::<StateDb>();
    assert_send_sync::<Vault>();
    let (fx, db, id, vault) = Fixture::with_vault();
    let second_handle = fx.open();

    std::thread::scope(|scope| {
        for t in 0..4u8 {
            let (db, vault, id) = (&db, &vault, &id);
            let other = &second_handle;
            scope.spawn(move || {
                for i in 0..10u8 {
                    let n = t * 10 + i;
                    store(vault, id, &format!("f{n}"), &format!("v{n}"));
                    db.defer(id, &format!("item-{n}"), "503", NOW).unwrap();
                    // The second handle is a second SQLite connection: its
                    // writes wait on the busy timeout instead of failing.
                    other
                        .record_ledger_entry(&LedgerEntry {
                            source: LOCAL_SOURCE.to_owned(),
                            external_id: None,
                            connection_id: None,
                            ..entry(n + 1)
                        })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(vault.fields(&id).unwrap().len(), 40);
    assert_eq!(db.pending_retries(&id).unwrap().len(), 40);
    assert_eq!(db.ledger_count().unwrap(), 40);
    assert_eq!(read(&vault, &id, "f37"), "v37");
}
