//! The state database's error type: every variant names the operation or the
//! row that failed, so a log line alone says where to look.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "the state database {path} has schema version {found}, newer than this program \
         understands ({supported}); upgrade the program or restore a matching backup"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    #[error("{path} is not a BincioActivity state database (application id {application_id:#x})")]
    NotStateDb { path: PathBuf, application_id: i64 },

    #[error(
        "{path} is not a BincioActivity state database: it already holds {tables} schema \
         object(s) of another program (first: {sample:?}) and no BincioActivity schema; it was left untouched. Move \
         it away or pass another --data-dir"
    )]
    ForeignDb {
        path: PathBuf,
        tables: i64,
        sample: String,
    },

    #[error("cannot make the state database {path} private (mode 0600): {source}")]
    Permissions {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("state database migration to schema version {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },

    /// A statement failed; `op` says what the caller was doing.
    #[error("state database: {op} failed: {source}")]
    Sql {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("no connection with id {id}")]
    UnknownConnection { id: String },

    #[error("no sync run with id {id}")]
    UnknownRun { id: i64 },

    #[error("plugin id {plugin_id:?} has no letter or digit to build a connection id from")]
    InvalidPluginId { plugin_id: String },

    #[error(
        "the import ledger already holds external id {external_id:?} from source {source_id:?}"
    )]
    LedgerConflict {
        source_id: String,
        external_id: String,
    },

    #[error("content hash {value:?} is not 64 lowercase hex digits (sha256)")]
    InvalidSha256 { value: String },

    #[error(
        "user handle {handle:?} is not valid: {reason} (lowercase letters, digits, '-' and '_', \
         1 to 32 characters)"
    )]
    InvalidHandle {
        handle: String,
        reason: &'static str,
    },

    #[error("no user with handle {handle:?}")]
    UnknownUser { handle: String },

    #[error("a user with handle {handle:?} already exists")]
    UserExists { handle: String },

    #[error("user {handle:?} is disabled")]
    UserDisabled { handle: String },

    #[error("this server has several users ({}); say which one with --user", handles.join(", "))]
    UserAmbiguous { handles: Vec<String> },

    #[error("this invite link is unknown, used or expired; ask an admin for a new one")]
    InviteInvalid,

    #[error("cannot hash the password: {reason}")]
    PasswordHash { reason: String },

    /// A stored value this program cannot read back (hand-edited or corrupt).
    #[error("state database: stored {what} {value:?} is not valid")]
    CorruptValue { what: &'static str, value: String },
}

/// Turns a rusqlite error into [`StateError::Sql`] naming `op`.
pub(crate) fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> StateError {
    move |source| StateError::Sql { op, source }
}
