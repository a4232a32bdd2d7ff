//! The sync cursor: the plugin's own JSON, committed through the host's sink
//! in the same transaction as the items it covers.
//!
//! ```json
//! {"version": 1,
//!  "top": "2026-10-01 07:12:00",
//!  "backfill_before": "2025-03-02 18:00:00",
//!  "backfill_done": false,
//!  "rejected": {"123456": "the original upload holds no FIT file (123456.gpx)"}}
//! ```
//! - `top`: `startTimeGMT` of the newest activity when the newest end of the
//!   list was last walked completely; each run re-walks from the newest down
//!   to `min(top, now) - lookback_days`.
//! - `backfill_before`: the backfill (the walk into older history) has
//!   handled everything from `top` down to this start time; it resumes below.
//! - `backfill_done`: the whole history has been walked once.
//! - `rejected`: ids refused for good (manual activities, GPX-only uploads)
//!   with the reason, so they are neither downloaded nor retried again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{macros::format_description, Duration, PrimitiveDateTime};

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub version: u32,
    #[serde(default)]
    pub top: Option<String>,
    #[serde(default)]
    pub backfill_before: Option<String>,
    #[serde(default)]
    pub backfill_done: bool,
    #[serde(default)]
    pub rejected: BTreeMap<String, String>,
}

impl Default for Cursor {
    fn default() -> Self {
        Self {
            version: VERSION,
            top: None,
            backfill_before: None,
            backfill_done: false,
            rejected: BTreeMap::new(),
        }
    }
}

impl Cursor {
    /// The committed cursor; an unreadable or newer-format one starts over
    /// (safe: known activities are skipped without download).
    pub fn parse(text: Option<&str>) -> Self {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Self::default();
        };
        match serde_json::from_str::<Self>(text) {
            Ok(cursor) if cursor.version == VERSION => cursor,
            Ok(cursor) => {
                tracing::warn!(target: "garmin::sync", "cursor version {} is unknown; walking the history again", cursor.version);
                Self::default()
            }
            Err(e) => {
                tracing::warn!(target: "garmin::sync", "the cursor is unreadable ({e}); walking the history again");
                Self::default()
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }
}

/// A Garmin `startTimeGMT` (`YYYY-MM-DD HH:MM:SS`, maybe with a fraction or a `T`).
pub fn parse_time(text: &str) -> Option<PrimitiveDateTime> {
    let text = text.trim().replace('T', " ");
    let text = text.split('.').next().unwrap_or_default();
    PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .ok()
}

pub fn format_time(time: PrimitiveDateTime) -> String {
    time.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .unwrap_or_default()
}

/// Unix seconds as a GMT time.
pub fn from_unix(secs: i64) -> PrimitiveDateTime {
    let at =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    PrimitiveDateTime::new(at.date(), at.time())
}

/// Where this run's walk of the newest activities stops: `lookback_days`
/// before the older of `top` and now.
pub fn lookback_floor(top: &str, now: i64, lookback_days: u32) -> Option<PrimitiveDateTime> {
    let top = parse_time(top)?;
    let newest = top.min(from_unix(now));
    // Saturating: a look-back past the calendar's start (year -9999) floors there.
    Some(
        newest
            .checked_sub(Duration::days(i64::from(lookback_days)))
            .unwrap_or(PrimitiveDateTime::MIN),
    )
}

/// The `endDate` that lists everything started before `before`, whatever
/// zone Garmin filters the date in (one day of slack; the overlap is
/// skipped by time).
pub fn end_date_for(before: &str) -> Option<String> {
    let date = parse_time(before)?.date();
    // The calendar's last day (9999-12-31) has no next one; it lists all.
    let day = date.next_day().unwrap_or(date);
    day.format(format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_dates_and_look_backs_saturate_instead_of_panicking() {
        let floor = lookback_floor("0001-01-01 00:00:00", i64::MIN, u32::MAX).unwrap();
        assert_eq!(floor, PrimitiveDateTime::MIN);
        let floor = lookback_floor("9999-12-31 23:59:59", i64::MAX, 14).unwrap();
        assert_eq!(
            floor,
            from_unix(0) - Duration::days(14),
            "now out of range is the epoch"
        );
        assert_eq!(end_date_for("9999-12-31 23:59:59").unwrap(), "9999-12-31");
        assert_eq!(end_date_for("2026-02-28 10:00:00").unwrap(), "2026-03-01");
        assert_eq!(from_unix(i64::MAX), from_unix(0));
    }

    #[test]
    fn round_trips_and_starts_over_on_garbage() {
        let mut c = Cursor {
            top: Some("2026-01-02 03:04:05".into()),
            ..Cursor::default()
        };
        c.rejected.insert("7".into(), "manual".into());
        assert_eq!(Cursor::parse(Some(&c.to_json())), c);
        assert_eq!(Cursor::parse(Some("{not json")), Cursor::default());
        assert_eq!(Cursor::parse(Some(r#"{"version": 99}"#)), Cursor::default());
        assert_eq!(Cursor::parse(None), Cursor::default());
    }

    #[test]
    fn times_parse_in_garmins_shapes() {
        let t = parse_time("2026-01-02 03:04:05").unwrap();
        assert_eq!(parse_time("2026-01-02T03:04:05.0"), Some(t));
        assert_eq!(format_time(t), "2026-01-02 03:04:05");
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(format_time(from_unix(86_400)), "1970-01-02 00:00:00");
    }

    #[test]
    fn the_floor_uses_the_older_of_top_and_now() {
        let now = parse_time("2026-01-20 00:00:00")
            .unwrap()
            .assume_utc()
            .unix_timestamp();
        assert_eq!(
            lookback_floor("2026-01-10 12:00:00", now, 7),
            parse_time("2026-01-03 12:00:00")
        );
        // A top in the future (clock skew) does not push the floor forward.
        assert_eq!(
            lookback_floor("2026-03-01 00:00:00", now, 7),
            parse_time("2026-01-13 00:00:00")
        );
    }

    #[test]
    fn the_end_date_has_a_day_of_slack() {
        assert_eq!(
            end_date_for("2026-01-31 23:00:00").as_deref(),
            Some("2026-02-01")
        );
        assert_eq!(end_date_for("nonsense"), None);
    }
}
