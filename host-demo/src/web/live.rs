//! Runs as they go, on the server: per connection, the current (or last)
//! run's events from its start, and a signal when there are more. Every
//! stream (a reload, a second tab, the JSON API) replays the run from its
//! first event and then follows it; closing a stream never touches the
//! run. Fed by the scheduler's [`RunWatcher`] hooks, so scheduled runs and
//! "Sync now" show alike. Events have BincioActivity's shapes:
//! `fetching`, `progress`, `done`, `error`.

use crate::host::{HostError, SyncReport};
use crate::scheduler::{RunHooks, RunWatcher};
use crate::services::{ItemEvent, ItemObserver, ItemStatus, ProgressEvent, ProgressReporter};
use bincio_state::ConnectionId;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The most events one run keeps for replay; past it, progress events are
/// counted but not kept (the final `done` or `error` always is).
pub const MAX_EVENTS_PER_RUN: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    Fetching,
    Progress {
        n: u64,
        total: u64,
        name: String,
        /// `imported`, `skipped` (already there) or `error`.
        status: &'static str,
        garmin_id: String,
        /// Ours: why an item is an error (rejected, or left for a later run).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Done {
        imported: u64,
        skipped: u64,
        error_count: u64,
        errors: Vec<String>,
        /// Ours: downloads that failed and are retried by a later run.
        left_for_next_run: u64,
        /// Ours: more history waits for the next run.
        has_more: bool,
    },
    Error {
        message: String,
    },
}

impl RunEvent {
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::Error { .. })
    }
}

#[derive(Default)]
struct Log {
    events: Vec<RunEvent>,
    total: u64,
    n: u64,
    errors: Vec<String>,
    dropped: u64,
    finished: bool,
}

/// One run's events so far.
pub struct LiveRun {
    log: Mutex<Log>,
    /// The number of events kept; changes wake the streams.
    len: watch::Sender<usize>,
}

impl LiveRun {
    fn new() -> Self {
        Self {
            log: Mutex::new(Log::default()),
            len: watch::channel(0).0,
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, event: RunEvent) {
        let mut log = self.log();
        if log.finished {
            return;
        }
        let last = event.is_final();
        if log.events.len() >= MAX_EVENTS_PER_RUN && !last {
            log.dropped += 1;
            return;
        }
        log.finished = last;
        log.events.push(event);
        let len = log.events.len();
        drop(log);
        self.len.send_replace(len);
    }

    /// Events from `from` on, and whether the run has ended.
    pub fn events_from(&self, from: usize) -> (Vec<RunEvent>, bool) {
        let log = self.log();
        (
            log.events.get(from..).unwrap_or_default().to_vec(),
            log.finished,
        )
    }

    pub fn is_finished(&self) -> bool {
        self.log().finished
    }

    /// Wakes when events are added.
    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.len.subscribe()
    }

    fn item(&self, event: ItemEvent) {
        let mut log = self.log();
        log.n += 1;
        let (status, reason) = match event.status {
            ItemStatus::Imported => ("imported", None),
            ItemStatus::AlreadyThere => ("skipped", None),
            ItemStatus::Rejected(r) => ("error", Some(r)),
            ItemStatus::Deferred(r) => ("error", Some(format!("left for the next run: {r}"))),
        };
        if let Some(reason) = &reason {
            log.errors.push(format!("{}: {reason}", event.name));
        }
        let progress = RunEvent::Progress {
            n: log.n,
            total: log.total.max(log.n),
            name: event.name,
            status,
            garmin_id: event.external_id,
            reason,
        };
        drop(log);
        self.push(progress);
    }

    fn finish(&self, outcome: &Result<SyncReport, HostError>) {
        let event = match outcome {
            Ok(report) => match &report.result {
                Ok(s) => {
                    let errors = {
                        let log = self.log();
                        let mut errors = log.errors.clone();
                        // Rejections the plugin knew without offering an item.
                        for r in s.rejected.iter() {
                            let line = format!("{}: {}", r.external_id, r.reason);
                            if !errors.iter().any(|e| e.ends_with(r.reason.as_str())) {
                                errors.push(line);
                            }
                        }
                        errors
                    };
                    RunEvent::Done {
                        imported: s.imported.into(),
                        skipped: s.already_there.into(),
                        error_count: errors.len() as u64,
                        errors,
                        left_for_next_run: s.deferred.into(),
                        has_more: s.has_more,
                    }
                }
                Err(e) => RunEvent::Error {
                    message: e.user_message.to_string(),
                },
            },
            Err(e) => RunEvent::Error {
                message: e.to_string(),
            },
        };
        self.push(event);
    }
}

/// Every connection's current or last run.
#[derive(Default)]
pub struct LiveRuns {
    runs: Mutex<HashMap<ConnectionId, Arc<LiveRun>>>,
}

impl LiveRuns {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The connection's current run, or its last one since the server
    /// started.
    pub fn get(&self, connection: &ConnectionId) -> Option<Arc<LiveRun>> {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(connection)
            .cloned()
    }

    fn start(&self, connection: &ConnectionId) -> Arc<LiveRun> {
        let run = Arc::new(LiveRun::new());
        run.push(RunEvent::Fetching);
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(connection.clone(), run.clone());
        run
    }
}

/// The scheduler's view of [`LiveRuns`].
pub struct LiveWatcher(pub Arc<LiveRuns>);

impl RunWatcher for LiveWatcher {
    fn run_started(&self, connection: &ConnectionId) -> RunHooks {
        let run = self.0.start(connection);
        let totals = run.clone();
        let items = run.clone();
        let id = connection.clone();
        RunHooks {
            progress: ProgressReporter::new(move |event| {
                tracing::debug!(target: "web::live", connection = %id, ?event, "progress");
                if let ProgressEvent::Total(total) = event {
                    totals.log().total = total;
                }
            }),
            items: ItemObserver::new(move |event| items.item(event)),
            finished: Box::new(move |outcome| run.finish(outcome)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(i: usize) -> ItemEvent {
        ItemEvent {
            external_id: i.to_string(),
            name: format!("{i}.fit"),
            status: ItemStatus::Imported,
        }
    }

    #[test]
    fn a_late_subscriber_replays_the_run_from_its_start() {
        let runs = LiveRuns::new();
        let id = ConnectionId::new("garmin-1");
        let _hooks = LiveWatcher(runs.clone()).run_started(&id);
        let run = runs.get(&id).unwrap();
        run.item(item(1));
        run.item(ItemEvent {
            status: ItemStatus::Rejected("not an activity".into()),
            ..item(2)
        });
        let (events, finished) = run.events_from(0);
        assert!(!finished);
        assert_eq!(events[0], RunEvent::Fetching);
        assert!(
            matches!(&events[2], RunEvent::Progress { n: 2, status: "error", reason: Some(r), .. } if r == "not an activity")
        );
        assert_eq!(
            serde_json::to_value(&events[1]).unwrap(),
            serde_json::json!({"type": "progress", "n": 1, "total": 1, "name": "1.fit", "status": "imported", "garmin_id": "1"})
        );
    }

    #[test]
    fn the_replay_log_is_bounded_but_keeps_the_final_event() {
        let run = LiveRun::new();
        for i in 0..MAX_EVENTS_PER_RUN + 50 {
            run.item(item(i));
        }
        run.push(RunEvent::Error {
            message: "stopped".into(),
        });
        let (events, finished) = run.events_from(0);
        assert!(finished);
        assert_eq!(events.len(), MAX_EVENTS_PER_RUN + 1);
        assert!(matches!(events.last(), Some(RunEvent::Error { .. })));
        assert_eq!(run.log().dropped, 50);
        run.push(RunEvent::Fetching);
        assert_eq!(
            run.events_from(0).0.len(),
            MAX_EVENTS_PER_RUN + 1,
            "nothing after the end"
        );
    }
}
