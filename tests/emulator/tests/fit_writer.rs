//! The FIT writer's output, read back with the independent `fitparser` decoder, and the
//! distinctness of synthetic activities (what a host's dedupe needs).

use std::collections::HashSet;
use std::time::Duration;

use fitparser::profile::MesgNum;
use fitparser::{FitDataRecord, Value};
use garmin_emulator::activity::summarize_fit;
use garmin_emulator::fit_writer::{write_activity, FitActivitySpec, Sport};
use garmin_emulator::synthetic_activities;
use sha2::{Digest, Sha256};
use time::macros::datetime;

fn field(record: &FitDataRecord, name: &str) -> Value {
    record
        .fields()
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("no field {name}"))
        .value()
        .clone()
}

fn number(v: Value) -> f64 {
    match v {
        Value::Float64(x) => x,
        Value::Float32(x) => x as f64,
        Value::UInt32(x) => x as f64,
        Value::UInt16(x) => x as f64,
        Value::UInt8(x) => x as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn written_activity_decodes_with_every_required_message() {
    let start = datetime!(2024-05-01 07:00 UTC);
    let spec = FitActivitySpec {
        records: 50,
        ..FitActivitySpec::new(start, Sport::Cycling, 1800.0, 15_000.0)
    };
    let bytes = write_activity(&spec).unwrap();
    let records = fitparser::from_bytes(&bytes).expect("fitparser decodes the file (CRC checked)");
    let kinds: Vec<MesgNum> = records.iter().map(|r| r.kind()).collect();
    for kind in [
        MesgNum::FileId,
        MesgNum::Record,
        MesgNum::Lap,
        MesgNum::Session,
        MesgNum::Activity,
        MesgNum::Event,
    ] {
        assert!(kinds.contains(&kind), "missing {kind:?}");
    }
    let file_id = records
        .iter()
        .find(|r| r.kind() == MesgNum::FileId)
        .unwrap();
    assert_eq!(field(file_id, "type").to_string(), "activity");
    let session = records
        .iter()
        .find(|r| r.kind() == MesgNum::Session)
        .unwrap();
    assert_eq!(field(session, "sport").to_string(), "cycling");
    assert!((number(field(session, "total_distance")) - 15_000.0).abs() < 0.01);
    assert!((number(field(session, "total_elapsed_time")) - 1800.0).abs() < 0.001);
    assert!((number(field(session, "total_timer_time")) - 1800.0).abs() < 0.001);
    match field(session, "start_time") {
        Value::Timestamp(t) => assert_eq!(t.timestamp(), start.unix_timestamp()),
        other => panic!("start_time is {other:?}"),
    }
    let samples: Vec<&FitDataRecord> = records
        .iter()
        .filter(|r| r.kind() == MesgNum::Record)
        .collect();
    assert_eq!(samples.len(), 50);
    for name in [
        "timestamp",
        "distance",
        "heart_rate",
        "position_lat",
        "position_long",
    ] {
        field(samples[0], name);
    }
    let last_distance = number(field(samples[49], "distance"));
    assert!((last_distance - 15_000.0).abs() < 0.01, "{last_distance}");
    let summary = summarize_fit(&bytes).unwrap();
    assert_eq!(
        (summary.start, summary.type_key.as_str()),
        (start, "cycling")
    );
}

#[test]
fn indoor_activity_has_no_positions() {
    let spec = FitActivitySpec {
        gps: None,
        ..FitActivitySpec::new(datetime!(2024-05-01 07:00 UTC), Sport::Running, 600.0, 0.0)
    };
    let records = fitparser::from_bytes(&write_activity(&spec).unwrap()).unwrap();
    let sample = records
        .iter()
        .find(|r| r.kind() == MesgNum::Record)
        .unwrap();
    assert!(sample.fields().iter().all(|f| f.name() != "position_lat"));
}

#[test]
fn synthetic_activities_are_distinct_for_a_dedupe() {
    let acts = synthetic_activities(
        40,
        datetime!(2024-06-30 07:00 +02:00),
        Duration::from_secs(6 * 60),
    );
    let ids: HashSet<u64> = acts.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 40);
    let hashes: HashSet<Vec<u8>> = acts
        .iter()
        .map(|a| Sha256::digest(a.fit.as_ref().unwrap()).to_vec())
        .collect();
    assert_eq!(hashes.len(), 40, "content hashes must differ");
    for (i, a) in acts.iter().enumerate() {
        let summary = summarize_fit(a.fit.as_ref().unwrap()).expect("decodes");
        assert_eq!(summary.start, a.start);
        assert!((summary.distance_m - a.distance_m).abs() < 0.01);
        for b in &acts[i + 1..] {
            let close_start = (a.start - b.start).whole_seconds().abs() <= 5 * 60;
            let close_distance =
                (a.distance_m - b.distance_m).abs() <= 0.05 * a.distance_m.max(b.distance_m);
            assert!(
                !(close_start && close_distance),
                "{} and {} would be merged",
                a.id,
                b.id
            );
            assert!(!close_start, "starts must be more than 5 min apart");
        }
    }
}
