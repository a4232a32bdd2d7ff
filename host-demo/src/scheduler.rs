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

use crate::host::waits::{after, clamp_interval, clamp_rate_limit_wait};
use crate::host::{Host, HostError, SyncOptions, SyncReport};
use crate::plugins::{Descriptor, PluginConfig};
use crate::services::{CancelFlag, ItemObserver, ProgressReporter};
use bincio_backoff::{from_secs, Backoff, Jitter};
use bincio_state::{ConnectionId, ConnectionStatus};
use host_api::ErrorKind;
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How far a next run may move from its nominal time, either way, so that
/// many servers do not hit the service in lockstep.
pub const JITTER_FRACTION: f64 = 0.1;
/// The longest wait after repeated failures.
pub const MAX_BACKOFF_SECS: i64 = 24 * 3600;
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
        let disabled: std::collections::HashSet<_> = self
            .host
            .db
            .users()?
            .into_iter()
            .filter(|u| u.is_disabled())
            .map(|u| u.handle)
            .collect();
        let mut due = Vec::new();
        for c in self.host.db.connections()? {
            if c.status != ConnectionStatus::Active
                || running.contains_key(&c.id)
                || disabled.contains(&c.user)
            {
                continue;
            }
            if self.host.manager.loaded(&c.plugin_id).is_err() {
                continue; // disabled or broken: status shows why
            }
            let next = self.host.db.schedule(&c.id)?.map(|s| s.next_run_at);
            if next.is_none_or(|at| at <= now) {
                let last = self.host.db.last_run(&c.id)?.map(|r| r.started_at);
                due.push((c.id, c.plugin_id, last));
            }
        }
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

/// The sync interval in seconds for `config`'s plugin: the user's
/// `interval_minutes`, else the plugin's default; never below the plugin's
/// minimum; always within 1 s ..= [`crate::host::waits::MAX_INTERVAL_SECS`], whatever the
/// plugin declares.
pub fn interval_for(config: &PluginConfig, d: &Descriptor) -> i64 {
    let wanted = config
        .interval_minutes
        .map(|m| clamp_interval(m.saturating_mul(60)))
        .unwrap_or(clamp_interval(d.default_interval.as_secs()));
    wanted.max(clamp_interval(d.min_interval.as_secs()))
}

#[derive(Clone, Copy)]
struct Policy {
    interval: i64,
    min_interval: i64,
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

/// When to run next, and the new count of consecutive failures; `None`
/// when the connection waits for its user.
fn next_run(
    outcome: &Result<SyncReport, HostError>,
    now: i64,
    failures: u32,
    policy: Policy,
    rng: &mut impl Rng,
) -> (Option<i64>, u32) {
    let jitter = Jitter::around(JITTER_FRACTION);
    let error = match outcome {
        Ok(report) => match &report.result {
            Ok(summary) => {
                // Backfill continues sooner, but never below the minimum.
                let base = if summary.has_more {
                    policy.min_interval
                } else {
                    policy.interval
                };
                return (
                    Some(after(
                        now,
                        jitter.apply_secs(base, rng).max(policy.min_interval),
                    )),
                    0,
                );
            }
            Err(e) => match e.kind {
                ErrorKind::INVALID_CREDENTIALS | ErrorKind::NEEDS_USER_ACTION => {
                    return (None, failures.saturating_add(1))
                }
                ErrorKind::CANCELLED => return (Some(now), failures),
                _ => Some(e.retry_after()),
            },
        },
        Err(HostError::NeedsUser { .. } | HostError::DisclaimerNotAccepted { .. }) => {
            return (None, failures)
        }
        Err(HostError::CoolingDown { minutes, .. }) => {
            return (Some(after(now, minutes.saturating_mul(60))), failures);
        }
        Err(_) => None,
    };
    let failures = failures.saturating_add(1);
    let backoff = Backoff {
        base: from_secs(policy.min_interval),
        max: from_secs(MAX_BACKOFF_SECS),
        jitter,
    };
    let wait = backoff
        .delay_secs(failures - 1, rng)
        .max(policy.min_interval);
    let wait = match error.flatten() {
        Some(retry_after) => wait.max(clamp_rate_limit_wait(retry_after, "sync")),
        None => wait,
    };
    (Some(after(now, wait)), failures)
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
    use bincio_state::RunId;
    use host_api::{PluginError, SyncSummary};
    use rand::SeedableRng;

    const POLICY: Policy = Policy {
        interval: 6 * 3600,
        min_interval: 3600,
    };

    fn report(result: Result<SyncSummary, PluginError>) -> Result<SyncReport, HostError> {
        Ok(SyncReport {
            connection: ConnectionId::new("garmin-1"),
            run: RunId(1),
            result,
            committed: Default::default(),
        })
    }

    #[test]
    fn success_schedules_the_interval_within_the_jitter() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let (next, failures) = next_run(
                &report(Ok(SyncSummary::default())),
                1000,
                3,
                POLICY,
                &mut rng,
            );
            let wait = next.unwrap() - 1000;
            assert!((19_440..=23_760).contains(&wait), "{wait}");
            assert_eq!(failures, 0);
        }
    }

    #[test]
    fn failures_back_off_and_retry_after_wins() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let transient = || report(Err(PluginError::transient("5xx")));
        let (first, f1) = next_run(&transient(), 0, 0, POLICY, &mut rng);
        let (third, f3) = next_run(&transient(), 0, 2, POLICY, &mut rng);
        assert_eq!((f1, f3), (1, 3));
        assert!(first.unwrap() >= 3600 && third.unwrap() >= 4 * 3600 * 9 / 10);
        let limited = report(Err(PluginError::rate_limited("slow down", Some(50_000))));
        let (next, _) = next_run(&limited, 0, 0, POLICY, &mut rng);
        assert!(next.unwrap() >= 50_000);
    }

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

    #[test]
    fn extreme_retry_afters_and_times_saturate_within_a_day() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for huge in [u64::MAX, i64::MAX as u64, 99_999_999_999] {
            let limited = report(Err(PluginError::rate_limited("slow down", Some(huge))));
            let (next, _) = next_run(&limited, 1_000, u32::MAX, POLICY, &mut rng);
            let wait = next.unwrap() - 1_000;
            // A day, plus the backoff's jitter at most.
            assert!(
                (3600..=MAX_BACKOFF_SECS * 11 / 10).contains(&wait),
                "{huge}: {wait}"
            );
        }
        let (next, _) = next_run(
            &report(Ok(SyncSummary::default())),
            i64::MAX - 10,
            0,
            POLICY,
            &mut rng,
        );
        assert_eq!(next, Some(i64::MAX));
    }

    #[test]
    fn a_connection_that_needs_its_user_is_not_rescheduled() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (next, _) = next_run(
            &report(Err(PluginError::invalid_credentials("bad password"))),
            0,
            0,
            POLICY,
            &mut rng,
        );
        assert_eq!(next, None);
    }
}
