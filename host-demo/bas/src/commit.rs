//! Adding a batch of activities with the work split three ways, so an importer can keep every
//! core busy: serializing an activity ([`Encoded::new`](crate::Encoded::new), on any thread, ahead of the decision
//! to store it), listing a batch in the in-memory index ([`BasStore::prepare_commit`], quick,
//! on the thread that owns the store), and the disk work ([`CommitJob::run`], on any thread,
//! while the owner goes on with the next batch).
//!
//! The order on disk is a [`Batch`](crate::Batch)'s: the activity files are durable before the
//! index that lists them is renamed into place, so a crash at any point leaves a store that
//! recovery makes consistent (orphans adopted, temp files removed).

use bincio_atomic_file::commit_groups;

use crate::encoded::Encoded;
use crate::error::StoreError;
use crate::index::Shard;
use crate::layout::{index_files, Files};
use crate::store::BasStore;

/// The disk work of a batch, ready to run on any thread: see [`BasStore::prepare_commit`].
#[must_use = "the batch is not on disk until the job runs"]
pub struct CommitJob {
    /// Each activity's track, then its document (recovery looks for the document).
    activity_files: Files,
    /// Changed shards, then `index.json`.
    index_files: Files,
}

impl CommitJob {
    /// Writes the batch: all its files (activities and index) fsynced together, the activity
    /// files renamed and their directory fsynced, then the index renamed. On error no temp
    /// file is left; the caller hands the [`Committing`] back ([`BasStore::commit_failed`]).
    pub fn run(self) -> Result<(), StoreError> {
        Ok(commit_groups(vec![self.activity_files, self.index_files])?)
    }
}

/// What [`BasStore::prepare_commit`] changed in memory, to undo if its job fails.
#[derive(Debug)]
pub struct Committing {
    ids: Vec<String>,
    shards_before: Vec<Shard>,
}

impl BasStore {
    /// Lists `activities` in the in-memory index (lookups see them at once) and returns the job
    /// that writes them and the new index. Jobs must run in the order they were prepared, one
    /// finished (or failed and handed back) before the next is prepared. Each id must be free
    /// and each content new to the store: the caller decided that (one writer per store).
    pub fn prepare_commit(
        &mut self,
        activities: Vec<Encoded>,
    ) -> Result<(CommitJob, Committing), StoreError> {
        let mut committing = Committing {
            ids: Vec::with_capacity(activities.len()),
            shards_before: self.shards.clone(),
        };
        let mut activity_files: Files = Vec::with_capacity(activities.len() * 2);
        for encoded in activities {
            if let Err(e) = self.check_free(&encoded) {
                self.commit_failed(committing);
                return Err(e);
            }
            self.catalog.insert_summary(encoded.summary);
            if let Some(track) = encoded.track {
                activity_files.push((self.track_path(&encoded.id), Box::new(track)));
            }
            activity_files.push((self.activity_path(&encoded.id), Box::new(encoded.activity)));
            committing.ids.push(encoded.id);
        }
        match index_files(&self.dir, &self.owner, &mut self.catalog, &self.shards) {
            Ok((index_files, shards)) => {
                self.shards = shards;
                let job = CommitJob {
                    activity_files,
                    index_files,
                };
                Ok((job, committing))
            }
            Err(e) => {
                self.commit_failed(committing);
                Err(e)
            }
        }
    }

    /// Undoes [`prepare_commit`](Self::prepare_commit) after its job failed: its activities
    /// leave the in-memory index, so it never lists a file that may not be there.
    pub fn commit_failed(&mut self, committing: Committing) {
        for id in &committing.ids {
            self.catalog.remove(id);
        }
        self.shards = committing.shards_before;
    }

    fn check_free(&self, encoded: &Encoded) -> Result<(), StoreError> {
        let taken = |detail: &str| {
            Err(StoreError::BadActivity {
                id: encoded.id.clone(),
                detail: detail.to_string(),
            })
        };
        if self.contains(&encoded.id) || self.activity_path(&encoded.id).exists() {
            return taken("its id is taken in the store");
        }
        if let Some(hash) = encoded.summary.source_hash() {
            if self.find_by_hash(hash).is_some() {
                return taken("its content is already stored");
            }
        }
        Ok(())
    }
}
