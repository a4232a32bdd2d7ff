//! The import pipeline on the real FIT fixtures: outcomes as the fixtures'
//! README describes them, idempotent re-imports, content dedupe of renamed
//! copies, near-duplicates, and a store that validates against the schema.

mod import_support;

use bincio_state::LedgerOutcome;
use host_demo::import::{DuplicateOf, Item, Outcome};
use import_support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;

#[test]
fn whole_fixture_folder_gives_the_readme_outcomes() {
    let rows = fixture_table();
    let data = tempfile::tempdir().unwrap();
    let mut pipeline = open(data.path());
    let (outcomes, tally) = import_paths(&mut pipeline, &[fixtures_dir()]);
    let by_file: BTreeMap<&str, &Outcome> = outcomes
        .iter()
        .map(|(name, o)| (file_name(name), o))
        .collect();
    assert_eq!(by_file.len(), rows.len(), "one outcome per fixture file");

    let store = pipeline.store();
    for row in &rows {
        let outcome = by_file[row.file.as_str()];
        if !row.is_activity() {
            match outcome {
                Outcome::Rejected { reason } => {
                    assert!(reason.contains(&row.file), "{reason} names the file");
                    assert!(
                        reason.contains("not an activity") && reason.contains(&row.file_type),
                        "{}: {reason}",
                        row.file
                    );
                }
                other => panic!("{} should be rejected, got {other:?}", row.file),
            }
            continue;
        }
        // An activity file is stored, or is the same activity as one stored.
        let (id, tolerance) = match outcome {
            Outcome::Imported { activity_id, .. } => (activity_id, 0.01),
            Outcome::Duplicate { activity_id, why } => {
                assert_eq!(*why, DuplicateOf::NearDuplicate, "{}", row.file);
                (activity_id, 0.05)
            }
            Outcome::Rejected { reason } => panic!("{} rejected: {reason}", row.file),
        };
        let entry = store
            .get(id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id} not in the index"));
        let expected = row.distance_m.expect("README distance");
        let got = entry.distance_m.unwrap_or(0.0);
        assert!(
            (got - expected).abs() <= tolerance * expected.max(1.0) + 1.0,
            "{}: distance {got} m, README says {expected} m",
            row.file
        );
        if row.sessions > 1 {
            match outcome {
                Outcome::Imported { warnings, .. } => assert!(
                    warnings
                        .iter()
                        .any(|w| w.contains(&row.sessions.to_string())),
                    "multisport {} says how many sessions it had: {warnings:?}",
                    row.file
                ),
                other => panic!("multisport {} not imported: {other:?}", row.file),
            }
        }
    }

    let rejected_files: BTreeSet<&str> = tally.rejected.iter().map(|(n, _)| file_name(n)).collect();
    let not_activities: BTreeSet<&str> = rows
        .iter()
        .filter(|r| !r.is_activity())
        .map(|r| r.file.as_str())
        .collect();
    assert_eq!(rejected_files, not_activities);
    assert_eq!(
        (tally.imported + tally.salvaged) as usize,
        store.len(),
        "every import is one activity in the store"
    );
    // Every decision is in the ledger, rejections with their reason.
    let ledger = pipeline.db().ledger_entries("local").unwrap();
    assert_eq!(ledger.len(), rows.len());
    for entry in &ledger {
        match entry.outcome {
            LedgerOutcome::Rejected => {
                assert!(entry.reason.as_deref().unwrap().contains("not an activity"))
            }
            _ => assert!(store.contains(entry.activity_id.as_deref().unwrap())),
        }
    }
    drop(pipeline);
    check_store(&data.path().join(HANDLE), &schema());
}

#[test]
fn damaged_fixtures_are_salvaged_with_their_warning() {
    for name in [
        "activity-filecrc.fit",
        "activity-unexpected-eof.fit",
        "activity-settings-corruptheader.fit",
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut pipeline = open(data.path());
        let outcome = pipeline.import(&Item::local(name, &fixture(name))).unwrap();
        let Outcome::Imported {
            activity_id,
            salvaged,
            warnings,
        } = outcome
        else {
            panic!("{name}: {outcome:?}");
        };
        assert!(salvaged, "{name} counts as salvaged");
        assert!(!warnings.is_empty(), "{name} carries its warning");
        pipeline.flush().unwrap();
        let stored = pipeline.store().read_activity(&activity_id).unwrap();
        assert!(
            !stored.warnings().is_empty(),
            "{name}: the activity keeps its warning"
        );
        let ledger = pipeline.db().ledger_entries("local").unwrap();
        assert!(ledger[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("salvaged:"));
    }
}

#[test]
fn importing_the_same_files_twice_adds_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut pipeline = open(data.path());
    let (first, _) = import_paths(&mut pipeline, &[fixtures_dir()]);
    let index_before = fs::read(data.path().join(HANDLE).join("index.json")).unwrap();
    let ledger_before = pipeline.db().ledger_count().unwrap();
    let stored_before = pipeline.store().len();

    let (second, tally) = import_paths(&mut pipeline, &[fixtures_dir()]);
    assert_eq!(tally.imported + tally.salvaged, 0, "{tally:?}");
    assert_eq!(pipeline.store().len(), stored_before);
    assert_eq!(pipeline.db().ledger_count().unwrap(), ledger_before);
    let index_after = fs::read(data.path().join(HANDLE).join("index.json")).unwrap();
    assert_eq!(index_before, index_after, "index.json not even rewritten");
    // Each file gets the same answer, naming the same activity.
    for ((name, was), (_, now)) in first.iter().zip(&second) {
        match (was, now) {
            (
                Outcome::Imported { activity_id: a, .. },
                Outcome::Duplicate {
                    activity_id: b,
                    why,
                },
            )
            | (
                Outcome::Duplicate { activity_id: a, .. },
                Outcome::Duplicate {
                    activity_id: b,
                    why,
                },
            ) => {
                assert_eq!(a, b, "{name}");
                assert_eq!(*why, DuplicateOf::SameContent, "{name}");
            }
            (Outcome::Rejected { reason: a }, Outcome::Rejected { reason: b }) => assert_eq!(a, b),
            other => panic!("{name}: {other:?}"),
        }
    }
    // And after reopening (nothing cached in memory).
    drop(pipeline);
    let mut reopened = open(data.path());
    let (_, tally) = import_paths(&mut reopened, &[fixtures_dir()]);
    assert_eq!(tally.imported + tally.salvaged, 0, "{tally:?}");
}

#[test]
fn a_renamed_copy_is_a_duplicate() {
    let data = tempfile::tempdir().unwrap();
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("my ride, renamed.fit");
    fs::copy(fixtures_dir().join("1526615320.fit"), &copy).unwrap();

    let mut pipeline = open(data.path());
    let bytes = fixture("1526615320.fit");
    let Outcome::Imported { activity_id, .. } = pipeline
        .import(&Item::local("1526615320.fit", &bytes))
        .unwrap()
    else {
        panic!("first import");
    };
    // In the same batch...
    let outcome = pipeline.import(&Item::local("copy.fit", &bytes)).unwrap();
    assert_eq!(
        outcome,
        Outcome::Duplicate {
            activity_id: activity_id.clone(),
            why: DuplicateOf::SameContent
        }
    );
    pipeline.flush().unwrap();
    // ...and from disk in a later one.
    let (outcomes, _) = import_paths(&mut pipeline, &[copy]);
    assert_eq!(
        outcomes[0].1,
        Outcome::Duplicate {
            activity_id,
            why: DuplicateOf::SameContent
        }
    );
    assert_eq!(pipeline.store().len(), 1);
}

#[test]
fn near_duplicates_are_recorded_against_the_earlier_activity() {
    let data = tempfile::tempdir().unwrap();
    let mut pipeline = open(data.path());
    let start = 1_700_000_000;
    let first = synthetic_at(start, 10_000.0, 50, 1);
    let Outcome::Imported { activity_id, .. } =
        pipeline.import(&Item::local("watch.fit", &first)).unwrap()
    else {
        panic!("first import");
    };
    // Another device: 2 minutes later, 3 % longer; still in the same batch.
    let other_device = synthetic_at(start + 120, 10_300.0, 50, 2);
    let outcome = pipeline
        .import(&Item::local("bike-computer.fit", &other_device))
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Duplicate {
            activity_id: activity_id.clone(),
            why: DuplicateOf::NearDuplicate
        }
    );
    pipeline.flush().unwrap();
    // Against the store: 4 min 50 s earlier, 4 % shorter.
    let earlier = synthetic_at(start - 290, 9_600.0, 50, 3);
    let outcome = pipeline
        .import(&Item::local("phone.fit", &earlier))
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Duplicate {
            activity_id: activity_id.clone(),
            why: DuplicateOf::NearDuplicate
        }
    );
    // Not duplicates: 6 % longer, or 6 minutes apart.
    for (name, bytes) in [
        ("longer.fit", synthetic_at(start + 60, 10_600.0, 50, 4)),
        ("later.fit", synthetic_at(start + 360, 10_000.0, 50, 5)),
    ] {
        let outcome = pipeline.import(&Item::local(name, &bytes)).unwrap();
        let Outcome::Imported {
            activity_id: other, ..
        } = outcome
        else {
            panic!("{name}: {outcome:?}");
        };
        assert_ne!(other, activity_id);
    }
    pipeline.flush().unwrap();
    assert_eq!(pipeline.store().len(), 3);
    let ledger = pipeline.db().ledger_entries("local").unwrap();
    let near: Vec<_> = ledger
        .iter()
        .filter(|e| e.outcome == LedgerOutcome::Duplicate)
        .collect();
    assert_eq!(near.len(), 2);
    assert!(near
        .iter()
        .all(|e| e.activity_id.as_deref() == Some(activity_id.as_str())));
    drop(pipeline);
    check_store(&data.path().join(HANDLE), &schema());
}

#[test]
fn same_start_but_different_distance_gets_its_own_id() {
    let data = tempfile::tempdir().unwrap();
    let mut pipeline = open(data.path());
    let start = 1_700_000_000;
    let mut ids = BTreeSet::new();
    for (i, distance) in [5_000.0, 20_000.0, 40_000.0].into_iter().enumerate() {
        let bytes = synthetic_at(start, distance, 20, i as u64);
        match pipeline.import(&Item::local("x.fit", &bytes)).unwrap() {
            Outcome::Imported { activity_id, .. } => assert!(ids.insert(activity_id)),
            other => panic!("{other:?}"),
        }
    }
    pipeline.flush().unwrap();
    let stored: BTreeSet<String> = pipeline
        .store()
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(stored, ids, "the ids reported are the ids stored");
}
