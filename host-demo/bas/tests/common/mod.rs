//! Shared test helpers: the fixture folder (beside the checkout), the README's table of device
//! figures, and the BAS JSON schema.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use bincio_bas::Converted;

const FIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/fit");
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/bas/bas-v1.schema.json"
);

/// The FIT fixture folder; panics loudly when it is missing.
pub fn fit_dir() -> PathBuf {
    let dir = PathBuf::from(FIT_DIR);
    assert!(
        dir.join("README.md").is_file(),
        "FIT fixtures missing: expected {} (the shared folder beside the checkout)",
        dir.display()
    );
    dir
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fit_dir().join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()))
}

pub fn convert_fixture(name: &str) -> Converted {
    bincio_bas::convert(&fixture(name), name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// One row of the fixture README's table.
#[derive(Debug, Clone)]
pub struct FixtureRow {
    pub file: String,
    pub file_type: String,
    pub records: usize,
    pub sessions: usize,
    pub sport: Option<String>,
    pub distance_m: Option<f64>,
    pub elapsed_s: Option<f64>,
    pub exercises: String,
}

impl FixtureRow {
    pub fn is_activity(&self) -> bool {
        self.file_type == "activity"
    }

    /// The README says the file must be salvaged (with a warning).
    pub fn expects_salvage(&self) -> bool {
        self.exercises.contains("salvage")
    }
}

/// The rows of the README table, in order.
pub fn readme_rows() -> Vec<FixtureRow> {
    let text = fs::read_to_string(fit_dir().join("README.md")).expect("fixture README");
    let rows: Vec<FixtureRow> = text
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let optional = |s: &str| (!s.is_empty()).then(|| s.to_string());
            let number = |s: &str| optional(s).map(|v| v.parse::<f64>().expect("number cell"));
            FixtureRow {
                file: cells[1].trim_matches('`').to_string(),
                file_type: cells[3].to_string(),
                records: cells[4].parse().expect("records cell"),
                sessions: cells[5].parse().expect("sessions cell"),
                sport: optional(cells[6]),
                distance_m: number(cells[7]),
                elapsed_s: number(cells[8]),
                exercises: cells[9].to_string(),
            }
        })
        .collect();
    assert!(
        rows.len() >= 19,
        "README table not parsed: {} rows",
        rows.len()
    );
    rows
}

/// The BAS v1 schema, with `format` (date-time) asserted too.
pub fn schema() -> jsonschema::Validator {
    let text = fs::read_to_string(SCHEMA).unwrap_or_else(|e| {
        panic!("BAS schema missing at {SCHEMA}: {e} (the shared folder beside the checkout)")
    });
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

/// Panics with every schema error when `value` does not validate.
pub fn assert_valid(validator: &jsonschema::Validator, value: &serde_json::Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate:\n{}",
        errors.join("\n")
    );
}

pub fn assert_file_valid(validator: &jsonschema::Validator, path: &Path) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    assert_valid(validator, &value, &path.display().to_string());
}

/// Every file name under `dir`, recursively, relative to it, sorted.
pub fn all_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

/// The fixtures the README says are activities, converted.
pub fn converted_corpus() -> Vec<Converted> {
    readme_rows()
        .iter()
        .filter(|row| row.is_activity())
        .map(|row| convert_fixture(&row.file))
        .collect()
}
