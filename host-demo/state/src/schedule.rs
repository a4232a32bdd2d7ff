//! Scheduler state per connection: when the next sync is due and how many
//! syncs in a row have failed (which drives the scheduler's backoff). Kept so
//! that a restart neither fires every sync at once nor forgets a backoff.

use crate::connections::{self, ConnectionId, ConnectionStatus};
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// A connection whose sync is due (see [`StateDb::due_connections`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueConnection {
    pub id: ConnectionId,
    pub plugin_id: String,
    /// When its latest run started, `None` before its first: the scheduler's turn order.
    pub last_run_started_at: Option<UnixSeconds>,
}

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

    /// The connections whose sync is due at `now`: active, their user not disabled, and never
    /// scheduled or scheduled at or before `now`; oldest connection first. One query for the
    /// scheduler's every tick, whatever the number of connections (it read each one's
    /// schedule and last run in turn, which made a round of N connections O(N²) queries).
    pub fn due_connections(&self, now: UnixSeconds) -> Result<Vec<DueConnection>, StateError> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT c.id, c.plugin_id,
                            (SELECT MAX(r.started_at) FROM sync_runs r
                             WHERE r.connection_id = c.id)
                     FROM connections c
                     LEFT JOIN schedule s ON s.connection_id = c.id
                     LEFT JOIN users u ON u.handle = c.user_handle
                     WHERE c.status = ?1
                       AND (s.next_run_at IS NULL OR s.next_run_at <= ?2)
                       AND u.disabled_at IS NULL
                     ORDER BY c.created_at, c.rowid",
                )
                .map_err(sql("list due connections"))?;
            let rows = stmt
                .query_map(params![ConnectionStatus::Active.as_str(), now], |r| {
                    Ok(DueConnection {
                        id: ConnectionId::from(r.get::<_, String>(0)?.as_str()),
                        plugin_id: r.get(1)?,
                        last_run_started_at: r.get(2)?,
                    })
                })
                .map_err(sql("list due connections"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("list due connections"))?;
            Ok(rows)
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
