//! Which master key the vault uses and whether it is the right one: the key
//! check value stored per key version, reading or creating the key file, and
//! finishing a rotation that stopped between its commit and its rename.

use super::seal;
use super::{key_file, KeyOrigin, MasterKey, VaultError};
use crate::db::StateDb;
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension, Transaction};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The current key version and its check value, `None` for a new vault.
pub(super) fn current_key(db: &StateDb) -> Result<Option<(u32, Vec<u8>)>, StateError> {
    db.with_conn(current_key_in)
}

/// [`current_key`] on a connection or transaction already in hand.
pub(super) fn current_key_in(
    conn: &rusqlite::Connection,
) -> Result<Option<(u32, Vec<u8>)>, StateError> {
    conn.query_row(
        "SELECT version, canary FROM vault_keys ORDER BY version DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(sql("read vault key check"))
}

pub(super) fn insert_key_check(
    tx: &Transaction<'_>,
    version: u32,
    canary: &[u8],
) -> Result<(), StateError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    tx.execute(
        "INSERT INTO vault_keys (version, canary, created_at) VALUES (?1, ?2, ?3)",
        params![version, canary, now],
    )
    .map_err(sql("store vault key check"))?;
    Ok(())
}

/// The key file's key, creating the file when the vault is new. A vault that
/// already holds a key check value never gets a fresh key silently.
pub(super) fn load_or_create_key_file(
    data_dir: &Path,
    stored: Option<&(u32, Vec<u8>)>,
) -> Result<(MasterKey, KeyOrigin), VaultError> {
    let path = key_file::key_path(data_dir);
    let origin = KeyOrigin::File(path.clone());
    if let Some(key) = key_file::read(&path)? {
        return Ok((key, origin));
    }
    if let Some((version, canary)) = stored {
        // The key file may be missing because a rotation stopped between
        // commit and rename: the pending file then holds the current key.
        if let Some(key) = finish_rotation(data_dir, &origin, *version, canary)? {
            return Ok((key, origin));
        }
        return Err(VaultError::KeyMissing {
            path,
            version: *version,
        });
    }
    key_file::ensure_dir(data_dir)?;
    let key = MasterKey::generate();
    match key_file::create(&path, &key) {
        Ok(()) => {}
        // Another process created it first: use theirs.
        Err(VaultError::KeyFileWrite { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            if let Some(key) = key_file::read(&path)? {
                return Ok((key, origin));
            }
            return Err(VaultError::KeyFileWrite { path, source });
        }
        Err(err) => return Err(err),
    }
    tracing::info!(path = %path.display(), "created a new vault master key file");
    Ok((key, origin))
}

/// When `master.key.next` holds the key of the stored check value, a rotation
/// committed but did not rename its key file: finish it and use that key.
pub(super) fn finish_rotation(
    data_dir: &Path,
    origin: &KeyOrigin,
    version: u32,
    canary: &[u8],
) -> Result<Option<MasterKey>, VaultError> {
    if *origin == KeyOrigin::Env {
        return Ok(None);
    }
    let pending = key_file::pending_path(data_dir);
    let Some(key) = key_file::read(&pending)? else {
        return Ok(None);
    };
    if !seal::canary_matches(&key, version, canary) {
        return Ok(None);
    }
    let path = key_file::key_path(data_dir);
    key_file::promote(&pending, &path).map_err(|source| VaultError::KeyFileWrite {
        path: path.clone(),
        source,
    })?;
    tracing::info!(path = %path.display(), key_version = version, "finished an interrupted key rotation");
    Ok(Some(key))
}
