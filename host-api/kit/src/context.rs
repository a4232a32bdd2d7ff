//! The host's services as a plugin method sees them: the per-call contexts
//! ([`Connection`], [`SyncRun`]) with plain-Rust handles over the host-api
//! service objects (secrets, cancel flag, import sink, progress).
//!
//! Each handle converts std types to and from abi_stable's at the call, so an
//! implementation of [`crate::ImporterPlugin`] works with `&str`, `String`,
//! `Vec` and `Result`. The host guards every service against its own panics;
//! a handle's error is the host's `PluginError`.

use abi_stable::std_types::{RStr, RVec};
use host_api::{
    CancelBox, ConnectionContext, ImportItem, ImportOutcome, ImportSinkBox, PluginError,
    ProgressBox, SecretStoreBox, SyncContext,
};

/// One connection's context: its id, its secrets, the host's cancel flag.
#[derive(Clone)]
pub struct Connection {
    raw: ConnectionContext,
}

impl Connection {
    pub fn new(raw: ConnectionContext) -> Self {
        Self { raw }
    }
    /// The host's id for the connection (stable across restarts).
    pub fn id(&self) -> &str {
        self.raw.connection_id.as_str()
    }
    pub fn secrets(&self) -> Secrets {
        Secrets(self.raw.secrets.clone())
    }
    /// Whether the host asked to stop (poll between requests and items).
    pub fn is_cancelled(&self) -> bool {
        self.raw.cancel.is_cancelled()
    }
    /// The host-api view, for code written against the service objects.
    pub fn host_api(&self) -> &ConnectionContext {
        &self.raw
    }
    pub fn cancel_service(&self) -> &CancelBox {
        &self.raw.cancel
    }
}

/// Encrypted key/value storage for one connection.
#[derive(Clone)]
pub struct Secrets(SecretStoreBox);

impl Secrets {
    pub fn get(&self, key: &str) -> Result<Option<String>, PluginError> {
        self.0
            .get(RStr::from(key))
            .into_result()
            .map(|v| v.into_option().map(String::from))
    }
    /// Stored durably before returning.
    pub fn put(&self, key: &str, value: &str) -> Result<(), PluginError> {
        self.0.put(RStr::from(key), RStr::from(value)).into_result()
    }
    pub fn delete(&self, key: &str) -> Result<(), PluginError> {
        self.0.delete(RStr::from(key)).into_result()
    }
    pub fn host_api(&self) -> &SecretStoreBox {
        &self.0
    }
}

/// What the host's pipeline did with an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported {
        activity_id: String,
    },
    Duplicate {
        activity_id: String,
    },
    Rejected {
        reason: String,
    },
    /// A newer host answered with an outcome this build does not know; the
    /// host has the item in hand, so it counts as held, not as a failure.
    Unrecognised {
        description: String,
    },
}

/// An item whose download failed earlier and is due for another try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    pub external_id: String,
    pub attempts: u32,
    pub last_error: String,
}

/// The host's import pipeline, scoped to the connection.
#[derive(Clone)]
pub struct Sink(ImportSinkBox);

impl Sink {
    /// Whether the ledger already holds this external id.
    pub fn contains(&self, external_id: &str) -> Result<bool, PluginError> {
        self.0.contains(RStr::from(external_id)).into_result()
    }
    pub fn import(
        &self,
        external_id: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<Outcome, PluginError> {
        let item = ImportItem {
            external_id: external_id.into(),
            file_name: file_name.into(),
            bytes: RVec::from(bytes),
        };
        self.0
            .import(item)
            .into_result()
            .map(|o| match ImportOutcome::from_abi(o) {
                Ok(ImportOutcome::Imported { activity_id }) => Outcome::Imported {
                    activity_id: activity_id.into(),
                },
                Ok(ImportOutcome::Duplicate { activity_id }) => Outcome::Duplicate {
                    activity_id: activity_id.into(),
                },
                Ok(ImportOutcome::Rejected { reason }) => Outcome::Rejected {
                    reason: reason.into(),
                },
                Ok(other) => Outcome::Unrecognised {
                    description: format!("{other:?}"),
                },
                Err(unknown) => Outcome::Unrecognised {
                    description: unknown.to_string(),
                },
            })
    }
    /// Record a failed download for a later retry.
    pub fn defer(&self, external_id: &str, error: &str) -> Result<(), PluginError> {
        self.0
            .defer(RStr::from(external_id), RStr::from(error))
            .into_result()
    }
    pub fn due_retries(&self) -> Result<Vec<Retry>, PluginError> {
        self.0.due_retries().into_result().map(|due| {
            due.into_iter()
                .map(|r| Retry {
                    external_id: r.external_id.into(),
                    attempts: r.attempts,
                    last_error: r.last_error.into(),
                })
                .collect()
        })
    }
    /// Durably store the plugin's opaque cursor with what was imported.
    pub fn commit(&self, cursor: &str) -> Result<(), PluginError> {
        self.0.commit(RStr::from(cursor)).into_result()
    }
}

/// Progress reports for whatever shows them.
#[derive(Clone)]
pub struct ProgressHandle(ProgressBox);

impl ProgressHandle {
    pub fn set_total(&self, total: u64) {
        self.0.set_total(total);
    }
    pub fn advance(&self, done: u64, message: &str) {
        self.0.advance(done, RStr::from(message));
    }
}

/// A sync run's context: the connection, the sink and the progress.
#[derive(Clone)]
pub struct SyncRun {
    connection: Connection,
    raw: SyncContext,
}

impl SyncRun {
    pub fn new(raw: SyncContext) -> Self {
        Self {
            connection: Connection::new(raw.connection.clone()),
            raw,
        }
    }
    pub fn connection(&self) -> &Connection {
        &self.connection
    }
    pub fn sink(&self) -> Sink {
        Sink(self.raw.sink.clone())
    }
    pub fn progress(&self) -> ProgressHandle {
        ProgressHandle(self.raw.progress.clone())
    }
    /// The host-api view, for code written against the service objects.
    pub fn host_api(&self) -> &SyncContext {
        &self.raw
    }
}
