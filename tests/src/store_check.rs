//! Checks a BAS store on disk the way BincioActivity's site would read it:
//! every file parses and validates against the BAS schema, the index and
//! the activity files agree, and no temp file is left behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn shared_fixtures() -> PathBuf {
    let dir = crate::workspace_root().join("../shared/fixtures");
    assert!(
        dir.join("bas/bas-v1.schema.json").is_file(),
        "shared fixtures missing: expected {} (the shared folder beside the checkout)",
        dir.display()
    );
    dir
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(shared_fixtures().join("bas/bas-v1.schema.json"))
        .expect("schema readable");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn validate(validator: &jsonschema::Validator, path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    if let Err(error) = validator.validate(&value) {
        return Err(format!("{}: fails the BAS schema: {error}", path.display()));
    }
    Ok(value)
}

/// The ids in the store at `store` (`{data_dir}/{handle}`), after checking
/// it; `Err` lists every problem found.
pub fn check_store(store: &Path) -> Result<BTreeSet<String>, Vec<String>> {
    let validator = schema();
    let mut problems = Vec::new();
    let index_path = store.join("index.json");
    let index = match validate(&validator, &index_path) {
        Ok(v) => v,
        Err(e) => return Err(vec![e]),
    };
    let listed: BTreeSet<String> = index["activities"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut on_disk = BTreeSet::new();
    let dir = store.join("activities");
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(id) = name.strip_suffix(".json") {
            on_disk.insert(id.to_string());
            if let Err(e) = validate(&validator, &path) {
                problems.push(e);
            }
        } else if name.ends_with(".geojson") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                problems.push(format!("{}: not JSON", path.display()));
            }
        } else {
            problems.push(format!(
                "{}: unexpected file (a leftover temp file?)",
                path.display()
            ));
        }
    }
    for id in listed.difference(&on_disk) {
        problems.push(format!(
            "index lists {id} but activities/{id}.json is missing"
        ));
    }
    for id in on_disk.difference(&listed) {
        problems.push(format!("activities/{id}.json is not in the index"));
    }
    if problems.is_empty() {
        Ok(listed)
    } else {
        Err(problems)
    }
}
