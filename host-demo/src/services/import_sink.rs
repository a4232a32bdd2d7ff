//! `ImportSink`: the import pipeline as a plugin sees it, scoped to one
//! connection (its ledger source is the plugin id, its retries and cursor
//! are the connection's).
//!
//! Items the plugin imports wait in the pipeline's batch; `commit(cursor)`
//! makes the batch durable and stores the cursor in the same transaction as
//! the ledger rows it covers, so the cursor never runs ahead of what is
//! stored. After `sync` returns the host calls [`PipelineSink::finish`], which
//! makes anything still pending durable without touching the cursor.
//!
//! Every trait method answers host trouble as a `PluginError` (transient for
//! I/O and database failures); [`import_sink_service`] wraps the sink in
//! [`Guarded`], so a panic in it becomes an `internal` error.

use super::{Guarded, ItemObserver, ItemStatus};
use crate::clock::Clock;
use crate::import::{ImportError, Item, LazyPipeline, Outcome, SharedPipeline};
use abi_stable::std_types::{RResult, RStr, RString, RVec};
use bincio_bas::StoreError;
use bincio_state::{ConnectionId, StateDb, StateError};
use host_api::{
    ImportItem, ImportOutcome, ImportOutcome_NE, ImportSink, ImportSinkBox, PendingRetry,
    PluginError,
};
use std::sync::Arc;

/// The pipeline seen from one connection of one plugin.
#[derive(Clone)]
pub struct PipelineSink {
    /// Opened by the first import: a run that finds nothing new answers
    /// from the ledger and never loads the store.
    pipeline: LazyPipeline,
    db: StateDb,
    connection: ConnectionId,
    /// The ledger source: the plugin id.
    source: Arc<str>,
    clock: Arc<dyn Clock>,
    /// Told what became of each item (the web page's live progress).
    items: ItemObserver,
}

/// The service handed to the plugin, backed by `sink`.
pub fn import_sink_service(sink: PipelineSink) -> ImportSinkBox {
    Guarded::import_sink(sink)
}

impl PipelineSink {
    /// A sink for `connection` of plugin `plugin_id`; `clock` times retries.
    pub fn new(
        pipeline: SharedPipeline,
        plugin_id: &str,
        connection: ConnectionId,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::lazy(LazyPipeline::ready(pipeline), plugin_id, connection, clock)
    }

    /// A sink whose pipeline is opened only if the plugin imports something.
    pub fn lazy(
        pipeline: LazyPipeline,
        plugin_id: &str,
        connection: ConnectionId,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let db = pipeline.db().clone();
        Self {
            pipeline,
            db,
            connection,
            source: plugin_id.into(),
            clock,
            items: ItemObserver::silent(),
        }
    }

    /// Reports each item's outcome to `items` as well.
    pub fn with_observer(mut self, items: ItemObserver) -> Self {
        self.items = items;
        self
    }

    /// The service to put in the plugin's `SyncContext` (shares this sink's
    /// pipeline, so [`PipelineSink::finish`] sees what the plugin left).
    pub fn to_service(&self) -> ImportSinkBox {
        import_sink_service(self.clone())
    }

    pub fn connection(&self) -> &ConnectionId {
        &self.connection
    }

    /// Makes everything still pending durable (activity files, index, ledger
    /// rows), leaving the cursor where the plugin last committed it. The host
    /// calls this after `sync` returns, whether it succeeded or not; the run has ended then
    /// (see [`ImportPipeline::run_ended`](crate::import::ImportPipeline::run_ended)).
    pub fn finish(&self) -> Result<(), ImportError> {
        match self.pipeline.if_open() {
            Some(pipeline) => {
                let mut pipeline = pipeline.lock();
                let flushed = pipeline.flush();
                pipeline.run_ended(&self.connection);
                flushed
            }
            None => Ok(()),
        }
    }

    fn contains_item(&self, external_id: &str) -> Result<bool, ImportError> {
        match self.pipeline.if_open() {
            Some(pipeline) => pipeline.lock().contains(&self.source, external_id),
            None => Ok(self
                .db
                .ledger_by_external_id(&self.source, external_id)?
                .is_some()),
        }
    }

    fn import_item(&self, item: &ImportItem) -> Result<Outcome, ImportError> {
        let item = Item {
            source: &self.source,
            external_id: Some(item.external_id.as_str()),
            connection: Some(&self.connection),
            file_name: item.file_name.as_str(),
            bytes: item.bytes.as_slice(),
        };
        self.pipeline.get()?.lock().import(&item)
    }

    fn commit_cursor(&self, cursor: &str) -> Result<(), ImportError> {
        match self.pipeline.if_open() {
            Some(pipeline) => pipeline.lock().commit(&self.connection, cursor),
            // Nothing was imported, so no ledger row waits for this cursor.
            None => Ok(self.db.set_cursor(&self.connection, cursor)?),
        }
    }

    fn due(&self) -> Result<Vec<PendingRetry>, ImportError> {
        let due = self.db.due_retries(&self.connection, self.clock.now())?;
        let pipeline = self.pipeline.if_open();
        let pipeline = pipeline.as_ref().map(|p| p.lock());
        let mut offered = Vec::with_capacity(due.len());
        for retry in due {
            // Settled in the batch not yet flushed: its retry row goes with
            // that batch, so it is not offered again.
            if let Some(pipeline) = &pipeline {
                if pipeline.is_pending(&self.source, &retry.external_id) {
                    continue;
                }
            }
            offered.push(PendingRetry {
                external_id: retry.external_id.into(),
                attempts: retry.attempts,
                last_error: retry.last_error.into(),
            });
        }
        Ok(offered)
    }
}

impl ImportSink for PipelineSink {
    fn contains(&self, external_id: RStr<'_>) -> RResult<bool, PluginError> {
        let id = external_id.as_str();
        let found = self.contains_item(id);
        if let Ok(true) = found {
            self.items.emit(id, id, ItemStatus::AlreadyThere);
        }
        found
            .map_err(|e| to_plugin_error("look up the import ledger", e))
            .into()
    }

    fn import(&self, item: ImportItem) -> RResult<ImportOutcome_NE, PluginError> {
        let outcome = self.import_item(&item);
        if let Ok(outcome) = &outcome {
            let status = match outcome {
                Outcome::Imported { .. } => ItemStatus::Imported,
                Outcome::Duplicate { .. } => ItemStatus::AlreadyThere,
                Outcome::Rejected { reason } => ItemStatus::Rejected(reason.clone()),
            };
            self.items
                .emit(item.external_id.as_str(), item.file_name.as_str(), status);
        }
        outcome
            .map(|outcome| to_import_outcome(outcome).into())
            .map_err(|e| to_plugin_error(&format!("import {}", item.file_name), e))
            .into()
    }

    fn defer(&self, external_id: RStr<'_>, error: RStr<'_>) -> RResult<(), PluginError> {
        let id = external_id.as_str();
        self.items
            .emit(id, id, ItemStatus::Deferred(error.as_str().to_string()));
        self.db
            .defer(&self.connection, id, error.as_str(), self.clock.now())
            .map(|_| ())
            .map_err(|e| {
                to_plugin_error(
                    &format!("record the failed download of {}", external_id.as_str()),
                    e.into(),
                )
            })
            .into()
    }

    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError> {
        self.due()
            .map(RVec::from)
            .map_err(|e| to_plugin_error("read the retry list", e))
            .into()
    }

    fn commit(&self, cursor: RStr<'_>) -> RResult<(), PluginError> {
        self.commit_cursor(cursor.as_str())
            .map_err(|e| to_plugin_error("store the imported batch and its cursor", e))
            .into()
    }
}

fn to_import_outcome(outcome: Outcome) -> ImportOutcome {
    match outcome {
        Outcome::Imported { activity_id, .. } => ImportOutcome::Imported {
            activity_id: activity_id.into(),
        },
        Outcome::Duplicate { activity_id, .. } => ImportOutcome::Duplicate {
            activity_id: activity_id.into(),
        },
        Outcome::Rejected { reason } => ImportOutcome::Rejected {
            reason: RString::from(reason),
        },
    }
}

/// Host trouble as the plugin sees it: disk and database failures are
/// transient (the plugin stops, the host retries the run later); a store or
/// database the host cannot use without the user is permanent.
fn to_plugin_error(action: &str, error: ImportError) -> PluginError {
    let message = format!("the host could not {action}: {error}");
    let kind_of_state = |e: &StateError| match e {
        StateError::Open { .. } | StateError::Sql { .. } => PluginError::transient(&message),
        StateError::LedgerConflict { .. } => PluginError::internal(&message),
        _ => PluginError::permanent(&message),
    };
    let plugin_error = match &error {
        ImportError::DataDir { .. } | ImportError::Lock { .. } => PluginError::transient(&message),
        ImportError::Store(StoreError::Io { .. }) | ImportError::CursorAfterLoss { .. } => {
            PluginError::transient(&message)
        }
        ImportError::Store(StoreError::Serialize { .. }) | ImportError::FlushThread => {
            PluginError::internal(&message)
        }
        ImportError::Store(_) => PluginError::permanent(&message),
        ImportError::State(e) => kind_of_state(e),
    };
    tracing::warn!(error = %error, "import sink: {action} failed");
    plugin_error.with_detail(format!("{error:?}"))
}
