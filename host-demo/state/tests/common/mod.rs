//! Helpers shared by the integration tests: a temporary data directory with
//! a state database in it, and raw SQL access for tampering.

#![allow(dead_code)]

use bincio_state::{ConnectionId, StateDb};
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
