//! The import pipeline: FIT bytes in, a decision out (imported, duplicate,
//! rejected), made durable a batch at a time.
//!
//! Deciding one item, in order:
//! 1. (source, external id) already in the ledger or the batch: answered
//!    from there, nothing converted.
//! 2. The same bytes (sha256) seen before, under any name or source: a
//!    duplicate of the activity that holds them (or the same rejection).
//! 3. Converted; a file that is not an activity or cannot be read is
//!    rejected with its name and the cause.
//! 4. The store already holds these bytes but the ledger does not (a crash
//!    between writing the store and the ledger): adopted as imported.
//! 5. Another activity starting within 5 minutes with a distance within
//!    5 % (another device, another export): a duplicate of it.
//! 6. Otherwise a new activity, written at the next flush.
//!
//! Flushing, in order (so a crash at any point loses no decision that was
//! reported durable and leaves the store consistent):
//! 1. the batch's activity files, durable (temp file, fsync, rename);
//! 2. `index.json`, rewritten once (its temp file fsynced beside the
//!    activity files, renamed after them);
//! 3. the batch's ledger rows, the retry rows they settle and the cursor,
//!    in one SQLite transaction.
//!
//! A full batch is flushed on the flush thread ([`super::flusher`]) while the
//! next one is decided; [`ImportPipeline::flush`] and
//! [`ImportPipeline::commit`] return once everything decided is durable.
//!
//! A crash after 1 leaves orphans the store adopts when it is next opened;
//! a crash after 2 leaves activities the ledger does not know yet, which
//! step 4 adopts when the same bytes come again.

use super::error::ImportError;
use super::flusher::Flusher;
use super::item::base_name;
pub use super::item::{Item, Prepared};
use super::outcome::{DuplicateOf, Outcome};
use super::pending::{PendingActivity, PendingBatch};
use super::store_lock::StoreLock;
use crate::clock::{Clock, SystemClock};
use bincio_bas::{
    content_hash, convert_hashed, BasStore, Converted, Encoded, Rejected, Source, Warning,
};
use bincio_state::{ConnectionId, LedgerEntry, LedgerOutcome, StateDb};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Decisions held before the batch is flushed on its own.
pub const DEFAULT_BATCH_ITEMS: usize = 200;
/// Bytes of serialized activities held before the batch is flushed on its own.
/// Two batches live at once (one being decided, one on the flush thread), so
/// this bounds an import's memory whatever the size of the export: 200 long
/// activities are some 30 MiB, and at that size a 3,000-file export peaked a
/// third above a 300-file one. Eight MiB still spreads a fsync round over
/// dozens of files.
pub const DEFAULT_BATCH_BYTES: usize = 8 << 20;

/// The pipeline of one BAS store (`{data_dir}/{handle}/`), recording its
/// decisions in the shared state database.
pub struct ImportPipeline {
    /// Held for the pipeline's lifetime: one writer per store.
    _lock: StoreLock,
    store: BasStore,
    db: StateDb,
    clock: Arc<dyn Clock>,
    pending: PendingBatch,
    batch_items: usize,
    batch_bytes: usize,
    flusher: Flusher,
}

/// A pipeline shared by the CLI, the scheduler and every connection's sink.
#[derive(Clone)]
pub struct SharedPipeline(Arc<Mutex<ImportPipeline>>);

impl SharedPipeline {
    pub fn new(pipeline: ImportPipeline) -> Self {
        Self(Arc::new(Mutex::new(pipeline)))
    }

    /// Locks the pipeline. A panic while it was held (caught at the plugin
    /// boundary) cannot leave the store inconsistent, only a decision that
    /// was not recorded; so a poisoned lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, ImportPipeline> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A handle that does not keep the pipeline (and its store lock) alive.
    pub fn downgrade(&self) -> WeakPipeline {
        WeakPipeline(Arc::downgrade(&self.0))
    }
}

/// See [`SharedPipeline::downgrade`].
#[derive(Clone, Default)]
pub struct WeakPipeline(std::sync::Weak<Mutex<ImportPipeline>>);

impl WeakPipeline {
    pub fn upgrade(&self) -> Option<SharedPipeline> {
        self.0.upgrade().map(SharedPipeline)
    }
}

impl ImportPipeline {
    /// Opens the store `{data_dir}/{handle}/` (creating it; recovering from
    /// an interrupted write) and records decisions in `db`.
    pub fn open(data_dir: &Path, handle: &str, db: StateDb) -> Result<Self, ImportError> {
        std::fs::create_dir_all(data_dir).map_err(|source| ImportError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        // Before opening: recovery must not run beside another writer.
        let lock = StoreLock::acquire(data_dir, handle)?;
        let store = BasStore::open(data_dir, handle)?;
        let recovery = store.recovery();
        if !recovery.adopted.is_empty() || recovery.temp_files_removed > 0 {
            tracing::info!(
                adopted = recovery.adopted.len(),
                temp_files_removed = recovery.temp_files_removed,
                "BAS store recovered from an interrupted import"
            );
        }
        for (path, why) in &recovery.unreadable {
            tracing::warn!(path = %path.display(), why, "BAS store holds a file it cannot read");
        }
        Ok(Self {
            _lock: lock,
            store,
            flusher: Flusher::new(db.clone())?,
            db,
            clock: Arc::new(SystemClock),
            pending: PendingBatch::default(),
            batch_items: DEFAULT_BATCH_ITEMS,
            batch_bytes: DEFAULT_BATCH_BYTES,
        })
    }

    /// Times ledger rows with `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Flushes on its own once this many decisions are pending (at least 1).
    pub fn with_batch_items(mut self, items: usize) -> Self {
        self.batch_items = items.max(1);
        self
    }

    /// Flushes on its own once the pending activities' serialized bytes reach
    /// this (at least 1: then every stored activity is its own batch).
    pub fn with_batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes.max(1);
        self
    }

    pub fn store(&self) -> &BasStore {
        &self.store
    }

    pub fn db(&self) -> &StateDb {
        &self.db
    }

    /// Decisions made but not yet known durable.
    pub fn pending(&self) -> usize {
        self.pending.len() + self.flusher.in_flight().map_or(0, PendingBatch::len)
    }

    /// Whether the ledger (or the pending batch) knows this external id.
    pub fn contains(&self, source: &str, external_id: &str) -> Result<bool, ImportError> {
        if self.is_pending(source, external_id) {
            return Ok(true);
        }
        Ok(self
            .db
            .ledger_by_external_id(source, external_id)?
            .is_some())
    }

    /// Whether this external id was decided in a batch not yet known durable.
    pub fn is_pending(&self, source: &str, external_id: &str) -> bool {
        self.batches()
            .any(|batch| batch.by_external_id(source, external_id).is_some())
    }

    /// The batch being decided, then the one in flight.
    fn batches(&self) -> impl Iterator<Item = &PendingBatch> {
        std::iter::once(&self.pending).chain(self.flusher.in_flight())
    }

    /// Decides one item (see the module doc). The decision is durable after
    /// the next [`flush`](Self::flush) or [`commit`](Self::commit), which
    /// also happens on its own when the batch is full.
    pub fn import(&mut self, item: &Item<'_>) -> Result<Outcome, ImportError> {
        // Hashed once: the hash finds a file seen before without converting it, and the
        // conversion takes it as the activity's `source_hash`.
        let sha256 = content_hash(item.bytes);
        self.decide(item, sha256, |sha256| {
            convert_hashed(item.bytes, base_name(item.file_name), sha256).map(|c| (c, None))
        })
    }

    /// [`import`](Self::import) with the hash and conversion done beforehand (on another
    /// thread): the same decision, in the order items are offered. `item.bytes` is not read
    /// (see [`Item::local_prepared`]).
    pub fn import_prepared(
        &mut self,
        item: &Item<'_>,
        prepared: Prepared,
    ) -> Result<Outcome, ImportError> {
        let Prepared {
            sha256,
            converted,
            encoded,
        } = prepared;
        self.decide(item, sha256, move |_| converted.map(|c| (c, encoded)))
    }

    fn decide(
        &mut self,
        item: &Item<'_>,
        sha256: String,
        convert: impl FnOnce(&str) -> Result<(Converted, Option<Encoded>), Rejected>,
    ) -> Result<Outcome, ImportError> {
        if let Some(external_id) = item.external_id {
            if let Some(entry) = self.known_external_id(item.source, external_id)? {
                return Ok(answer_from_ledger(&entry, DuplicateOf::SameExternalId));
            }
        }
        if let Some(entry) = self.known_content(&sha256)? {
            let outcome = answer_from_ledger(&entry, DuplicateOf::SameContent);
            if item.external_id.is_some() {
                // Recorded under the new external id, so `contains` knows it.
                self.record(item, &sha256, &outcome, None);
            }
            return self.settle(outcome);
        }
        let (converted, encoded) = match convert(&sha256) {
            Ok(converted) => converted,
            Err(rejected) => {
                let outcome = Outcome::Rejected {
                    reason: format!("{}: {}", item.file_name, rejected.cause),
                };
                self.record(item, &sha256, &outcome, None);
                return self.settle(outcome);
            }
        };
        let warnings: Vec<String> = converted.warnings.iter().map(ToString::to_string).collect();
        let salvaged = converted.warnings.iter().any(is_damage);
        if let Some(id) = self.store.find_by_hash(&sha256) {
            let outcome = Outcome::Imported {
                activity_id: id.to_owned(),
                salvaged,
                warnings,
            };
            self.record(item, &sha256, &outcome, None);
            return self.settle(outcome);
        }
        let distance = converted.distance_m.unwrap_or(0.0);
        let near = self
            .store
            .find_near(converted.started_at_unix, distance)
            .or_else(|| self.pending.find_near(converted.started_at_unix, distance));
        if let Some(id) = near {
            let outcome = Outcome::Duplicate {
                activity_id: id.to_owned(),
                why: DuplicateOf::NearDuplicate,
            };
            self.record(item, &sha256, &outcome, None);
            return self.settle(outcome);
        }
        let mut converted = converted;
        let source = bas_source(item.source);
        let id = self.free_id(converted.id(), &sha256);
        // Serialized ahead under the converter's id and source: kept if it is stored so.
        let ahead = converted.activity.source == Some(source) && id == converted.id();
        let encoded = match encoded {
            Some(encoded) if ahead => encoded,
            stale => {
                // Serialized ahead, its timeseries was freed: read back from those bytes.
                if let Some(stale) = &stale {
                    stale.restore(&mut converted)?;
                }
                converted.set_source(source);
                converted.activity.id = id.clone();
                Encoded::new(&converted)?
            }
        };
        let outcome = Outcome::Imported {
            activity_id: id.clone(),
            salvaged,
            warnings,
        };
        self.record(
            item,
            &sha256,
            &outcome,
            Some(PendingActivity {
                id,
                encoded,
                started_at_unix: converted.started_at_unix,
                distance_m: converted.distance_m,
            }),
        );
        self.settle(outcome)
    }

    /// Makes the pending batch durable: activity files, then the index, then
    /// the ledger rows in one transaction. The cursor does not move.
    pub fn flush(&mut self) -> Result<(), ImportError> {
        self.flush_with_cursor(None)
    }

    /// [`flush`](Self::flush), storing `cursor` for `connection` in the same
    /// transaction as the ledger rows (even when there are none).
    pub fn commit(&mut self, connection: &ConnectionId, cursor: &str) -> Result<(), ImportError> {
        self.flush_with_cursor(Some((connection, cursor)))
    }

    fn flush_with_cursor(
        &mut self,
        cursor: Option<(&ConnectionId, &str)>,
    ) -> Result<(), ImportError> {
        let refused = cursor.filter(|(connection, _)| self.flusher.lost(connection));
        let cursor = cursor.filter(|_| refused.is_none());
        if !self.pending.is_empty() || cursor.is_some() {
            self.start_flush(cursor)?;
        }
        self.flusher.wait(&mut self.store)?;
        match refused {
            Some((connection, _)) => Err(ImportError::CursorAfterLoss {
                connection: connection.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Says that `connection`'s run ended (after its last flush): a loss of its decisions
    /// no longer refuses its cursors, since its next run starts from the one stored before.
    pub fn run_ended(&mut self, connection: &ConnectionId) {
        self.flusher.run_ended(connection);
    }

    /// Hands the pending batch to the flush thread (after the batch before it
    /// is durable) and returns without waiting for it.
    fn start_flush(&mut self, cursor: Option<(&ConnectionId, &str)>) -> Result<(), ImportError> {
        let batch = std::mem::take(&mut self.pending);
        let cursor = cursor.map(|(connection, cursor)| (connection.clone(), cursor.to_owned()));
        self.flusher.start(&mut self.store, batch, cursor)
    }

    fn known_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<LedgerEntry>, ImportError> {
        let pending = self.batches();
        if let Some(entry) = pending
            .filter_map(|b| b.by_external_id(source, external_id))
            .next()
        {
            return Ok(Some(entry.clone()));
        }
        Ok(self.db.ledger_by_external_id(source, external_id)?)
    }

    fn known_content(&self, sha256: &str) -> Result<Option<LedgerEntry>, ImportError> {
        if let Some(entry) = self.batches().filter_map(|b| b.by_hash(sha256)).next() {
            return Ok(Some(entry.clone()));
        }
        Ok(self.db.ledger_by_hash(sha256)?)
    }

    /// Adds the ledger row for a decision to the batch.
    fn record(
        &mut self,
        item: &Item<'_>,
        sha256: &str,
        outcome: &Outcome,
        activity: Option<PendingActivity>,
    ) {
        let (ledger_outcome, activity_id, reason) = match outcome {
            Outcome::Imported {
                activity_id,
                salvaged,
                warnings,
            } => (
                LedgerOutcome::Imported,
                Some(activity_id.clone()),
                (!warnings.is_empty()).then(|| {
                    let what = if *salvaged { "salvaged" } else { "warning" };
                    format!("{what}: {}", warnings.join("; "))
                }),
            ),
            Outcome::Duplicate { activity_id, why } => (
                LedgerOutcome::Duplicate,
                Some(activity_id.clone()),
                Some(format!("{why} as {activity_id}")),
            ),
            Outcome::Rejected { reason } => (LedgerOutcome::Rejected, None, Some(reason.clone())),
        };
        let row = LedgerEntry {
            source: item.source.to_owned(),
            external_id: item.external_id.map(str::to_owned),
            connection_id: item.connection.cloned(),
            content_sha256: sha256.to_owned(),
            activity_id,
            outcome: ledger_outcome,
            reason,
            at: self.clock.now(),
        };
        self.pending.push(row, activity);
    }

    /// Flushes on its own when the batch is full, then answers `outcome`.
    fn settle(&mut self, outcome: Outcome) -> Result<Outcome, ImportError> {
        if self.pending.len() >= self.batch_items || self.pending.bytes() >= self.batch_bytes {
            self.start_flush(None)?;
        }
        Ok(outcome)
    }

    /// The id to store a new activity under: the converter's (its UTC
    /// start) unless the store or the batch has it, then suffixed with the
    /// end of the content hash, as BincioActivity does.
    fn free_id(&self, proposed: &str, sha256: &str) -> String {
        bincio_bas::unique_id(proposed, sha256, |id| {
            self.pending.holds_id(id)
                || self.store.contains(id)
                || self.store.activity_path(id).exists()
        })
    }
}

impl Drop for ImportPipeline {
    /// Decisions still pending are made durable on a best-effort basis; if
    /// that fails, the next run decides those items again.
    fn drop(&mut self) {
        if self.pending() > 0 {
            if let Err(e) = self.flush() {
                tracing::error!(error = %e, "pending imports could not be stored");
            }
        }
    }
}

/// Whether a conversion warning means the file was damaged (and salvaged),
/// rather than something left out of an intact file.
fn is_damage(warning: &Warning) -> bool {
    !matches!(warning, Warning::MultisportFirstSessionOnly { .. })
}

/// The decision a ledger row already made, as an outcome for a repeat.
fn answer_from_ledger(entry: &LedgerEntry, why: DuplicateOf) -> Outcome {
    match (entry.outcome, &entry.activity_id) {
        (LedgerOutcome::Rejected, _) | (_, None) => Outcome::Rejected {
            reason: entry
                .reason
                .clone()
                .unwrap_or_else(|| "rejected earlier".to_owned()),
        },
        (_, Some(activity_id)) => Outcome::Duplicate {
            activity_id: activity_id.clone(),
            why,
        },
    }
}

/// The BAS `source` for a ledger source: the service a plugin talks to, or
/// a FIT file.
fn bas_source(source: &str) -> Source {
    let service = source.rsplit(['.', '/']).next().unwrap_or(source);
    match service.to_ascii_lowercase().as_str() {
        s if s.starts_with("garmin") => Source::GarminConnect,
        s if s.starts_with("wahoo") => Source::Wahoo,
        s if s.starts_with("komoot") => Source::Komoot,
        s if s.starts_with("karoo") => Source::Karoo,
        _ => Source::FitFile,
    }
}

/// The state database's file in the data folder.
pub const STATE_DB_FILE: &str = "state.sqlite3";

/// The pipeline the CLI uses: the data folder created if missing, the state
/// database `{data_dir}/state.sqlite3` and the store `{data_dir}/{handle}/`.
pub fn open_local(data_dir: &Path, handle: &str) -> Result<ImportPipeline, ImportError> {
    std::fs::create_dir_all(data_dir).map_err(|source| ImportError::DataDir {
        path: data_dir.to_owned(),
        source,
    })?;
    let db = StateDb::open(&data_dir.join(STATE_DB_FILE))?;
    ImportPipeline::open(data_dir, handle, db)
}
