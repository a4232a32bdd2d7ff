//! How fast `import` goes and how much memory it takes, each figure a ratio measured in this
//! run (`cargo bench -p host-demo --bench import_speed`):
//!
//! (c) importing the fixture corpus (read, convert, dedupe, store, ledger) the way imports ran
//!     before the fast path (one thread, fitparser's full profile conversion) against now (the
//!     pool on every core, only the messages BAS reads converted); goal: 2.3x faster;
//! (d) `host-demo import` of a synthetic Garmin export (a zip holding a nested zip of FIT
//!     files) of 3,000 activities against one of 300: files per second, CPU use in cores
//!     (goal: at least 1.8 of 2) and peak memory (goal: within 1.2x);
//! (e) `host-demo import` of a zip bomb (1 MiB that unpacks to 1 GiB) and of a zip holding
//!     it, peak memory against an ordinary import of the fixture corpus (bounded).
//!
//! The child processes run under `/usr/bin/time`, which reports their CPU time and peak RSS;
//! the machine's load average is printed beside the figures, since others share it. Words after
//! `--` pick parts: `corpus` (c), `export` (d), `bombs` (e); none runs all three.

use garmin_emulator::fit_writer::{write_activity, FitActivitySpec, Sport};
use host_demo::clock::ManualClock;
use host_demo::import::parallel::{self, PoolSize, Ready};
use host_demo::import::sources::{self, Found};
use host_demo::import::{open_local, Item, Prepared};
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use zip::write::SimpleFileOptions;

const BIN: &str = env!("CARGO_BIN_EXE_host-demo");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/fit");
const ROUNDS: usize = 7;
/// Records per synthetic activity: half an hour at one a second.
const RECORDS: usize = 1_800;

fn main() {
    let picked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runs = |part: &str| picked.is_empty() || picked.iter().any(|p| p == part);
    println!("load average before: {}", load_average());
    if runs("corpus") {
        corpus_before_and_after();
    }
    if runs("export") {
        export_small_and_large();
    }
    if runs("bombs") {
        zip_bombs();
    }
    println!("load average after: {}", load_average());
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// (c): the same corpus, the same pipeline, before and after; rounds interleaved.
fn corpus_before_and_after() {
    let paths = vec![PathBuf::from(FIXTURES)];
    let inputs = sources::plan(&paths).unwrap();
    let pool = PoolSize::for_this_machine();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let mut pipeline = open_local(&dir.path().join("before"), "me").unwrap();
        for input in &inputs {
            sources::read_input(input, &mut |found| -> Result<(), ()> {
                if let Found::File { name, bytes } = found {
                    let prepared = Prepared::with_profile(&name, &bytes);
                    pipeline
                        .import_prepared(&Item::local(&name, &bytes), prepared)
                        .unwrap();
                }
                Ok(())
            })
            .unwrap();
        }
        pipeline.flush().unwrap();
        drop(pipeline);
        before.push(start.elapsed());

        let start = Instant::now();
        // Opened by the first file, as `import` does (the pool converts meanwhile).
        let open = || {
            open_local(&dir.path().join("after"), "me")
                .unwrap()
                .with_clock(Arc::new(ManualClock::new(0)))
        };
        let mut opened = None;
        parallel::for_each_ready(&inputs, pool, &mut |ready| -> Result<(), ()> {
            if let Ready::File { name, prepared, .. } = ready {
                opened
                    .get_or_insert_with(open)
                    .import_prepared(&Item::local_prepared(&name), *prepared)
                    .unwrap();
            }
            Ok(())
        })
        .unwrap();
        let mut pipeline = opened.unwrap_or_else(open);
        pipeline.flush().unwrap();
        drop(pipeline);
        after.push(start.elapsed());
    }
    let (before, after) = (median(before), median(after));
    println!(
        "(c) fixture corpus import: before (one thread, full profile conversion) {:.1} ms, \
         after (pool of {}, fast path) {:.1} ms: {:.2}x faster (goal 2.3x)",
        before.as_secs_f64() * 1e3,
        pool.workers,
        after.as_secs_f64() * 1e3,
        before.as_secs_f64() / after.as_secs_f64()
    );
}

/// What `/usr/bin/time` saw of one child.
struct Run {
    wall_s: f64,
    cpu_s: f64,
    peak_kib: u64,
}

fn run_import(data: &Path, what: &Path) -> Run {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "TIME %e %U %S %M"])
        .arg(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(["--handle", "me", "import"])
        .arg(what)
        .env_remove("RUST_LOG")
        .output()
        .expect("/usr/bin/time runs host-demo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "import of {} failed: {stderr}",
        what.display()
    );
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("TIME "))
        .unwrap_or_else(|| panic!("no /usr/bin/time line in {stderr}"));
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    Run {
        wall_s: f[0],
        cpu_s: f[1] + f[2],
        peak_kib: f[3] as u64,
    }
}

/// A Garmin-style export of `n` synthetic activities: the FIT files in a nested zip.
fn export(dir: &Path, n: u32) -> PathBuf {
    let deflated = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut inner = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..n {
        let start =
            OffsetDateTime::from_unix_timestamp(1_500_000_000 + i64::from(i) * 86_400).unwrap();
        let mut spec = FitActivitySpec::new(start, Sport::Cycling, 1800.0, 15_000.0);
        spec.records = RECORDS;
        spec.seed = u64::from(i);
        let bytes = write_activity(&spec).expect("synthetic FIT");
        inner
            .start_file(format!("UploadedFiles/{i}.fit"), deflated)
            .unwrap();
        inner.write_all(&bytes).unwrap();
    }
    let inner = inner.finish().unwrap().into_inner();
    let mut outer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().large_file(true);
    outer
        .start_file(
            "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip",
            stored,
        )
        .unwrap();
    outer.write_all(&inner).unwrap();
    outer
        .start_file("DI_CONNECT/DI-Connect-User/user_profile.json", stored)
        .unwrap();
    outer.write_all(b"{}").unwrap();
    let path = dir.join(format!("export-{n}.zip"));
    fs::write(&path, outer.finish().unwrap().into_inner()).unwrap();
    path
}

/// (d): 300 and 3,000 activities, each imported into a fresh data folder.
fn export_small_and_large() {
    let dir = tempfile::tempdir().unwrap();
    let small = export(dir.path(), 300);
    let large = export(dir.path(), 3_000);
    let s = run_import(&dir.path().join("small"), &small);
    let l = run_import(&dir.path().join("large"), &large);
    for (n, path, run) in [(300, &small, &s), (3_000, &large, &l)] {
        println!(
            "(d) export of {n} activities ({} MiB zip): {:.2} s, {:.0} files/s, {:.2} cores of {}, \
             peak {:.1} MiB",
            fs::metadata(path).unwrap().len() >> 20,
            run.wall_s,
            f64::from(n) / run.wall_s,
            run.cpu_s / run.wall_s,
            PoolSize::for_this_machine().workers,
            run.peak_kib as f64 / 1024.0
        );
    }
    println!(
        "(d) peak memory, 3,000 against 300 activities: {:.2}x (goal within 1.2x)",
        l.peak_kib as f64 / s.peak_kib as f64
    );
}

/// (e): a 1 MiB zip that unpacks to 1 GiB, alone and inside another zip.
fn zip_bombs() {
    let dir = tempfile::tempdir().unwrap();
    let deflated = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut bomb = zip::ZipWriter::new(Cursor::new(Vec::new()));
    bomb.start_file("bomb.fit", deflated).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        bomb.write_all(&zeros).unwrap();
    }
    let bomb = bomb.finish().unwrap().into_inner();
    let bomb_path = dir.path().join("bomb.zip");
    fs::write(&bomb_path, &bomb).unwrap();
    let mut nested = zip::ZipWriter::new(Cursor::new(Vec::new()));
    nested
        .start_file("inner/bomb.zip", SimpleFileOptions::default())
        .unwrap();
    nested.write_all(&bomb).unwrap();
    let nested_path = dir.path().join("nested-bomb.zip");
    fs::write(&nested_path, nested.finish().unwrap().into_inner()).unwrap();

    let ordinary = run_import(&dir.path().join("ordinary"), Path::new(FIXTURES));
    let single = run_import(&dir.path().join("bomb"), &bomb_path);
    let double = run_import(&dir.path().join("nested"), &nested_path);
    println!(
        "(e) zip bomb ({} KiB unpacking to 1 GiB): peak {:.1} MiB, nested {:.1} MiB, against \
         {:.1} MiB for the fixture corpus: {:.2}x and {:.2}x",
        bomb.len() >> 10,
        single.peak_kib as f64 / 1024.0,
        double.peak_kib as f64 / 1024.0,
        ordinary.peak_kib as f64 / 1024.0,
        single.peak_kib as f64 / ordinary.peak_kib as f64,
        double.peak_kib as f64 / ordinary.peak_kib as f64
    );
}
