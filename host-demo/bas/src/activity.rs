//! The BAS activity document (`activities/{id}.json`), field for field as the BAS v1 schema
//! and BincioActivity's writer lay it out: explicit `null`s, laps, the inline 1 Hz timeseries,
//! and `custom` for everything the schema has no key for.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::sport::{Sport, SubSport};

/// The only BAS version this crate writes.
pub const BAS_VERSION: &str = "1.0";

/// Where an activity came from (BAS `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A Strava bulk export.
    StravaExport,
    /// Downloaded from Garmin Connect.
    GarminConnect,
    /// Wahoo.
    Wahoo,
    /// Komoot.
    Komoot,
    /// A local GPX file.
    GpxFile,
    /// A local FIT file.
    FitFile,
    /// A local TCX file.
    TcxFile,
    /// Hammerhead Karoo.
    Karoo,
    /// Entered by hand.
    Manual,
}

/// Who may see an activity (BAS `privacy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    /// Listed, with its track.
    #[default]
    Public,
    /// Listed, start of the track blurred.
    BlurStart,
    /// Listed, without a track.
    NoGps,
    /// Not listed in the public feed.
    Private,
}

/// One lap (BAS `lap`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lap {
    /// 0-based position in the activity.
    pub index: u32,
    /// RFC 3339, with the activity's UTC offset.
    pub started_at: String,
    /// Elapsed seconds.
    pub duration_s: Option<i64>,
    /// Metres.
    pub distance_m: Option<f64>,
    /// Metres climbed.
    pub elevation_gain_m: Option<f64>,
    /// km/h.
    pub avg_speed_kmh: Option<f64>,
    /// Beats per minute.
    pub avg_hr_bpm: Option<i64>,
    /// Watts.
    pub avg_power_w: Option<i64>,
}

/// The 1 Hz timeseries: parallel arrays indexed like `t` (seconds since `started_at`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeseries {
    /// Seconds since the start, strictly increasing, at most one sample per second.
    pub t: Vec<i64>,
    /// Degrees; `null` as a whole when the activity has no position at all.
    #[serde(default)]
    pub lat: Option<Vec<Option<f64>>>,
    /// Degrees; `null` as a whole when the activity has no position at all.
    #[serde(default)]
    pub lon: Option<Vec<Option<f64>>>,
    /// Metres.
    #[serde(default)]
    pub elevation_m: Vec<Option<f64>>,
    /// km/h.
    #[serde(default)]
    pub speed_kmh: Vec<Option<f64>>,
    /// Beats per minute.
    #[serde(default)]
    pub hr_bpm: Vec<Option<i64>>,
    /// Revolutions (or strides) per minute.
    #[serde(default)]
    pub cadence_rpm: Vec<Option<i64>>,
    /// Watts.
    #[serde(default)]
    pub power_w: Vec<Option<i64>>,
    /// Degrees Celsius.
    #[serde(default)]
    pub temperature_c: Vec<Option<f64>>,
}

/// A BAS activity document. Units: metres, seconds, km/h, bpm, rpm, watts, degrees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasActivity {
    /// Always [`BAS_VERSION`].
    pub bas_version: String,
    /// `2018-02-18T171256Z` (UTC start), suffixed on a clash (see the README).
    pub id: String,
    /// E.g. "Evening Cycling".
    pub title: String,
    /// Free text; FIT files have none.
    #[serde(default)]
    pub description: Option<String>,
    /// BAS sport.
    pub sport: Sport,
    /// BAS sub-sport.
    #[serde(default)]
    pub sub_sport: Option<SubSport>,
    /// RFC 3339 with the local UTC offset.
    pub started_at: String,
    /// Metres.
    #[serde(default)]
    pub distance_m: Option<f64>,
    /// Elapsed seconds.
    #[serde(default)]
    pub duration_s: Option<i64>,
    /// Seconds in motion.
    #[serde(default)]
    pub moving_time_s: Option<i64>,
    /// Metres.
    #[serde(default)]
    pub elevation_gain_m: Option<f64>,
    /// Metres (positive).
    #[serde(default)]
    pub elevation_loss_m: Option<f64>,
    /// km/h.
    #[serde(default)]
    pub avg_speed_kmh: Option<f64>,
    /// km/h.
    #[serde(default)]
    pub max_speed_kmh: Option<f64>,
    /// Beats per minute.
    #[serde(default)]
    pub avg_hr_bpm: Option<i64>,
    /// Beats per minute.
    #[serde(default)]
    pub max_hr_bpm: Option<i64>,
    /// rpm.
    #[serde(default)]
    pub avg_cadence_rpm: Option<i64>,
    /// Watts.
    #[serde(default)]
    pub avg_power_w: Option<i64>,
    /// Watts.
    #[serde(default)]
    pub max_power_w: Option<i64>,
    /// Bike or shoes; FIT files do not say.
    #[serde(default)]
    pub gear: Option<String>,
    /// E.g. "garmin edge810".
    #[serde(default)]
    pub device: Option<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    #[serde(default)]
    pub bbox: Option<[f64; 4]>,
    /// `[lat, lon]`.
    #[serde(default)]
    pub start_latlng: Option<[f64; 2]>,
    /// `[lat, lon]`.
    #[serde(default)]
    pub end_latlng: Option<[f64; 2]>,
    /// Mean maximal power: `[[duration_s, watts], ...]`.
    #[serde(default)]
    pub mmp: Option<Vec<(i64, i64)>>,
    /// Fastest time over standard distances: `[[distance_km, seconds], ...]`.
    #[serde(default)]
    pub best_efforts: Option<Vec<(f64, i64)>>,
    /// Largest continuous climb, metres (cycling).
    #[serde(default)]
    pub best_climb_m: Option<f64>,
    /// Laps in order.
    pub laps: Vec<Lap>,
    /// The 1 Hz samples.
    pub timeseries: Timeseries,
    /// Where the activity came from.
    #[serde(default)]
    pub source: Option<Source>,
    /// The original file's name.
    #[serde(default)]
    pub source_file: Option<String>,
    /// `sha256:{hex}` of the original bytes.
    #[serde(default)]
    pub source_hash: Option<String>,
    /// Strava's id, for Strava imports.
    #[serde(default)]
    pub strava_id: Option<String>,
    /// The activity this one duplicates, if any.
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// Visibility.
    pub privacy: Privacy,
    /// Everything else: `warnings`, `altitude_source`, `multisport`, ...
    pub custom: Map<String, Value>,
}

impl BasActivity {
    /// The salvage warnings kept in `custom.warnings` (empty for a clean file).
    pub fn warnings(&self) -> Vec<&str> {
        match self.custom.get("warnings") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// True when the activity has a position track (and so a `.geojson`).
    pub fn has_gps(&self) -> bool {
        self.bbox.is_some()
    }
}
