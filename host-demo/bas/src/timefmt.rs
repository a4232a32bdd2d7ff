//! Time in BAS: `started_at` as RFC 3339 with the activity's own UTC offset, the UTC-based
//! activity id, and the time-of-day part of the automatic title.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The largest UTC offset in use anywhere (UTC+14); beyond it a device's local time is wrong.
const MAX_OFFSET_S: i64 = 14 * 3600;
/// UTC offsets are whole quarter hours; device clocks may disagree by a few seconds.
const OFFSET_STEP_S: i64 = 15 * 60;

/// A moment plus the UTC offset of the place it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalTime {
    pub unix: i64,
    pub offset_s: i32,
}

impl LocalTime {
    /// `offset_s` is rounded to a quarter hour; an impossible offset falls back to UTC.
    pub(crate) fn new(unix: i64, offset_s: Option<i64>) -> LocalTime {
        let offset_s = offset_s
            .map(|o| (o as f64 / OFFSET_STEP_S as f64).round() as i64 * OFFSET_STEP_S)
            .filter(|o| o.abs() <= MAX_OFFSET_S)
            .unwrap_or(0);
        LocalTime {
            unix,
            offset_s: offset_s as i32,
        }
    }

    pub(crate) fn at(self, unix: i64) -> LocalTime {
        LocalTime { unix, ..self }
    }

    fn date_time(self) -> OffsetDateTime {
        let offset = UtcOffset::from_whole_seconds(self.offset_s).unwrap_or(UtcOffset::UTC);
        OffsetDateTime::from_unix_timestamp(self.unix)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(offset)
    }

    /// `2018-02-18T18:12:56+01:00`; UTC is written `+00:00`, as BincioActivity writes it.
    pub(crate) fn rfc3339(self) -> String {
        let t = self.date_time();
        let sign = if self.offset_s < 0 { '-' } else { '+' };
        let offset = self.offset_s.unsigned_abs();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            offset / 3600,
            offset % 3600 / 60
        )
    }

    /// The BAS activity id: the UTC start as `2018-02-18T171256Z` (URL-safe, no `+`).
    pub(crate) fn activity_id(self) -> String {
        let t = LocalTime {
            offset_s: 0,
            ..self
        }
        .date_time();
        format!(
            "{:04}-{:02}-{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// Morning, Afternoon, Evening or Night, by the local hour.
    pub(crate) fn time_of_day(self) -> &'static str {
        match self.date_time().hour() {
            5..=11 => "Morning",
            12..=16 => "Afternoon",
            17..=20 => "Evening",
            _ => "Night",
        }
    }
}

/// Unix seconds of an RFC 3339 timestamp (as found in an existing `index.json`).
pub(crate) fn parse_unix(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_offset_and_utc_id() {
        // 2012-04-09T21:22:26Z, recorded at UTC-4.
        let t = LocalTime::new(1_334_006_546, Some(-4 * 3600 + 3));
        assert_eq!(t.offset_s, -4 * 3600);
        assert_eq!(t.rfc3339(), "2012-04-09T17:22:26-04:00");
        assert_eq!(t.activity_id(), "2012-04-09T212226Z");
        assert_eq!(t.time_of_day(), "Evening");
        assert_eq!(parse_unix(&t.rfc3339()), Some(1_334_006_546));
        assert_eq!(parse_unix("2012-04-09T21:22:26Z"), Some(1_334_006_546));
    }

    #[test]
    fn impossible_offsets_fall_back_to_utc() {
        let t = LocalTime::new(0, Some(20 * 3600));
        assert_eq!(t.rfc3339(), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            LocalTime::new(0, Some(5 * 3600 + 1800)).rfc3339(),
            "1970-01-01T05:30:00+05:30"
        );
    }
}
