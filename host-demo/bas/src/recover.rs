//! Crash recovery. Activity files are always made durable before the `index.json` that lists
//! them, so after a crash the only possible inconsistency is an activity file the index does
//! not list (an orphan). Recovery adopts every orphan that parses as a BAS activity whose id
//! matches its file name; anything else is reported and left untouched, never deleted.

use std::fs;
use std::path::{Path, PathBuf};

use bincio_atomic_file::is_temp_name;

use crate::activity::{BasActivity, BAS_VERSION};
use crate::catalog::Catalog;
use crate::error::StoreError;
use crate::index::IndexEntry;

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecoveryReport {
    /// Ids of activity files that were not in the index and now are.
    pub adopted: Vec<String>,
    /// Files under `activities/` that look like activities but could not be adopted, with why.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Temp files of interrupted writes that were deleted.
    pub temp_files_removed: usize,
}

/// Adopts the orphans of `activities_dir` into `catalog`; returns what it did.
pub(crate) fn adopt_orphans(
    activities_dir: &Path,
    catalog: &mut Catalog,
) -> Result<RecoveryReport, StoreError> {
    let mut report = RecoveryReport::default();
    let listing =
        fs::read_dir(activities_dir).map_err(|e| StoreError::io("listing", activities_dir, e))?;
    let mut orphans = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| StoreError::io("listing", activities_dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_temp_name(name) || name.starts_with('.') {
            continue;
        }
        if let Some(id) = name.strip_suffix(".json") {
            if !catalog.contains(id) {
                orphans.push((id.to_string(), entry.path()));
            }
        }
    }
    orphans.sort();
    for (id, path) in orphans {
        match read_orphan(&id, &path) {
            Ok(activity) => {
                let has_track = activities_dir.join(format!("{id}.geojson")).is_file();
                match catalog.insert(&IndexEntry::for_activity(&activity, has_track)) {
                    Ok(()) => report.adopted.push(id),
                    Err(e) => report.unreadable.push((path, format!("{e:?}"))),
                }
            }
            Err(reason) => report.unreadable.push((path, reason)),
        }
    }
    Ok(report)
}

fn read_orphan(id: &str, path: &Path) -> Result<BasActivity, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let activity: BasActivity =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a BAS activity: {e}"))?;
    if activity.bas_version != BAS_VERSION {
        return Err(format!("bas_version {:?}", activity.bas_version));
    }
    if activity.id != id {
        return Err(format!(
            "its id {:?} does not match the file name",
            activity.id
        ));
    }
    Ok(activity)
}
