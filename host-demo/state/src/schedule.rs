//! Scheduler state per connection: when the next sync is due and how many
//! syncs in a row have failed (which drives the scheduler's backoff). Kept so
//! that a restart neither fires every sync at once nor forgets a backoff.

use crate::connections::{self, ConnectionId};
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub connection_id: ConnectionId,
    pub next_run_at: UnixSeconds,
    pub consecutive_failures: u32,
}

impl StateDb {
    pub fn set_schedule(
        &self,
        connection: &ConnectionId,
        next_run_at: UnixSeconds,
        consecutive_failures: u32,
    ) -> Result<(), StateError> {
        self.write("store schedule", |tx| {
            connections::require(tx, connection)?;
            tx.execute(
                "INSERT INTO schedule (connection_id, next_run_at, consecutive_failures)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT(connection_id) DO UPDATE SET
                     next_run_at = excluded.next_run_at,
                     consecutive_failures = excluded.consecutive_failures",
                params![connection.as_str(), next_run_at, consecutive_failures],
            )
            .map_err(sql("store schedule"))?;
            Ok(())
        })
    }

    /// The stored schedule, `None` for a connection never scheduled.
    pub fn schedule(&self, connection: &ConnectionId) -> Result<Option<Schedule>, StateError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT next_run_at, consecutive_failures FROM schedule WHERE connection_id = ?1",
                [connection.as_str()],
                |r| {
                    Ok(Schedule {
                        connection_id: connection.clone(),
                        next_run_at: r.get(0)?,
                        consecutive_failures: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(sql("read schedule"))
        })
    }
}
