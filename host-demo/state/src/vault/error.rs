//! The vault's error type. Messages name the key's origin, the connection
//! and the field; they never contain a secret value or key material.

use super::master_key::MasterKeyError;
use crate::error::StateError;
use std::fmt;
use std::path::PathBuf;

/// The environment variable that may hold the master key (base64, 64 bytes).
pub const MASTER_KEY_ENV: &str = "BINCIO_MASTER_KEY";

/// Where the master key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The [`MASTER_KEY_ENV`] environment variable.
    Env,
    /// A key file.
    File(PathBuf),
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => write!(f, "the {MASTER_KEY_ENV} environment variable"),
            Self::File(path) => write!(f, "key file {}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    State(#[from] StateError),

    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "master key file {path} can be read by group or others (mode {mode:03o}); \
         refusing to use it. Check who could have read it, then run `chmod 600 {path}`"
    )]
    KeyFileInsecure { path: PathBuf, mode: u32 },

    #[error("master key file {path} is not a regular file")]
    KeyFileNotRegular { path: PathBuf },

    #[error("cannot read master key file {path}: {source}")]
    KeyFileRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write master key file {path}: {source}")]
    KeyFileWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{origin} does not hold a master key: {problem} (expected base64 of 64 random bytes)")]
    KeyMalformed {
        origin: KeyOrigin,
        problem: MasterKeyError,
    },

    #[error(
        "the vault holds secrets under master key version {version}, but {path} does not exist \
         and {MASTER_KEY_ENV} is not set; restore the key file from your backup"
    )]
    KeyMissing { path: PathBuf, version: u32 },

    #[error(
        "the master key from {origin} is not the key this vault was encrypted with \
         (key version {version}); refusing to open it, nothing was changed"
    )]
    WrongKey { origin: KeyOrigin, version: u32 },

    #[error(
        "secret {field:?} of connection {connection} failed authentication: it was altered, \
         or moved from another field or connection"
    )]
    Tampered { connection: String, field: String },

    #[error("secret {field:?} of connection {connection} is not valid UTF-8")]
    NotUtf8 { connection: String, field: String },

    #[error("secret {field:?} of connection {connection} is sealed under key version {stored}, the vault is at version {current}")]
    KeyVersionMismatch {
        connection: String,
        field: String,
        stored: u32,
        current: u32,
    },

    #[error("no connection with id {connection}")]
    UnknownConnection { connection: String },

    #[error("connection {connection} belongs to plugin {stored}, not {given}")]
    PluginMismatch {
        connection: String,
        stored: String,
        given: String,
    },

    #[error(
        "the vault key was rotated by another process (now version {found}, this handle has \
         version {expected}); reopen the vault"
    )]
    KeyChanged { expected: u32, found: u32 },

    #[error(
        "key rotation committed, but moving {pending} over {path} failed: {source}; the new key \
         is in {pending} and the next open completes the move"
    )]
    RotationIncomplete {
        pending: PathBuf,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
