//! Services the host lends a plugin, each scoped by the host to one
//! (plugin, connection): a plugin cannot reach another connection's secrets
//! or activities.
//!
//! They are `#[sabi_trait]` objects behind `RArc`, `Send + Sync`, so a plugin
//! may keep clones on its own threads for the length of the call that handed
//! them over. Implementations are blocking and must not panic: the host wraps
//! each body in `catch_unwind` and answers `internal` instead.

use crate::{error::PluginError, grow::UnknownVariant};
use abi_stable::{
    nonexhaustive_enum::NonExhaustive,
    sabi_trait,
    std_types::{RArc, ROption, RResult, RStr, RString, RVec},
    StableAbi,
};

/// Encrypted key/value storage for one connection (passwords, tokens, and the
/// small state a plugin must keep across restarts). The host encrypts every
/// value; the plugin sees plain text.
#[sabi_trait]
pub trait SecretStore: Clone + Send + Sync {
    /// The value stored under `key`, or `None`.
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RString>, PluginError>;
    /// Stored durably before returning: a rotated token is never lost.
    fn put(&self, key: RStr<'_>, value: RStr<'_>) -> RResult<(), PluginError>;
    /// Removes `key`; removing a missing key is not an error.
    fn delete(&self, key: RStr<'_>) -> RResult<(), PluginError>;
}
/// A shared [`SecretStore`] trait object.
pub type SecretStoreBox = SecretStore_TO<'static, RArc<()>>;

/// One downloaded file handed to the import pipeline.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct ImportItem {
    /// The source's id for the activity; the ledger key.
    pub external_id: RString,
    /// The original file name, kept as the activity's `source_file`.
    pub file_name: RString,
    /// The FIT bytes.
    pub bytes: RVec<u8>,
}

impl std::fmt::Debug for ImportItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportItem")
            .field("external_id", &self.external_id)
            .field("file_name", &self.file_name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What the pipeline did with an item.
///
/// Non-exhaustive: it crosses the boundary wrapped in [`ImportOutcome_NE`]
/// (`outcome.into()`), and the plugin unwraps it with
/// [`ImportOutcome::from_abi`] (see [`crate::grow`]).
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
#[sabi(kind(WithNonExhaustive(
    // Room for variants added later: today's largest takes 5 words. The size
    // is part of the layout and can never change.
    size = [usize; 16],
    traits(Debug, Clone, PartialEq),
)))]
#[non_exhaustive]
pub enum ImportOutcome {
    /// Stored as a new activity.
    Imported {
        /// The store's id for the activity.
        activity_id: RString,
    },
    /// Already held (same external id, same content, or the same activity
    /// recorded by another device).
    Duplicate {
        /// The id of the activity already held.
        activity_id: RString,
    },
    /// Durably refused (not an activity, unreadable): never offered again.
    Rejected {
        /// Why, for the user.
        reason: RString,
    },
}

impl ImportOutcome {
    /// Unwraps an outcome that crossed the boundary.
    ///
    /// # Errors
    /// [`UnknownVariant`] when the host sent a variant this build of
    /// `host-api` does not know.
    pub fn from_abi(outcome: ImportOutcome_NE) -> Result<Self, UnknownVariant> {
        crate::grow::known(outcome, "ImportOutcome")
    }
}

impl From<ImportOutcome> for ImportOutcome_NE {
    fn from(outcome: ImportOutcome) -> Self {
        NonExhaustive::new(outcome)
    }
}

/// An item whose download failed earlier and is due for another try.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PendingRetry {
    /// The source's id for the item.
    pub external_id: RString,
    /// Failed downloads so far.
    pub attempts: u32,
    /// The last failure, as recorded by `defer`.
    pub last_error: RString,
}

/// The host's import pipeline, scoped to one connection.
///
/// Delivery is at least once and the sink is idempotent: importing the same
/// external id twice answers `Duplicate`. The cursor passed to `commit` is
/// stored in the same transaction as the ledger rows it covers, so a crash
/// never leaves a cursor ahead of what is stored.
#[sabi_trait]
pub trait ImportSink: Clone + Send + Sync {
    /// Whether the ledger already holds this external id (imported,
    /// duplicate or rejected): the plugin skips its download.
    fn contains(&self, external_id: RStr<'_>) -> RResult<bool, PluginError>;
    /// Converts, dedupes and stores one item, durably, and records it in the
    /// ledger; answers what it did. Read the answer with
    /// [`ImportOutcome::from_abi`].
    fn import(&self, item: ImportItem) -> RResult<ImportOutcome_NE, PluginError>;
    /// Record a failed download; the host keeps per-item retry state with
    /// backoff and offers it again through `due_retries`.
    fn defer(&self, external_id: RStr<'_>, error: RStr<'_>) -> RResult<(), PluginError>;
    /// Items whose retry backoff has passed.
    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError>;
    /// Durably store the plugin's opaque cursor.
    fn commit(&self, cursor: RStr<'_>) -> RResult<(), PluginError>;
}
/// A shared [`ImportSink`] trait object.
pub type ImportSinkBox = ImportSink_TO<'static, RArc<()>>;

/// Where a sync run reports how far it has got (a progress bar, a log line).
#[sabi_trait]
pub trait Progress: Clone + Send + Sync {
    /// The expected number of items, when known. May be called again when
    /// the estimate changes.
    fn set_total(&self, total: u64);
    /// Reports progress: `done` is the running total of items handled so far
    /// in this run (not an increment), so it never decreases and is at most
    /// the last `set_total` when one was given; `message` says what was just
    /// handled, for display.
    fn advance(&self, done: u64, message: RStr<'_>);
}
/// A shared [`Progress`] trait object.
pub type ProgressBox = Progress_TO<'static, RArc<()>>;

/// How severe a log line is; lower is more severe. A `repr(transparent)`
/// integer: a host treats an unknown level as [`LogLevel::TRACE`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct LogLevel(pub u8);

impl LogLevel {
    /// Something failed.
    pub const ERROR: Self = Self(1);
    /// Something is wrong but the work goes on.
    pub const WARN: Self = Self(2);
    /// A milestone the user may care about.
    pub const INFO: Self = Self(3);
    /// Detail for whoever debugs the plugin.
    pub const DEBUG: Self = Self(4);
    /// Every step.
    pub const TRACE: Self = Self(5);
}

/// Where the plugin's log lines go: tracing's globals do not cross a dylib
/// boundary, so the kit's bridge forwards events here.
#[sabi_trait]
pub trait Logger: Clone + Send + Sync {
    /// Whether a line at `level` for `target` would be kept (lets the plugin
    /// skip formatting it).
    fn enabled(&self, level: LogLevel, target: RStr<'_>) -> bool;
    /// Writes one line. The host scrubs known secrets from it.
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);
}
/// A shared [`Logger`] trait object.
pub type LoggerBox = Logger_TO<'static, RArc<()>>;

/// Polled by the plugin between requests and between items.
#[sabi_trait]
pub trait Cancel: Clone + Send + Sync {
    /// Whether the host asked the call to stop (the plugin then returns
    /// `cancelled` after committing what is durable).
    fn is_cancelled(&self) -> bool;
}
/// A shared [`Cancel`] trait object.
pub type CancelBox = Cancel_TO<'static, RArc<()>>;

/// What every per-connection call receives.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct ConnectionContext {
    /// The host's id for the connection (stable across restarts).
    pub connection_id: RString,
    /// The connection's encrypted store.
    pub secrets: SecretStoreBox,
    /// Whether to stop.
    pub cancel: CancelBox,
}

/// What `sync` receives on top of the connection.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct SyncContext {
    /// The connection being synced.
    pub connection: ConnectionContext,
    /// Where downloaded items go.
    pub sink: ImportSinkBox,
    /// Where the run reports how far it has got.
    pub progress: ProgressBox,
}
