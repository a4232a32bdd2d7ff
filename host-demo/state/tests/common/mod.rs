//! Helpers shared by the integration tests: a temporary data directory with
//! a state database (and a connection and vault) in it, secret shorthands,
//! and raw SQL access for tampering.

#![allow(dead_code)]

use bincio_state::{ConnectionId, SecretString, StateDb, Vault};
use std::path::{Path, PathBuf};

pub const GARMIN: &str = "dev.bincio.garmin";
pub const NOW: i64 = 1_760_000_000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A fresh data dir with its database and one Garmin connection.
    pub fn with_connection() -> (Self, StateDb, ConnectionId) {
        let fx = Self::new();
        let db = fx.open();
        let id = connection(&db);
        (fx, db, id)
    }

    /// As [`Fixture::with_connection`], plus the vault (a new key file).
    pub fn with_vault() -> (Self, StateDb, ConnectionId, Vault) {
        let (fx, db, id) = Self::with_connection();
        let vault = vault(&fx, &db);
        (fx, db, id, vault)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("state.sqlite")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("master.key")
    }

    pub fn open(&self) -> StateDb {
        StateDb::open(&self.db_path()).expect("open state db")
    }

    /// A second, raw SQLite connection to the same file.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db_path()).expect("open raw sqlite")
    }
}

pub fn connection(db: &StateDb) -> ConnectionId {
    db.create_connection(GARMIN, NOW)
        .expect("create connection")
}

pub fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

pub fn secret(text: &str) -> SecretString {
    SecretString::from(text)
}

pub fn vault(fx: &Fixture, db: &StateDb) -> Vault {
    Vault::open_with_env_key(fx.data_dir(), db, None).expect("open vault")
}

/// The database and the vault opened again from their files, as a restarted
/// host opens them.
pub fn reopen(fx: &Fixture) -> (StateDb, Vault) {
    let db = fx.open();
    let vault = vault(fx, &db);
    (db, vault)
}

/// Stores `value` as the Garmin secret `field` of `id`.
#[track_caller]
pub fn store(vault: &Vault, id: &ConnectionId, field: &str, value: &str) {
    vault.put(id, GARMIN, field, &secret(value)).unwrap();
}

/// The Garmin secret `field` of `id`; panics when it is missing or unreadable.
#[track_caller]
pub fn read(vault: &Vault, id: &ConnectionId, field: &str) -> String {
    vault
        .get(id, GARMIN, field)
        .unwrap()
        .unwrap()
        .expose()
        .to_owned()
}

/// Every row of the tables the vault writes, for before/after comparisons.
pub fn vault_rows(fx: &Fixture) -> Vec<(String, String, i64, Vec<u8>)> {
    let raw = fx.raw();
    let mut rows: Vec<(String, String, i64, Vec<u8>)> = raw
        .prepare("SELECT connection_id, field, key_version, sealed FROM secrets")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let keys: Vec<(i64, Vec<u8>)> = raw
        .prepare("SELECT version, canary FROM vault_keys")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.extend(
        keys.into_iter()
            .map(|(v, c)| ("#key".to_owned(), String::new(), v, c)),
    );
    rows.sort();
    rows
}
