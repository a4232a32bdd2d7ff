//! One sync run of one connection: the gates (status, disclaimer, cooldown),
//! the plugin's `sync` with the host's services, and the bookkeeping after
//! it (run history, cooldowns, pausing a connection that needs its user).

use super::{waits, Host, HostError};
use crate::services::{CancelFlag, ItemObserver, ProgressReporter};
use abi_stable::std_types::ROption;
use bincio_state::{
    ConnectionId, ConnectionStatus, CooldownScope, RunCounts, RunError, RunFinish, RunId,
    RunOutcome, UserHandle,
};
use host_api::{ErrorKind, ImportSinkBox, PluginError, SyncContext, SyncRequest, SyncSummary};

/// The host side of a run's import sink: the service handed to the plugin,
/// and the flush the host does after `sync` returns.
pub(crate) trait RunSink {
    fn to_service(&self) -> ImportSinkBox;
    /// Makes durable whatever the plugin imported but did not commit.
    fn finish(&self) -> Result<(), String>;
}

/// Wait after a rate-limited sync when the service gave no Retry-After.
const DEFAULT_RATE_LIMIT_SECS: u64 = 3600;

pub struct SyncOptions {
    /// Overrides the plugin's per-run download cap.
    pub max_downloads: Option<u32>,
    pub cancel: CancelFlag,
    pub progress: ProgressReporter,
    /// Told what became of each item the plugin offers.
    pub items: ItemObserver,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            max_downloads: None,
            cancel: CancelFlag::new(),
            progress: ProgressReporter::silent(),
            items: ItemObserver::silent(),
        }
    }
}

#[derive(Debug)]
pub struct SyncReport {
    pub connection: ConnectionId,
    pub run: RunId,
    pub result: Result<SyncSummary, PluginError>,
    /// What the run durably committed (ledger rows, deferrals), counted
    /// from the state database: a failed run's record says what it stored.
    pub committed: RunCounts,
}

impl SyncReport {
    pub fn counts(&self) -> RunCounts {
        match &self.result {
            Ok(s) => RunCounts {
                imported: s.imported.into(),
                duplicates: s.already_there.into(),
                rejected: s.rejected.len() as u64,
                deferred: s.deferred.into(),
            },
            Err(_) => self.committed,
        }
    }
}

impl RunSink for crate::services::import_sink::PipelineSink {
    fn to_service(&self) -> ImportSinkBox {
        crate::services::import_sink::PipelineSink::to_service(self)
    }
    fn finish(&self) -> Result<(), String> {
        crate::services::import_sink::PipelineSink::finish(self).map_err(|e| e.to_string())
    }
}

impl Host {
    /// Registers every stored secret of `connection` for log scrubbing.
    /// Unreadable values are left to the plugin's read, which reports them.
    pub(crate) fn register_secrets(&self, plugin_id: &str, connection: &ConnectionId) {
        for field in self.vault.fields(connection).unwrap_or_default() {
            if let Ok(Some(value)) = self.vault.get(connection, plugin_id, &field) {
                self.redactions().add(value.expose());
            }
        }
    }

    /// `e` with every registered secret scrubbed from its texts.
    pub(crate) fn scrub_error(&self, mut e: PluginError) -> PluginError {
        let r = self.redactions();
        e.user_message = r.scrub(&e.user_message).into();
        e.detail = r.scrub(&e.detail).into();
        e
    }

    /// As [`Host::sync_connection`], for `user`: another user's connection
    /// is refused before anything runs.
    pub fn sync_connection_for(
        &self,
        user: &UserHandle,
        connection_id: &str,
        options: SyncOptions,
    ) -> Result<SyncReport, HostError> {
        self.owned_connection(user, connection_id)?;
        self.sync_connection(connection_id, options)
    }

    /// Runs one sync of `connection_id` now, on the calling thread.
    pub fn sync_connection(
        &self,
        connection_id: &str,
        options: SyncOptions,
    ) -> Result<SyncReport, HostError> {
        let connection = self.connection(connection_id)?;
        let id = connection.id.clone();
        let plugin_id = connection.plugin_id.clone();
        if connection.status != ConnectionStatus::Active {
            return Err(HostError::NeedsUser {
                id: id.to_string(),
                plugin: plugin_id,
                message: connection
                    .status_message
                    .unwrap_or_else(|| format!("the connection is {}", connection.status)),
            });
        }
        self.require_disclaimer(&connection.user, &plugin_id)?;
        self.check_cooldown(&plugin_id, CooldownScope::Connection(id.clone()))?;
        let instance = self.instance(&plugin_id)?;

        // Whatever a server echoes back of this connection's secrets is
        // scrubbed, even those the plugin does not read this run.
        self.register_secrets(&plugin_id, &id);
        let run = self.db.start_run(&id, self.now())?;
        let mark = self.db.run_mark()?;
        let sink = self.import_sink(&plugin_id, &id, options.items.clone())?;
        let ctx = SyncContext {
            connection: self.connection_context(&plugin_id, &id, &options.cancel),
            sink: sink.to_service(),
            progress: options.progress.to_service(),
        };
        let request = SyncRequest {
            cursor: self.db.cursor(&id)?.map(Into::into).into(),
            max_downloads: options.max_downloads.into(),
        };
        let result = instance.importer.sync(ctx, request).into_result();
        // Whatever the plugin did not commit is still durable in the ledger.
        let flushed = sink.finish();

        let result = match (result, flushed) {
            (Ok(summary), Err(e)) => Err(PluginError::transient(format!(
                "the run finished but storing its last imports failed: {e}"
            ))
            .with_detail(format!("{summary:?}"))),
            (result, _) => result,
        };
        // A secret that failed its integrity check pauses the connection,
        // whatever the plugin made of the error it got.
        let result = match self.take_integrity_failure(&id) {
            Some(message) => Err(PluginError::needs_user_action(message)),
            None => result,
        };
        // The error carries a server's or plugin's words: no secret in it
        // reaches the run history, the logs or the terminal.
        let result = result.map_err(|e| self.scrub_error(e));
        let committed = self.db.committed_since(&id, mark)?;
        let report = SyncReport {
            connection: id.clone(),
            run,
            result,
            committed,
        };
        self.record_run(&report)?;
        Ok(report)
    }

    fn record_run(&self, report: &SyncReport) -> Result<(), HostError> {
        let now = self.now();
        let (outcome, error) = match &report.result {
            Ok(_) => (RunOutcome::Succeeded, None),
            Err(e) if e.kind == ErrorKind::CANCELLED => (RunOutcome::Cancelled, None),
            Err(e) => (
                RunOutcome::Failed,
                Some(RunError {
                    kind: e.kind.name().to_string(),
                    message: e.user_message.to_string(),
                }),
            ),
        };
        self.db.finish_run(
            report.run,
            &RunFinish {
                finished_at: now,
                outcome,
                counts: report.counts(),
                error,
            },
        )?;
        if let Err(e) = &report.result {
            match e.kind {
                ErrorKind::INVALID_CREDENTIALS | ErrorKind::NEEDS_USER_ACTION => {
                    self.db.set_connection_status(
                        &report.connection,
                        ConnectionStatus::NeedsUser,
                        Some(&e.user_message),
                    )?;
                }
                ErrorKind::RATE_LIMITED => {
                    let wait = match e.retry_after_secs {
                        ROption::RSome(s) => s,
                        ROption::RNone => DEFAULT_RATE_LIMIT_SECS,
                    };
                    let wait = waits::clamp_rate_limit_wait(
                        wait,
                        &format!("sync of {}", report.connection),
                    );
                    self.db.set_cooldown(
                        CooldownScope::Connection(report.connection.clone()),
                        waits::after(now, wait),
                        &e.user_message,
                    )?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}
