//! The fast path of FIT decoding: fitparser still parses headers, definitions and data
//! messages, but only the message kinds the BAS activity reads are converted, and `record`
//! messages (nearly all of a file) are read by field number straight from the raw
//! [`FitDataMessage`], with the profile's scale, offset and components applied by a small table
//! of ours ([`RecordSink::record`]). Messages of other kinds are not converted at all.
//!
//! The result must be exactly what fitparser's full conversion gave (the old path,
//! [`crate::decode::ProfileSink`], kept as the oracle and as the fallback): compressed
//! timestamps, components (`compressed_speed_distance`, `altitude` and `speed` expanding to their
//! `enhanced_` fields), accumulated distance, invalid values (dropped by the parser), developer
//! fields (skipped), the same messages refused. Where a message is outside what this path
//! reproduces exactly (a value of a type the profile would refuse or convert differently, a
//! developer field named like a field BAS reads, two fields expanding to one with different
//! values), it answers [`Unsupported`] and the whole file is decoded again the old way: rare,
//! and only for odd or damaged files.

use std::collections::HashMap;

use fitparser::de::{FitDataMessage, FitStreamProcessor};
use fitparser::profile::MesgNum;
use fitparser::{FitDataRecord, Value};

use crate::decode::{MessageSink, Taken, Unsupported};
use crate::messages::{FitContent, RecordValues, FIT_EPOCH_UNIX, RECORD_NAMES};

/// The FIT `timestamp` field number, the same in every message.
const TIMESTAMP: u8 = 253;
/// Base timestamps beyond this (seconds from the FIT epoch) make fitparser's date arithmetic
/// panic or misbehave; a file holding one is left to the old path, which handles the panic.
const MAX_SANE_TIMESTAMP: i64 = 1 << 40;

/// `record` field numbers, with the scale and offset fitparser's profile applies
/// (`value / scale - offset`).
mod record {
    pub const POSITION_LAT: u8 = 0;
    pub const POSITION_LONG: u8 = 1;
    pub const ALTITUDE: u8 = 2; // expands to enhanced_altitude (16 bits)
    pub const HEART_RATE: u8 = 3;
    pub const CADENCE: u8 = 4;
    pub const DISTANCE: u8 = 5;
    pub const SPEED: u8 = 6; // expands to enhanced_speed (16 bits)
    pub const POWER: u8 = 7;
    pub const COMPRESSED_SPEED_DISTANCE: u8 = 8; // speed (12 bits), distance (12 bits, summed)
    pub const TEMPERATURE: u8 = 13;
    pub const ENHANCED_SPEED: u8 = 73;
    pub const ENHANCED_ALTITUDE: u8 = 78;

    /// (scale, offset) of the altitude fields.
    pub const ALTITUDE_SCALE: (f64, f64) = (5.0, 500.0);
    /// (scale, offset) of the speed fields.
    pub const SPEED_SCALE: (f64, f64) = (1000.0, 0.0);
    pub const DISTANCE_SCALE: (f64, f64) = (100.0, 0.0);
    /// The components of `compressed_speed_distance`.
    pub const COMPRESSED_SPEED_SCALE: (f64, f64) = (100.0, 0.0);
    pub const COMPRESSED_DISTANCE_SCALE: (f64, f64) = (16.0, 0.0);
}

/// Decodes into a [`FitContent`] the fast way (see the module doc).
pub(crate) struct RecordSink<'a> {
    fit: &'a mut FitContent,
    /// The last full timestamp seen, in FIT seconds (what compressed timestamps count from).
    base_timestamp: i64,
    /// The sum of `compressed_speed_distance` distance components so far, in 1/16 m.
    compressed_distance: u64,
    /// Developer field names by (developer data index, field number), from the
    /// `field_description` messages seen.
    developer_names: HashMap<(u8, u8), String>,
}

impl<'a> RecordSink<'a> {
    pub(crate) fn new(fit: &'a mut FitContent) -> Self {
        Self {
            fit,
            base_timestamp: 0,
            compressed_distance: 0,
            developer_names: HashMap::new(),
        }
    }

    /// fitparser's compressed-timestamp rule: the 5-bit offset replaces the low bits of the
    /// last timestamp, rolling over once.
    fn update_timestamp(&mut self, offset: u8) -> i64 {
        let offset = i64::from(offset);
        let mask = 31;
        let mut value = offset + (self.base_timestamp & !mask);
        if offset < (self.base_timestamp & mask) {
            value += 32;
        }
        self.base_timestamp = value;
        FIT_EPOCH_UNIX + value
    }

    /// A message of a kind BAS reads besides `record`, converted by fitparser; its compressed
    /// timestamp (if any) is ours, since fitparser's decoder did not see the records.
    fn converted(
        &mut self,
        processor: &mut FitStreamProcessor,
        message: FitDataMessage,
    ) -> Result<Taken, Unsupported> {
        let offset = message.time_offset();
        match processor.decode_message(message) {
            Ok(record) => {
                let at = offset.map(|o| self.update_timestamp(o));
                self.absorb(record, at);
                Ok(Taken::Used)
            }
            Err(error) => Ok(Taken::Failed(error.to_string())),
        }
    }

    fn absorb(&mut self, record: FitDataRecord, at: Option<i64>) {
        match record.kind() {
            MesgNum::FieldDescription => self.learn_developer_field(&record),
            MesgNum::Hr => {}
            _ => self.fit.absorb_at(record, at),
        }
    }

    /// Remembers a developer field's name, as fitparser's decoder does.
    fn learn_developer_field(&mut self, record: &FitDataRecord) {
        let mut index = None;
        let mut number = None;
        let mut name = None;
        for field in record.fields() {
            match (field.name(), field.value()) {
                ("developer_data_index", Value::UInt8(v)) => index = Some(*v),
                ("field_definition_number", Value::UInt8(v)) => number = Some(*v),
                ("field_name", Value::String(v)) => name = Some(v.clone()),
                _ => {}
            }
        }
        if let (Some(index), Some(number)) = (index, number) {
            let name = name.unwrap_or_else(|| format!("unknown_developer_field_{number}"));
            self.developer_names.insert((index, number), name);
        }
    }

    /// One `record` message, read by field number.
    fn record(&mut self, message: &FitDataMessage) -> Result<Taken, Unsupported> {
        for (key, value) in message.developer_fields() {
            if matches!(value, Value::String(_)) {
                return Err(Unsupported("a text developer field in a record"));
            }
            match self.developer_names.get(key) {
                Some(name) if !RECORD_NAMES.contains(&name.as_str()) => {}
                _ => return Err(Unsupported("a developer field named like a record field")),
            }
        }
        let mut values = RecordValues::default();
        let mut altitude = Expanded::default();
        let mut speed = Expanded::default();
        let mut distance = Expanded::default();
        for (&number, value) in message.fields() {
            if !plain(value) {
                return Err(Unsupported("a record field of an unexpected type"));
            }
            match number {
                // The profile keeps an array as it is: no date, so no time for the record.
                TIMESTAMP if matches!(value, Value::Array(_)) => values.t = None,
                TIMESTAMP => values.t = Some(FIT_EPOCH_UNIX + timestamp_raw(value)?),
                record::POSITION_LAT => values.lat = unscaled(value),
                record::POSITION_LONG => values.lon = unscaled(value),
                record::HEART_RATE => values.hr = unscaled(value),
                record::CADENCE => values.cadence = unscaled(value),
                record::POWER => values.power = unscaled(value),
                record::TEMPERATURE => values.temperature = unscaled(value),
                record::DISTANCE => distance.set(scaled(value, record::DISTANCE_SCALE))?,
                record::ALTITUDE => {
                    let bits = component(value, 0, 16) as f64;
                    altitude.set(finite(apply(bits, record::ALTITUDE_SCALE)))?;
                }
                record::ENHANCED_ALTITUDE => {
                    altitude.set(scaled(value, record::ALTITUDE_SCALE))?;
                }
                record::SPEED => {
                    let bits = component(value, 0, 16) as f64;
                    speed.set(finite(apply(bits, record::SPEED_SCALE)))?;
                }
                record::ENHANCED_SPEED => speed.set(scaled(value, record::SPEED_SCALE))?,
                record::COMPRESSED_SPEED_DISTANCE => {
                    let bits = component(value, 0, 12) as f64;
                    speed.set(finite(apply(bits, record::COMPRESSED_SPEED_SCALE)))?;
                    self.compressed_distance = self
                        .compressed_distance
                        .wrapping_add(component(value, 12, 12));
                    let sum = self.compressed_distance as f64;
                    distance.set(finite(apply(sum, record::COMPRESSED_DISTANCE_SCALE)))?;
                }
                _ => {}
            }
        }
        values.enhanced_altitude = altitude.value;
        values.enhanced_speed = speed.value;
        values.distance = distance.value;
        if let Some(offset) = message.time_offset() {
            values.t = Some(self.update_timestamp(offset));
        }
        self.fit.push_record(&values);
        Ok(Taken::Used)
    }
}

impl MessageSink for RecordSink<'_> {
    fn new_part(&mut self) {
        self.base_timestamp = 0;
        self.compressed_distance = 0;
        self.developer_names.clear();
    }

    fn data(
        &mut self,
        processor: &mut FitStreamProcessor,
        message: FitDataMessage,
    ) -> Result<Taken, Unsupported> {
        // fitparser's decoder takes every message's timestamp as the base for compressed ones.
        if let Some(value) = message.fields().get(&TIMESTAMP) {
            self.base_timestamp = timestamp_raw(value)?;
        }
        match MesgNum::from(message.global_message_number()) {
            MesgNum::Record => self.record(&message),
            // `hr` is converted (not read) because only it accumulates values across
            // messages, which decides whether a later one is refused.
            MesgNum::FileId
            | MesgNum::Sport
            | MesgNum::Session
            | MesgNum::Lap
            | MesgNum::Activity
            | MesgNum::FieldDescription
            | MesgNum::Hr => self.converted(processor, message),
            _ if could_be_refused(&message) => {
                // Converted only to know whether fitparser would refuse it.
                let offset = message.time_offset();
                match processor.decode_message(message) {
                    Ok(_) => {
                        if let Some(offset) = offset {
                            self.update_timestamp(offset);
                        }
                        Ok(Taken::Used)
                    }
                    Err(error) => Ok(Taken::Failed(error.to_string())),
                }
            }
            _ => {
                if let Some(offset) = message.time_offset() {
                    self.update_timestamp(offset);
                }
                Ok(Taken::Used)
            }
        }
    }
}

/// One BAS value that more than one field can expand to (`distance` from `distance` and from
/// `compressed_speed_distance`): fitparser keeps them in hash order, so only agreeing values
/// give one answer.
#[derive(Default)]
struct Expanded {
    seen: bool,
    value: Option<f64>,
}

impl Expanded {
    fn set(&mut self, value: Option<f64>) -> Result<(), Unsupported> {
        let agrees = |a: Option<f64>, b: Option<f64>| a.map(f64::to_bits) == b.map(f64::to_bits);
        if self.seen && !agrees(self.value, value) {
            return Err(Unsupported(
                "two fields of a record expand to different values",
            ));
        }
        self.seen = true;
        self.value = value;
        Ok(())
    }
}

/// Whether a raw value is of a type every profile conversion of a `record` field takes the
/// same way (integers, arrays of them); text and floats may be refused or kept as they are.
fn plain(value: &Value) -> bool {
    match value {
        Value::String(_) | Value::Float32(_) | Value::Float64(_) | Value::Timestamp(_) => false,
        Value::Array(items) => items.iter().all(plain),
        _ => true,
    }
}

/// Whether fitparser's conversion could refuse a message of a kind BAS does not read: only
/// text, floats (an enum field refuses them) or 64-bit values (a date field overflows).
fn could_be_refused(message: &FitDataMessage) -> bool {
    let odd = |value: &Value| {
        matches!(
            value,
            Value::String(_)
                | Value::Float32(_)
                | Value::Float64(_)
                | Value::SInt64(_)
                | Value::UInt64(_)
                | Value::UInt64z(_)
        )
    };
    message.fields().values().any(odd)
        || message
            .developer_fields()
            .values()
            .any(|v| matches!(v, Value::String(_)))
}

/// A date field's raw value as fitparser reads it (an integer; anything else counts as 0).
fn timestamp_raw(value: &Value) -> Result<i64, Unsupported> {
    let raw = integer(value).unwrap_or(0);
    if raw.abs() > MAX_SANE_TIMESTAMP {
        return Err(Unsupported("a timestamp beyond any date"));
    }
    Ok(raw)
}

/// fitparser's `TryInto<i64>` for the integer variants.
fn integer(value: &Value) -> Option<i64> {
    Some(match *value {
        Value::Byte(v) | Value::Enum(v) | Value::UInt8(v) | Value::UInt8z(v) => i64::from(v),
        Value::SInt8(v) => i64::from(v),
        Value::SInt16(v) => i64::from(v),
        Value::UInt16(v) | Value::UInt16z(v) => i64::from(v),
        Value::SInt32(v) => i64::from(v),
        Value::UInt32(v) | Value::UInt32z(v) => i64::from(v),
        Value::SInt64(v) => v,
        Value::UInt64(v) | Value::UInt64z(v) => v as i64,
        _ => return None,
    })
}

/// A field with scale 1 and offset 0: its value as it is (arrays are no number).
fn unscaled(value: &Value) -> Option<f64> {
    finite(as_f64(value)?)
}

/// A scaled field: `value / scale - offset` (an array stays an array: no number).
fn scaled(value: &Value, scale: (f64, f64)) -> Option<f64> {
    finite(apply(as_f64(value)?, scale))
}

/// fitparser's `TryInto<f64>` for the integer variants.
fn as_f64(value: &Value) -> Option<f64> {
    match *value {
        Value::UInt64(v) | Value::UInt64z(v) => Some(v as f64),
        _ => integer(value).map(|v| v as f64),
    }
}

fn apply(raw: f64, (scale, offset): (f64, f64)) -> f64 {
    raw / scale - offset
}

fn finite(n: f64) -> Option<f64> {
    n.is_finite().then_some(n)
}

/// `nbits` bits from bit `from` of the value's native-endian bytes, least significant first,
/// as fitparser extracts a component (missing bytes read as zero).
fn component(value: &Value, from: u32, nbits: u32) -> u64 {
    let mut bytes = [0u8; 8];
    let mut len = 0;
    native_bytes(value, &mut bytes, &mut len);
    let all = u64::from_le_bytes(bytes);
    (all >> from) & ((1u64 << nbits) - 1)
}

/// Appends the value's native-endian bytes to `out` (up to its 8 bytes).
fn native_bytes(value: &Value, out: &mut [u8; 8], len: &mut usize) {
    let mut push = |bytes: &[u8]| {
        for &b in bytes {
            if *len < out.len() {
                out[*len] = b;
                *len += 1;
            }
        }
    };
    match value {
        Value::Byte(v) | Value::Enum(v) | Value::UInt8(v) | Value::UInt8z(v) => push(&[*v]),
        Value::SInt8(v) => push(&v.to_ne_bytes()),
        Value::SInt16(v) => push(&v.to_ne_bytes()),
        Value::UInt16(v) | Value::UInt16z(v) => push(&v.to_ne_bytes()),
        Value::SInt32(v) => push(&v.to_ne_bytes()),
        Value::UInt32(v) | Value::UInt32z(v) => push(&v.to_ne_bytes()),
        Value::SInt64(v) => push(&v.to_ne_bytes()),
        Value::UInt64(v) | Value::UInt64z(v) => push(&v.to_ne_bytes()),
        Value::Array(items) => {
            for item in items {
                native_bytes(item, out, len);
            }
        }
        // Refused by `plain` before any component is read.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_read_bits_least_significant_first() {
        // compressed_speed_distance: three bytes, speed in the low 12 bits.
        let csd = Value::Array(vec![
            Value::Byte(0x34),
            Value::Byte(0x12),
            Value::Byte(0xAB),
        ]);
        assert_eq!(component(&csd, 0, 12), 0x234);
        assert_eq!(component(&csd, 12, 12), 0xAB1);
        assert_eq!(component(&Value::UInt16(0xBEEF), 0, 16), 0xBEEF);
        assert_eq!(component(&Value::UInt8(7), 0, 16), 7);
        assert_eq!(component(&Value::UInt32(0x0001_0002), 0, 16), 2);
    }

    #[test]
    fn compressed_timestamps_roll_over_like_fitparsers() {
        let mut fit = FitContent::default();
        let mut sink = RecordSink::new(&mut fit);
        sink.base_timestamp = 1000; // low 5 bits: 8
        assert_eq!(sink.update_timestamp(10), FIT_EPOCH_UNIX + 1002);
        assert_eq!(sink.update_timestamp(3), FIT_EPOCH_UNIX + 1027);
    }

    #[test]
    fn odd_values_are_left_to_the_old_path() {
        assert!(plain(&Value::Array(vec![Value::UInt8(1)])));
        assert!(!plain(&Value::Float32(1.0)));
        assert!(!plain(&Value::String("x".into())));
        assert!(timestamp_raw(&Value::UInt64(u64::MAX / 2)).is_err());
        assert_eq!(timestamp_raw(&Value::String("x".into())), Ok(0));
        let mut twice = Expanded::default();
        twice.set(Some(1.0)).unwrap();
        twice.set(Some(1.0)).unwrap();
        assert!(twice.set(Some(2.0)).is_err());
    }
}
