//! Typed errors: why a file is rejected, and what went wrong in the store.

use std::path::PathBuf;

/// A file that cannot become a BAS activity, with the file's name and the cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file_name}: {cause}")]
pub struct Rejected {
    /// The original file name, as given to [`crate::convert`].
    pub file_name: String,
    /// Why the file was refused.
    pub cause: RejectCause,
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RejectCause {
    /// Zero bytes.
    #[error("empty file")]
    Empty,
    /// The bytes do not start with a FIT file header.
    #[error("not a FIT file: {reason}")]
    NotFit {
        /// What is wrong with the first bytes.
        reason: String,
    },
    /// A valid FIT file of another kind (settings, workout, monitoring, weight...).
    #[error("not an activity: the FIT file type is `{file_type}`")]
    NotAnActivity {
        /// The `file_id.type` the file declares.
        file_type: String,
    },
    /// A FIT activity file with nothing to import: no timestamped record and no session.
    #[error("no activity data: {reason}")]
    NoActivityData {
        /// What was missing, and any decoding problem met on the way.
        reason: String,
    },
}

/// A store operation that failed; the store on disk stays consistent (see the README).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (e.g. "writing", "renaming").
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `index.json` exists but cannot be read as a BAS index.
    #[error("{path} is not a valid BAS index: {detail}")]
    BadIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// An activity that cannot be listed in the index.
    #[error("activity {id} cannot be indexed: {detail}")]
    BadActivity {
        /// The activity's id.
        id: String,
        /// What is wrong.
        detail: String,
    },
    /// The handle cannot be used as a directory name.
    #[error("invalid store handle {handle:?}: {reason}")]
    BadHandle {
        /// The handle given.
        handle: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Serialising a document failed (should not happen: the model is plain data).
    #[error("serialising {what}: {source}")]
    Serialize {
        /// The document concerned.
        what: String,
        /// The serialiser's error.
        source: serde_json::Error,
    },
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<bincio_atomic_file::AtomicFileError> for StoreError {
    fn from(e: bincio_atomic_file::AtomicFileError) -> Self {
        StoreError::Io {
            action: e.action,
            path: e.path,
            source: e.source,
        }
    }
}
