//! A small FIT encoder that writes valid activity files, so tests can create as many distinct
//! activities as they need (the real fixtures are few and fixed).
//!
//! The output holds: the 14-byte header with its CRC, `file_id` (type activity), a timer start
//! event, `record`s (timestamp, distance, speed, heart rate, altitude, optional position), a timer
//! stop event, one `lap`, one `session` (sport, start_time, total_distance, total_elapsed_time,
//! total_timer_time), one `activity`, and the file CRC.

use thiserror::Error;
use time::OffsetDateTime;

/// Seconds between the Unix epoch and the FIT epoch (1989-12-31T00:00:00Z).
pub const FIT_EPOCH_UNIX: i64 = 631_065_600;

/// Sports the writer knows, with their FIT `sport` code and Garmin Connect `typeKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sport {
    Generic,
    Running,
    Cycling,
    Swimming,
    Walking,
    Hiking,
}

impl Sport {
    /// The FIT profile's `sport` enum value.
    pub fn fit_code(self) -> u8 {
        match self {
            Sport::Generic => 0,
            Sport::Running => 1,
            Sport::Cycling => 2,
            Sport::Swimming => 5,
            Sport::Walking => 11,
            Sport::Hiking => 17,
        }
    }

    /// The Garmin Connect activity `typeKey` for this sport.
    pub fn type_key(self) -> &'static str {
        match self {
            Sport::Generic => "other",
            Sport::Running => "running",
            Sport::Cycling => "cycling",
            Sport::Swimming => "lap_swimming",
            Sport::Walking => "walking",
            Sport::Hiking => "hiking",
        }
    }
}

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct FitActivitySpec {
    pub start: OffsetDateTime,
    pub sport: Sport,
    pub duration_s: f64,
    pub distance_m: f64,
    /// Number of `record` messages (at least 2: first and last sample).
    pub records: usize,
    /// Start position in degrees (lat, lon); `None` writes no positions (indoor).
    pub gps: Option<(f64, f64)>,
    /// Varies the heart-rate curve and the serial number, so equal specs can still differ.
    pub seed: u64,
}

impl FitActivitySpec {
    /// A sensible outdoor activity: one record every 10 s (capped), GPS near Zurich.
    pub fn new(start: OffsetDateTime, sport: Sport, duration_s: f64, distance_m: f64) -> Self {
        let records = ((duration_s / 10.0) as usize).clamp(2, 2000);
        FitActivitySpec {
            start,
            sport,
            duration_s,
            distance_m,
            records,
            gps: Some((47.37, 8.54)),
            seed: start.unix_timestamp() as u64,
        }
    }
}

/// A spec that cannot be encoded.
#[derive(Debug, Error, PartialEq)]
pub enum FitWriteError {
    #[error("FIT activity needs at least 2 records, got {0}")]
    TooFewRecords(usize),
    #[error("FIT activity duration must be positive and finite, got {0} s")]
    BadDuration(f64),
    #[error("FIT activity distance must be non-negative and finite, got {0} m")]
    BadDistance(f64),
    #[error("FIT timestamps start at 1989-12-31, got start {0}")]
    StartBeforeFitEpoch(OffsetDateTime),
}

/// Encodes `spec` as a complete FIT activity file.
pub fn write_activity(spec: &FitActivitySpec) -> Result<Vec<u8>, FitWriteError> {
    if spec.records < 2 {
        return Err(FitWriteError::TooFewRecords(spec.records));
    }
    if !(spec.duration_s.is_finite() && spec.duration_s > 0.0) {
        return Err(FitWriteError::BadDuration(spec.duration_s));
    }
    if !(spec.distance_m.is_finite() && spec.distance_m >= 0.0) {
        return Err(FitWriteError::BadDistance(spec.distance_m));
    }
    let start = spec.start.unix_timestamp() - FIT_EPOCH_UNIX;
    if start < 0 {
        return Err(FitWriteError::StartBeforeFitEpoch(spec.start));
    }
    let start = start as u32;
    let end = start + spec.duration_s.round().max(1.0) as u32;
    let mut w = MessageWriter::default();
    write_file_id(&mut w, spec, start);
    write_timer_event(&mut w, start, 0);
    let (avg_hr, max_hr) = write_records(&mut w, spec, start);
    write_timer_event(&mut w, end, 4);
    write_lap_and_session(&mut w, spec, start, end, avg_hr, max_hr);
    write_activity_message(&mut w, spec, end);
    Ok(w.finish())
}

/// The FIT CRC-16 of `data`, as stored in the header and at the end of a file (CRC-16/ARC).
pub fn fit_crc(data: &[u8]) -> u16 {
    const FIT_CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ARC);
    FIT_CRC.checksum(data)
}

const ENUM: u8 = 0x00;
const UINT8: u8 = 0x02;
const UINT16: u8 = 0x84;
const SINT32: u8 = 0x85;
const UINT32: u8 = 0x86;
const UINT32Z: u8 = 0x8C;

/// A field value; its width follows its base type.
#[derive(Clone, Copy)]
enum V {
    U8(u8),
    U16(u16),
    U32(u32),
    I32(i32),
}

#[derive(Default)]
struct MessageWriter {
    data: Vec<u8>,
}

impl MessageWriter {
    fn define(&mut self, local: u8, global: u16, fields: &[(u8, u8)]) {
        self.data.push(0x40 | local);
        self.data.push(0); // reserved
        self.data.push(0); // little endian
        self.data.extend_from_slice(&global.to_le_bytes());
        self.data.push(fields.len() as u8);
        for &(num, base) in fields {
            let size = match base {
                ENUM | UINT8 => 1,
                UINT16 => 2,
                _ => 4,
            };
            self.data.extend_from_slice(&[num, size, base]);
        }
    }

    fn record(&mut self, local: u8, values: &[V]) {
        self.data.push(local);
        for v in values {
            match *v {
                V::U8(x) => self.data.push(x),
                V::U16(x) => self.data.extend_from_slice(&x.to_le_bytes()),
                V::U32(x) => self.data.extend_from_slice(&x.to_le_bytes()),
                V::I32(x) => self.data.extend_from_slice(&x.to_le_bytes()),
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 16);
        out.push(14); // header size
        out.push(0x20); // protocol 2.0
        out.extend_from_slice(&2132u16.to_le_bytes()); // profile 21.32
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(b".FIT");
        let header_crc = fit_crc(&out);
        out.extend_from_slice(&header_crc.to_le_bytes());
        out.extend_from_slice(&self.data);
        let file_crc = fit_crc(&out);
        out.extend_from_slice(&file_crc.to_le_bytes());
        out
    }
}

fn write_file_id(w: &mut MessageWriter, spec: &FitActivitySpec, start: u32) {
    w.define(
        0,
        0,
        &[
            (0, ENUM),
            (1, UINT16),
            (2, UINT16),
            (3, UINT32Z),
            (4, UINT32),
        ],
    );
    let serial = (spec.seed as u32 % 0xFFFF_FFF0).max(1);
    w.record(
        0,
        &[
            V::U8(4),
            V::U16(255),
            V::U16(1),
            V::U32(serial),
            V::U32(start),
        ],
    );
}

fn write_timer_event(w: &mut MessageWriter, timestamp: u32, event_type: u8) {
    w.define(1, 21, &[(253, UINT32), (0, ENUM), (1, ENUM)]);
    w.record(1, &[V::U32(timestamp), V::U8(0), V::U8(event_type)]);
}

fn degrees_to_semicircles(deg: f64) -> i32 {
    (deg * (2f64.powi(31) / 180.0)).round() as i32
}

/// Writes the samples; returns (average, maximum) heart rate.
fn write_records(w: &mut MessageWriter, spec: &FitActivitySpec, start: u32) -> (u8, u8) {
    let mut fields = vec![
        (253, UINT32),
        (5, UINT32),
        (6, UINT16),
        (3, UINT8),
        (2, UINT16),
    ];
    if spec.gps.is_some() {
        fields.extend_from_slice(&[(0, SINT32), (1, SINT32)]);
    }
    w.define(2, 20, &fields);
    let last = (spec.records - 1) as f64;
    let speed = spec.distance_m / spec.duration_s;
    let phase = (spec.seed % 1000) as f64 / 100.0;
    let (mut hr_sum, mut hr_max) = (0u64, 0u8);
    for i in 0..spec.records {
        let frac = i as f64 / last;
        let t = start + (frac * spec.duration_s).round() as u32;
        let dist = frac * spec.distance_m;
        let hr = (130.0 + 25.0 * (frac * 6.0 + phase).sin() + 10.0 * frac).round() as u8;
        hr_sum += hr as u64;
        hr_max = hr_max.max(hr);
        let altitude_m = 400.0 + 30.0 * (frac * 3.0 + phase).cos();
        let mut values = vec![
            V::U32(t),
            V::U32((dist * 100.0).round() as u32),
            V::U16((speed * 1000.0).round().min(65_534.0) as u16),
            V::U8(hr),
            V::U16(((altitude_m + 500.0) * 5.0).round() as u16),
        ];
        if let Some((lat, lon)) = spec.gps {
            // Head north-east; 1 degree of latitude is about 111.32 km.
            let deg = dist / 111_320.0 / std::f64::consts::SQRT_2;
            values.push(V::I32(degrees_to_semicircles(lat + deg)));
            values.push(V::I32(degrees_to_semicircles(
                lon + deg / lat.to_radians().cos(),
            )));
        }
        w.record(2, &values);
    }
    ((hr_sum / spec.records as u64) as u8, hr_max)
}

/// The fields a lap (19) and a session (18) open with: message index, timestamp, start time,
/// total elapsed and timer time, total distance.
const SUMMARY_FIELDS: [(u8, u8); 6] = [
    (254, UINT16),
    (253, UINT32),
    (2, UINT32),
    (7, UINT32),
    (8, UINT32),
    (9, UINT32),
];

/// The values of [`SUMMARY_FIELDS`] for the one lap or session of the activity.
fn summary_values(spec: &FitActivitySpec, start: u32, end: u32) -> Vec<V> {
    let elapsed_ms = (spec.duration_s * 1000.0).round() as u32;
    let distance_cm = (spec.distance_m * 100.0).round() as u32;
    vec![
        V::U16(0),
        V::U32(end),
        V::U32(start),
        V::U32(elapsed_ms),
        V::U32(elapsed_ms),
        V::U32(distance_cm),
    ]
}

fn write_lap_and_session(
    w: &mut MessageWriter,
    spec: &FitActivitySpec,
    start: u32,
    end: u32,
    avg_hr: u8,
    max_hr: u8,
) {
    let lap_fields: Vec<_> = SUMMARY_FIELDS
        .into_iter()
        .chain([(0, ENUM), (1, ENUM), (25, ENUM), (15, UINT8), (16, UINT8)])
        .collect();
    w.define(3, 19, &lap_fields);
    let mut lap_values = summary_values(spec, start, end);
    lap_values.extend([
        V::U8(9),
        V::U8(1),
        V::U8(spec.sport.fit_code()),
        V::U8(avg_hr),
        V::U8(max_hr),
    ]);
    w.record(3, &lap_values);
    let mut fields = SUMMARY_FIELDS.to_vec();
    fields.extend_from_slice(&[
        (0, ENUM),
        (1, ENUM),
        (5, ENUM),
        (6, ENUM),
        (25, UINT16),
        (26, UINT16),
        (16, UINT8),
        (17, UINT8),
    ]);
    let mut values = summary_values(spec, start, end);
    values.extend([
        V::U8(8),
        V::U8(1),
        V::U8(spec.sport.fit_code()),
        V::U8(0),
        V::U16(0),
        V::U16(1),
        V::U8(avg_hr),
        V::U8(max_hr),
    ]);
    if let Some((lat, lon)) = spec.gps {
        fields.extend_from_slice(&[(3, SINT32), (4, SINT32)]);
        values.push(V::I32(degrees_to_semicircles(lat)));
        values.push(V::I32(degrees_to_semicircles(lon)));
    }
    w.define(4, 18, &fields);
    w.record(4, &values);
}

fn write_activity_message(w: &mut MessageWriter, spec: &FitActivitySpec, end: u32) {
    let local_end = end as i64 + spec.start.offset().whole_seconds() as i64;
    w.define(
        5,
        34,
        &[
            (253, UINT32),
            (0, UINT32),
            (1, UINT16),
            (2, ENUM),
            (3, ENUM),
            (4, ENUM),
            (5, UINT32),
        ],
    );
    w.record(
        5,
        &[
            V::U32(end),
            V::U32((spec.duration_s * 1000.0).round() as u32),
            V::U16(1),
            V::U8(0),
            V::U8(26),
            V::U8(1),
            V::U32(local_end.max(0) as u32),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn crc_of_empty_is_zero_and_file_crc_checks_out() {
        assert_eq!(fit_crc(&[]), 0);
        let spec = FitActivitySpec::new(
            datetime!(2024-05-01 07:00 UTC),
            Sport::Running,
            600.0,
            2000.0,
        );
        let bytes = write_activity(&spec).unwrap();
        // A FIT file whose trailing CRC is included checks to zero.
        assert_eq!(fit_crc(&bytes), 0);
        assert_eq!(fit_crc(&bytes[..14]), 0);
        assert_eq!(&bytes[8..12], b".FIT");
    }

    #[test]
    fn rejects_bad_specs() {
        let mut spec =
            FitActivitySpec::new(datetime!(2024-05-01 07:00 UTC), Sport::Cycling, 60.0, 100.0);
        spec.records = 1;
        assert_eq!(write_activity(&spec), Err(FitWriteError::TooFewRecords(1)));
        spec.records = 5;
        spec.duration_s = 0.0;
        assert_eq!(write_activity(&spec), Err(FitWriteError::BadDuration(0.0)));
        spec.duration_s = 60.0;
        spec.start = datetime!(1980-01-01 00:00 UTC);
        assert!(matches!(
            write_activity(&spec),
            Err(FitWriteError::StartBeforeFitEpoch(_))
        ));
    }
}
