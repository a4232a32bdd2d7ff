//! The store on disk: atomic writes, crash recovery (simulated and by SIGKILL), lookups over
//! 10,000 activities, refusal of bad input.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bincio_bas::{
    Added, BasStore, Converted, IndexEntry, IndexFile, Owner, StoreError, INLINE_RECENT,
    NEAR_START_S, SHARD_THRESHOLD,
};
use common::*;

/// A distinct copy of `c`: its own content hash and id, starting `k` hours later.
fn variant(c: &Converted, k: usize) -> Converted {
    let mut v = c.clone();
    v.sha256 = format!("{k:064x}");
    v.activity.source_hash = Some(format!("sha256:{}", v.sha256));
    v.activity.id = format!("variant-{k:05}");
    v.started_at_unix += k as i64 * 3600;
    v
}

fn temp_names(dir: &Path) -> Vec<String> {
    all_files(dir)
        .into_iter()
        .filter(|f| f.rsplit('/').next().is_some_and(|n| n.starts_with('.')))
        .collect()
}

/// The store invariants after any crash and reopen: every listed activity's file exists and
/// parses, every activity file is listed, no temp file is left.
fn assert_consistent(store: &BasStore) {
    for entry in store.list().unwrap() {
        let activity = store
            .read_activity(&entry.id)
            .unwrap_or_else(|e| panic!("listed {} unreadable: {e}", entry.id));
        assert_eq!(activity.id, entry.id);
        if entry.track_url.is_some() {
            assert!(store.track_path(&entry.id).is_file(), "{} track", entry.id);
        }
    }
    for name in all_files(&store.dir().join("activities")) {
        if let Some(id) = name.strip_suffix(".json") {
            assert!(store.contains(id), "{name} on disk but not listed");
        }
    }
    assert_eq!(temp_names(store.dir()), Vec::<String>::new());
    let on_disk: IndexFile =
        serde_json::from_slice(&fs::read(store.index_path()).unwrap()).unwrap();
    assert_eq!(on_disk.activities.len(), store.len());
}

#[test]
fn batches_leave_no_temp_files_and_write_the_index_once() {
    let root = tempfile::tempdir().unwrap();
    let mut store = BasStore::open(root.path(), "alice").unwrap();
    let c = convert_fixture("garmin-fenix-5-bike.fit");
    let mut batch = store.begin_batch();
    for k in 0..70 {
        assert!(matches!(batch.add(&variant(&c, k)).unwrap(), Added::New(_)));
    }
    // 140 files: one durability group of 64 went through already; the index is not rewritten
    // before the commit.
    let index_before: IndexFile =
        serde_json::from_slice(&fs::read(batch.index_path()).unwrap()).unwrap();
    assert!(index_before.activities.is_empty());
    assert_eq!(batch.len(), 70, "lookups see the batch at once");
    batch.commit().unwrap();
    assert_eq!(temp_names(root.path()), Vec::<String>::new());
    assert_consistent(&store);
    let ids: Vec<String> = store.list().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids[0], "variant-00069", "newest first: {ids:?}");
}

#[test]
fn orphans_of_an_interrupted_batch_are_adopted_on_open() {
    let root = tempfile::tempdir().unwrap();
    let validator = schema();
    let c = convert_fixture("Edge810-Vector-2013-08-16-15-35-10.fit");
    let (first, second) = (variant(&c, 1), variant(&c, 2));
    let mut store = BasStore::open(root.path(), "alice").unwrap();
    let mut batch = store.begin_batch();
    batch.add(&first).unwrap();
    batch.commit().unwrap();
    let index_with_first = fs::read(store.index_path()).unwrap();
    let mut batch = store.begin_batch();
    batch.add(&second).unwrap();
    batch.commit().unwrap();
    let expected_entry = store.get("variant-00002").unwrap().unwrap();
    drop(store);
    // A crash after the second batch's files were durable but before its index landed leaves
    // the old index, the new files, and perhaps a temp file of the index being written.
    fs::write(root.path().join("alice/index.json"), &index_with_first).unwrap();
    fs::write(root.path().join("alice/.index.json.1.1.tmp"), b"{\"half").unwrap();
    fs::write(
        root.path().join("alice/activities/garbage.json"),
        b"not json",
    )
    .unwrap();
    let store = BasStore::open(root.path(), "alice").unwrap();
    let report = store.recovery();
    assert_eq!(report.adopted, vec!["variant-00002".to_string()]);
    assert_eq!(report.temp_files_removed, 1);
    assert_eq!(report.unreadable.len(), 1);
    assert!(report.unreadable[0].0.ends_with("garbage.json"));
    assert_eq!(
        store.get("variant-00002").unwrap(),
        Some(expected_entry),
        "same entry as at add time"
    );
    assert!(store.contains("variant-00001"));
    assert!(
        root.path().join("alice/activities/garbage.json").exists(),
        "never deleted"
    );
    assert_file_valid(&validator, &store.index_path());
    let reopened = BasStore::open(root.path(), "alice").unwrap();
    assert!(
        reopened.recovery().adopted.is_empty(),
        "the adoption was written to the index"
    );
    assert_eq!(reopened.len(), 2);
}

/// The child half of `sigkill_mid_batch_leaves_a_recoverable_store`, which runs it with
/// `--ignored` and `BAS_CRASH_DIR` set: it writes batches until killed. Ignored on its own
/// (it never ends), and refuses to run without its directory.
#[test]
#[ignore = "the child half of sigkill_mid_batch_leaves_a_recoverable_store, run by it"]
fn crash_writer_child() {
    let dir = std::env::var("BAS_CRASH_DIR")
        .expect("BAS_CRASH_DIR: run by sigkill_mid_batch_leaves_a_recoverable_store");
    let c = convert_fixture("garmin-fenix-5-bike.fit");
    let mut store = BasStore::open(Path::new(&dir), "crash").unwrap();
    let mut k = 10_000 * store.len();
    loop {
        let mut batch = store.begin_batch();
        for _ in 0..5 {
            batch.add(&variant(&c, k)).unwrap();
            k += 1;
        }
        batch.commit().unwrap();
    }
}

#[test]
fn sigkill_mid_batch_leaves_a_recoverable_store() {
    let root = tempfile::tempdir().unwrap();
    let activities = root.path().join("crash/activities");
    let landed = || {
        fs::read_dir(&activities).map_or(0, |d| {
            d.filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
        })
    };
    let mut adopted = 0;
    for round in 0..4u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer_child",
                "--ignored",
                "--test-threads=1",
            ])
            .env("BAS_CRASH_DIR", root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("re-running this test binary");
        let files_before = landed();
        let deadline = Instant::now() + Duration::from_secs(60);
        while landed() < files_before + 8 {
            assert!(
                Instant::now() < deadline,
                "the writer child made no progress"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "the writer child exited"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(3 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let store = BasStore::open(root.path(), "crash").unwrap();
        adopted += store.recovery().adopted.len();
        assert!(
            store.recovery().unreadable.is_empty(),
            "{:?}",
            store.recovery()
        );
        assert!(!store.is_empty());
        assert_consistent(&store);
    }
    eprintln!("orphans adopted over the kills: {adopted}");
}

/// Synthetic history: one activity every 10 hours from mid-2017 (10,000 span 11 years).
const BASE: i64 = 1_500_000_000;
const STEP: i64 = 36_000;

fn synthetic_index(root: &Path, handle: &str, count: usize) -> IndexEntry {
    let c = convert_fixture("garmin-fenix-5-run.fit");
    let template = IndexEntry::for_activity(&c.activity, true);
    let activities = (0..count)
        .map(|k| {
            let mut e = template.clone();
            e.id = format!("synthetic-{k:05}");
            let t = time::OffsetDateTime::from_unix_timestamp(BASE + k as i64 * STEP).unwrap();
            e.started_at = t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            // Neighbours differ by 10 % in distance, so only the right one is "near".
            e.distance_m = Some(10_000.0 + (k % 2) as f64 * 1_000.0);
            e
        })
        .collect();
    let index = IndexFile {
        bas_version: "1.0".into(),
        owner: Owner {
            handle: handle.into(),
            display_name: "Bob".into(),
            avatar_url: None,
        },
        generated_at: "2024-01-01T00:00:00+00:00".into(),
        shards: Vec::new(),
        activities,
    };
    fs::create_dir_all(root.join(handle).join("activities")).unwrap();
    fs::write(
        root.join(handle).join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    template
}

#[test]
fn lookups_over_10000_activities() {
    let root = tempfile::tempdir().unwrap();
    synthetic_index(root.path(), "bob", 10_000);
    let store = BasStore::open(root.path(), "bob").unwrap();
    assert_eq!(store.len(), 10_000);
    let at = |k: i64| BASE + k * STEP;
    assert!(store.contains("synthetic-04321"));
    assert!(!store.contains("synthetic-10000"));
    assert_eq!(
        store.find_near(at(4321) + 200, 11_000.0),
        Some("synthetic-04321")
    );
    assert_eq!(
        store.find_near(at(4321) - NEAR_START_S, 10_600.0),
        Some("synthetic-04321")
    );
    assert_eq!(
        store.find_near(at(4320) + 200, 10_000.0),
        Some("synthetic-04320")
    );
    assert_eq!(store.find_near(at(4321) + NEAR_START_S + 1, 11_000.0), None);
    assert_eq!(
        store.find_near(at(4321), 11_600.0),
        None,
        "more than 5 % longer"
    );
    assert_eq!(store.find_near(at(20_000), 10_000.0), None);
    let list = store.list().unwrap();
    assert_eq!(list[0].id, "synthetic-09999");
    assert_eq!(list[9_999].id, "synthetic-00000");
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().ino()
}

#[test]
fn a_large_store_is_split_into_yearly_shards_and_only_touched_years_are_rewritten() {
    let root = tempfile::tempdir().unwrap();
    let validator = schema();
    synthetic_index(root.path(), "bob", SHARD_THRESHOLD + 1_000);
    let mut store = BasStore::open(root.path(), "bob").unwrap();
    let mut batch = store.begin_batch();
    let added = batch.add(&convert_fixture("Activity.fit")).unwrap(); // 2012
    batch.commit().unwrap();
    let total = SHARD_THRESHOLD + 1_001;
    let index: IndexFile = serde_json::from_slice(&fs::read(store.index_path()).unwrap()).unwrap();
    assert_eq!(index.owner.display_name, "Bob", "the owner block is kept");
    assert_eq!(index.activities.len(), INLINE_RECENT);
    assert_eq!(
        index.activities[0].id,
        store.list().unwrap()[0].id,
        "the newest inline"
    );
    assert_eq!(index.shards.iter().map(|s| s.count).sum::<usize>(), total);
    assert_eq!(index.shards[0].year, 2012);
    assert_file_valid(&validator, &store.index_path());
    let mut in_shards = 0;
    for shard in &index.shards {
        let path = store.dir().join(&shard.url);
        assert_file_valid(&validator, &path);
        let file: IndexFile = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(file.activities.len(), shard.count);
        assert!(file
            .activities
            .iter()
            .all(|e| e.started_at.starts_with(&shard.year.to_string())));
        in_shards += file.activities.len();
    }
    assert_eq!(in_shards, total);
    let reopened = BasStore::open(root.path(), "bob").unwrap();
    assert_eq!(reopened.len(), total);
    assert!(reopened.contains(added.id()));
    drop(reopened);

    // Another 2012 activity rewrites the 2012 shard (and index.json) only.
    let before: Vec<(String, u64)> = index
        .shards
        .iter()
        .map(|s| (s.url.clone(), inode(&store.dir().join(&s.url))))
        .collect();
    let mut batch = store.begin_batch();
    batch.add(&convert_fixture("activity-filecrc.fit")).unwrap();
    batch.commit().unwrap();
    for (url, ino) in before {
        let rewritten = inode(&store.dir().join(&url)) != ino;
        assert_eq!(rewritten, url == "index_2012.json", "{url}");
    }
    assert_eq!(BasStore::open(root.path(), "bob").unwrap().len(), total + 1);

    // A crash that persisted index.json but lost a shard's rename: the shard's activities are
    // recovered from their own files.
    fs::remove_file(store.dir().join("index_2012.json")).unwrap();
    drop(store);
    let recovered = BasStore::open(root.path(), "bob").unwrap();
    assert_eq!(recovered.recovery().adopted.len(), 2);
    assert_eq!(recovered.len(), total + 1);
    assert_file_valid(&validator, &recovered.dir().join("index_2012.json"));
}

#[test]
fn a_broken_index_is_refused_and_left_untouched() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("carol/activities")).unwrap();
    let index = root.path().join("carol/index.json");
    fs::write(&index, b"{\"bas_version\": \"1.0\", \"activities\": 7}").unwrap();
    let err = BasStore::open(root.path(), "carol").err().expect("refused");
    assert!(matches!(err, StoreError::BadIndex { .. }), "{err}");
    assert!(err.to_string().contains("index.json"), "{err}");
    assert_eq!(
        fs::read(&index).unwrap(),
        b"{\"bas_version\": \"1.0\", \"activities\": 7}"
    );
}

#[test]
fn handles_that_are_not_plain_names_are_refused() {
    let root = tempfile::tempdir().unwrap();
    for handle in ["", "..", "a/b", ".hidden"] {
        let err = BasStore::open(root.path(), handle).err().expect(handle);
        assert!(
            matches!(err, StoreError::BadHandle { .. }),
            "{handle}: {err}"
        );
    }
}

#[test]
fn a_dropped_batch_still_lands() {
    let root = tempfile::tempdir().unwrap();
    let mut store = BasStore::open(root.path(), "dave").unwrap();
    {
        let mut batch = store.begin_batch();
        batch
            .add(&convert_fixture("garmin-fenix-5-walk.fit"))
            .unwrap();
    }
    let reopened = BasStore::open(root.path(), "dave").unwrap();
    assert_eq!(reopened.len(), 1);
    assert!(
        reopened.recovery().adopted.is_empty(),
        "listed by the drop, not by recovery"
    );
    assert_consistent(&reopened);
}
