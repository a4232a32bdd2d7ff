//! One writer per BAS store across processes.
//!
//! The store keeps its index in memory and rewrites `index.json` per batch,
//! so two processes writing one store (`host-demo run` and `host-demo
//! import`, say) would each overwrite the other's index and miss each
//! other's near-duplicates. An exclusive lock on a file beside the store
//! makes the second writer wait for the first; the OS releases it when the
//! holder exits, even by SIGKILL.

use super::ImportError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock of store `handle` in `data_dir`, waiting while
    /// another process holds it.
    pub fn acquire(data_dir: &Path, handle: &str) -> Result<Self, ImportError> {
        let path = lock_path(data_dir, handle);
        let lock_error = |source| ImportError::Lock {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                tracing::warn!(
                    store = %data_dir.join(handle).display(),
                    "another host-demo process is writing this store; waiting for it"
                );
                file.lock().map_err(lock_error)?;
            }
            Err(TryLockError::Error(source)) => return Err(lock_error(source)),
        }
        Ok(Self { _file: file })
    }
}

fn lock_path(data_dir: &Path, handle: &str) -> PathBuf {
    data_dir.join(format!(".{handle}.lock"))
}
