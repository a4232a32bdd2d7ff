//! The fast decoding path (only the messages BAS needs, `record`s read by field number) gives
//! exactly what the old path (fitparser's full profile conversion, kept as
//! `convert_with_profile`) gave: byte-identical BAS activity files for every fixture, and the
//! same result for thousands of truncations and bit flips of them.

mod common;

use std::fs;
use std::path::Path;

use bincio_bas::{convert, convert_with_profile, BasStore, Converted, Encoded, Rejected};
use common::*;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = fs::read_dir(fit_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.to_ascii_lowercase().ends_with(".fit"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "{names:?}");
    names
        .into_iter()
        .map(|n| {
            let bytes = fixture(&n);
            (n, bytes)
        })
        .collect()
}

/// Every file under `dir`, relative path and bytes, sorted.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Writes every convertible fixture into a fresh store with `conv`; returns the store's files.
fn store_with(conv: fn(&[u8], &str) -> Result<Converted, Rejected>) -> Vec<(String, Vec<u8>)> {
    let root = tempfile::tempdir().unwrap();
    let mut store = BasStore::open(root.path(), "me").unwrap();
    let mut batch = store.begin_batch();
    for (name, bytes) in fixtures() {
        if let Ok(converted) = conv(&bytes, &name) {
            batch.add(&converted).unwrap();
        }
    }
    batch.commit().unwrap();
    files_under(root.path())
}

#[test]
fn every_fixture_gives_byte_identical_store_files() {
    let old = store_with(convert_with_profile);
    let new = store_with(convert);
    let activities = old
        .iter()
        .filter(|(p, _)| p.contains("activities") && p.ends_with(".json"))
        .count();
    assert!(activities >= 10, "only {activities} activities stored");
    assert_eq!(
        old.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        new.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, old_bytes), (_, new_bytes)) in old.iter().zip(&new) {
        if path.ends_with("index.json") {
            // Only its `generated_at` may differ: it says when it was written.
            let strip = |bytes: &[u8]| {
                let mut index: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                index.as_object_mut().unwrap().remove("generated_at");
                index
            };
            assert_eq!(strip(old_bytes), strip(new_bytes), "{path}");
            continue;
        }
        assert!(
            old_bytes == new_bytes,
            "{path} differs:\nold: {}\nnew: {}",
            String::from_utf8_lossy(old_bytes),
            String::from_utf8_lossy(new_bytes)
        );
    }
    // Rejections too: the same cause for the same file.
    for (name, bytes) in fixtures() {
        let (old, new) = (convert_with_profile(&bytes, &name), convert(&bytes, &name));
        if let (Err(old), Err(new)) = (&old, &new) {
            assert_eq!(old, new, "{name}");
        }
        assert_eq!(old.is_ok(), new.is_ok(), "{name}");
    }
}

/// How often the old path is run to tell whether it has one answer.
const OLD_PATH_RUNS: usize = 3;

/// The new path gives what the old path gives, wherever the old path has one answer: where a
/// damaged definition makes two fields of one record expand to the same value, fitparser keeps
/// them in hash-map order, which changes from run to run and record to record. Returns whether
/// the old path had one answer (the case counted).
fn same(bytes: &[u8], what: &str) -> bool {
    let new = convert(bytes, "x.fit");
    let old = convert_with_profile(bytes, "x.fit");
    if old == new {
        return true;
    }
    for _ in 1..OLD_PATH_RUNS {
        if convert_with_profile(bytes, "x.fit") != old {
            return false;
        }
    }
    match (old, new) {
        (Ok(old), Ok(new)) => {
            if old != new {
                let (old, new) = (format!("{old:#?}"), format!("{new:#?}"));
                let lines: Vec<&str> = old.lines().collect();
                let at = lines
                    .iter()
                    .zip(new.lines())
                    .position(|(a, b)| *a != b)
                    .unwrap_or(0);
                let context = lines[at.saturating_sub(12)..=at].join("\n");
                let theirs = new.lines().nth(at).unwrap_or("");
                panic!("{what}: the conversions differ at the end of:\n{context}\n(new: {theirs})");
            }
        }
        (Err(old), Err(new)) => assert_eq!(old, new, "{what}"),
        (old, new) => panic!(
            "{what}: old {:?}, new {:?}",
            old.map(|c| c.activity.id),
            new.map(|c| c.activity.id)
        ),
    }
    true
}

#[test]
fn truncations_convert_as_the_old_path_did() {
    let mut rng = Rng(0x0005_eed1);
    for (name, bytes) in fixtures() {
        for _ in 0..12 {
            let cut = rng.below(bytes.len());
            same(&bytes[..cut], &format!("{name} cut at {cut}"));
        }
    }
}

#[test]
fn bit_flips_convert_as_the_old_path_did() {
    let mut rng = Rng(0x000f_11b5);
    let (mut cases, mut undefined) = (0, 0);
    for (name, bytes) in fixtures() {
        for _ in 0..40 {
            let mut flipped = bytes.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = rng.below(flipped.len());
                flipped[at] ^= 1 << rng.below(8);
            }
            cases += 1;
            if !same(&flipped, &format!("{name} with {flips} bit flip(s)")) {
                undefined += 1;
            }
        }
    }
    // Nearly every damaged file has one answer, so nearly every case compares.
    assert!(
        undefined * 20 < cases,
        "{undefined} of {cases} without one answer"
    );
}

/// A conversion serialized ahead frees its timeseries, and reading it back from the bytes
/// gives the same activity (every `f64`, every `null`), so an activity stored under another
/// id than the one it was serialized with is written exactly as if it had never been freed.
#[test]
fn an_activity_serialized_ahead_reads_back_exactly() {
    let mut checked = 0;
    for (name, bytes) in fixtures() {
        let Ok(original) = convert(&bytes, &name) else {
            continue;
        };
        let mut waiting = original.clone();
        let encoded = Encoded::ahead(&mut waiting).unwrap();
        assert_eq!(waiting.activity.timeseries, Default::default(), "{name}");
        assert_ne!(
            original.activity.timeseries.t.len(),
            0,
            "{name} has records"
        );
        encoded.restore(&mut waiting).unwrap();
        assert_eq!(waiting, original, "{name}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} fixtures converted");
}
