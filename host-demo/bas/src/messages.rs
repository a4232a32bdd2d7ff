//! The FIT messages an activity is built from, read out of fitparser's records into plain
//! typed structs as they stream by (one pass, no record kept longer than its own decoding).

use chrono::{NaiveDate, TimeZone};
use fitparser::profile::MesgNum;
use fitparser::{FitDataRecord, Value};

/// Seconds between the unix epoch and the FIT epoch (1989-12-31T00:00:00Z).
pub(crate) const FIT_EPOCH_UNIX: i64 = 631_065_600;
/// Degrees per FIT semicircle.
const DEGREES_PER_SEMICIRCLE: f64 = 180.0 / 2_147_483_648.0;

/// One `record` message: a sample of the activity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Point {
    /// Unix seconds.
    pub t: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub altitude_m: Option<f64>,
    pub speed_ms: Option<f64>,
    pub hr_bpm: Option<u16>,
    pub cadence_rpm: Option<u16>,
    pub power_w: Option<u16>,
    pub temperature_c: Option<f64>,
    /// The device's cumulative distance.
    pub distance_m: Option<f64>,
}

impl Point {
    pub(crate) fn latlon(&self) -> Option<(f64, f64)> {
        Some((self.lat?, self.lon?))
    }
}

/// The values of one `record` message BAS reads, as finite numbers after the profile's scale
/// and offset (semicircles for positions); `t` in unix seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct RecordValues {
    pub t: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Only ever set by a developer field of that name: fitparser replaces the profile's
    /// `altitude` and `speed` by the `enhanced_` fields they expand to.
    pub altitude: Option<f64>,
    pub enhanced_altitude: Option<f64>,
    pub speed: Option<f64>,
    pub enhanced_speed: Option<f64>,
    pub hr: Option<f64>,
    pub cadence: Option<f64>,
    pub power: Option<f64>,
    pub temperature: Option<f64>,
    pub distance: Option<f64>,
}

/// The field names [`FitContent`] reads in a `record` (a developer field of one of these names
/// would stand in for the profile's field).
pub(crate) const RECORD_NAMES: [&str; 12] = [
    "timestamp",
    "position_lat",
    "position_long",
    "altitude",
    "enhanced_altitude",
    "speed",
    "enhanced_speed",
    "heart_rate",
    "cadence",
    "power",
    "temperature",
    "distance",
];

/// The totals of a `session` or `lap` message (both carry the same summary fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Totals {
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub sport: Option<String>,
    pub sub_sport: Option<String>,
    pub elapsed_s: Option<f64>,
    pub timer_s: Option<f64>,
    pub moving_s: Option<f64>,
    pub distance_m: Option<f64>,
    pub ascent_m: Option<f64>,
    pub descent_m: Option<f64>,
    pub avg_speed_ms: Option<f64>,
    pub max_speed_ms: Option<f64>,
    pub avg_hr_bpm: Option<u16>,
    pub max_hr_bpm: Option<u16>,
    pub avg_cadence_rpm: Option<u16>,
    pub avg_power_w: Option<u16>,
    pub max_power_w: Option<u16>,
}

/// Everything of a FIT file an activity needs.
#[derive(Debug, Default)]
pub(crate) struct FitContent {
    pub file_type: Option<String>,
    pub has_file_id: bool,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub time_created: Option<i64>,
    /// `sport` messages: (sport, sub_sport), in file order.
    pub sports: Vec<(Option<String>, Option<String>)>,
    pub sessions: Vec<Totals>,
    pub laps: Vec<Totals>,
    pub points: Vec<Point>,
    /// True when altitude came from `enhanced_altitude` (barometric devices).
    pub barometric_altitude: bool,
    /// `activity.local_timestamp - activity.timestamp`, seconds.
    pub local_offset_s: Option<i64>,
}

impl FitContent {
    /// Takes in one decoded message. Only the first `file_id` counts: chained parts repeat it.
    pub(crate) fn absorb(&mut self, record: FitDataRecord) {
        match record.kind() {
            MesgNum::Record => self.absorb_point(&record),
            MesgNum::Lap => self.laps.push(read_totals(&record)),
            MesgNum::Session => self.sessions.push(read_totals(&record)),
            MesgNum::FileId if !self.has_file_id => self.absorb_file_id(&record),
            MesgNum::Sport => {
                let mut sport = (None, None);
                for field in record.fields() {
                    match field.name() {
                        "sport" => sport.0 = text(field.value()),
                        "sub_sport" => sport.1 = text(field.value()),
                        _ => {}
                    }
                }
                self.sports.push(sport);
            }
            MesgNum::Activity => self.absorb_activity(&record),
            _ => {}
        }
    }

    /// Takes in a `lap`, `session` or `activity` message whose header carried a compressed
    /// timestamp, computed by the caller (`at`), as fitparser's conversion would have put it.
    pub(crate) fn absorb_at(&mut self, record: FitDataRecord, at: Option<i64>) {
        let Some(at) = at else {
            return self.absorb(record);
        };
        match record.kind() {
            MesgNum::Lap | MesgNum::Session => {
                let mut totals = read_totals(&record);
                totals.end_time = Some(at);
                if record.kind() == MesgNum::Lap {
                    self.laps.push(totals);
                } else {
                    self.sessions.push(totals);
                }
            }
            MesgNum::Activity => self.absorb_activity_at(&record, Some(at)),
            _ => self.absorb(record),
        }
    }

    fn absorb_point(&mut self, record: &FitDataRecord) {
        let mut values = RecordValues::default();
        for field in record.fields() {
            let value = field.value();
            match field.name() {
                "timestamp" => values.t = unix_time(value),
                "position_lat" => values.lat = number(value),
                "position_long" => values.lon = number(value),
                "altitude" => values.altitude = number(value),
                "enhanced_altitude" => values.enhanced_altitude = number(value),
                "speed" => values.speed = number(value),
                "enhanced_speed" => values.enhanced_speed = number(value),
                "heart_rate" => values.hr = number(value),
                "cadence" => values.cadence = number(value),
                "power" => values.power = number(value),
                "temperature" => values.temperature = number(value),
                "distance" => values.distance = number(value),
                _ => {}
            }
        }
        self.push_record(&values);
    }

    /// Takes in one `record` message's values (see [`RecordValues`]).
    pub(crate) fn push_record(&mut self, values: &RecordValues) {
        // A record without a timestamp cannot be placed in time: BincioActivity drops it too.
        let Some(t) = values.t else { return };
        let mut point = Point {
            t,
            hr_bpm: values.hr.and_then(small_int),
            cadence_rpm: values.cadence.and_then(small_int),
            power_w: values.power.and_then(small_int),
            temperature_c: values.temperature,
            distance_m: values.distance,
            ..Point::default()
        };
        let lat = values.lat.and_then(|v| semicircles(v, 90.0));
        let lon = values.lon.and_then(|v| semicircles(v, 180.0));
        if let (Some(lat), Some(lon)) = (lat, lon) {
            point.lat = Some(lat);
            point.lon = Some(lon);
        }
        if values.enhanced_altitude.is_some() {
            self.barometric_altitude = true;
        }
        point.altitude_m = values.enhanced_altitude.or(values.altitude);
        point.speed_ms = values.enhanced_speed.or(values.speed);
        self.points.push(point);
    }

    fn absorb_file_id(&mut self, record: &FitDataRecord) {
        self.has_file_id = true;
        for field in record.fields() {
            let value = field.value();
            match field.name() {
                "type" => self.file_type = text(value),
                "manufacturer" => self.manufacturer = text(value),
                "garmin_product" | "product" | "favero_product" => {
                    self.product = self.product.take().or_else(|| text(value))
                }
                "product_name" => self.product = text(value).or(self.product.take()),
                "time_created" => self.time_created = unix_time(value),
                _ => {}
            }
        }
    }

    fn absorb_activity(&mut self, record: &FitDataRecord) {
        self.absorb_activity_at(record, None);
    }

    fn absorb_activity_at(&mut self, record: &FitDataRecord, at: Option<i64>) {
        let mut utc = None;
        let mut local = None;
        for field in record.fields() {
            match (field.name(), field.value()) {
                ("timestamp", value) => utc = unix_time(value),
                ("local_timestamp", Value::Timestamp(local_time)) => {
                    local = Some(local_time.timestamp() - local_fit_epoch() + FIT_EPOCH_UNIX)
                }
                _ => {}
            }
        }
        utc = at.or(utc);
        if let (Some(utc), Some(local)) = (utc, local) {
            self.local_offset_s = Some(local - utc);
        }
    }
}

fn read_totals(record: &FitDataRecord) -> Totals {
    let mut totals = Totals::default();
    let mut avg_speed = None;
    let mut max_speed = None;
    let mut running_cadence = None;
    for field in record.fields() {
        let value = field.value();
        match field.name() {
            "start_time" => totals.start_time = unix_time(value),
            "timestamp" => totals.end_time = unix_time(value),
            "sport" => totals.sport = text(value),
            "sub_sport" => totals.sub_sport = text(value),
            "total_elapsed_time" => totals.elapsed_s = number(value),
            "total_timer_time" => totals.timer_s = number(value),
            "total_moving_time" => totals.moving_s = number(value),
            "total_distance" => totals.distance_m = number(value),
            "total_ascent" => totals.ascent_m = number(value),
            "total_descent" => totals.descent_m = number(value),
            "avg_speed" => avg_speed = number(value),
            "max_speed" => max_speed = number(value),
            "enhanced_avg_speed" => totals.avg_speed_ms = number(value),
            "enhanced_max_speed" => totals.max_speed_ms = number(value),
            "avg_heart_rate" => totals.avg_hr_bpm = number(value).and_then(small_int),
            "max_heart_rate" => totals.max_hr_bpm = number(value).and_then(small_int),
            "avg_cadence" => totals.avg_cadence_rpm = number(value).and_then(small_int),
            "avg_running_cadence" => running_cadence = number(value).and_then(small_int),
            "avg_power" => totals.avg_power_w = number(value).and_then(small_int),
            "max_power" => totals.max_power_w = number(value).and_then(small_int),
            _ => {}
        }
    }
    totals.avg_speed_ms = totals.avg_speed_ms.or(avg_speed);
    totals.max_speed_ms = totals.max_speed_ms.or(max_speed);
    totals.avg_cadence_rpm = totals.avg_cadence_rpm.or(running_cadence);
    totals
}

/// fitparser renders a FIT local time as if it were in the machine's time zone, counting from
/// the FIT epoch *in that zone*; this is that epoch as a unix instant, to undo the rendering.
fn local_fit_epoch() -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1989, 12, 31).and_then(|d| d.and_hms_opt(0, 0, 0));
    epoch
        .and_then(|naive| chrono::Local.from_local_datetime(&naive).earliest())
        .map(|local| local.timestamp())
        .unwrap_or(FIT_EPOCH_UNIX)
}

fn unix_time(value: &Value) -> Option<i64> {
    match value {
        Value::Timestamp(t) => Some(t.timestamp()),
        _ => None,
    }
}

/// A finite number out of any numeric FIT value.
pub(crate) fn number(value: &Value) -> Option<f64> {
    let n = match *value {
        Value::Byte(v) | Value::Enum(v) | Value::UInt8(v) | Value::UInt8z(v) => f64::from(v),
        Value::SInt8(v) => f64::from(v),
        Value::SInt16(v) => f64::from(v),
        Value::UInt16(v) | Value::UInt16z(v) => f64::from(v),
        Value::SInt32(v) => f64::from(v),
        Value::UInt32(v) | Value::UInt32z(v) => f64::from(v),
        Value::SInt64(v) => v as f64,
        Value::UInt64(v) | Value::UInt64z(v) => v as f64,
        Value::Float32(v) => f64::from(v),
        Value::Float64(v) => v,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn small_int(n: f64) -> Option<u16> {
    (0.0..=f64::from(u16::MAX))
        .contains(&n)
        .then(|| n.round() as u16)
}

fn semicircles(n: f64, limit: f64) -> Option<f64> {
    let degrees = n * DEGREES_PER_SEMICIRCLE;
    (degrees.abs() <= limit).then_some(degrees)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::String(_) | Value::Invalid | Value::Array(_) | Value::Timestamp(_) => None,
        other => number(other).map(|n| n.to_string()),
    }
}
