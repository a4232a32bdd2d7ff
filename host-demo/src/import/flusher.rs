//! Making a batch durable on a thread of its own, so the pipeline goes on deciding (and the
//! pool converting) while the disk works: fsyncs of a batch of activity files and their index
//! take as long as converting the batch, and done on the deciding thread they left every core
//! idle meanwhile.
//!
//! One batch at a time is in flight: the next is handed over only once the one before is
//! durable (or has failed), so batches land in the order they were decided, each one's
//! activity files before its index and its index before its ledger rows (the pipeline's
//! crash-safety order). While a batch is in flight its rows still answer lookups (see
//! [`Flusher::in_flight`]) and its activities are already in the store's in-memory index.

use super::error::ImportError;
use super::pending::PendingBatch;
use bincio_bas::{BasStore, CommitJob, Committing};
use bincio_state::{ConnectionId, StateDb, StateError};
use std::collections::HashSet;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The disk work of one batch, in order: activity files and index, then one transaction.
struct Job {
    commit: Option<CommitJob>,
    batch: Arc<PendingBatch>,
    cursor: Option<(ConnectionId, String)>,
}

/// A batch handed to the thread and not yet known durable.
struct InFlight {
    /// Its ledger rows and lookups (shared with the job), its activities taken out.
    batch: Arc<PendingBatch>,
    committing: Option<Committing>,
}

pub(super) struct Flusher {
    jobs: Option<Sender<Job>>,
    done: Receiver<Result<(), ImportError>>,
    in_flight: Option<InFlight>,
    thread: Option<JoinHandle<()>>,
    /// Connections with decisions in a batch that failed (or was dropped behind one that did).
    lost: HashSet<ConnectionId>,
}

impl Flusher {
    /// Starts the thread, which records ledger rows in `db`.
    pub(super) fn new(db: StateDb) -> Result<Self, ImportError> {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        let thread = std::thread::Builder::new()
            .name("import-flush".into())
            .spawn(move || {
                for job in job_rx {
                    if done_tx.send(run(job, &db)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|_| ImportError::FlushThread)?;
        Ok(Self {
            jobs: Some(jobs),
            done,
            in_flight: None,
            thread: Some(thread),
            lost: HashSet::new(),
        })
    }

    /// The batch in flight, for lookups: decided, perhaps durable already.
    pub(super) fn in_flight(&self) -> Option<&PendingBatch> {
        self.in_flight.as_ref().map(|f| &*f.batch)
    }

    /// Hands `batch` (and the cursor to store with it) over to be made durable, after the batch
    /// before it is. Its activities are listed in `store` at once.
    pub(super) fn start(
        &mut self,
        store: &mut BasStore,
        mut batch: PendingBatch,
        cursor: Option<(ConnectionId, String)>,
    ) -> Result<(), ImportError> {
        if let Err(e) = self.wait(store) {
            self.lose(&batch);
            return Err(e);
        }
        let activities: Vec<_> = std::mem::take(&mut batch.activities)
            .into_iter()
            .map(|a| a.encoded)
            .collect();
        let prepared = if activities.is_empty() {
            None
        } else {
            match store.prepare_commit(activities) {
                Ok(prepared) => Some(prepared),
                Err(e) => {
                    self.lose(&batch);
                    return Err(e.into());
                }
            }
        };
        let (commit, committing) = prepared.map_or((None, None), |(j, c)| (Some(j), Some(c)));
        let batch = Arc::new(batch);
        let job = Job {
            commit,
            batch: Arc::clone(&batch),
            cursor,
        };
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            if let Some(committing) = committing {
                store.commit_failed(committing);
            }
            self.lose(&batch);
            return Err(ImportError::FlushThread);
        }
        self.in_flight = Some(InFlight { batch, committing });
        Ok(())
    }

    /// Waits until the batch in flight (if any) is durable. On failure its activities leave the
    /// store's in-memory index and its decisions are forgotten (none was reported durable): the
    /// next run decides those items again, and until then its connections store no cursor.
    pub(super) fn wait(&mut self, store: &mut BasStore) -> Result<(), ImportError> {
        let Some(in_flight) = self.in_flight.take() else {
            return Ok(());
        };
        let result = self
            .done
            .recv()
            .unwrap_or_else(|_| Err(ImportError::FlushThread));
        if result.is_err() {
            if let Some(committing) = in_flight.committing {
                store.commit_failed(committing);
            }
            self.lose(&in_flight.batch);
        }
        result
    }

    /// Whether decisions of `connection` were lost since its run began: then no cursor of it
    /// may be stored (it would pass items that are in neither the store nor the ledger).
    pub(super) fn lost(&self, connection: &ConnectionId) -> bool {
        self.lost.contains(connection)
    }

    /// Forgets the loss of `connection` once its run ended: the next run starts from the
    /// cursor stored before the loss and decides those items again.
    pub(super) fn run_ended(&mut self, connection: &ConnectionId) {
        self.lost.remove(connection);
    }

    fn lose(&mut self, batch: &PendingBatch) {
        let connections = batch
            .rows
            .iter()
            .filter_map(|row| row.connection_id.clone());
        self.lost.extend(connections);
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        // The pipeline waited for the batch in flight; the thread ends with its channel.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One batch made durable: its files and index, then its rows, the retry rows they settle and
/// the cursor in one transaction.
fn run(job: Job, db: &StateDb) -> Result<(), ImportError> {
    if let Some(commit) = job.commit {
        commit.run()?;
    }
    let mut tx = db.import_tx()?;
    for row in &job.batch.rows {
        match tx.record(row) {
            Ok(()) => {}
            // Another writer recorded the same item first: its row stands.
            Err(StateError::LedgerConflict { .. }) => {
                tracing::debug!(source = row.source, external_id = ?row.external_id, "ledger row already recorded");
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (connection, external_id) in &job.batch.settled {
        tx.clear_retry(connection, external_id)?;
    }
    if let Some((connection, cursor)) = &job.cursor {
        tx.set_cursor(connection, cursor)?;
    }
    tx.commit()?;
    tracing::debug!(rows = job.batch.len(), "import batch durable");
    Ok(())
}
