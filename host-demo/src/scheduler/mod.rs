//! The scheduler: every user's active connections synced on their
//! interval, with jitter, one run at a time per connection, at most
//! `max_concurrent` at once in fair turn order (first runs first, then
//! round-robin by connection), backoff after failures, a service's
//! `retry_after` honoured, and connections that need their user (or whose
//! user is disabled) left alone (and shown by `status`). Each run's failure
//! stays its own: another user's error, cooldown or broken store never
//! stops a run.
//!
//! It is driven by [`Scheduler::tick`], which starts every due sync on its
//! own thread and returns; `run` calls it in a loop, tests call it with a
//! manual clock. Cancelling asks running syncs to stop after the item in
//! hand; [`Scheduler::wait`] then joins them. [`Scheduler::run_now`] starts
//! one connection's run out of turn (the web page's "Sync now") with the
//! same bookkeeping, and a [`RunWatcher`] sees every run as it goes.

mod timing;

pub use timing::{interval_for, JITTER_FRACTION, MAX_BACKOFF_SECS};
use timing::{next_run, Policy};

use crate::host::waits::clamp_interval;
use crate::host::{Host, HostError, SyncOptions, SyncReport};
use crate::services::{CancelFlag, ItemObserver, ProgressReporter};
use bincio_state::{ConnectionId, ConnectionStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How many syncs run at once by default, across every user.
pub const DEFAULT_MAX_CONCURRENT: usize = 8;

/// What one finished run led to, for logs and tests.
#[derive(Debug)]
pub struct RunRecord {
    pub connection: ConnectionId,
    pub started_at: i64,
    pub outcome: Result<SyncReport, HostError>,
    pub next_run_at: Option<i64>,
}

/// Sees every run the scheduler starts, from its start to its end (the web
/// server's live runs). `run_started` is called before the run's thread
/// starts; the hooks are called on that thread.
pub trait RunWatcher: Send + Sync {
    fn run_started(&self, connection: &ConnectionId) -> RunHooks;
}

/// Told how a run ended, once it has returned.
pub type RunFinished = Box<dyn FnOnce(&Result<SyncReport, HostError>) + Send>;

/// One run's hooks, from [`RunWatcher::run_started`].
pub struct RunHooks {
    pub progress: ProgressReporter,
    pub items: ItemObserver,
    /// Called once the run has returned (and its schedule is stored).
    pub finished: RunFinished,
}

/// What [`Scheduler::run_now`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunNow {
    Started,
    /// A run of that connection was already going: one at a time.
    AlreadyRunning,
    /// `max_concurrent` runs are going: the run is made due now, and the
    /// scheduler's next look starts it in turn.
    Queued,
    /// The scheduler is stopping.
    Stopping,
}

pub struct Scheduler {
    host: Arc<Host>,
    cancel: CancelFlag,
    running: Arc<Mutex<HashMap<ConnectionId, JoinHandle<()>>>>,
    finished: Arc<Mutex<Vec<RunRecord>>>,
    max_concurrent: usize,
    watcher: Option<Arc<dyn RunWatcher>>,
}

impl Scheduler {
    pub fn new(host: Arc<Host>, cancel: CancelFlag) -> Self {
        Self {
            host,
            cancel,
            running: Arc::default(),
            finished: Arc::default(),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            watcher: None,
        }
    }

    /// Every run started from now on is shown to `watcher`.
    pub fn with_watcher(mut self, watcher: Arc<dyn RunWatcher>) -> Self {
        self.watcher = Some(watcher);
        self
    }

    /// At most `n` syncs at once (at least 1); the rest wait their turn.
    pub fn with_max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    /// The sync interval of a connection's plugin: the user's setting, never
    /// below the plugin's minimum; the plugin's default otherwise.
    pub fn interval_secs(&self, plugin_id: &str) -> Result<i64, HostError> {
        let (config, plugin) = self.host.manager.loaded(plugin_id)?;
        Ok(interval_for(config, &plugin.descriptor))
    }

    fn min_interval_secs(&self, plugin_id: &str) -> i64 {
        self.host
            .manager
            .loaded(plugin_id)
            .map(|(_, p)| clamp_interval(p.descriptor.min_interval.as_secs()))
            .unwrap_or(3600)
    }

    /// Connections whose run is due now and not already running.
    pub fn due(&self) -> Result<Vec<ConnectionId>, HostError> {
        Ok(self
            .due_with_plugins()?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }

    /// [`Scheduler::due`], each with its plugin id: every user's, in turn
    /// order (see [`fair_order`]).
    fn due_with_plugins(&self) -> Result<Vec<(ConnectionId, String)>, HostError> {
        let now = self.host.now();
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let due = self
            .host
            .db
            .due_connections(now)?
            .into_iter()
            // A disabled or broken plugin's connections wait: the status page shows why.
            .filter(|c| {
                !running.contains_key(&c.id) && self.host.manager.loaded(&c.plugin_id).is_ok()
            })
            .map(|c| (c.id, c.plugin_id, c.last_run_started_at))
            .collect();
        Ok(fair_order(due))
    }

    /// Starts every due sync on its own thread; returns the ones started.
    pub fn tick(&self) -> Result<Vec<ConnectionId>, HostError> {
        self.reap();
        if self.cancel.is_cancelled() {
            return Ok(Vec::new());
        }
        let mut due = self.due_with_plugins()?;
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        due.truncate(self.max_concurrent.saturating_sub(running.len()));
        for (id, plugin_id) in &due {
            self.spawn(&mut running, id, plugin_id)?;
        }
        Ok(due.into_iter().map(|(id, _)| id).collect())
    }

    /// Starts a run of `id` now, out of turn, unless one is going (it is
    /// not queued: the running one is the run) or the server already runs
    /// `max_concurrent` (then it is queued: due now, started by a later
    /// [`Scheduler::tick`] in turn). The caller checks that the connection
    /// may sync; a gate that refuses ends the run as it would a scheduled one.
    pub fn run_now(&self, id: &ConnectionId) -> Result<RunNow, HostError> {
        self.reap();
        if self.cancel.is_cancelled() {
            return Ok(RunNow::Stopping);
        }
        let plugin_id = self.host.connection(id.as_str())?.plugin_id;
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.contains_key(id) {
            return Ok(RunNow::AlreadyRunning);
        }
        if running.len() >= self.max_concurrent {
            let failures = self
                .host
                .db
                .schedule(id)?
                .map_or(0, |s| s.consecutive_failures);
            self.host.db.set_schedule(id, self.host.now(), failures)?;
            return Ok(RunNow::Queued);
        }
        self.spawn(&mut running, id, &plugin_id)?;
        Ok(RunNow::Started)
    }

    /// Whether a run of `id` is going.
    pub fn is_running(&self, id: &ConnectionId) -> bool {
        self.reap();
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }

    /// Starts `id`'s run on its own thread and records it in `running`.
    fn spawn(
        &self,
        running: &mut HashMap<ConnectionId, JoinHandle<()>>,
        id: &ConnectionId,
        plugin_id: &str,
    ) -> Result<(), HostError> {
        let host = self.host.clone();
        let cancel = self.cancel.clone();
        let finished = self.finished.clone();
        let policy = Policy {
            interval: self.interval_secs(plugin_id)?,
            min_interval: self.min_interval_secs(plugin_id),
        };
        // Before the thread starts: whoever asked for the run finds it
        // when this returns.
        let hooks = self.watcher.as_ref().map(|w| w.run_started(id));
        let connection = id.clone();
        let handle = std::thread::Builder::new()
            .name(format!("sync-{id}"))
            .spawn(move || {
                let record = run_one(&host, &connection, cancel, policy, hooks);
                finished
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(record);
            })
            .map_err(HostError::Thread)?;
        running.insert(id.clone(), handle);
        Ok(())
    }

    /// Forgets threads that have finished.
    fn reap(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let done: Vec<ConnectionId> = running
            .iter()
            .filter(|(_, h)| h.is_finished())
            .map(|(id, _)| id.clone())
            .collect();
        for id in done {
            if let Some(handle) = running.remove(&id) {
                let _ = handle.join();
            }
        }
    }

    pub fn running(&self) -> Vec<ConnectionId> {
        self.reap();
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Blocks until every running sync has returned.
    pub fn wait(&self) {
        let handles: Vec<_> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, h)| h)
            .collect();
        for handle in handles {
            let _ = handle.join();
        }
    }

    /// Runs that finished since the last call.
    pub fn take_finished(&self) -> Vec<RunRecord> {
        std::mem::take(&mut *self.finished.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The earliest next run among active connections, for sleeping.
    pub fn next_wakeup(&self) -> Option<i64> {
        let connections = self.host.db.connections().ok()?;
        connections
            .iter()
            .filter(|c| c.status == ConnectionStatus::Active)
            .filter_map(|c| self.host.db.schedule(&c.id).ok().flatten())
            .map(|s| s.next_run_at)
            .min()
    }
}

/// Turn order among due connections: first runs before anything (a new
/// connection is not queued behind other users' backfills), then the one
/// whose last run started longest ago (round-robin by connection: a long
/// backfill yields to the others between its runs).
fn fair_order(mut due: Vec<(ConnectionId, String, Option<i64>)>) -> Vec<(ConnectionId, String)> {
    due.sort_by_key(|(_, _, last)| match last {
        None => (0, 0),
        Some(at) => (1, *at),
    });
    due.into_iter()
        .map(|(id, plugin, _)| (id, plugin))
        .collect()
}

fn run_one(
    host: &Host,
    id: &ConnectionId,
    cancel: CancelFlag,
    policy: Policy,
    hooks: Option<RunHooks>,
) -> RunRecord {
    let started_at = host.now();
    let logged = ProgressReporter::new({
        let id = id.clone();
        move |event| tracing::debug!(target: "host::scheduler", connection = %id, ?event, "progress")
    });
    let (progress, items, on_finish) = match hooks {
        Some(h) => (h.progress, h.items, Some(h.finished)),
        None => (logged, ItemObserver::silent(), None),
    };
    let options = SyncOptions {
        max_downloads: None,
        cancel,
        progress,
        items,
    };
    let outcome = host.sync_connection(id.as_str(), options);
    let failures = host
        .db
        .schedule(id)
        .ok()
        .flatten()
        .map(|s| s.consecutive_failures)
        .unwrap_or(0);
    let now = host.now();
    let mut rng = rand::thread_rng();
    let (next, failures) = next_run(&outcome, now, failures, policy, &mut rng);
    match next {
        Some(at) => {
            if let Err(e) = host.db.set_schedule(id, at, failures) {
                tracing::error!(target: "host::scheduler", connection = %id, "cannot store the schedule: {e}");
            }
        }
        None => {
            tracing::warn!(target: "host::scheduler", connection = %id, "paused: the connection needs its user")
        }
    }
    log_outcome(id, &outcome);
    if let Some(on_finish) = on_finish {
        on_finish(&outcome);
    }
    RunRecord {
        connection: id.clone(),
        started_at,
        outcome,
        next_run_at: next,
    }
}

fn log_outcome(id: &ConnectionId, outcome: &Result<SyncReport, HostError>) {
    match outcome {
        Ok(report) => match &report.result {
            Ok(s) => {
                tracing::info!(target: "host::scheduler", connection = %id, imported = s.imported, already_there = s.already_there, rejected = s.rejected.len(), deferred = s.deferred, has_more = s.has_more, "sync finished")
            }
            Err(e) => {
                tracing::warn!(target: "host::scheduler", connection = %id, "sync failed: {e}")
            }
        },
        Err(e) => tracing::warn!(target: "host::scheduler", connection = %id, "sync not run: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_runs_go_first_then_the_longest_waiting() {
        let due = vec![
            (ConnectionId::new("garmin-1"), "p".to_string(), Some(50)),
            (ConnectionId::new("garmin-2"), "p".to_string(), Some(10)),
            (ConnectionId::new("garmin-3"), "p".to_string(), None),
            (ConnectionId::new("garmin-4"), "p".to_string(), Some(30)),
        ];
        let order: Vec<String> = fair_order(due)
            .into_iter()
            .map(|(id, _)| id.to_string())
            .collect();
        assert_eq!(order, ["garmin-3", "garmin-2", "garmin-4", "garmin-1"]);
    }
}
