//! `index.json`: the owner, one summary per activity (BAS `activity_summary`), newest first,
//! and the pointers to yearly shards (their layout is `layout.rs`'s).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::activity::{BasActivity, Privacy, Source, BAS_VERSION};
use crate::geojson::preview;
use crate::sport::{Sport, SubSport};

/// The owner block of `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    /// The store's handle (its directory name).
    pub handle: String,
    /// Shown on the site.
    pub display_name: String,
    /// Optional picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// One activity in `index.json` (BAS `activity_summary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Activity id; the detail file is `activities/{id}.json`.
    pub id: String,
    /// Title.
    pub title: String,
    /// BAS sport.
    pub sport: Sport,
    /// BAS sub-sport.
    #[serde(default)]
    pub sub_sport: Option<SubSport>,
    /// RFC 3339 with the local offset.
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
    /// km/h.
    #[serde(default)]
    pub avg_speed_kmh: Option<f64>,
    /// km/h.
    #[serde(default)]
    pub max_speed_kmh: Option<f64>,
    /// bpm.
    #[serde(default)]
    pub avg_hr_bpm: Option<i64>,
    /// bpm.
    #[serde(default)]
    pub max_hr_bpm: Option<i64>,
    /// rpm.
    #[serde(default)]
    pub avg_cadence_rpm: Option<i64>,
    /// Watts.
    #[serde(default)]
    pub avg_power_w: Option<i64>,
    /// Mean maximal power.
    #[serde(default)]
    pub mmp: Option<Vec<(i64, i64)>>,
    /// Best efforts.
    #[serde(default)]
    pub best_efforts: Option<Vec<(f64, i64)>>,
    /// Best climb, metres.
    #[serde(default)]
    pub best_climb_m: Option<f64>,
    /// Where it came from.
    #[serde(default)]
    pub source: Option<Source>,
    /// Visibility.
    pub privacy: Privacy,
    /// `activities/{id}.json`.
    #[serde(default)]
    pub detail_url: Option<String>,
    /// `activities/{id}.geojson`, when there is a track.
    #[serde(default)]
    pub track_url: Option<String>,
    /// `[[lat, lon], ...]`, at most 20, for the card thumbnail.
    #[serde(default)]
    pub preview_coords: Option<Vec<[f64; 2]>>,
    /// This crate keeps `source_hash` here, for exact-duplicate checks after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Map<String, Value>>,
}

impl IndexEntry {
    /// The summary of `activity`; `has_track` says whether its `.geojson` exists.
    pub fn for_activity(activity: &BasActivity, has_track: bool) -> IndexEntry {
        let id = &activity.id;
        let gps: Vec<(f64, f64)> = match (&activity.timeseries.lat, &activity.timeseries.lon) {
            (Some(lat), Some(lon)) => lat
                .iter()
                .zip(lon)
                .filter_map(|(lat, lon)| Some(((*lat)?, (*lon)?)))
                .collect(),
            _ => Vec::new(),
        };
        let custom = activity.source_hash.as_ref().map(|hash| {
            let mut custom = Map::new();
            custom.insert("source_hash".into(), Value::String(hash.clone()));
            custom
        });
        IndexEntry {
            id: id.clone(),
            title: activity.title.clone(),
            sport: activity.sport,
            sub_sport: activity.sub_sport,
            started_at: activity.started_at.clone(),
            distance_m: activity.distance_m,
            duration_s: activity.duration_s,
            moving_time_s: activity.moving_time_s,
            elevation_gain_m: activity.elevation_gain_m,
            avg_speed_kmh: activity.avg_speed_kmh,
            max_speed_kmh: activity.max_speed_kmh,
            avg_hr_bpm: activity.avg_hr_bpm,
            max_hr_bpm: activity.max_hr_bpm,
            avg_cadence_rpm: activity.avg_cadence_rpm,
            avg_power_w: activity.avg_power_w,
            mmp: activity.mmp.clone(),
            best_efforts: activity.best_efforts.clone(),
            best_climb_m: activity.best_climb_m,
            source: activity.source,
            privacy: activity.privacy,
            detail_url: Some(format!("activities/{id}.json")),
            track_url: has_track.then(|| format!("activities/{id}.geojson")),
            preview_coords: if has_track { preview(&gps) } else { None },
            custom,
        }
    }

    /// The `sha256:{hex}` of the original file, when this crate wrote the entry.
    pub fn source_hash(&self) -> Option<&str> {
        self.custom.as_ref()?.get("source_hash")?.as_str()
    }
}

/// A pointer to a yearly shard file (BAS `shards` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Calendar year (of the activities' local start dates).
    pub year: i32,
    /// The shard file, relative to `index.json`.
    pub url: String,
    /// Activities in the shard.
    pub count: usize,
}

/// The file name of the shard of `year`.
pub(crate) fn shard_url(year: i32) -> String {
    format!("index_{year}.json")
}

/// The whole `index.json`, as read from disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexFile {
    /// Always [`BAS_VERSION`].
    pub bas_version: String,
    /// Whose store this is.
    pub owner: Owner,
    /// When the index was written.
    pub generated_at: String,
    /// Yearly shard files (see [`crate::SHARD_THRESHOLD`]); empty for a small store.
    #[serde(default)]
    pub shards: Vec<Shard>,
    /// Summaries, newest first (in a sharded index, only the newest ones).
    pub activities: Vec<IndexEntry>,
}

impl IndexFile {
    /// An empty index for `owner`.
    pub fn empty(owner: Owner) -> IndexFile {
        IndexFile {
            bas_version: BAS_VERSION.to_string(),
            owner,
            generated_at: String::new(),
            shards: Vec::new(),
            activities: Vec::new(),
        }
    }
}
