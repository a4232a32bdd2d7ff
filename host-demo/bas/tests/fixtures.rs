//! Every real FIT fixture gives the outcome its README describes, with the device's figures;
//! every file written for them validates against the BAS schema.

mod common;

use std::collections::BTreeSet;
use std::fs;

use bincio_bas::{
    content_hash, convert, convert_hashed, Added, BasStore, RejectCause, Sport, SubSport, Warning,
};
use common::*;
use time::format_description::well_known::Rfc3339;

#[test]
fn every_fixture_is_described_by_the_readme() {
    let listed: BTreeSet<String> = readme_rows().into_iter().map(|r| r.file).collect();
    let on_disk: BTreeSet<String> = fs::read_dir(fit_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".fit"))
        .collect();
    assert_eq!(listed, on_disk);
}

#[test]
fn every_fixture_gives_the_readme_outcome_and_figures() {
    for row in readme_rows() {
        let bytes = fixture(&row.file);
        let outcome = convert(&bytes, &row.file);
        if !row.is_activity() {
            let rejected = outcome.expect_err(&row.file);
            assert_eq!(rejected.file_name, row.file);
            assert_eq!(
                rejected.cause,
                RejectCause::NotAnActivity {
                    file_type: row.file_type.clone()
                },
                "{}",
                row.file
            );
            assert!(
                rejected.to_string().contains("not an activity"),
                "{rejected}"
            );
            continue;
        }
        let c = outcome.unwrap_or_else(|e| panic!("{} rejected: {e}", row.file));
        let a = &c.activity;
        let name = &row.file;
        assert_eq!(
            Some(a.sport.as_str()),
            row.sport.as_deref(),
            "{name}: sport"
        );
        let expected_m = row.distance_m.expect("README distance");
        let distance = c.distance_m.expect("distance");
        assert!(
            (distance - expected_m).abs() <= 0.01 * expected_m,
            "{name}: distance {distance} vs README {expected_m}"
        );
        let expected_s = row.elapsed_s.expect("README elapsed");
        let elapsed = c.elapsed_s.expect("elapsed") as f64;
        assert!(
            (elapsed - expected_s).abs() <= 1.0,
            "{name}: elapsed {elapsed} vs README {expected_s}"
        );
        assert_eq!(a.duration_s, c.elapsed_s);
        let samples = a.timeseries.t.len();
        assert!(
            samples > 0 && samples <= row.records,
            "{name}: {samples} samples"
        );
        assert!(
            a.timeseries.t.windows(2).all(|w| w[0] < w[1]),
            "{name}: 1 Hz, in order"
        );
        assert_eq!(a.source_file.as_deref(), Some(name.as_str()));
        assert_eq!(a.source_hash, Some(format!("sha256:{}", c.sha256)));
        assert!(!a.laps.is_empty(), "{name}: laps");
        assert!(a.device.is_some(), "{name}: device");
        if row.expects_salvage() {
            assert!(!c.warnings.is_empty(), "{name}: salvage must warn");
            assert_eq!(
                a.warnings().len(),
                c.warnings.len(),
                "{name}: warnings kept in custom"
            );
        } else if row.sessions == 1 {
            assert!(
                c.warnings.is_empty(),
                "{name}: clean file warned {:?}",
                c.warnings
            );
        }
    }
}

#[test]
fn salvage_warnings_name_the_damage() {
    let crc = convert_fixture("activity-filecrc.fit");
    assert!(
        matches!(crc.warnings[..], [Warning::FileCrcMismatch { .. }]),
        "{:?}",
        crc.warnings
    );
    let eof = convert_fixture("activity-unexpected-eof.fit");
    assert!(
        matches!(eof.warnings[..], [Warning::Truncated { .. }]),
        "{:?}",
        eof.warnings
    );
    let header = convert_fixture("activity-settings-corruptheader.fit");
    assert!(
        matches!(
            header.warnings[..],
            [Warning::CorruptChainedHeader { offset: 771, .. }]
        ),
        "{:?}",
        header.warnings
    );
    // The salvaged files hold the same activity as the intact original (the truncated one
    // lost its final `activity` message, and with it the local UTC offset).
    let intact = convert_fixture("Activity.fit");
    for salvaged in [&crc, &eof, &header] {
        let (a, b) = (&salvaged.activity, &intact.activity);
        assert_eq!(a.timeseries, b.timeseries);
        assert_eq!(a.laps.len(), b.laps.len());
        assert_eq!(
            (a.laps[0].distance_m, a.laps[0].duration_s),
            (b.laps[0].distance_m, b.laps[0].duration_s)
        );
        assert_eq!(salvaged.started_at_unix, intact.started_at_unix);
    }
    assert_eq!(eof.activity.started_at, "2012-04-09T21:22:26+00:00");
}

#[test]
fn multisport_file_becomes_its_first_session() {
    let c = convert_fixture("sample_mulitple_header.fit");
    let a = &c.activity;
    assert_eq!(
        (a.sport, a.sub_sport),
        (Sport::Swimming, Some(SubSport::OpenWater))
    );
    assert_eq!(c.distance_m, Some(1644.71));
    assert_eq!(c.elapsed_s, Some(1988));
    assert_eq!(
        c.warnings,
        vec![Warning::MultisportFirstSessionOnly { sessions: 5 }]
    );
    let sessions = a.custom["multisport"]
        .as_array()
        .expect("custom.multisport");
    let sports: Vec<&str> = sessions
        .iter()
        .map(|s| s["fit_sport"].as_str().unwrap())
        .collect();
    assert_eq!(
        sports,
        ["swimming", "transition", "cycling", "transition", "running"]
    );
    // Only the swim's records: the last sample comes before the first transition starts.
    let transition = sessions[1]["started_at"]
        .as_str()
        .expect("transition start");
    let transition_unix = time::OffsetDateTime::parse(transition, &Rfc3339)
        .expect("RFC 3339")
        .unix_timestamp();
    let last_sample = c.started_at_unix + a.timeseries.t.last().copied().unwrap();
    assert!(
        last_sample < transition_unix,
        "{last_sample} >= {transition_unix}"
    );
    assert_eq!(a.laps.len(), 1);
}

#[test]
fn started_at_carries_the_local_offset_and_the_id_is_utc() {
    let c = convert_fixture("Activity.fit");
    assert_eq!(c.activity.started_at, "2012-04-09T17:22:26-04:00");
    assert_eq!(c.id(), "2012-04-09T212226Z");
    assert_eq!(c.activity.title, "Evening Running");
    let no_local_time = convert_fixture("sample-activity.fit");
    assert!(no_local_time.activity.started_at.ends_with("+00:00"));
}

#[test]
fn every_file_written_validates_against_the_schema() {
    let validator = schema();
    let root = tempfile::tempdir().unwrap();
    let mut store = BasStore::open(root.path(), "alice").unwrap();
    let corpus = converted_corpus();
    let mut batch = store.begin_batch();
    let ids: Vec<Added> = corpus.iter().map(|c| batch.add(c).unwrap()).collect();
    batch.commit().unwrap();
    assert!(ids.iter().all(|a| matches!(a, Added::New(_))), "{ids:?}");
    assert_file_valid(&validator, &store.index_path());
    for added in &ids {
        assert_file_valid(&validator, &store.activity_path(added.id()));
        let track = store.track_path(added.id());
        if track.exists() {
            let geo: serde_json::Value =
                serde_json::from_slice(&fs::read(&track).unwrap()).unwrap();
            assert_eq!(geo["type"], "Feature");
            assert_eq!(geo["geometry"]["type"], "LineString");
            assert_eq!(geo["properties"]["id"], added.id());
            assert!(geo["geometry"]["coordinates"].as_array().unwrap().len() >= 2);
        }
    }
    // The four Activity.fit variants share a start second: the later ones get hash suffixes.
    let unique: BTreeSet<&str> = ids.iter().map(Added::id).collect();
    assert_eq!(unique.len(), corpus.len());
    assert_eq!(store.len(), corpus.len());
    for entry in store.list().unwrap() {
        let stored = store.read_activity(&entry.id).unwrap();
        assert_eq!(
            stored.id, entry.id,
            "the document carries its (possibly suffixed) id"
        );
    }
}

#[test]
fn the_same_file_twice_gives_the_same_id_and_content() {
    let first = convert_fixture("Edge810-Vector-2013-08-16-15-35-10.fit");
    let second = convert_fixture("Edge810-Vector-2013-08-16-15-35-10.fit");
    assert_eq!(first, second);
    let root = tempfile::tempdir().unwrap();
    let written = |handle: &str| {
        let mut store = BasStore::open(root.path(), handle).unwrap();
        let mut batch = store.begin_batch();
        let added = batch.add(&first).unwrap();
        assert_eq!(
            batch.add(&second).unwrap(),
            Added::AlreadyStored(added.id().to_string())
        );
        batch.commit().unwrap();
        assert_eq!(store.find_by_hash(&first.sha256), Some(added.id()));
        (
            added.id().to_string(),
            fs::read(store.activity_path(added.id())).unwrap(),
            fs::read(store.track_path(added.id())).unwrap(),
        )
    };
    let (id_a, json_a, geo_a) = written("a");
    let (id_b, json_b, geo_b) = written("b");
    assert_eq!(id_a, "2013-08-16T180510Z");
    assert_eq!((id_a, json_a, geo_a), (id_b, json_b, geo_b));
    // Reopened, the store still knows the content.
    let store = BasStore::open(root.path(), "a").unwrap();
    assert_eq!(
        store.find_by_hash(&first.sha256),
        Some("2013-08-16T180510Z")
    );
}

/// The host hashes each file once and hands the hash in: it is taken as given (not computed
/// again), and it is what `convert` computes for the same bytes.
#[test]
fn a_content_hash_handed_in_is_used_as_given() {
    let name = "garmin-fenix-5-run.fit";
    let bytes = fixture(name);
    let own = convert(&bytes, name).unwrap();
    assert_eq!(own.sha256, content_hash(&bytes));
    assert_eq!(own.sha256.len(), 64);
    assert!(own
        .sha256
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let given = "ab".repeat(32);
    let handed = convert_hashed(&bytes, name, &given).unwrap();
    assert_eq!(handed.sha256, given);
    assert_eq!(handed.activity.source_hash, Some(format!("sha256:{given}")));
    let mut same = handed.clone();
    same.sha256 = own.sha256.clone();
    same.activity.source_hash = own.activity.source_hash.clone();
    assert_eq!(same, own, "only the hash differs");
}
