//! The sample activities: the real FIT activity files of the shared fixtures folder, found at
//! `--fixtures DIR`, env `BINCIO_FIXTURES`, or beside the checkout (compile-time path); when none
//! are found, synthesized files stand in (with a warning on stderr).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use time::{OffsetDateTime, UtcOffset};

use crate::activity::{summarize_fit, synthetic_activities, Activity};

/// The fixtures folder as seen from this crate at compile time (`/work/shared/fixtures/fit` when
/// the shared folder sits beside the checkout).
pub const COMPILED_FIXTURE_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/fit");

/// Local zone the sample activities are shown in (their FIT times are UTC).
pub const SAMPLE_UTC_OFFSET_HOURS: i8 = 1;

/// `BINCIO_FIXTURES` (either the fixtures folder or its `fit/` subfolder), else the compiled path.
pub fn default_fixture_dir() -> PathBuf {
    match std::env::var_os("BINCIO_FIXTURES") {
        Some(dir) => fit_subdir(Path::new(&dir)),
        None => PathBuf::from(COMPILED_FIXTURE_DIR),
    }
}

fn fit_subdir(dir: &Path) -> PathBuf {
    let sub = dir.join("fit");
    if sub.is_dir() {
        sub
    } else {
        dir.to_path_buf()
    }
}

/// A decodable FIT activity file found in a fixtures folder.
#[derive(Debug, Clone)]
pub struct SampleFit {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// The decodable activity files of `dir`, sorted by name. Files that are not activities or do
/// not decode (the corrupt fixtures) are left out: Garmin would not serve them as originals.
pub fn load_sample_fits(dir: &Path) -> std::io::Result<Vec<SampleFit>> {
    let dir = fit_subdir(dir);
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("fit")))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let bytes = std::fs::read(&path)?;
        if summarize_fit(&bytes).is_ok() {
            let file_name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            out.push(SampleFit { file_name, bytes });
        }
    }
    Ok(out)
}

/// Turns sample files into activities with ids `id_base + 1 ...`, shown at UTC+1.
pub fn activities_from_samples(samples: &[SampleFit], id_base: u64) -> Vec<Activity> {
    let offset = UtcOffset::from_hms(SAMPLE_UTC_OFFSET_HOURS, 0, 0).expect("valid offset");
    samples
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let stem = s.file_name.trim_end_matches(".fit");
            Activity::from_fit(
                id_base + 1 + i as u64,
                &format!("Sample {stem}"),
                s.bytes.clone(),
            )
            .ok()
            .map(|a| a.with_offset(offset))
        })
        .collect()
}

/// The default sample activities with ids from `id_base + 1`: the real fixtures (loaded once per
/// process from [`default_fixture_dir`]) or, if none are found, 8 synthetic activities.
pub fn sample_activities(id_base: u64) -> Vec<Activity> {
    static SAMPLES: OnceLock<Vec<SampleFit>> = OnceLock::new();
    let samples = SAMPLES.get_or_init(|| {
        let dir = default_fixture_dir();
        match load_sample_fits(&dir) {
            Ok(found) if !found.is_empty() => found,
            Ok(_) => {
                eprintln!("garmin-emulator: WARNING: no FIT activities in {}; serving synthesized files", dir.display());
                Vec::new()
            }
            Err(e) => {
                eprintln!("garmin-emulator: WARNING: cannot read fixtures {}: {e}; serving synthesized files", dir.display());
                Vec::new()
            }
        }
    });
    if samples.is_empty() {
        return synthesized_fallback(id_base);
    }
    activities_from_samples(samples, id_base)
}

fn synthesized_fallback(id_base: u64) -> Vec<Activity> {
    let newest = OffsetDateTime::from_unix_timestamp(1_717_225_200).expect("valid time"); // 2024-06-01 07:00 UTC
    synthetic_activities(8, newest, Duration::from_secs(26 * 3600))
        .into_iter()
        .enumerate()
        .map(|(i, mut a)| {
            a.id = id_base + 1 + i as u64;
            a
        })
        .collect()
}
