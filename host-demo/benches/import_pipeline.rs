//! Does importing get slower as the store grows? Per-activity cost of
//! importing a batch of new activities (convert, dedupe against ledger and
//! store, write, index, ledger transaction) into a store that already holds
//! 10,000 activities, against one that holds 1,000, measured in the same run,
//! rounds interleaved. Target: the ratio stays below 1.3.
//!
//! Run: `cargo bench -p host-demo --bench import_pipeline`.
//! The existing activities are imported through the same pipeline (small
//! synthetic FIT files, one a day going back from 2024), so the ledger and
//! the index are as large as the store claims.

use garmin_emulator::fit_writer::{write_activity, FitActivitySpec, Sport};
use host_demo::import::{open_local, ImportPipeline, Item, Outcome};
use std::path::Path;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const SMALL: u32 = 1_000;
const LARGE: u32 = 10_000;
/// New activities per measured batch, and measured batches per store.
const BATCH: u32 = 200;
const ROUNDS: u32 = 7;
/// 2024-01-01T07:00:00Z: the newest pre-existing activity.
const BASE: i64 = 1_704_092_400;
const DAY: i64 = 86_400;

fn activity(start: i64, records: usize, seed: u64) -> Vec<u8> {
    let start = OffsetDateTime::from_unix_timestamp(start).unwrap();
    let mut spec = FitActivitySpec::new(start, Sport::Cycling, 3600.0, 30_000.0);
    spec.records = records;
    spec.seed = seed;
    write_activity(&spec).expect("synthetic FIT")
}

fn import_all(pipeline: &mut ImportPipeline, files: &[Vec<u8>]) {
    for bytes in files {
        let outcome = pipeline.import(&Item::local("bench.fit", bytes)).unwrap();
        assert!(matches!(outcome, Outcome::Imported { .. }), "{outcome:?}");
    }
    pipeline.flush().unwrap();
}

/// A store holding `count` activities, one a day back from [`BASE`].
fn seeded(dir: &Path, count: u32) -> ImportPipeline {
    let started = Instant::now();
    let mut pipeline = open_local(dir, "bench").unwrap().with_batch_items(1_000);
    let files: Vec<Vec<u8>> = (0..count)
        .map(|n| activity(BASE - i64::from(n) * DAY, 10, u64::from(n)))
        .collect();
    import_all(&mut pipeline, &files);
    assert_eq!(pipeline.store().len(), count as usize);
    println!(
        "seeded {count} activities in {:.1} s ({:.2} ms each)",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(count)
    );
    pipeline
}

/// Imports round `round`'s batch of new activities (an hour of 1 Hz-ish
/// records each, after everything already stored); the time per activity.
fn measured_batch(pipeline: &mut ImportPipeline, round: u32) -> Duration {
    let files: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| {
            let n = round * BATCH + i + 1;
            activity(BASE + i64::from(n) * DAY / 2, 720, 1_000_000 + u64::from(n))
        })
        .collect();
    let started = Instant::now();
    import_all(pipeline, &files);
    started.elapsed() / BATCH
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let small_dir = tempfile::tempdir().unwrap();
    let large_dir = tempfile::tempdir().unwrap();
    let mut small = seeded(small_dir.path(), SMALL);
    let mut large = seeded(large_dir.path(), LARGE);

    let mut small_times = Vec::new();
    let mut large_times = Vec::new();
    for round in 0..ROUNDS {
        // Alternate which goes first, so drift on the machine hits both.
        if round % 2 == 0 {
            small_times.push(measured_batch(&mut small, round));
            large_times.push(measured_batch(&mut large, round));
        } else {
            large_times.push(measured_batch(&mut large, round));
            small_times.push(measured_batch(&mut small, round));
        }
    }
    let (s, l) = (median(small_times.clone()), median(large_times.clone()));
    let ratio = l.as_secs_f64() / s.as_secs_f64();
    let ms = |d: &Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
    println!(
        "per new activity, batches of {BATCH} (median of {ROUNDS} rounds):\n  \
         store of {SMALL:>6}: {} ms   rounds {:?}\n  \
         store of {LARGE:>6}: {} ms   rounds {:?}\n  \
         ratio {LARGE}/{SMALL}: {ratio:.2} (target < 1.30) {}",
        ms(&s),
        small_times.iter().map(ms).collect::<Vec<_>>(),
        ms(&l),
        large_times.iter().map(ms).collect::<Vec<_>>(),
        if ratio < 1.3 { "ok" } else { "OVER TARGET" }
    );
}
