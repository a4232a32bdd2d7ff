//! One write transaction for the import path: the host records a batch of
//! ledger rows, clears the retry rows they settle, and stores the plugin's
//! cursor, then commits once. Dropped without `commit`, nothing happened, so a
//! crash can never leave a cursor ahead of what the ledger holds.
//!
//! The transaction holds the handle's lock until it ends: other work on the
//! same [`StateDb`] handle waits (use the read methods here meanwhile, or a
//! second handle from another `StateDb::open`, which waits on SQLite's lock).

use crate::connections::{self, ConnectionId};
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::ledger::{self, LedgerEntry};
use crate::retries::{RetryState, RETRY_BACKOFF};
use crate::{cursors, retries};
use rusqlite::Connection;
use std::sync::MutexGuard;

pub struct ImportTx<'db> {
    conn: MutexGuard<'db, Connection>,
    finished: bool,
    recorded: usize,
}

impl std::fmt::Debug for ImportTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportTx")
            .field("recorded", &self.recorded)
            .finish()
    }
}

impl StateDb {
    /// Begins the import transaction (`BEGIN IMMEDIATE`: it holds SQLite's
    /// write lock from the start, so its commit cannot fail on a busy lock).
    pub fn import_tx(&self) -> Result<ImportTx<'_>, StateError> {
        let conn = self.lock();
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(sql("begin import transaction"))?;
        Ok(ImportTx {
            conn,
            finished: false,
            recorded: 0,
        })
    }
}

impl ImportTx<'_> {
    /// Adds a ledger row; a second row for the same (source, external id)
    /// fails with [`StateError::LedgerConflict`] and leaves the transaction
    /// usable.
    pub fn record(&mut self, entry: &LedgerEntry) -> Result<(), StateError> {
        // A savepoint, so a refused row does not spoil the rows before it.
        self.conn
            .execute_batch("SAVEPOINT record_entry")
            .map_err(sql("record ledger entry"))?;
        match ledger::insert(&self.conn, entry) {
            Ok(()) => {
                self.conn
                    .execute_batch("RELEASE record_entry")
                    .map_err(sql("record ledger entry"))?;
                self.recorded += 1;
                Ok(())
            }
            Err(err) => {
                self.conn
                    .execute_batch("ROLLBACK TO record_entry; RELEASE record_entry")
                    .map_err(sql("undo refused ledger entry"))?;
                Err(err)
            }
        }
    }

    /// Forgets the retry state of an item this batch settled.
    pub fn clear_retry(
        &mut self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> Result<(), StateError> {
        retries::clear(&self.conn, connection, external_id)
    }

    /// Records a failed attempt inside the transaction (see [`StateDb::defer`]).
    pub fn defer(
        &mut self,
        connection: &ConnectionId,
        external_id: &str,
        error: &str,
        now: UnixSeconds,
    ) -> Result<RetryState, StateError> {
        retries::defer(
            &self.conn,
            connection,
            external_id,
            error,
            now,
            &RETRY_BACKOFF,
        )
    }

    /// Stores the plugin's cursor with the rows it covers.
    pub fn set_cursor(
        &mut self,
        connection: &ConnectionId,
        cursor: &str,
    ) -> Result<(), StateError> {
        connections::require(&self.conn, connection)?;
        cursors::set(&self.conn, connection, cursor)
    }

    /// Reads through the transaction: sees the rows recorded so far.
    pub fn ledger_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<LedgerEntry>, StateError> {
        ledger::by_external_id(&self.conn, source, external_id)
    }

    /// Reads through the transaction: sees the rows recorded so far.
    pub fn ledger_by_hash(&self, sha256: &str) -> Result<Option<LedgerEntry>, StateError> {
        ledger::by_hash(&self.conn, sha256)
    }

    /// How many rows this transaction has recorded.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// Makes everything in the transaction durable at once.
    pub fn commit(mut self) -> Result<(), StateError> {
        let result = self
            .conn
            .execute_batch("COMMIT")
            .map_err(sql("commit import transaction"));
        if result.is_ok() {
            self.finished = true;
            tracing::debug!(rows = self.recorded, "import transaction committed");
        }
        // On failure `drop` rolls back.
        result
    }

    /// Abandons the transaction (the same as dropping it).
    pub fn rollback(self) {}
}

impl Drop for ImportTx<'_> {
    fn drop(&mut self) {
        if self.finished || self.conn.is_autocommit() {
            return;
        }
        if let Err(err) = self.conn.execute_batch("ROLLBACK") {
            tracing::error!(%err, "import transaction rollback failed");
        } else {
            tracing::debug!(rows = self.recorded, "import transaction rolled back");
        }
    }
}
