//! Import benchmarks, printed as ratios measured in the same run (`cargo bench -p bincio-bas`):
//!
//! (a) conversion + store write of the fixture corpus against fitparser's bare decode of the
//!     same files (goal: below 0.5x: the fast path converts only what BAS reads);
//! (b) per-activity cost of adding a batch to a store already holding 10,000 activities against
//!     one holding 1,000 (target: below 1.3x).

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bincio_bas::{convert, BasStore, Converted, IndexEntry, IndexFile, Owner};

const FIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/fit");
/// Rounds per measurement; the median is reported.
const ROUNDS: usize = 15;
/// Activities per batch in (b), and batches timed per round.
const BATCH: usize = 20;
const BATCHES_PER_ROUND: usize = 3;
/// Synthetic history: one activity every 10 hours.
const HISTORY_STEP_S: i64 = 10 * 3600;
const HISTORY_START: i64 = 1_400_000_000;

fn main() {
    let corpus = load_corpus();
    corpus_against_bare_decode(&corpus);
    batch_cost_against_store_size(&corpus);
}

/// (name, bytes) of every fixture fitparser decodes as it is (the damaged ones are left out of
/// both sides of (a)).
fn load_corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(FIT_DIR);
    assert!(
        dir.join("README.md").is_file(),
        "FIT fixtures missing at {} (the shared folder beside the checkout)",
        dir.display()
    );
    let mut corpus: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "fit"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .filter(|(_, bytes)| fitparser::from_bytes(bytes).is_ok())
        .collect();
    corpus.sort();
    corpus
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn corpus_against_bare_decode(corpus: &[(String, Vec<u8>)]) {
    let bytes: usize = corpus.iter().map(|(_, b)| b.len()).sum();
    let mut bare = Vec::new();
    let mut ours = Vec::new();
    let mut convert_only = Vec::new();
    for round in 0..ROUNDS {
        let start = Instant::now();
        for (name, file) in corpus {
            let _ = black_box(convert(black_box(file), name));
        }
        convert_only.push(start.elapsed());

        let start = Instant::now();
        for (_, file) in corpus {
            black_box(fitparser::from_bytes(black_box(file)).unwrap());
        }
        bare.push(start.elapsed());

        let root = tempfile::tempdir().unwrap();
        let mut store = BasStore::open(root.path(), &format!("r{round}")).unwrap();
        let start = Instant::now();
        let mut batch = store.begin_batch();
        for (name, file) in corpus {
            if let Ok(converted) = convert(black_box(file), name) {
                batch.add(&converted).unwrap();
            }
        }
        batch.commit().unwrap();
        ours.push(start.elapsed());
        black_box(store.len());
    }
    let (bare, ours, convert_only) = (median(bare), median(ours), median(convert_only));
    println!(
        "(a) corpus of {} files, {} KiB: fitparser bare decode {:.2} ms; convert + store write \
         {:.2} ms (convert alone {:.2} ms); ratio {:.2}x (goal < 0.5x)",
        corpus.len(),
        bytes / 1024,
        ms(bare),
        ms(ours),
        ms(convert_only),
        ours.as_secs_f64() / bare.as_secs_f64()
    );
}

fn batch_cost_against_store_size(corpus: &[(String, Vec<u8>)]) {
    let converted: Vec<Converted> = corpus
        .iter()
        .filter_map(|(name, bytes)| convert(bytes, name).ok())
        .collect();
    let mut small = StoreUnderTest::new(1_000, &converted);
    let mut large = StoreUnderTest::new(10_000, &converted);
    // Rounds alternate between the two stores so both see the same machine load.
    let (mut small_samples, mut large_samples) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        small_samples.push(small.time_batches(&converted));
        large_samples.push(large.time_batches(&converted));
    }
    let (small, large) = (median(small_samples), median(large_samples));
    println!(
        "(b) adding batches of {BATCH}: {:.3} ms per activity with 1,000 stored, {:.3} ms with \
         10,000 stored; ratio {:.2}x (target < 1.3x)",
        ms(small),
        ms(large),
        large.as_secs_f64() / small.as_secs_f64()
    );
}

/// A store pre-filled with a synthetic history, and the serial of the next new activity.
struct StoreUnderTest {
    _root: tempfile::TempDir,
    store: BasStore,
    existing: usize,
    serial: usize,
}

impl StoreUnderTest {
    fn new(existing: usize, corpus: &[Converted]) -> StoreUnderTest {
        let root = tempfile::tempdir().unwrap();
        // The richest summary of the corpus (track preview, power curve) as every past one.
        let template = corpus
            .iter()
            .map(|c| IndexEntry::for_activity(&c.activity, c.track.is_some()))
            .max_by_key(|e| serde_json::to_vec(e).unwrap().len())
            .unwrap();
        write_history(root.path(), "bench", existing, &template);
        let store = BasStore::open(root.path(), "bench").unwrap();
        assert_eq!(store.len(), existing);
        let mut s = StoreUnderTest {
            _root: root,
            store,
            existing,
            serial: 0,
        };
        // One untimed batch first: it settles the index layout for this size.
        add_batch(&mut s.store, corpus, s.existing, &mut s.serial);
        s
    }

    /// Per-activity time of `BATCHES_PER_ROUND` batches.
    fn time_batches(&mut self, corpus: &[Converted]) -> Duration {
        let start = Instant::now();
        for _ in 0..BATCHES_PER_ROUND {
            add_batch(&mut self.store, corpus, self.existing, &mut self.serial);
        }
        start.elapsed() / (BATCHES_PER_ROUND * BATCH) as u32
    }
}

/// Adds `BATCH` new activities (distinct copies of the corpus, newer than the history).
fn add_batch(store: &mut BasStore, corpus: &[Converted], existing: usize, serial: &mut usize) {
    let after_history = HISTORY_START + existing as i64 * HISTORY_STEP_S;
    let mut batch = store.begin_batch();
    for _ in 0..BATCH {
        let mut c = corpus[*serial % corpus.len()].clone();
        let start = after_history + *serial as i64 * 3600;
        c.sha256 = format!("{:064x}", *serial + 1);
        c.activity.source_hash = Some(format!("sha256:{}", c.sha256));
        c.activity.id = format!("new-{:06}", *serial);
        c.activity.started_at = rfc3339(start);
        c.started_at_unix = start;
        batch.add(&c).unwrap();
        *serial += 1;
    }
    batch.commit().unwrap();
}

/// Writes an `index.json` listing `count` synthetic activities (files are not needed for
/// the index-side cost this measures).
fn write_history(root: &Path, handle: &str, count: usize, template: &IndexEntry) {
    let activities = (0..count)
        .map(|k| {
            let mut e = template.clone();
            e.id = format!("history-{k:06}");
            e.started_at = rfc3339(HISTORY_START + k as i64 * HISTORY_STEP_S);
            e
        })
        .collect();
    let index = IndexFile {
        bas_version: "1.0".into(),
        owner: Owner {
            handle: handle.into(),
            display_name: handle.into(),
            avatar_url: None,
        },
        generated_at: rfc3339(HISTORY_START),
        shards: Vec::new(),
        activities,
    };
    let dir: PathBuf = root.join(handle);
    fs::create_dir_all(dir.join("activities")).unwrap();
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
