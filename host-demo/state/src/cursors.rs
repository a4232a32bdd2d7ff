//! The plugin's opaque sync cursor, one per connection. Written only through
//! [`crate::ImportTx::set_cursor`] (with the ledger rows it covers) or
//! [`StateDb::set_cursor`]; read back at the start of each sync.

use crate::connections::{self, ConnectionId};
use crate::db::StateDb;
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension};

pub(crate) fn set(
    conn: &rusqlite::Connection,
    connection: &ConnectionId,
    cursor: &str,
) -> Result<(), StateError> {
    conn.execute(
        "INSERT INTO cursors (connection_id, cursor) VALUES (?1, ?2)
         ON CONFLICT(connection_id) DO UPDATE SET cursor = excluded.cursor",
        params![connection.as_str(), cursor],
    )
    .map_err(sql("store cursor"))?;
    Ok(())
}

impl StateDb {
    /// The last committed cursor, `None` before the first commit.
    pub fn cursor(&self, connection: &ConnectionId) -> Result<Option<String>, StateError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT cursor FROM cursors WHERE connection_id = ?1",
                [connection.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read cursor"))
        })
    }

    /// Stores a cursor on its own (no ledger rows to go with it).
    pub fn set_cursor(&self, connection: &ConnectionId, cursor: &str) -> Result<(), StateError> {
        self.write("store cursor", |tx| {
            connections::require(tx, connection)?;
            set(tx, connection, cursor)
        })
    }
}
