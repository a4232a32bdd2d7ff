//! The secret vault: plugin secrets (passwords, tokens) encrypted with
//! AES-256-SIV under a master key, stored as ciphertexts in the state
//! database's `secrets` table.
//!
//! - [`master_key`]: the key and its base64 form; [`key_file`]: the 0600 key
//!   file; `seal`: the cipher and what its associated data binds.
//! - Opening checks the key against a stored key check value before
//!   anything is written, so a wrong key is refused and nothing is
//!   overwritten.
//! - [`Vault::rotate_key`] (`rotation`) re-encrypts every value in one
//!   transaction; `key_check` picks the key and proves it is the right one.

pub mod error;
mod key_check;
pub mod key_file;
pub mod master_key;
mod rotation;
mod seal;

use crate::connections::ConnectionId;
use crate::db::StateDb;
use crate::error::sql;
use crate::secret::SecretString;
pub use error::{KeyOrigin, VaultError, MASTER_KEY_ENV};
use key_check::{current_key, finish_rotation, insert_key_check, load_or_create_key_file};
pub use master_key::{MasterKey, MasterKeyError};
use rusqlite::{params, OptionalExtension, Transaction};
use seal::Binding;
use std::path::{Path, PathBuf};

pub struct Vault {
    db: StateDb,
    key: MasterKey,
    version: u32,
    origin: KeyOrigin,
    data_dir: PathBuf,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("key_version", &self.version)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens the vault with the key from `BINCIO_MASTER_KEY` when it is set
    /// (and not empty), else from `{data_dir}/master.key`, creating that file
    /// (mode 0600) on first use.
    pub fn open(data_dir: &Path, db: &StateDb) -> Result<Vault, VaultError> {
        let env_key = match std::env::var(MASTER_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => Some(SecretString::new(text)),
            Ok(_) | Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(VaultError::KeyMalformed {
                    origin: KeyOrigin::Env,
                    problem: MasterKeyError::NotBase64,
                })
            }
        };
        Self::open_with_env_key(data_dir, db, env_key.as_ref())
    }

    /// [`Vault::open`] with the variable's value passed in, for callers
    /// (and tests) that read the environment themselves.
    pub fn open_with_env_key(
        data_dir: &Path,
        db: &StateDb,
        env_key: Option<&SecretString>,
    ) -> Result<Vault, VaultError> {
        let stored = current_key(db)?;
        let (key, origin) = match env_key {
            Some(text) => (
                MasterKey::from_base64(text.expose()).map_err(|problem| {
                    VaultError::KeyMalformed {
                        origin: KeyOrigin::Env,
                        problem,
                    }
                })?,
                KeyOrigin::Env,
            ),
            None => load_or_create_key_file(data_dir, stored.as_ref())?,
        };
        let version = match stored {
            Some((version, canary)) => {
                if seal::canary_matches(&key, version, &canary) {
                    if origin != KeyOrigin::Env {
                        // The current key opened the vault, so a pending key
                        // is a leftover from a rotation that never committed.
                        key_file::remove_if_present(&key_file::pending_path(data_dir))?;
                    }
                    version
                } else if let Some(key) = finish_rotation(data_dir, &origin, version, &canary)? {
                    return Ok(Self::assemble(db, key, version, origin, data_dir));
                } else {
                    return Err(VaultError::WrongKey { origin, version });
                }
            }
            None => {
                let canary = seal::seal_canary(&key, 1);
                db.write("store vault key check", |tx| {
                    // Re-checked under the write lock: another process may
                    // have set up the vault since we looked.
                    match key_check::current_key_in(tx)? {
                        None => {
                            insert_key_check(tx, 1, &canary)?;
                            Ok(1)
                        }
                        Some((found, theirs)) if seal::canary_matches(&key, found, &theirs) => {
                            Ok(found)
                        }
                        Some((found, _)) => Err(VaultError::WrongKey {
                            origin: origin.clone(),
                            version: found,
                        }),
                    }
                })?
            }
        };
        tracing::info!(key_version = version, origin = %origin, "vault open");
        Ok(Self::assemble(db, key, version, origin, data_dir))
    }

    fn assemble(
        db: &StateDb,
        key: MasterKey,
        version: u32,
        origin: KeyOrigin,
        data_dir: &Path,
    ) -> Vault {
        Vault {
            db: db.clone(),
            key,
            version,
            origin,
            data_dir: data_dir.to_owned(),
        }
    }

    /// The version of the key in use (1 for the first key, +1 per rotation).
    pub fn key_version(&self) -> u32 {
        self.version
    }

    pub fn key_origin(&self) -> &KeyOrigin {
        &self.origin
    }

    /// Encrypts and stores `value` for (connection, field), replacing any
    /// earlier value. Durable when it returns.
    pub fn put(
        &self,
        connection: &ConnectionId,
        plugin_id: &str,
        field: &str,
        value: &SecretString,
    ) -> Result<(), VaultError> {
        self.db.write("store secret", |tx| {
            self.check_version(tx)?;
            check_owner(tx, connection, plugin_id)?;
            let binding = Binding {
                key_version: self.version,
                plugin_id,
                connection_id: connection.as_str(),
                field,
            };
            let sealed = seal::seal_secret(&self.key, &binding, value.expose().as_bytes());
            tx.execute(
                "INSERT INTO secrets (connection_id, field, plugin_id, key_version, sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(connection_id, field) DO UPDATE SET plugin_id = excluded.plugin_id,
                     key_version = excluded.key_version, sealed = excluded.sealed",
                params![connection.as_str(), field, plugin_id, self.version, sealed],
            )
            .map_err(sql("store secret"))?;
            Ok::<_, VaultError>(())
        })?;
        tracing::debug!(connection = %connection, field, "secret stored");
        Ok(())
    }

    /// Decrypts the value of (connection, field); `None` when there is none.
    /// A value that fails authentication is an error, never `None`.
    pub fn get(
        &self,
        connection: &ConnectionId,
        plugin_id: &str,
        field: &str,
    ) -> Result<Option<SecretString>, VaultError> {
        let row: Option<(u32, Vec<u8>)> = self.db.with_conn(|conn| {
            conn.query_row(
                "SELECT key_version, sealed FROM secrets WHERE connection_id = ?1 AND field = ?2",
                params![connection.as_str(), field],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("read secret"))
        })?;
        let Some((stored_version, sealed)) = row else {
            tracing::trace!(connection = %connection, field, "no secret stored");
            return Ok(None);
        };
        if stored_version != self.version {
            return Err(VaultError::KeyVersionMismatch {
                connection: connection.to_string(),
                field: field.to_owned(),
                stored: stored_version,
                current: self.version,
            });
        }
        // The caller's plugin id, not the row's: a row moved between plugins
        // must fail, not follow its own label.
        let binding = Binding {
            key_version: self.version,
            plugin_id,
            connection_id: connection.as_str(),
            field,
        };
        let value = open_value(&self.key, &binding, &sealed)?;
        tracing::trace!(connection = %connection, field, "secret read");
        Ok(Some(value))
    }

    /// Removes the value of (connection, field), if any.
    pub fn delete(&self, connection: &ConnectionId, field: &str) -> Result<(), VaultError> {
        self.db.with_conn(|conn| {
            conn.execute(
                "DELETE FROM secrets WHERE connection_id = ?1 AND field = ?2",
                params![connection.as_str(), field],
            )
            .map_err(sql("delete secret"))
        })?;
        tracing::debug!(connection = %connection, field, "secret deleted");
        Ok(())
    }

    /// Removes every value of the connection.
    pub fn delete_all(&self, connection: &ConnectionId) -> Result<usize, VaultError> {
        let removed = self.db.with_conn(|conn| {
            conn.execute(
                "DELETE FROM secrets WHERE connection_id = ?1",
                [connection.as_str()],
            )
            .map_err(sql("delete secrets"))
        })?;
        tracing::debug!(connection = %connection, removed, "secrets deleted");
        Ok(removed)
    }

    /// The field keys stored for the connection (names only, no values).
    pub fn fields(&self, connection: &ConnectionId) -> Result<Vec<String>, VaultError> {
        Ok(self.db.with_conn(|conn| {
            let mut stmt = conn
                .prepare("SELECT field FROM secrets WHERE connection_id = ?1 ORDER BY field")
                .map_err(sql("list secret fields"))?;
            let fields = stmt
                .query_map([connection.as_str()], |r| r.get(0))
                .map_err(sql("list secret fields"))?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(sql("list secret fields"))?;
            Ok(fields)
        })?)
    }

    /// Fails when another handle rotated the key since this one opened.
    fn check_version(&self, tx: &Transaction<'_>) -> Result<(), VaultError> {
        let found = tx
            .query_row("SELECT MAX(version) FROM vault_keys", [], |r| {
                r.get::<_, Option<u32>>(0)
            })
            .map_err(sql("read vault key version"))?
            .unwrap_or(0);
        if found != self.version {
            return Err(VaultError::KeyChanged {
                expected: self.version,
                found,
            });
        }
        Ok(())
    }
}

fn open_value(
    key: &MasterKey,
    binding: &Binding<'_>,
    sealed: &[u8],
) -> Result<SecretString, VaultError> {
    let tampered = || VaultError::Tampered {
        connection: binding.connection_id.to_owned(),
        field: binding.field.to_owned(),
    };
    let plain = seal::open_secret(key, binding, sealed).map_err(|_| tampered())?;
    // `plain` is wiped on drop; the String built from it is owned by the
    // SecretString, wiped on its drop.
    match std::str::from_utf8(&plain) {
        Ok(text) => Ok(SecretString::from(text)),
        Err(_) => Err(VaultError::NotUtf8 {
            connection: binding.connection_id.to_owned(),
            field: binding.field.to_owned(),
        }),
    }
}

/// A secret belongs to an existing connection of the same plugin.
fn check_owner(
    tx: &Transaction<'_>,
    connection: &ConnectionId,
    plugin_id: &str,
) -> Result<(), VaultError> {
    let stored: Option<String> = tx
        .query_row(
            "SELECT plugin_id FROM connections WHERE id = ?1",
            [connection.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql("look up connection"))?;
    match stored {
        None => Err(VaultError::UnknownConnection {
            connection: connection.to_string(),
        }),
        Some(stored) if stored != plugin_id => Err(VaultError::PluginMismatch {
            connection: connection.to_string(),
            stored,
            given: plugin_id.to_owned(),
        }),
        Some(_) => Ok(()),
    }
}
