//! Opening the state database and running work on it.
//!
//! A [`StateDb`] is a cheap, cloneable handle to one SQLite connection behind a
//! mutex, so the scheduler, the import sink and the vault can share it across
//! threads. Every multi-statement change goes through `StateDb::write`, one
//! `BEGIN IMMEDIATE` transaction: either all of it lands or none of it does.
//! A second process (or a second `StateDb::open` of the same file) works too:
//! WAL lets readers run beside the writer and the busy timeout makes writers
//! wait their turn.

use crate::error::{sql, StateError};
use crate::migrations;
use crate::users::DEFAULT_HANDLE;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Seconds since the Unix epoch. The caller passes `now` wherever time
/// matters, so tests can run on a virtual clock.
pub type UnixSeconds = i64;

/// How long a statement waits for another writer before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct StateDb {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl StateDb {
    /// Opens (creating if missing) the database at `path` and brings its
    /// schema up to date. A database written by a newer program is refused.
    /// The rows of a version-1 database go to the user [`DEFAULT_HANDLE`].
    pub fn open(path: &Path) -> Result<StateDb, StateError> {
        Self::open_as(path, DEFAULT_HANDLE)
    }

    /// As [`StateDb::open`]; the rows of a version-1 database (which had no
    /// users) go to a new admin user `legacy_owner`.
    pub fn open_as(path: &Path, legacy_owner: &str) -> Result<StateDb, StateError> {
        let open_err = |source| StateError::Open {
            path: path.to_owned(),
            source,
        };
        // Created 0600 before SQLite opens it (its WAL and shm files take
        // the database's mode); an existing looser file is tightened.
        crate::private_fs::private_file(path).map_err(|source| StateError::Permissions {
            path: path.to_owned(),
            source,
        })?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // journal_mode answers with the mode in force; a read-only medium or
        // an in-memory database may refuse WAL, which is only slower.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "state database is not in WAL mode");
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        // FULL: a commit also survives power loss (the cursor must never run
        // ahead of stored activities). The state sees few writes; cheap enough.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        migrations::migrate(&mut conn, path, legacy_owner)?;
        tracing::debug!(path = %path.display(), "state database open");
        Ok(StateDb {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                conn: Mutex::new(conn),
            }),
        })
    }

    /// The file this handle was opened from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        self.with_conn(|conn| {
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(sql("read schema version"))
        })
    }

    /// Locks the connection. A panic while the lock was held cannot leave a
    /// transaction half done (rusqlite rolls back on drop), so a poisoned lock
    /// is safe to take over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.inner
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs work that needs no transaction of its own: reads, and writes of a
    /// single statement (SQLite makes each statement atomic).
    pub(crate) fn with_conn<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let conn = self.lock();
        work(&conn)
    }

    /// Runs `work` in one write transaction: committed when it returns `Ok`,
    /// rolled back when it returns `Err` (or panics).
    pub(crate) fn write<T, E>(
        &self,
        op: &'static str,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StateError>,
    {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(op))?;
        let value = work(&tx)?;
        tx.commit().map_err(sql(op))?;
        Ok(value)
    }
}
