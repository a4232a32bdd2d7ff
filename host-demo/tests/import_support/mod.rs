//! Helpers shared by the `import_*` suites: the real fixture files, synthetic
//! activities, store inspection and schema validation.
#![allow(dead_code)]

pub mod odd_fit;

use garmin_emulator::fit_writer::{write_activity, FitActivitySpec, Sport};
use host_demo::import::sources::{self, Found};
use host_demo::import::{open_local, ImportPipeline, Item, Outcome, Tally};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/fit");
pub const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/bas/bas-v1.schema.json"
);
pub const HANDLE: &str = "me";

/// The fixture folder; panics loudly when the shared folder is missing.
pub fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(FIXTURES);
    assert!(
        dir.join("README.md").is_file(),
        "FIT fixtures missing at {FIXTURES}: the shared folder must sit beside the checkout"
    );
    dir
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()))
}

/// One row of the fixtures' README table.
#[derive(Debug, Clone)]
pub struct FixtureRow {
    pub file: String,
    pub file_type: String,
    pub sessions: u32,
    pub distance_m: Option<f64>,
    pub elapsed_s: Option<f64>,
}

impl FixtureRow {
    pub fn is_activity(&self) -> bool {
        self.file_type == "activity"
    }
}

/// The README's table, parsed (every `.fit` file in the folder must be in it).
pub fn fixture_table() -> Vec<FixtureRow> {
    let text = fs::read_to_string(fixtures_dir().join("README.md")).expect("fixture README");
    let rows: Vec<FixtureRow> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            FixtureRow {
                file: cells[0].trim_matches('`').to_owned(),
                file_type: cells[2].to_owned(),
                sessions: cells[4].parse().expect("sessions column"),
                distance_m: cells[6].parse().ok(),
                elapsed_s: cells[7].parse().ok(),
            }
        })
        .collect();
    let listed: BTreeSet<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    for entry in fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".fit") {
            assert!(
                listed.contains(name.as_str()),
                "{name} is not in the fixture README"
            );
        }
    }
    assert!(
        rows.len() >= 19,
        "README table parsed to {} rows",
        rows.len()
    );
    rows
}

/// A fresh pipeline over a data folder (state database and store inside).
pub fn open(data_dir: &Path) -> ImportPipeline {
    open_local(data_dir, HANDLE).expect("pipeline opens")
}

/// Imports every file behind `paths` the way `host-demo import` does, and
/// flushes; returns each file's outcome and the tally.
pub fn import_paths(
    pipeline: &mut ImportPipeline,
    paths: &[PathBuf],
) -> (Vec<(String, Outcome)>, Tally) {
    let mut outcomes = Vec::new();
    let mut tally = Tally::default();
    for input in sources::plan(paths).expect("paths plan") {
        sources::read_input(&input, &mut |found| -> Result<(), String> {
            match found {
                Found::File { name, bytes } => {
                    let outcome = pipeline
                        .import(&Item::local(&name, &bytes))
                        .map_err(|e| e.to_string())?;
                    tally.add(&name, &outcome);
                    outcomes.push((name, outcome));
                }
                Found::Unreadable { name, reason } => tally.reject(&name, &reason),
                Found::More(_) => {}
            }
            Ok(())
        })
        .expect("import runs");
    }
    pipeline.flush().expect("flush");
    (outcomes, tally)
}

pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A synthetic outdoor activity `n` hours after a fixed start (so any two
/// differ in start by far more than the near-duplicate window).
pub fn synthetic(n: u32, records: usize) -> Vec<u8> {
    synthetic_at(
        1_600_000_000 + i64::from(n) * 3600,
        10_000.0,
        records,
        u64::from(n),
    )
}

pub fn synthetic_at(start_unix: i64, distance_m: f64, records: usize, seed: u64) -> Vec<u8> {
    let start = OffsetDateTime::from_unix_timestamp(start_unix).unwrap();
    let mut spec = FitActivitySpec::new(start, Sport::Running, 3600.0, distance_m);
    spec.records = records;
    spec.seed = seed;
    write_activity(&spec).expect("synthetic FIT")
}

pub fn schema() -> jsonschema::Validator {
    let text = fs::read_to_string(SCHEMA)
        .unwrap_or_else(|e| panic!("BAS schema missing at {SCHEMA}: {e}"));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

/// Parses `path` as JSON and validates it against the BAS schema, naming
/// every problem.
pub fn assert_valid_file(validator: &jsonschema::Validator, path: &Path) -> Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not validate: {errors:#?}",
        path.display()
    );
    value
}

/// What a store folder holds on disk, checked for consistency: every file
/// parses (and the JSON documents validate), the index (with its yearly
/// shards, once the store is large) lists exactly the activity files, no temp
/// file is left. Returns the ids.
pub fn check_store(store_dir: &Path, validator: &jsonschema::Validator) -> BTreeSet<String> {
    let listed = listed_ids(store_dir, validator);
    assert_no_temp_files(store_dir);
    let on_disk = activity_files(store_dir, validator);
    assert_eq!(listed, on_disk, "the index and activities/ disagree");
    on_disk
}

/// The ids `index.json` and its shards list (each file validated; no id
/// twice in one file, nor in two shards).
pub fn listed_ids(store_dir: &Path, validator: &jsonschema::Validator) -> BTreeSet<String> {
    let index = assert_valid_file(validator, &store_dir.join("index.json"));
    let mut listed = ids_in(&index, "index.json");
    let shards = index["shards"].as_array().cloned().unwrap_or_default();
    let mut in_shards = BTreeSet::new();
    for shard in &shards {
        let url = shard["url"].as_str().expect("shard url");
        let doc = assert_valid_file(validator, &store_dir.join(url));
        let ids = ids_in(&doc, url);
        assert_eq!(
            ids.len() as u64,
            shard["count"].as_u64().unwrap(),
            "{url} count"
        );
        for id in ids {
            assert!(in_shards.insert(id.clone()), "{id} in two shards");
        }
    }
    if !shards.is_empty() {
        assert!(
            listed.is_subset(&in_shards),
            "inline activities missing from the shards"
        );
        listed = in_shards;
    }
    listed
}

fn ids_in(doc: &Value, what: &str) -> BTreeSet<String> {
    let list: Vec<String> = doc["activities"]
        .as_array()
        .expect("activities array")
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    let set: BTreeSet<String> = list.iter().cloned().collect();
    assert_eq!(list.len(), set.len(), "{what} lists an id twice");
    set
}

/// Every activity document under `activities/` (parsed and validated, its
/// track parsed too); temp files are skipped.
pub fn activity_files(store_dir: &Path, validator: &jsonschema::Validator) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let dir = store_dir.join("activities");
    for entry in fs::read_dir(&dir).expect("activities folder") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if let Some(id) = name.strip_suffix(".json") {
            let doc = assert_valid_file(validator, &path);
            assert_eq!(doc["id"], id, "{} holds another id", path.display());
            ids.insert(id.to_owned());
        } else if name.ends_with(".geojson") {
            let bytes = fs::read(&path).unwrap();
            serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        } else {
            panic!("unexpected file {} in the store", path.display());
        }
    }
    ids
}

pub fn assert_no_temp_files(store_dir: &Path) {
    for dir in [store_dir.to_path_buf(), store_dir.join("activities")] {
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with('.'),
                "temp file {name} left in {}",
                dir.display()
            );
        }
    }
}
