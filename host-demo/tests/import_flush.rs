//! Batches made durable on the flush thread while the next is decided: a batch in flight
//! still answers dedupe, `flush` returns once everything is durable, and a batch whose disk
//! work fails is reported at the next flush, unlisted from the store and absent from the
//! ledger, so importing again stores it.

mod import_support;

use host_demo::import::{DuplicateOf, Item, Outcome};
use import_support::*;
use std::fs;

#[test]
fn a_batch_in_flight_answers_dedupe_and_flush_makes_it_durable() {
    let dir = tempfile::tempdir().unwrap();
    let validator = schema();
    let mut pipeline = open(dir.path()).with_batch_items(1);
    let rides: Vec<Vec<u8>> = (0..5).map(|n| synthetic(n, 300)).collect();
    let mut ids = Vec::new();
    for (n, ride) in rides.iter().enumerate() {
        // Each decision fills the batch of one: it goes to the flush thread at once.
        match pipeline
            .import(&Item::local(&format!("{n}.fit"), ride))
            .unwrap()
        {
            Outcome::Imported { activity_id, .. } => ids.push(activity_id),
            other => panic!("ride {n}: {other:?}"),
        }
        let again = pipeline
            .import(&Item::local(&format!("again-{n}.fit"), ride))
            .unwrap();
        assert!(
            matches!(&again, Outcome::Duplicate { activity_id, why: DuplicateOf::SameContent }
                if *activity_id == ids[n]),
            "ride {n} again: {again:?}"
        );
    }
    pipeline.flush().unwrap();
    assert_eq!(pipeline.pending(), 0);
    let rows = pipeline.db().ledger_entries("local").unwrap();
    // A local file with content already stored is answered, not recorded: one row a ride.
    assert_eq!(rows.len(), 5, "every ride recorded once");
    let store_dir = dir.path().join(HANDLE);
    assert_eq!(
        check_store(&store_dir, &validator),
        ids.iter().cloned().collect()
    );
    assert_no_temp_files(&store_dir);
}

#[test]
fn a_failed_flush_in_flight_is_reported_and_leaves_nothing_half_listed() {
    let dir = tempfile::tempdir().unwrap();
    let validator = schema();
    let ride = synthetic(7, 300);
    let converted = bincio_bas::convert(&ride, "ride.fit").unwrap();
    let id = converted.id().to_owned();
    assert!(converted.track.is_some(), "the ride has a track to write");
    let mut pipeline = open(dir.path()).with_batch_items(1);
    // A directory where the track goes: its rename fails on the flush thread.
    let blocker = dir
        .path()
        .join(HANDLE)
        .join("activities")
        .join(format!("{id}.geojson"));
    fs::create_dir_all(blocker.join("inside")).unwrap();
    let outcome = pipeline.import(&Item::local("ride.fit", &ride)).unwrap();
    assert!(matches!(&outcome, Outcome::Imported { activity_id, .. } if *activity_id == id));
    let error = pipeline.flush().unwrap_err().to_string();
    assert!(error.contains("renaming into place"), "{error}");
    assert!(!pipeline.store().contains(&id), "unlisted again");
    assert_eq!(pipeline.pending(), 0);
    assert!(pipeline.db().ledger_entries("local").unwrap().is_empty());
    assert!(!pipeline.store().activity_path(&id).exists());
    let store_dir = dir.path().join(HANDLE);
    assert_no_temp_files(&store_dir);

    fs::remove_dir_all(&blocker).unwrap();
    let outcome = pipeline.import(&Item::local("ride.fit", &ride)).unwrap();
    assert!(matches!(&outcome, Outcome::Imported { activity_id, .. } if *activity_id == id));
    pipeline.flush().unwrap();
    assert_eq!(check_store(&store_dir, &validator), [id].into());
    assert_eq!(pipeline.db().ledger_entries("local").unwrap().len(), 1);
}

#[test]
fn a_batch_is_handed_to_the_flush_thread_once_its_bytes_reach_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let validator = schema();
    let rides: Vec<Vec<u8>> = (0..4).map(|n| synthetic(n, 300)).collect();
    // Items would allow a thousand: only the bytes bound makes each activity its own batch.
    let mut pipeline = open(dir.path()).with_batch_items(1_000).with_batch_bytes(1);
    for (n, ride) in rides.iter().enumerate() {
        pipeline
            .import(&Item::local(&format!("{n}.fit"), ride))
            .unwrap();
        // The batch just handed over (the one before it is durable by then).
        assert_eq!(pipeline.pending(), 1, "after ride {n}");
    }
    pipeline.flush().unwrap();
    assert_eq!(check_store(&dir.path().join(HANDLE), &validator).len(), 4);

    let dir = tempfile::tempdir().unwrap();
    let mut pipeline = open(dir.path()).with_batch_items(1_000);
    for (n, ride) in rides.iter().enumerate() {
        pipeline
            .import(&Item::local(&format!("{n}.fit"), ride))
            .unwrap();
    }
    assert_eq!(
        pipeline.pending(),
        4,
        "four small rides stay under the default bound"
    );
}
