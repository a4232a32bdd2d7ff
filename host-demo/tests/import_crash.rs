//! Crash safety of `host-demo import`: the real binary is killed with SIGKILL
//! many times, each time after a chosen number of new activity files appeared
//! in the store (so the kills land mid-import whatever the machine's speed),
//! over a corpus of real and synthetic FIT files. After every kill the store must be consistent (every file parses
//! and validates, the index never lists a file that is not there, the ledger
//! never names an activity that is not there; once opened, the index matches
//! the activity files exactly and no temp file is left), and a final run must
//! complete the import with each activity exactly once, exactly as an
//! uninterrupted import does.

mod import_support;

use bincio_state::{LedgerOutcome, StateDb};
use host_demo::import::STATE_DB_FILE;
use import_support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Activity files in the store (temp files, which start with '.', excluded).
fn activity_file_count(data_dir: &Path) -> usize {
    let dir = data_dir.join(HANDLE).join("activities");
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                !name.starts_with('.') && name.ends_with(".json")
            })
            .count()
    })
}

/// New files to wait for before kill `k` of a run: 1 to 31, so kills land
/// early, mid-batch and late; five of them stay well below one corpus.
fn files_before_kill(run: usize, k: usize) -> usize {
    1 + (run * 7 + k * 13) % 31
}

const BIN: &str = env!("CARGO_BIN_EXE_host-demo");
/// Kills per data directory, and data directories: 5 x 5 = 25 kills.
const KILLS_PER_RUN: usize = 5;
const RUNS: usize = 5;
/// Synthetic activities beside the fixtures: enough for several batches and
/// a run long enough to be interrupted anywhere. A batch's files appear in one
/// burst of renames (up to 200), and each kill lets about one burst through,
/// so five kills a run need well over 1,000 files.
const SYNTHETIC: u32 = 1_500;
/// Records per synthetic activity: short ones, so the corpus stays quick to import.
const SYNTHETIC_RECORDS: usize = 60;

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
fn sigkill_after_n_new_files_never_breaks_the_store() {
    let validator = schema();
    let corpus_dir = tempfile::tempdir().unwrap();
    for n in 0..SYNTHETIC {
        let path = corpus_dir.path().join(format!("synthetic-{n:04}.fit"));
        std::fs::write(path, synthetic(n, SYNTHETIC_RECORDS)).unwrap();
    }
    let corpus = vec![fixtures_dir(), corpus_dir.path().to_owned()];

    // The reference: an uninterrupted import.
    let reference = tempfile::tempdir().unwrap();
    run_to_completion(reference.path(), &corpus);
    let reference_ids = check_store(&reference.path().join(HANDLE), &validator);
    let reference_ledger = ledger_map(reference.path());
    assert_eq!(
        reference_ledger.len(),
        19 + SYNTHETIC as usize,
        "one row per file"
    );
    assert!(reference_ids.len() > SYNTHETIC as usize);

    let work = tempfile::tempdir().unwrap();
    let run_dir = |run: usize| work.path().join(format!("run-{run}"));
    let mut kills = 0;
    for run in 0..RUNS {
        // A fresh data directory per run of kills: each kill lands mid-import.
        let data_dir = run_dir(run);
        for k in 0..KILLS_PER_RUN {
            let before = activity_file_count(&data_dir);
            let wanted = before + files_before_kill(run, k);
            let mut child = import_command(&data_dir, &corpus)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("host-demo starts");
            // A hang guard only: the kill itself waits for files, not time.
            let deadline = Instant::now() + Duration::from_secs(300);
            while activity_file_count(&data_dir) < wanted {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("run {run} kill {k}: the import ended ({status}) before {wanted} files");
                }
                assert!(Instant::now() < deadline, "run {run} kill {k}: no progress");
                std::thread::sleep(Duration::from_millis(1));
            }
            child.kill().unwrap(); // SIGKILL on Unix
            let status = child.wait().unwrap();
            assert!(!status.success(), "run {run} kill {k}: killed mid-import");
            kills += 1;

            let state = check_after_kill(&data_dir, &validator);
            eprintln!("run {run} kill {k} after {wanted} files: {state:?}");
            // Opening recovers: the index then matches the files exactly.
            drop(open(&data_dir));
            let ids = check_store(&data_dir.join(HANDLE), &validator);
            assert!(
                ids.is_subset(&reference_ids),
                "run {run} kill {k}: unexpected activities"
            );
            assert!(
                ids.len() >= wanted,
                "the files seen before the kill are kept"
            );
        }
    }
    assert_eq!(
        kills,
        RUNS * KILLS_PER_RUN,
        "every kill interrupted an import"
    );
    let data_dir = run_dir(RUNS - 1);

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
