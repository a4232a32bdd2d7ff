//! Helpers shared by the integration tests: a temporary data directory with
//! a state database in it, and raw SQL access for tampering.

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
