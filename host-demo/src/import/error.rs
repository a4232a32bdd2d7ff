//! What stops an import: the store or the state database failing. A file that
//! is not an activity is not an error (it is an [`Outcome::Rejected`]).
//!
//! [`Outcome::Rejected`]: super::Outcome::Rejected

use bincio_bas::StoreError;
use bincio_state::{ConnectionId, StateError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock the BAS store with {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("BAS store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    /// The thread that makes batches durable could not start, or ended (it panicked).
    #[error("the import flush thread could not start or ended")]
    FlushThread,
    /// A batch holding decisions of this connection could not be written earlier in its run,
    /// so storing a later cursor would skip them.
    #[error(
        "activities of connection {connection} could not be written earlier in this run; its \
         cursor stays where it was, so the next sync lists them again"
    )]
    CursorAfterLoss { connection: ConnectionId },
}
