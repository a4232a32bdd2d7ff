//! The import ledger and the import transaction.

mod common;

use bincio_state::{ConnectionId, LedgerEntry, LedgerOutcome, StateDb, StateError, LOCAL_SOURCE};
use common::{sha, Fixture, GARMIN, NOW};

fn entry(external_id: Option<&str>, hash: u8, outcome: LedgerOutcome) -> LedgerEntry {
    LedgerEntry {
        source: GARMIN.to_owned(),
        external_id: external_id.map(str::to_owned),
        connection_id: Some(ConnectionId::from("garmin-1")),
        content_sha256: sha(hash),
        activity_id: match outcome {
            LedgerOutcome::Rejected => None,
            _ => Some(format!("2025-01-0{hash}T10:00:00Z")),
        },
        outcome,
        reason: match outcome {
            LedgerOutcome::Rejected => Some("not an activity (monitoring file)".to_owned()),
            _ => None,
        },
        at: NOW,
    }
}

/// An imported activity's row.
fn imported(external_id: &str, hash: u8) -> LedgerEntry {
    entry(Some(external_id), hash, LedgerOutcome::Imported)
}

/// A database with one connection whose item "1001" waits for a retry.
fn with_item_1001_deferred() -> (Fixture, StateDb, ConnectionId) {
    let (fx, db, id) = Fixture::with_connection();
    db.defer(&id, "1001", "HTTP 503", NOW).unwrap();
    (fx, db, id)
}

#[test]
fn source_and_external_id_are_unique() {
    let fx = Fixture::new();
    let db = fx.open();
    let first = imported("1001", 1);
    db.record_ledger_entry(&first).unwrap();
    let err = db.record_ledger_entry(&imported("1001", 2)).unwrap_err();
    assert!(
        matches!(err, StateError::LedgerConflict { ref external_id, .. } if external_id == "1001"),
        "{err}"
    );
    // The same external id from another source is another item.
    let strava = LedgerEntry {
        source: "dev.bincio.strava".to_owned(),
        ..imported("1001", 3)
    };
    db.record_ledger_entry(&strava).unwrap();
    // Local files have no external id: any number of them.
    for n in 4..7 {
        let local = LedgerEntry {
            source: LOCAL_SOURCE.to_owned(),
            connection_id: None,
            ..entry(None, n, LedgerOutcome::Imported)
        };
        db.record_ledger_entry(&local).unwrap();
    }
    assert_eq!(db.ledger_count().unwrap(), 5);
    assert_eq!(
        db.ledger_by_external_id(GARMIN, "1001").unwrap(),
        Some(first)
    );
    assert!(db.ledger_by_external_id(GARMIN, "1002").unwrap().is_none());
    assert_eq!(db.ledger_entries(LOCAL_SOURCE).unwrap().len(), 3);
    assert_eq!(db.ledger_entries(GARMIN).unwrap().len(), 1);
}

#[test]
fn lookup_by_hash_prefers_the_imported_row() {
    let fx = Fixture::new();
    let db = fx.open();
    db.record_ledger_entry(&entry(Some("a"), 9, LedgerOutcome::Duplicate))
        .unwrap();
    db.record_ledger_entry(&imported("b", 9)).unwrap();
    let found = db.ledger_by_hash(&sha(9)).unwrap().unwrap();
    assert_eq!(found.outcome, LedgerOutcome::Imported);
    assert_eq!(found.external_id.as_deref(), Some("b"));
    assert!(db.ledger_by_hash(&sha(8)).unwrap().is_none());
}

#[test]
fn rejected_rows_round_trip_and_bad_hashes_are_refused() {
    let fx = Fixture::new();
    let db = fx.open();
    let rejected = entry(Some("r1"), 5, LedgerOutcome::Rejected);
    db.record_ledger_entry(&rejected).unwrap();
    assert_eq!(
        db.ledger_by_external_id(GARMIN, "r1").unwrap(),
        Some(rejected)
    );
    let bad = LedgerEntry {
        content_sha256: "ABC".to_owned(),
        ..imported("r2", 5)
    };
    assert!(matches!(
        db.record_ledger_entry(&bad).unwrap_err(),
        StateError::InvalidSha256 { .. }
    ));
}

#[test]
fn import_tx_dropped_without_commit_leaves_nothing() {
    let (fx, db, id) = with_item_1001_deferred();
    {
        let mut tx = db.import_tx().unwrap();
        tx.record(&imported("1001", 1)).unwrap();
        tx.record(&imported("1002", 2)).unwrap();
        tx.clear_retry(&id, "1001").unwrap();
        tx.set_cursor(&id, "{\"newest\":1002}").unwrap();
        // Reads through the transaction see its own rows ...
        assert!(tx.ledger_by_external_id(GARMIN, "1002").unwrap().is_some());
        assert!(tx.ledger_by_hash(&sha(1)).unwrap().is_some());
        // ... another handle on the same file does not.
        let other = fx.open();
        assert_eq!(other.ledger_count().unwrap(), 0);
        assert_eq!(other.cursor(&id).unwrap(), None);
    }
    assert_eq!(db.ledger_count().unwrap(), 0);
    assert_eq!(db.cursor(&id).unwrap(), None);
    assert_eq!(db.pending_retries(&id).unwrap().len(), 1);
}

#[test]
fn import_tx_commits_rows_cursor_and_retry_clear_together() {
    let (fx, db, id) = with_item_1001_deferred();
    let mut tx = db.import_tx().unwrap();
    tx.record(&imported("1001", 1)).unwrap();
    // A conflicting row is refused without spoiling the batch.
    let err = tx.record(&imported("1001", 7)).unwrap_err();
    assert!(matches!(err, StateError::LedgerConflict { .. }));
    tx.record(&entry(Some("1003"), 3, LedgerOutcome::Rejected))
        .unwrap();
    tx.clear_retry(&id, "1001").unwrap();
    tx.set_cursor(&id, "cursor-after-1003").unwrap();
    assert_eq!(tx.recorded(), 2);
    tx.commit().unwrap();

    drop(db);
    let db = fx.open();
    assert_eq!(db.ledger_count().unwrap(), 2);
    assert_eq!(
        db.cursor(&id).unwrap().as_deref(),
        Some("cursor-after-1003")
    );
    assert!(db.pending_retries(&id).unwrap().is_empty());
    let stored = db.ledger_by_external_id(GARMIN, "1001").unwrap().unwrap();
    assert_eq!(stored.content_sha256, sha(1));
}

#[test]
fn cursor_for_an_unknown_connection_is_refused() {
    let fx = Fixture::new();
    let db = fx.open();
    let mut tx = db.import_tx().unwrap();
    let err = tx
        .set_cursor(&ConnectionId::from("garmin-404"), "c")
        .unwrap_err();
    assert!(matches!(err, StateError::UnknownConnection { .. }), "{err}");
    drop(tx);
    assert!(db
        .set_cursor(&ConnectionId::from("garmin-404"), "c")
        .is_err());
}

#[test]
fn import_tx_can_defer_a_failed_item() {
    let (_fx, db, id) = Fixture::with_connection();
    let mut tx = db.import_tx().unwrap();
    let state = tx.defer(&id, "2002", "reset mid-body", NOW).unwrap();
    assert_eq!(state.attempts, 1);
    tx.commit().unwrap();
    assert_eq!(db.pending_retries(&id).unwrap(), vec![state]);
}
