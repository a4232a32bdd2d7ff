//! FIT bytes to a BAS activity: lenient decoding, the activity's session (the first one of a
//! multisport file), its records, and everything BAS derives from them.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::activity::{BasActivity, Privacy, Source, BAS_VERSION};
use crate::decode::{decode_lenient, DecodeFailure, DecodeReport, ProfileSink, Unsupported};
use crate::direct::RecordSink;
use crate::error::{RejectCause, Rejected};
use crate::geojson::Track;
use crate::messages::{FitContent, Point, Totals};
use crate::sport::{map_fit_sport, Sport};
use crate::timefmt::LocalTime;
use crate::warning::Warning;
use crate::{efforts, laps, metrics, timeseries};

/// A FIT file converted to a BAS activity, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The activity document, as it will be written (the store may suffix its id on a clash).
    pub activity: BasActivity,
    /// The simplified track, when the activity has positions.
    pub track: Option<Track>,
    /// Start, unix seconds (for near-duplicate checks).
    pub started_at_unix: i64,
    /// Metres, when known (for near-duplicate checks).
    pub distance_m: Option<f64>,
    /// Elapsed seconds, when known.
    pub elapsed_s: Option<i64>,
    /// Lowercase hex sha256 of the original bytes (content dedupe).
    pub sha256: String,
    /// What was salvaged or skipped; empty for a clean file.
    pub warnings: Vec<Warning>,
}

impl Converted {
    /// The proposed activity id (the UTC start, e.g. `2018-02-18T171256Z`).
    pub fn id(&self) -> &str {
        &self.activity.id
    }

    /// Overrides BAS `source` (a FIT file is `fit_file`; a Garmin download is `garmin_connect`).
    pub fn set_source(&mut self, source: Source) {
        self.activity.source = Some(source);
    }
}

/// The lowercase hex sha256 of a file's bytes: the content hash that dedupe, the host's
/// ledger and the activity's `source_hash` share.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Converts the bytes of a FIT file named `file_name` into a BAS activity.
///
/// Damaged files are salvaged (see [`Warning`]); files that are not activities, or hold no
/// activity data, are rejected with the cause. Never panics.
///
/// Only the messages the activity needs are converted, `record`s read by field number (see
/// `direct.rs`); a file outside what that path reproduces exactly is converted the old way,
/// with fitparser's full profile conversion ([`convert_with_profile`]).
pub fn convert(bytes: &[u8], file_name: &str) -> Result<Converted, Rejected> {
    convert_hashed(bytes, file_name, &content_hash(bytes))
}

/// [`convert`] of bytes whose [`content_hash`] the caller already has (the host hashes each
/// file once, to look for it before converting): `sha256` is taken as it is.
pub fn convert_hashed(bytes: &[u8], file_name: &str, sha256: &str) -> Result<Converted, Rejected> {
    let mut fit = FitContent::default();
    let decoded = decode_lenient(bytes, &mut RecordSink::new(&mut fit));
    match decoded {
        Ok(report) => build(fit, report, sha256, file_name),
        Err(DecodeFailure::Unsupported(_)) => with_profile(bytes, file_name, sha256),
        Err(DecodeFailure::Rejected(cause)) => Err(Rejected {
            file_name: file_name.to_string(),
            cause,
        }),
    }
}

/// [`convert`] the old way: every data message through fitparser's full profile conversion.
/// The fast path's fallback, and the oracle its tests compare it with.
pub fn convert_with_profile(bytes: &[u8], file_name: &str) -> Result<Converted, Rejected> {
    with_profile(bytes, file_name, &content_hash(bytes))
}

fn with_profile(bytes: &[u8], file_name: &str, sha256: &str) -> Result<Converted, Rejected> {
    let mut fit = FitContent::default();
    let decoded = decode_lenient(bytes, &mut ProfileSink(&mut |record| fit.absorb(record)));
    match decoded {
        Ok(report) => build(fit, report, sha256, file_name),
        Err(DecodeFailure::Rejected(cause)) => Err(Rejected {
            file_name: file_name.to_string(),
            cause,
        }),
        // The profile sink takes every message; kept total rather than panicking.
        Err(DecodeFailure::Unsupported(Unsupported(why))) => Err(Rejected {
            file_name: file_name.to_string(),
            cause: RejectCause::NotFit {
                reason: why.to_string(),
            },
        }),
    }
}

/// The activity out of a decoded file.
fn build(
    mut fit: FitContent,
    report: DecodeReport,
    sha256: &str,
    file_name: &str,
) -> Result<Converted, Rejected> {
    let reject = |cause| Rejected {
        file_name: file_name.to_string(),
        cause,
    };
    let mut warnings = report.warnings;
    match fit.file_type.as_deref() {
        Some("activity") => {}
        Some(other) => {
            return Err(reject(RejectCause::NotAnActivity {
                file_type: other.to_string(),
            }))
        }
        None if fit.has_file_id => {}
        None => warnings.push(Warning::MissingFileId),
    }
    let session = fit.sessions.first();
    if fit.points.is_empty() && session.and_then(|s| s.start_time).is_none() {
        let mut reason = "no timestamped record and no session".to_string();
        if let Some(problem) = warnings
            .iter()
            .find(|w| !matches!(w, Warning::MissingFileId))
        {
            reason.push_str(&format!(" ({problem})"));
        }
        return Err(reject(RejectCause::NoActivityData { reason }));
    }
    if fit.sessions.len() > 1 {
        warnings.push(Warning::MultisportFirstSessionOnly {
            sessions: fit.sessions.len(),
        });
    }
    let (from, until) = session_window(&fit);
    let points: Vec<Point> = if fit.sessions.len() > 1 {
        fit.points
            .iter()
            .filter(|p| (from..=until).contains(&p.t))
            .copied()
            .collect()
    } else {
        std::mem::take(&mut fit.points)
    };
    let start = points
        .first()
        .map(|p| p.t)
        .or(session.and_then(|s| s.start_time))
        .or(fit.time_created)
        .unwrap_or(from);
    let clock = LocalTime::new(start, fit.local_offset_s);
    let (sport, sub_sport) = match session.filter(|s| s.sport.is_some()) {
        Some(s) => map_fit_sport(s.sport.as_deref(), s.sub_sport.as_deref()),
        None => fit
            .sports
            .first()
            .map(|(sport, sub)| map_fit_sport(sport.as_deref(), sub.as_deref()))
            .unwrap_or((Sport::Other, None)),
    };
    let m = metrics::summarise(session, &points, fit.barometric_altitude);
    let curves = efforts::compute(&points, start, sport);
    let activity = BasActivity {
        bas_version: BAS_VERSION.to_string(),
        id: clock.activity_id(),
        title: format!("{} {}", clock.time_of_day(), sport_title(sport)),
        description: None,
        sport,
        sub_sport,
        started_at: clock.rfc3339(),
        distance_m: m.distance_m,
        duration_s: m.duration_s,
        moving_time_s: m.moving_time_s,
        elevation_gain_m: m.elevation_gain_m,
        elevation_loss_m: m.elevation_loss_m,
        avg_speed_kmh: m.avg_speed_kmh,
        max_speed_kmh: m.max_speed_kmh,
        avg_hr_bpm: m.avg_hr_bpm,
        max_hr_bpm: m.max_hr_bpm,
        avg_cadence_rpm: m.avg_cadence_rpm,
        avg_power_w: m.avg_power_w,
        max_power_w: m.max_power_w,
        gear: None,
        device: device_name(&fit),
        bbox: m.bbox,
        start_latlng: m.start_latlng,
        end_latlng: m.end_latlng,
        mmp: curves.mmp,
        best_efforts: curves.best_efforts,
        best_climb_m: curves.best_climb_m,
        laps: laps::build(&fit.laps, from, until, clock),
        timeseries: timeseries::build(&points, start),
        source: Some(Source::FitFile),
        source_file: Some(file_name.to_string()),
        source_hash: Some(format!("sha256:{sha256}")),
        strava_id: None,
        duplicate_of: None,
        privacy: Privacy::Public,
        custom: custom(&fit, &points, &warnings),
    };
    Ok(Converted {
        started_at_unix: start,
        distance_m: activity.distance_m,
        elapsed_s: activity.duration_s,
        track: Track::from_points(&points),
        activity,
        sha256: sha256.to_owned(),
        warnings,
    })
}

/// The unix-time span of the activity's session: from its start to just before the next
/// session starts (or to its own end). Without sessions, the span of the records.
fn session_window(fit: &FitContent) -> (i64, i64) {
    let first_t = fit.points.first().map_or(0, |p| p.t);
    let last_t = fit.points.last().map_or(first_t, |p| p.t);
    let Some(session) = fit.sessions.first() else {
        return (first_t.min(last_t), last_t.max(first_t));
    };
    let from = session.start_time.unwrap_or(first_t);
    let own_end = session
        .end_time
        .or(session.elapsed_s.map(|s| from + s.ceil() as i64));
    let next_start = fit
        .sessions
        .get(1)
        .and_then(|s| s.start_time)
        .map(|t| t - 1);
    let until = match (next_start, own_end) {
        (Some(next), _) => next,
        (None, Some(end)) => end.max(last_t),
        (None, None) => last_t,
    };
    (from.min(until), until.max(from))
}

fn sport_title(sport: Sport) -> &'static str {
    match sport {
        Sport::Cycling => "Cycling",
        Sport::Running => "Running",
        Sport::Hiking => "Hiking",
        Sport::Walking => "Walking",
        Sport::Swimming => "Swimming",
        Sport::Skiing => "Skiing",
        Sport::Other => "Activity",
    }
}

/// "garmin edge810", as BincioActivity names the recording device.
fn device_name(fit: &FitContent) -> Option<String> {
    match (&fit.manufacturer, &fit.product) {
        (Some(maker), Some(product)) => Some(format!("{maker} {product}")),
        (None, Some(product)) => Some(product.clone()),
        (Some(maker), None) => Some(maker.clone()),
        (None, None) => None,
    }
}

/// BAS `custom`: where the altitude came from, salvage warnings, the other sessions of a
/// multisport file.
fn custom(fit: &FitContent, points: &[Point], warnings: &[Warning]) -> Map<String, Value> {
    let mut custom = Map::new();
    if points.iter().any(|p| p.altitude_m.is_some()) {
        let source = if fit.barometric_altitude {
            "barometric"
        } else {
            "gps"
        };
        custom.insert("altitude_source".into(), source.into());
    }
    if !warnings.is_empty() {
        let texts = warnings.iter().map(|w| Value::String(w.to_string()));
        custom.insert("warnings".into(), Value::Array(texts.collect()));
    }
    if fit.sessions.len() > 1 {
        let clock = LocalTime::new(0, fit.local_offset_s);
        let sessions = fit
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| session_json(i, s, clock));
        custom.insert("multisport".into(), Value::Array(sessions.collect()));
    }
    custom
}

fn session_json(index: usize, s: &Totals, clock: LocalTime) -> Value {
    let (sport, sub_sport) = map_fit_sport(s.sport.as_deref(), s.sub_sport.as_deref());
    json!({
        "index": index,
        "fit_sport": s.sport,
        "sport": sport,
        "sub_sport": sub_sport,
        "started_at": s.start_time.map(|t| clock.at(t).rfc3339()),
        "distance_m": s.distance_m.map(|d| metrics::round_to(d, 2)),
        "duration_s": s.elapsed_s.map(|e| e.round() as i64),
    })
}
