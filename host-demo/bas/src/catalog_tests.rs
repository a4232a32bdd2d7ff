//! The catalog's lookups and listings, on summaries made for each case.

use super::*;
use crate::activity::Privacy;
use crate::sport::Sport;

fn entry(id: &str, started_at: &str, distance_m: f64) -> IndexEntry {
    IndexEntry {
        id: id.into(),
        title: "t".into(),
        sport: Sport::Cycling,
        sub_sport: None,
        started_at: started_at.into(),
        distance_m: Some(distance_m),
        duration_s: None,
        moving_time_s: None,
        elevation_gain_m: None,
        avg_speed_kmh: None,
        max_speed_kmh: None,
        avg_hr_bpm: None,
        max_hr_bpm: None,
        avg_cadence_rpm: None,
        avg_power_w: None,
        mmp: None,
        best_efforts: None,
        best_climb_m: None,
        source: None,
        privacy: Privacy::Public,
        detail_url: None,
        track_url: None,
        preview_coords: None,
        custom: None,
    }
}

#[test]
fn near_duplicates_need_close_start_and_close_distance() {
    let mut c = Catalog::default();
    c.insert(&entry("a", "2020-01-01T10:00:00+00:00", 10_000.0))
        .unwrap();
    c.insert(&entry("b", "2020-01-01T12:00:00+02:00", 0.0))
        .unwrap(); // same instant as a
    let t = parse_unix("2020-01-01T10:04:59Z").unwrap();
    assert_eq!(c.find_near(t, 10_400.0), Some("a"));
    assert_eq!(c.find_near(t, 0.5), Some("b"));
    assert_eq!(c.find_near(t, 10_600.0), None, "6 % longer");
    assert_eq!(c.find_near(t + 2, 10_000.0), None, "5 min 1 s later");
    let order: Vec<String> = c.newest_first().map(|e| e.unwrap().id).collect();
    assert_eq!(order, ["b", "a"]);
    assert_eq!(c.per_year().get(&2020), Some(&2));
    assert!(c.remove("a"));
    assert_eq!(c.per_year().get(&2020), Some(&1));
    assert_eq!(c.find_near(t, 10_000.0), None);
    assert_eq!(c.len(), 1);
}

#[test]
fn gathered_summaries_are_their_json_newest_first_across_chunks() {
    let mut c = Catalog::default();
    let mut expected = Vec::new();
    // Enough summaries for several chunks, sealed part way as a commit would.
    for k in 0..400 {
        let mut e = entry(&format!("a{k:03}"), "2020-01-01T10:00:00Z", f64::from(k));
        e.title = "x".repeat(200 + k as usize);
        e.started_at = format!("2020-01-01T10:{:02}:{:02}Z", k / 60, k % 60);
        expected.push(serde_json::to_vec(&e).unwrap());
        c.insert(&e).unwrap();
        if k == 150 {
            let _ = c.gather(None, usize::MAX);
        }
    }
    assert!(c.summaries.sealed_chunks() > 2, "spans chunks");
    expected.reverse();
    let mut out = Vec::new();
    c.gather(None, usize::MAX).write_to(&mut out).unwrap();
    assert_eq!(out, [b"[", &expected.join(&b","[..])[..], b"]"].concat());
    let mut out = Vec::new();
    c.gather(Some(2020), 2).write_to(&mut out).unwrap();
    assert_eq!(
        out,
        [b"[", &expected[..2].join(&b","[..])[..], b"]"].concat()
    );
    assert_eq!(c.get("a007").unwrap().unwrap().title, "x".repeat(207));
}

#[test]
fn removing_an_entry_forgets_its_content_hash() {
    let mut c = Catalog::default();
    let mut e = entry("a", "2020-01-01T10:00:00Z", 1.0);
    let mut custom = serde_json::Map::new();
    custom.insert("source_hash".into(), "sha256:ab".into());
    e.custom = Some(custom);
    c.insert(&e).unwrap();
    assert_eq!(c.id_for_hash("sha256:ab"), Some("a"));
    assert!(c.remove("a"));
    assert_eq!(c.id_for_hash("sha256:ab"), None);
}

fn with_hash(mut e: IndexEntry, hash: &str) -> IndexEntry {
    let mut custom = serde_json::Map::new();
    custom.insert("source_hash".into(), hash.into());
    e.custom = Some(custom);
    e
}

#[test]
fn equal_starts_are_listed_by_id_descending_and_the_nearest_tie_is_the_earlier_smaller_id() {
    let mut c = Catalog::default();
    for id in ["b", "a", "c"] {
        c.insert(&entry(id, "2020-01-01T10:00:00Z", 1000.0))
            .unwrap();
    }
    c.insert(&entry("z", "2020-01-01T09:59:00Z", 1000.0))
        .unwrap();
    c.insert(&entry("y", "2020-01-01T10:01:00Z", 1000.0))
        .unwrap();
    let order: Vec<String> = c.newest_first().map(|e| e.unwrap().id).collect();
    assert_eq!(order, ["y", "c", "b", "a", "z"]);
    let mut out = Vec::new();
    c.gather(None, 3).write_to(&mut out).unwrap();
    let listed: Vec<IndexEntry> = serde_json::from_slice(&out).unwrap();
    let ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["y", "c", "b"]);
    let ten = parse_unix("2020-01-01T10:00:00Z").unwrap();
    assert_eq!(
        c.find_near(ten, 1000.0),
        Some("a"),
        "same start: smaller id"
    );
    assert_eq!(
        c.find_near(ten + 30, 1000.0),
        Some("a"),
        "30 s from a, 30 s from y"
    );
    assert_eq!(
        c.find_near(ten - 30, 1000.0),
        Some("z"),
        "30 s from z and from a"
    );
}

#[test]
fn content_hashes_in_any_form_are_found_exactly_and_forgotten_when_replaced() {
    let mut c = Catalog::default();
    let ours = format!("sha256:{}", "ab".repeat(32));
    let upper = format!("sha256:{}", "AB".repeat(32));
    c.insert(&with_hash(entry("a", "2020-01-01T10:00:00Z", 1.0), &ours))
        .unwrap();
    c.insert(&with_hash(entry("b", "2020-01-02T10:00:00Z", 1.0), &upper))
        .unwrap();
    c.insert(&with_hash(entry("c", "2020-01-03T10:00:00Z", 1.0), "md5:x"))
        .unwrap();
    assert_eq!(c.id_for_hash(&ours), Some("a"));
    assert_eq!(c.id_for_hash(&upper), Some("b"), "kept as written");
    assert_eq!(c.id_for_hash("md5:x"), Some("c"));
    assert_eq!(c.id_for_hash("sha256:ab"), None);
    // The same id again, with other content: the old content is no longer this store's.
    c.insert(&with_hash(entry("a", "2021-01-01T10:00:00Z", 1.0), "md5:y"))
        .unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c.id_for_hash(&ours), None);
    assert_eq!(c.id_for_hash("md5:y"), Some("a"));
    assert_eq!(c.per_year().get(&2020), Some(&2));
    assert_eq!(
        c.get("a").unwrap().unwrap().started_at,
        "2021-01-01T10:00:00Z"
    );
    assert!(c.remove("c") && !c.remove("c"));
    assert_eq!(c.id_for_hash("md5:x"), None);
    assert!(!c.contains("c") && c.contains("b"));
}
