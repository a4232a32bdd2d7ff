//! Crash safety of `host-demo import`: the real binary is killed with SIGKILL
//! at random moments, many times, over a corpus of real and synthetic FIT
//! files. After every kill the store must be consistent (every file parses
//! and validates, the index never lists a file that is not there, the ledger
//! never names an activity that is not there; once opened, the index matches
//! the activity files exactly and no temp file is left), and a final run must
//! complete the import with each activity exactly once, exactly as an
//! uninterrupted import does.

mod import_support;

use bincio_state::{LedgerOutcome, StateDb};
use host_demo::import::STATE_DB_FILE;
use import_support::*;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_host-demo");
const KILLS: usize = 25;
/// Synthetic activities beside the fixtures: enough for several batches and
/// a run long enough to be interrupted anywhere.
const SYNTHETIC: u32 = 400;

fn import_command(data_dir: &Path, corpus: &[PathBuf]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--handle")
        .arg(HANDLE)
        .arg("import")
        .args(corpus)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

fn run_to_completion(data_dir: &Path, corpus: &[PathBuf]) -> String {
    let output = import_command(data_dir, corpus)
        .output()
        .expect("host-demo runs");
    assert!(
        output.status.success(),
        "import failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Content hash -> (outcome, activity id): what the ledger decided per file.
fn ledger_map(data_dir: &Path) -> BTreeMap<String, (LedgerOutcome, Option<String>)> {
    let db = StateDb::open(&data_dir.join(STATE_DB_FILE)).unwrap();
    let entries = db.ledger_entries("local").unwrap();
    let map: BTreeMap<_, _> = entries
        .iter()
        .map(|e| (e.content_sha256.clone(), (e.outcome, e.activity_id.clone())))
        .collect();
    assert_eq!(map.len(), entries.len(), "one ledger row per file content");
    map
}

/// Where a kill left things (for the report; the checks are assertions).
#[derive(Default, Debug)]
struct KillState {
    /// Activity files the index did not list yet (orphans to adopt).
    orphans: usize,
    /// Listed activities the ledger did not record yet.
    unrecorded: usize,
}

/// What must hold right after a kill, before anything repairs the store.
fn check_after_kill(data_dir: &Path, validator: &jsonschema::Validator) -> KillState {
    let mut state = KillState::default();
    let store = data_dir.join(HANDLE);
    if !store.join("activities").is_dir() {
        return state; // killed before the store was created
    }
    let on_disk = activity_files(&store, validator);
    let mut listed = BTreeSet::new();
    if store.join("index.json").exists() {
        listed = listed_ids(&store, validator);
        for id in &listed {
            assert!(
                on_disk.contains(id),
                "index lists {id}, whose file is missing"
            );
        }
    }
    state.orphans = on_disk.difference(&listed).count();
    if data_dir.join(STATE_DB_FILE).exists() {
        let mut recorded = BTreeSet::new();
        for (hash, (_, activity)) in ledger_map(data_dir) {
            if let Some(id) = activity {
                assert!(
                    on_disk.contains(&id),
                    "ledger row {hash} names {id}, whose file is missing"
                );
                recorded.insert(id);
            }
        }
        state.unrecorded = listed.difference(&recorded).count();
    }
    state
}

#[test]
fn sigkill_at_random_moments_never_breaks_the_store() {
    let validator = schema();
    let corpus_dir = tempfile::tempdir().unwrap();
    for n in 0..SYNTHETIC {
        let path = corpus_dir.path().join(format!("synthetic-{n:04}.fit"));
        std::fs::write(path, synthetic(n, 600)).unwrap();
    }
    let corpus = vec![fixtures_dir(), corpus_dir.path().to_owned()];

    // The reference: an uninterrupted import (also sizes the kill delays).
    let reference = tempfile::tempdir().unwrap();
    let started = Instant::now();
    run_to_completion(reference.path(), &corpus);
    let full_run = started.elapsed();
    let reference_ids = check_store(&reference.path().join(HANDLE), &validator);
    let reference_ledger = ledger_map(reference.path());
    assert_eq!(
        reference_ledger.len(),
        19 + SYNTHETIC as usize,
        "one row per file"
    );
    assert!(reference_ids.len() > SYNTHETIC as usize);

    let work = tempfile::tempdir().unwrap();
    let mut data_dir = work.path().join("run-0");
    let mut rng = rand::thread_rng();
    let mut interrupted = 0;
    let mut completed_runs = 0;
    for kill in 0..KILLS {
        let mut child = import_command(&data_dir, &corpus)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("host-demo starts");
        let delay_ms = rng.gen_range(0..=full_run.as_millis() as u64 + 50);
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().ok(); // SIGKILL on Unix
        let status = child.wait().unwrap();

        let state = check_after_kill(&data_dir, &validator);
        eprintln!("kill {kill} after {delay_ms} ms: {state:?}");
        // Opening recovers: the index then matches the files exactly.
        drop(open(&data_dir));
        let ids = check_store(&data_dir.join(HANDLE), &validator);
        assert!(
            ids.is_subset(&reference_ids),
            "kill {kill}: unexpected activities"
        );

        if status.success() {
            // That run finished before the kill: start over, so later kills
            // still land in the middle of an import.
            assert_eq!(ids, reference_ids);
            completed_runs += 1;
            data_dir = work.path().join(format!("run-{}", kill + 1));
        }
    }
    eprintln!(
        "uninterrupted import {full_run:?}; {interrupted} of {KILLS} kills interrupted a run, \
         {completed_runs} runs completed first"
    );
    assert!(
        interrupted >= KILLS / 5,
        "only {interrupted} of {KILLS} kills interrupted an import ({completed_runs} completed)"
    );

    // A final run completes the import: each activity exactly once.
    let summary = run_to_completion(&data_dir, &corpus);
    let ids = check_store(&data_dir.join(HANDLE), &validator);
    assert_eq!(
        ids, reference_ids,
        "same activities as an uninterrupted import\n{summary}"
    );
    assert_eq!(
        ledger_map(&data_dir),
        reference_ledger,
        "same decisions per file"
    );
    let hashes: BTreeSet<String> = ids
        .iter()
        .map(|id| {
            let path = data_dir
                .join(HANDLE)
                .join("activities")
                .join(format!("{id}.json"));
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            doc["source_hash"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(hashes.len(), ids.len(), "no content stored twice");
}
