//! Services the host lends a plugin, each scoped by the host to one
//! (plugin, connection): a plugin cannot reach another connection's secrets
//! or activities.
//!
//! They are `#[sabi_trait]` objects behind `RArc`, `Send + Sync`, so a plugin
//! may keep clones on its own threads for the length of the call that handed
//! them over. Implementations are blocking and must not panic: the host wraps
//! each body in `catch_unwind` and answers `internal` instead.

use crate::error::PluginError;
use abi_stable::{
    sabi_trait,
    std_types::{RArc, ROption, RResult, RStr, RString, RVec},
    StableAbi,
};

/// Encrypted key/value storage for one connection (passwords, tokens, and the
/// small state a plugin must keep across restarts). The host encrypts every
/// value; the plugin sees plain text.
#[sabi_trait]
pub trait SecretStore: Clone + Send + Sync {
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RString>, PluginError>;
    /// Stored durably before returning: a rotated token is never lost.
    fn put(&self, key: RStr<'_>, value: RStr<'_>) -> RResult<(), PluginError>;
    fn delete(&self, key: RStr<'_>) -> RResult<(), PluginError>;
}
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
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub enum ImportOutcome {
    Imported {
        activity_id: RString,
    },
    /// Already held (same external id, same content, or the same activity
    /// recorded by another device).
    Duplicate {
        activity_id: RString,
    },
    /// Durably refused (not an activity, unreadable): never offered again.
    Rejected {
        reason: RString,
    },
}

/// An item whose download failed earlier and is due for another try.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PendingRetry {
    pub external_id: RString,
    pub attempts: u32,
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
    fn import(&self, item: ImportItem) -> RResult<ImportOutcome, PluginError>;
    /// Record a failed download; the host keeps per-item retry state with
    /// backoff and offers it again through `due_retries`.
    fn defer(&self, external_id: RStr<'_>, error: RStr<'_>) -> RResult<(), PluginError>;
    /// Items whose retry backoff has passed.
    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError>;
    /// Durably store the plugin's opaque cursor.
    fn commit(&self, cursor: RStr<'_>) -> RResult<(), PluginError>;
}
pub type ImportSinkBox = ImportSink_TO<'static, RArc<()>>;

#[sabi_trait]
pub trait Progress: Clone + Send + Sync {
    /// The expected number of items, when known.
    fn set_total(&self, total: u64);
    fn advance(&self, done: u64, message: RStr<'_>);
}
pub type ProgressBox = Progress_TO<'static, RArc<()>>;

#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct LogLevel(pub u8);

impl LogLevel {
    pub const ERROR: Self = Self(1);
    pub const WARN: Self = Self(2);
    pub const INFO: Self = Self(3);
    pub const DEBUG: Self = Self(4);
    pub const TRACE: Self = Self(5);
}

/// Where the plugin's log lines go: tracing's globals do not cross a dylib
/// boundary, so the kit's bridge forwards events here.
#[sabi_trait]
pub trait Logger: Clone + Send + Sync {
    fn enabled(&self, level: LogLevel, target: RStr<'_>) -> bool;
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);
}
pub type LoggerBox = Logger_TO<'static, RArc<()>>;

/// Polled by the plugin between requests and between items.
#[sabi_trait]
pub trait Cancel: Clone + Send + Sync {
    fn is_cancelled(&self) -> bool;
}
pub type CancelBox = Cancel_TO<'static, RArc<()>>;

/// What every per-connection call receives.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct ConnectionContext {
    /// The host's id for the connection (stable across restarts).
    pub connection_id: RString,
    pub secrets: SecretStoreBox,
    pub cancel: CancelBox,
}

/// What `sync` receives on top of the connection.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct SyncContext {
    pub connection: ConnectionContext,
    pub sink: ImportSinkBox,
    pub progress: ProgressBox,
}
