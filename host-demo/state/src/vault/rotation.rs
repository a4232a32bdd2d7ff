//! Key rotation: every value re-encrypted under a new key version in one
//! transaction, and the key file replaced by write-fsync-rename, ordered so
//! that a failure at any point leaves a vault that opens (see
//! [`Vault::rotate_key`]).

use super::key_check::insert_key_check;
use super::seal::{self, Binding};
use super::{key_file, KeyOrigin, MasterKey, Vault, VaultError, MASTER_KEY_ENV};
use crate::error::sql;
use rusqlite::{params, Transaction};

impl Vault {
    /// Re-encrypts every value under `new_key` as key version + 1, in one
    /// transaction, and makes `new_key` the key file's content. Order: the
    /// new key is written to `master.key.next` (0600, fsynced) before the
    /// commit and renamed over `master.key` after it; if the transaction
    /// fails the old key and every old value stay. A crash between commit and
    /// rename is finished by the next [`Vault::open`].
    ///
    /// With the key from `BINCIO_MASTER_KEY` no file is written: set the
    /// variable to the new key (its base64) before the next start.
    pub fn rotate_key(&mut self, new_key: MasterKey) -> Result<u32, VaultError> {
        let new_version = self.version + 1;
        let pending = key_file::pending_path(&self.data_dir);
        let key_path = key_file::key_path(&self.data_dir);
        let to_file = matches!(self.origin, KeyOrigin::File(_));
        let result = self.db.write("rotate vault key", |tx| {
            self.check_version(tx)?;
            let count = reseal_all(tx, &self.key, self.version, &new_key, new_version)?;
            tx.execute("DELETE FROM vault_keys", [])
                .map_err(sql("retire old key check"))?;
            insert_key_check(tx, new_version, &seal::seal_canary(&new_key, new_version))?;
            if to_file {
                key_file::write_pending(&pending, &new_key)?;
            }
            Ok::<_, VaultError>(count)
        });
        let count = match result {
            Ok(count) => count,
            Err(err) => {
                if to_file {
                    let _ = key_file::remove_if_present(&pending);
                }
                return Err(err);
            }
        };
        self.key = new_key;
        self.version = new_version;
        if to_file {
            key_file::promote(&pending, &key_path).map_err(|source| {
                VaultError::RotationIncomplete {
                    pending: pending.clone(),
                    path: key_path.clone(),
                    source,
                }
            })?;
        } else {
            tracing::warn!(
                "vault key rotated: set {MASTER_KEY_ENV} to the new key before the next start"
            );
        }
        tracing::info!(
            key_version = new_version,
            secrets = count,
            "vault key rotated"
        );
        Ok(new_version)
    }
}

/// Opens every secret under the old key and seals it under the new one.
/// One failure aborts the whole rotation (the caller's transaction rolls back).
fn reseal_all(
    tx: &Transaction<'_>,
    old_key: &MasterKey,
    old_version: u32,
    new_key: &MasterKey,
    new_version: u32,
) -> Result<usize, VaultError> {
    type Row = (String, String, String, u32, Vec<u8>);
    let rows: Vec<Row> = {
        let mut stmt = tx
            .prepare("SELECT connection_id, field, plugin_id, key_version, sealed FROM secrets")
            .map_err(sql("read secrets for rotation"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(sql("read secrets for rotation"))?
            .collect::<rusqlite::Result<Vec<Row>>>()
            .map_err(sql("read secrets for rotation"))?;
        rows
    };
    for (connection_id, field, plugin_id, stored_version, sealed) in &rows {
        if *stored_version != old_version {
            return Err(VaultError::KeyVersionMismatch {
                connection: connection_id.clone(),
                field: field.clone(),
                stored: *stored_version,
                current: old_version,
            });
        }
        let old = Binding {
            key_version: old_version,
            plugin_id,
            connection_id,
            field,
        };
        let plain = seal::open_secret(old_key, &old, sealed).map_err(|_| VaultError::Tampered {
            connection: connection_id.clone(),
            field: field.clone(),
        })?;
        let new = Binding {
            key_version: new_version,
            ..old
        };
        let resealed = seal::seal_secret(new_key, &new, &plain);
        tx.execute(
            "UPDATE secrets SET key_version = ?3, sealed = ?4
             WHERE connection_id = ?1 AND field = ?2",
            params![connection_id, field, new_version, resealed],
        )
        .map_err(sql("store re-encrypted secret"))?;
    }
    Ok(rows.len())
}
