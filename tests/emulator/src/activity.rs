//! Activities as the emulator stores them, and the ways to make them: from a real FIT file,
//! from the FIT writer (synthetic, distinct), or manual (no file: the download answers 404).

use std::time::Duration;

use fitparser::profile::MesgNum;
use fitparser::Value;
use thiserror::Error;
use time::OffsetDateTime;

use crate::fit_writer::{write_activity, FitActivitySpec, Sport};

/// One activity of an account.
#[derive(Clone, PartialEq)]
pub struct Activity {
    pub id: u64,
    /// Start time; its offset is the activity's local time zone (`startTimeLocal`), the instant
    /// gives `startTimeGMT`.
    pub start: OffsetDateTime,
    pub name: String,
    /// Garmin Connect `activityType.typeKey` (`running`, `cycling`, `indoor_cycling`, ...).
    pub type_key: String,
    pub distance_m: f64,
    pub duration_s: f64,
    /// The original file; `None` = manual activity (download answers 404).
    pub fit: Option<Vec<u8>>,
    /// `false` = not yet uploaded: absent from lists, counts and downloads.
    pub listed: bool,
}

impl std::fmt::Debug for Activity {
    /// The FIT file shows as its length: assertion failures stay readable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activity")
            .field("id", &self.id)
            .field("start", &self.start)
            .field("name", &self.name)
            .field("type_key", &self.type_key)
            .field("distance_m", &self.distance_m)
            .field("duration_s", &self.duration_s)
            .field("fit_bytes", &self.fit.as_ref().map(Vec::len))
            .field("listed", &self.listed)
            .finish()
    }
}

/// A FIT file that cannot serve as an emulated activity.
#[derive(Debug, Error)]
pub enum FitSummaryError {
    #[error("FIT file does not decode: {0}")]
    Decode(String),
    #[error("FIT file is not an activity (file_id type {0:?})")]
    NotAnActivity(String),
    #[error("FIT activity has no session message with a start_time")]
    NoSession,
}

/// What the list needs from a FIT activity, read from its first session.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSummary {
    pub start: OffsetDateTime,
    pub type_key: String,
    pub distance_m: f64,
    pub duration_s: f64,
}

impl Activity {
    /// An activity served from `fit`, with start, type, distance and duration read from the file
    /// (so the list agrees with the download). The start keeps UTC; use [`Activity::with_offset`]
    /// to give it a local zone.
    pub fn from_fit(id: u64, name: &str, fit: Vec<u8>) -> Result<Activity, FitSummaryError> {
        let summary = summarize_fit(&fit)?;
        Ok(Activity {
            id,
            start: summary.start,
            name: name.to_string(),
            type_key: summary.type_key,
            distance_m: summary.distance_m,
            duration_s: summary.duration_s,
            fit: Some(fit),
            listed: true,
        })
    }

    /// A manual activity: listed, but without an original file.
    pub fn manual(
        id: u64,
        start: OffsetDateTime,
        name: &str,
        type_key: &str,
        distance_m: f64,
        duration_s: f64,
    ) -> Activity {
        Activity {
            id,
            start,
            name: name.to_string(),
            type_key: type_key.to_string(),
            distance_m,
            duration_s,
            fit: None,
            listed: true,
        }
    }

    /// A synthetic activity written by [`crate::fit_writer`] from `spec`; id and name given.
    pub fn synthetic(id: u64, name: &str, spec: &FitActivitySpec) -> Activity {
        let fit = write_activity(spec).expect("synthetic FIT spec is valid");
        Activity {
            id,
            start: spec.start,
            name: name.to_string(),
            type_key: spec.sport.type_key().to_string(),
            distance_m: spec.distance_m,
            duration_s: spec.duration_s,
            fit: Some(fit),
            listed: true,
        }
    }

    /// The same activity with its start shown in another local zone (same instant).
    pub fn with_offset(mut self, offset: time::UtcOffset) -> Activity {
        self.start = self.start.to_offset(offset);
        self
    }

    /// The same activity, not yet uploaded (tests flip it with `Emulator::set_listed`).
    pub fn unlisted(mut self) -> Activity {
        self.listed = false;
        self
    }
}

/// `count` distinct synthetic activities, newest first: the i-th starts `i * spacing` before
/// `newest` (keep `spacing` above 5 minutes so a host's start-time dedupe keeps them apart).
/// Sports rotate (running, cycling, walking, hiking), distances and durations differ from one to
/// the next, and ids derive from the start (unique per start second).
pub fn synthetic_activities(
    count: usize,
    newest: OffsetDateTime,
    spacing: Duration,
) -> Vec<Activity> {
    const SPORTS: [Sport; 4] = [
        Sport::Running,
        Sport::Cycling,
        Sport::Walking,
        Sport::Hiking,
    ];
    (0..count)
        .map(|i| {
            let start = newest - spacing * i as u32;
            let sport = SPORTS[i % SPORTS.len()];
            let (base_distance, base_duration) = match sport {
                Sport::Cycling => (20_000.0, 3_000.0),
                Sport::Running => (8_000.0, 2_400.0),
                _ => (4_000.0, 2_700.0),
            };
            // Distances grow 7 % per step (so neighbours never fall within 5 % of each other).
            let factor = 1.0 + 0.07 * (i % 10) as f64;
            let duration_s = base_duration * factor + (i % 7) as f64 * 11.0;
            let spec = FitActivitySpec {
                start,
                sport,
                duration_s,
                distance_m: base_distance * factor,
                records: ((duration_s / 30.0) as usize).clamp(2, 400),
                gps: Some((46.0 + (i % 50) as f64 * 0.01, 7.0 + (i % 37) as f64 * 0.01)),
                seed: start.unix_timestamp() as u64 ^ (i as u64).wrapping_mul(0x9E37_79B9),
            };
            let id = 10_000_000_000 + start.unix_timestamp().max(0) as u64;
            let name = format!("Synthetic {} #{}", sport.type_key(), i + 1);
            Activity::synthetic(id, &name, &spec)
        })
        .collect()
}

/// Reads the first session of a FIT activity.
pub fn summarize_fit(fit: &[u8]) -> Result<FitSummary, FitSummaryError> {
    let records = fitparser::from_bytes(fit).map_err(|e| FitSummaryError::Decode(e.to_string()))?;
    let file_type = records
        .iter()
        .find(|r| r.kind() == MesgNum::FileId)
        .and_then(|r| r.fields().iter().find(|f| f.name() == "type"))
        .map(|f| f.value().to_string())
        .unwrap_or_default();
    if file_type != "activity" {
        return Err(FitSummaryError::NotAnActivity(file_type));
    }
    let session = records
        .iter()
        .find(|r| r.kind() == MesgNum::Session)
        .ok_or(FitSummaryError::NoSession)?;
    let field = |name: &str| {
        session
            .fields()
            .iter()
            .find(|f| f.name() == name)
            .map(|f| f.value().clone())
    };
    let start = match field("start_time") {
        Some(Value::Timestamp(t)) => OffsetDateTime::from_unix_timestamp(t.timestamp())
            .map_err(|_| FitSummaryError::NoSession)?,
        _ => return Err(FitSummaryError::NoSession),
    };
    let sport = field("sport").map(|v| v.to_string()).unwrap_or_default();
    let sub_sport = field("sub_sport")
        .map(|v| v.to_string())
        .unwrap_or_default();
    Ok(FitSummary {
        start,
        type_key: type_key_for(&sport, &sub_sport).to_string(),
        distance_m: field("total_distance").and_then(as_f64).unwrap_or(0.0),
        duration_s: field("total_elapsed_time").and_then(as_f64).unwrap_or(0.0),
    })
}

fn as_f64(v: Value) -> Option<f64> {
    match v {
        Value::Float64(x) => Some(x),
        Value::Float32(x) => Some(x as f64),
        Value::UInt32(x) | Value::UInt32z(x) => Some(x as f64),
        Value::UInt16(x) | Value::UInt16z(x) => Some(x as f64),
        Value::UInt8(x) | Value::UInt8z(x) => Some(x as f64),
        Value::SInt32(x) => Some(x as f64),
        _ => None,
    }
}

/// Garmin Connect's `typeKey` for a FIT sport / sub-sport pair.
pub fn type_key_for(sport: &str, sub_sport: &str) -> &'static str {
    match (sport, sub_sport) {
        ("cycling", "indoor_cycling") | ("cycling", "virtual_activity") => "indoor_cycling",
        ("cycling", "mountain") => "mountain_biking",
        ("cycling", "road") => "road_biking",
        ("cycling", _) => "cycling",
        ("running", "treadmill") => "treadmill_running",
        ("running", "trail") => "trail_running",
        ("running", _) => "running",
        ("walking", _) => "walking",
        ("hiking", _) => "hiking",
        ("swimming", "open_water") => "open_water_swimming",
        ("swimming", _) => "lap_swimming",
        ("fitness_equipment", _) => "fitness_equipment",
        ("training", _) => "strength_training",
        ("multisport", _) => "multi_sport",
        _ => "other",
    }
}

/// Garmin Connect's `(typeId, parentTypeId)` for a `typeKey`.
pub fn type_ids(type_key: &str) -> (u32, u32) {
    match type_key {
        "running" => (1, 17),
        "cycling" => (2, 17),
        "hiking" => (3, 17),
        "mountain_biking" => (5, 2),
        "trail_running" => (6, 1),
        "walking" => (9, 17),
        "road_biking" => (10, 2),
        "strength_training" => (13, 29),
        "treadmill_running" => (18, 1),
        "indoor_cycling" => (25, 2),
        "lap_swimming" => (27, 26),
        "open_water_swimming" => (28, 26),
        "fitness_equipment" => (29, 17),
        "multi_sport" => (89, 17),
        _ => (4, 17),
    }
}

/// The parent `typeKey` a filter like `activityType=cycling` also matches.
pub fn parent_type_key(type_key: &str) -> &'static str {
    match type_ids(type_key).1 {
        1 => "running",
        2 => "cycling",
        26 => "swimming",
        29 => "fitness_equipment",
        _ => "",
    }
}
