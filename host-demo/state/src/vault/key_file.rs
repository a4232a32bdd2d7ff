//! The master key file, `{data_dir}/master.key`: base64 of the key and a
//! newline, mode 0600.
//!
//! Created with `create_new` and the mode given at creation, so there is no
//! moment when it exists with looser permissions and no way to clobber an
//! existing key. A file that group or others can read is refused (the key
//! may already have leaked; the user must look, then `chmod 600`).
//! Replacement (key rotation) writes `master.key.next` the same way, fsyncs
//! it, and renames it over the old file once the database has committed.

use super::error::{KeyOrigin, VaultError};
use super::master_key::MasterKey;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const KEY_FILE_NAME: &str = "master.key";
/// The next key during a rotation, until the rename makes it current.
pub const PENDING_KEY_FILE_NAME: &str = "master.key.next";

pub(crate) fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE_NAME)
}

pub(crate) fn pending_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PENDING_KEY_FILE_NAME)
}

/// Reads a key file; `Ok(None)` when it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<MasterKey>, VaultError> {
    let read_err = |source| VaultError::KeyFileRead {
        path: path.to_owned(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(read_err(err)),
    };
    // Checked on the open file, so the file checked is the file read.
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(VaultError::KeyFileNotRegular {
            path: path.to_owned(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(VaultError::KeyFileInsecure {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text).map_err(read_err)?;
    MasterKey::from_base64(&text)
        .map(Some)
        .map_err(|problem| VaultError::KeyMalformed {
            origin: KeyOrigin::File(path.to_owned()),
            problem,
        })
}

/// Writes a new key file that must not exist yet (mode 0600 from the
/// start), fsyncs it and its directory.
pub(crate) fn create(path: &Path, key: &MasterKey) -> Result<(), VaultError> {
    let write_err = |source| VaultError::KeyFileWrite {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(write_err)?;
    let mut text = Zeroizing::new(key.to_base64().expose().to_owned());
    text.push('\n');
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(err) = written {
        // Never leave a half-written key behind for the next open to trust.
        let _ = fs::remove_file(path);
        return Err(write_err(err));
    }
    sync_dir(path).map_err(write_err)
}

/// Writes the next key beside the current one, replacing a stale leftover.
pub(crate) fn write_pending(pending: &Path, key: &MasterKey) -> Result<(), VaultError> {
    remove_if_present(pending)?;
    create(pending, key)
}

/// Makes the pending key current: one atomic rename, then a directory fsync.
pub(crate) fn promote(pending: &Path, path: &Path) -> std::io::Result<()> {
    bincio_atomic_file::rename_durably(pending, path).map_err(|e| e.source)
}

pub(crate) fn remove_if_present(path: &Path) -> Result<(), VaultError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
        Err(source) => Err(VaultError::KeyFileWrite {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Creates the data directory (mode 0700) when it is missing.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), VaultError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| VaultError::DataDir {
            path: dir.to_owned(),
            source,
        })
}

/// fsync of the directory holding `path`, so a create survives a power cut.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    bincio_atomic_file::sync_dir(bincio_atomic_file::parent_dir(path)).map_err(|e| e.source)
}
