//! Importing on every core decides exactly as importing on one: the same store files, the
//! same activity ids, the same ledger rows and the same dedupe decisions, whatever the number
//! of workers and bounds; and the pool never holds more FIT files in memory, nor more files
//! ahead of the caller, than its bounds allow.

mod import_support;

use host_demo::clock::ManualClock;
use host_demo::import::parallel::{self, PoolSize, Ready};
use host_demo::import::sources;
use host_demo::import::{open_local, Item, Outcome};
use import_support::*;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zip::write::SimpleFileOptions;

/// A Garmin-style export: every fixture, some twice under other names (content duplicates),
/// near-duplicates of synthetic rides, rides whose ids clash, and a nested zip.
fn export(dir: &Path) -> PathBuf {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".fit"))
        .collect();
    names.sort();
    let mut inner = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut outer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    for (i, name) in names.iter().enumerate() {
        let bytes = fixture(name);
        outer
            .start_file(format!("DI_CONNECT/{name}"), options)
            .unwrap();
        outer.write_all(&bytes).unwrap();
        if i % 3 == 0 {
            inner.start_file(format!("again/{name}"), options).unwrap();
            inner.write_all(&bytes).unwrap();
        }
    }
    for n in 0..12u32 {
        let start = 1_600_000_000 + i64::from(n / 2) * 7200;
        // Pairs 30 s apart with distances within 1 %: near-duplicates of each other.
        let bytes = synthetic_at(
            start + i64::from(n % 2) * 30,
            10_000.0 + f64::from(n % 2) * 50.0,
            60,
            u64::from(n),
        );
        inner.start_file(format!("rides/{n}.fit"), options).unwrap();
        inner.write_all(&bytes).unwrap();
    }
    // Three rides starting the same second, a third longer each (not near-duplicates): the
    // second and third are stored under suffixed ids, serialized again after the pool
    // serialized them ahead (their timeseries read back from those bytes).
    for n in 0..3u32 {
        let bytes = synthetic_at(1_650_000_000, 10_000.0 * (1.0 + f64::from(n) / 3.0), 60, 99);
        inner
            .start_file(format!("same-second/{n}.fit"), options)
            .unwrap();
        inner.write_all(&bytes).unwrap();
    }
    let inner = inner.finish().unwrap().into_inner();
    outer.start_file("DI_CONNECT/uploads.zip", options).unwrap();
    outer.write_all(&inner).unwrap();
    let path = dir.join("export.zip");
    fs::write(&path, outer.finish().unwrap().into_inner()).unwrap();
    path
}

/// What an import left: store files (index without its `generated_at`), outcomes in order,
/// and ledger rows (timed by the same manual clock).
struct Result {
    files: Vec<(String, Vec<u8>)>,
    outcomes: Vec<(String, Outcome)>,
    ledger: Vec<String>,
}

fn snapshot(data: &Path, outcomes: Vec<(String, Outcome)>) -> Result {
    let mut files = Vec::new();
    let mut stack = vec![data.join(HANDLE)];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(data).unwrap().display().to_string();
            if rel.ends_with(".lock") {
                continue;
            }
            let mut bytes = fs::read(&path).unwrap();
            if rel.ends_with("index.json") {
                let mut index: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                index.as_object_mut().unwrap().remove("generated_at");
                bytes = index.to_string().into_bytes();
            }
            files.push((rel, bytes));
        }
    }
    files.sort();
    let db = open_local(data, HANDLE).unwrap();
    let ledger = db
        .db()
        .ledger_entries(bincio_state::LOCAL_SOURCE)
        .unwrap()
        .into_iter()
        .map(|row| format!("{row:?}"))
        .collect();
    Result {
        files,
        outcomes,
        ledger,
    }
}

fn import_one_thread(data: &Path, paths: &[PathBuf]) -> Result {
    let mut pipeline = open(data).with_clock(Arc::new(ManualClock::new(1_700_000_000)));
    let (outcomes, _) = import_paths(&mut pipeline, paths);
    drop(pipeline);
    snapshot(data, outcomes)
}

fn import_pool(data: &Path, paths: &[PathBuf], size: PoolSize, batch: usize) -> Result {
    let mut pipeline = open(data)
        .with_clock(Arc::new(ManualClock::new(1_700_000_000)))
        .with_batch_items(batch);
    let inputs = sources::plan(paths).unwrap();
    let mut outcomes = Vec::new();
    let stats = parallel::for_each_ready(&inputs, size, &mut |ready| -> std::result::Result<
        (),
        String,
    > {
        if let Ready::File { name, prepared, .. } = ready {
            let outcome = pipeline
                .import_prepared(&Item::local_prepared(&name), *prepared)
                .map_err(|e| e.to_string())?;
            outcomes.push((name, outcome));
        }
        Ok(())
    })
    .unwrap();
    assert!(
        (1..=size.files).contains(&stats.most_in_memory),
        "{} files in memory with {size:?}",
        stats.most_in_memory
    );
    assert!(
        (1..=size.ahead).contains(&stats.most_ahead),
        "{} files ahead with {size:?}",
        stats.most_ahead
    );
    assert_eq!(stats.files, outcomes.len() as u64);
    pipeline.flush().unwrap();
    drop(pipeline);
    snapshot(data, outcomes)
}

#[test]
fn the_pool_decides_exactly_as_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let paths = vec![export(dir.path()), fixtures_dir()];
    let one = import_one_thread(&dir.path().join("one"), &paths);
    let kinds = |r: &Result| {
        let mut k = [0usize; 3];
        for (_, o) in &r.outcomes {
            k[match o {
                Outcome::Imported { .. } => 0,
                Outcome::Duplicate { .. } => 1,
                Outcome::Rejected { .. } => 2,
            }] += 1;
        }
        k
    };
    let [imported, duplicate, rejected] = kinds(&one);
    let suffixed = one
        .outcomes
        .iter()
        .filter(|(name, o)| {
            name.contains("same-second/")
                && matches!(o, Outcome::Imported { activity_id, .. } if activity_id.contains("Z-"))
        })
        .count();
    assert_eq!(suffixed, 2, "{:?}", one.outcomes);
    assert!(
        imported >= 15 && duplicate >= 20 && rejected >= 3,
        "{:?}",
        kinds(&one)
    );
    // Small batches too: many flushed on the flush thread while the next is decided.
    for (workers, files, ahead, batch) in [(2, 2, 4, 200), (4, 1, 1, 7), (3, 5, 2, 1), (2, 1, 9, 3)]
    {
        let size = PoolSize {
            workers,
            files,
            ahead,
        };
        let pool = import_pool(
            &dir.path()
                .join(format!("pool-{workers}-{files}-{ahead}-{batch}")),
            &paths,
            size,
            batch,
        );
        assert_eq!(pool.outcomes, one.outcomes, "{size:?}");
        assert_eq!(pool.ledger, one.ledger, "{size:?}");
        assert_eq!(
            pool.files.iter().map(|f| &f.0).collect::<Vec<_>>(),
            one.files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for (a, b) in pool.files.iter().zip(&one.files) {
            assert!(a.1 == b.1, "{} differs with {size:?}", a.0);
        }
    }
}

#[test]
fn an_error_from_the_caller_stops_the_pool() {
    let paths = vec![fixtures_dir()];
    let inputs = sources::plan(&paths).unwrap();
    let mut seen = 0;
    let size = PoolSize {
        workers: 2,
        files: 2,
        ahead: 4,
    };
    let result = parallel::for_each_ready(&inputs, size, &mut |ready| {
        if matches!(ready, Ready::File { .. }) {
            seen += 1;
        }
        if seen == 3 {
            return Err("stop");
        }
        Ok(())
    });
    assert_eq!(result, Err("stop"));
    assert_eq!(seen, 3);
}
