//! The BAS store of one owner: `{root}/{handle}/index.json` (plus yearly `index_{year}.json`
//! shards once large), `activities/{id}.json` and `activities/{id}.geojson`. Activities are
//! added in batches; the index is rewritten once per batch, after the batch's activity files
//! are durable (see the README's crash-safety model).

use std::fs;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use bincio_atomic_file::{commit_group, commit_groups, remove_stale_temps, sync_dir, PendingFile};

use crate::activity::BasActivity;
use crate::catalog::Catalog;
use crate::convert::Converted;
use crate::encoded::Encoded;
use crate::error::StoreError;
use crate::index::{IndexEntry, IndexFile, Owner, Shard};
use crate::layout::index_files;
use crate::recover::{adopt_orphans, RecoveryReport};

/// Files written per durability group inside a batch: bounds memory and temp files while
/// letting their fsyncs run together.
const GROUP_FILES: usize = 64;

/// An open BAS store. One process writes a store at a time.
pub struct BasStore {
    pub(crate) dir: PathBuf,
    activities_dir: PathBuf,
    pub(crate) owner: Owner,
    pub(crate) shards: Vec<Shard>,
    pub(crate) catalog: Catalog,
    recovery: RecoveryReport,
}

/// The outcome of [`Batch::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// Written under this id (the proposed one, or suffixed when another activity had it).
    New(String),
    /// The same bytes (same sha256) are already stored under this id; nothing written.
    AlreadyStored(String),
}

impl Added {
    /// The activity's id in the store.
    pub fn id(&self) -> &str {
        match self {
            Added::New(id) | Added::AlreadyStored(id) => id,
        }
    }
}

impl BasStore {
    /// Opens (creating it if needed) the store of `handle` under `root`, then recovers from any
    /// interrupted write: temp files are deleted and orphan activity files adopted into the
    /// index (see [`BasStore::recovery`]).
    pub fn open(root: &Path, handle: &str) -> Result<BasStore, StoreError> {
        check_handle(handle)?;
        let dir = root.join(handle);
        let activities_dir = dir.join("activities");
        let existed = activities_dir.is_dir();
        fs::create_dir_all(&activities_dir)
            .map_err(|e| StoreError::io("creating", &activities_dir, e))?;
        if !existed {
            sync_dir(&dir)?;
            sync_dir(root)?;
        }
        let index_path = dir.join("index.json");
        let index = match read_index(&index_path)? {
            Some(index) => index,
            None => IndexFile::empty(Owner {
                handle: handle.to_string(),
                display_name: handle.to_string(),
                avatar_url: None,
            }),
        };
        let mut catalog = Catalog::default();
        // What the shard files really hold, so any mismatch is rewritten at the next write.
        let mut shards_on_disk = Vec::new();
        for shard in &index.shards {
            let shard_path = shard_path(&dir, &shard.url).ok_or_else(|| StoreError::BadIndex {
                path: index_path.clone(),
                detail: format!("shard url {:?} is not a file beside index.json", shard.url),
            })?;
            // A listed shard that is missing (its rename lost in a crash) counts as empty: the
            // activities it held are orphans, adopted by recovery below.
            if let Some(shard_index) = read_index(&shard_path)? {
                shards_on_disk.push(Shard {
                    count: shard_index.activities.len(),
                    ..shard.clone()
                });
                catalog_all(&mut catalog, shard_index.activities, &shard_path)?;
            }
        }
        catalog_all(&mut catalog, index.activities, &index_path)?;
        let mut store = BasStore {
            dir,
            activities_dir,
            owner: index.owner,
            shards: shards_on_disk,
            catalog,
            recovery: RecoveryReport::default(),
        };
        store.recover()?;
        Ok(store)
    }

    /// Re-runs crash recovery (done by [`BasStore::open`]); rewrites the index if it adopted
    /// anything.
    pub fn recover(&mut self) -> Result<&RecoveryReport, StoreError> {
        let removed = remove_stale_temps(&self.dir)? + remove_stale_temps(&self.activities_dir)?;
        let mut report = adopt_orphans(&self.activities_dir, &mut self.catalog)?;
        report.temp_files_removed = removed;
        if !report.adopted.is_empty() || !self.index_path().exists() {
            self.write_index()?;
        }
        self.recovery = report;
        Ok(&self.recovery)
    }

    /// What the last recovery did.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// `{root}/{handle}`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `{root}/{handle}/index.json`.
    pub fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    /// `activities/{id}.json`.
    pub fn activity_path(&self, id: &str) -> PathBuf {
        self.activities_dir.join(format!("{id}.json"))
    }

    /// `activities/{id}.geojson`.
    pub fn track_path(&self, id: &str) -> PathBuf {
        self.activities_dir.join(format!("{id}.geojson"))
    }

    /// Number of activities in the index.
    pub fn len(&self) -> usize {
        self.catalog.len()
    }

    /// True when the index lists no activity.
    pub fn is_empty(&self) -> bool {
        self.catalog.len() == 0
    }

    /// The index entries, newest first. The store keeps each summary as the JSON the index
    /// files hold (not as an [`IndexEntry`], which takes twice the memory): they are parsed here.
    pub fn list(&self) -> Result<Vec<IndexEntry>, StoreError> {
        self.catalog
            .newest_first()
            .map(|entry| entry.map_err(|e| self.unparsable(e)))
            .collect()
    }

    /// The index entry of `id` (parsed, as for [`list`](Self::list)).
    pub fn get(&self, id: &str) -> Result<Option<IndexEntry>, StoreError> {
        self.catalog
            .get(id)
            .transpose()
            .map_err(|e| self.unparsable(e))
    }

    /// A summary held in memory that does not parse back (it was serialized from an entry).
    fn unparsable(&self, e: serde_json::Error) -> StoreError {
        StoreError::BadIndex {
            path: self.index_path(),
            detail: format!("a summary held in memory: {e}"),
        }
    }

    /// True when the index lists `id`.
    pub fn contains(&self, id: &str) -> bool {
        self.catalog.contains(id)
    }

    /// The id of the activity made from bytes with this sha256 (hex, or `sha256:{hex}`).
    pub fn find_by_hash(&self, sha256: &str) -> Option<&str> {
        if sha256.starts_with("sha256:") {
            self.catalog.id_for_hash(sha256)
        } else {
            self.catalog.id_for_hash(&format!("sha256:{sha256}"))
        }
    }

    /// A stored activity starting within 5 minutes of `started_at` (unix seconds) whose distance
    /// is within 5 % of `distance_m` (two distances under 1 m count as equal); the closest in
    /// time wins.
    pub fn find_near(&self, started_at: i64, distance_m: f64) -> Option<&str> {
        self.catalog.find_near(started_at, distance_m)
    }

    /// Reads back a stored activity document.
    pub fn read_activity(&self, id: &str) -> Result<BasActivity, StoreError> {
        let path = self.activity_path(id);
        let bytes = fs::read(&path).map_err(|e| StoreError::io("reading", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadIndex {
            path,
            detail: e.to_string(),
        })
    }

    /// Starts a batch of additions; the index is written when it is committed (or dropped).
    pub fn begin_batch(&mut self) -> Batch<'_> {
        Batch {
            store: self,
            pending: Vec::new(),
            pending_ids: Vec::new(),
            changed: false,
            finished: false,
        }
    }

    /// The id to store an activity under: the proposed one unless another activity (listed, or
    /// a file on disk) has it, then suffixed with the end of the content hash, as
    /// BincioActivity does.
    fn free_id(&self, proposed: &str, sha256: &str) -> String {
        unique_id(proposed, sha256, |id| {
            self.catalog.contains(id) || self.activity_path(id).exists()
        })
    }

    fn write_index(&mut self) -> Result<(), StoreError> {
        let (files, shards) = index_files(&self.dir, &self.owner, &mut self.catalog, &self.shards)?;
        commit_groups(vec![files])?;
        self.shards = shards;
        Ok(())
    }
}

/// Reads a BAS index document; `None` when the file does not exist.
fn read_index(path: &Path) -> Result<Option<IndexFile>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::BadIndex {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("reading", path, e)),
    }
}

/// A shard is a plain file name beside `index.json` (this crate never follows URLs or paths).
fn shard_path(dir: &Path, url: &str) -> Option<PathBuf> {
    let plain = !url.is_empty() && !url.starts_with('.') && !url.contains(['/', '\\', ':']);
    plain.then(|| dir.join(url))
}

fn catalog_all(
    catalog: &mut Catalog,
    entries: Vec<IndexEntry>,
    source: &Path,
) -> Result<(), StoreError> {
    for entry in entries {
        catalog.insert(&entry).map_err(|e| StoreError::BadIndex {
            path: source.to_path_buf(),
            detail: format!("activity {}: {e}", entry.id),
        })?;
    }
    Ok(())
}

/// Additions to a store; see [`BasStore::begin_batch`]. Lookups on the store (through `Deref`)
/// see the batch's activities as soon as they are added.
pub struct Batch<'s> {
    store: &'s mut BasStore,
    pending: Vec<PendingFile>,
    pending_ids: Vec<String>,
    changed: bool,
    finished: bool,
}

impl Deref for Batch<'_> {
    type Target = BasStore;

    fn deref(&self) -> &BasStore {
        self.store
    }
}

impl Batch<'_> {
    /// Adds a converted activity: writes its files (durable before the batch's index) and lists
    /// it in the in-memory index. The same content (sha256) already stored is not written again.
    pub fn add(&mut self, converted: &Converted) -> Result<Added, StoreError> {
        let store = &mut *self.store;
        if let Some(id) = store.find_by_hash(&converted.sha256) {
            return Ok(Added::AlreadyStored(id.to_string()));
        }
        let id = store.free_id(converted.id(), &converted.sha256);
        let encoded = if id == converted.id() {
            Encoded::new(converted)?
        } else {
            let mut renamed = converted.activity.clone();
            renamed.id = id.clone();
            Encoded::of(&renamed, converted.track.as_ref())?
        };
        let mut files = Vec::with_capacity(2);
        // The activity file goes last: its presence is what recovery looks for.
        let targets = [
            encoded.track.map(|bytes| (store.track_path(&id), bytes)),
            Some((store.activity_path(&id), encoded.activity)),
        ];
        for (path, bytes) in targets.into_iter().flatten() {
            match PendingFile::write(&path, &bytes) {
                Ok(file) => files.push(file),
                Err(e) => {
                    files.into_iter().for_each(PendingFile::discard);
                    return Err(e.into());
                }
            }
        }
        store.catalog.insert_summary(encoded.summary);
        self.pending.append(&mut files);
        self.pending_ids.push(id.clone());
        self.changed = true;
        if self.pending.len() >= GROUP_FILES {
            self.flush()?;
        }
        Ok(Added::New(id))
    }

    /// Makes the batch's activity files durable, then rewrites `index.json` once.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        self.finished = true;
        self.flush()?;
        if self.changed {
            self.store.write_index()?;
            self.changed = false;
        }
        Ok(())
    }

    /// Makes the pending files durable and visible; on failure their activities leave the
    /// in-memory index again, so it never lists a file that is not there.
    fn flush(&mut self) -> Result<(), StoreError> {
        let files = std::mem::take(&mut self.pending);
        let ids = std::mem::take(&mut self.pending_ids);
        if let Err(e) = commit_group(files) {
            for id in &ids {
                self.store.catalog.remove(id);
            }
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for Batch<'_> {
    /// A batch dropped without `commit` is committed on a best-effort basis; should that fail,
    /// the files already written are adopted by the next recovery.
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.finish();
        }
    }
}

fn check_handle(handle: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::BadHandle {
            handle: handle.to_string(),
            reason,
        })
    };
    if handle.is_empty() {
        return bad("it is empty");
    }
    if handle == "." || handle == ".." || handle.starts_with('.') {
        return bad("it starts with a dot");
    }
    if handle.contains(['/', '\\', '\0']) {
        return bad("it contains a path separator or NUL");
    }
    Ok(())
}

/// The id to store an activity under: `proposed` (its UTC start) unless
/// `taken`, then suffixed with the end of the content hash, longer until
/// free, as BincioActivity does for two activities that start in the same
/// second.
pub fn unique_id(proposed: &str, sha256: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(proposed) {
        return proposed.to_string();
    }
    for len in [6, 12, sha256.len()] {
        let candidate = format!("{proposed}-{}", &sha256[sha256.len().saturating_sub(len)..]);
        if !taken(&candidate) {
            return candidate;
        }
    }
    (2..)
        .map(|n| format!("{proposed}-{sha256}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or_default()
}
