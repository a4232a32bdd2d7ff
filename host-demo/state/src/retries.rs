//! Per-item retry state: a download that failed is deferred with exponential
//! backoff and jitter, and offered again once its time has come. The row goes
//! away when the item is settled ([`crate::ImportTx::clear_retry`]).

use crate::connections::{self, ConnectionId};
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
pub use bincio_backoff::{Backoff, Jitter};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetryState {
    pub connection_id: ConnectionId,
    pub external_id: String,
    /// Failed attempts so far (1 after the first failure).
    pub attempts: u32,
    pub first_failed_at: UnixSeconds,
    pub next_attempt_at: UnixSeconds,
    /// The last failure, as the plugin described it (never a secret).
    pub last_error: String,
}

/// How long an item waits after its n-th failure: 5 minutes, doubling, at most one day, up
/// to 20 % earlier at random, so that items that failed together do not all come back in the
/// same second. At least a second.
pub const RETRY_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(5 * 60),
    max: Duration::from_secs(24 * 60 * 60),
    jitter: Jitter::below(0.2),
};

/// The delay after `attempts` failures (1 after the first), in seconds.
pub fn retry_delay(backoff: &Backoff, attempts: u32, rng: &mut impl rand::Rng) -> i64 {
    backoff.delay_secs(attempts.saturating_sub(1), rng).max(1)
}

const SELECT: &str = "SELECT connection_id, external_id, attempts, first_failed_at, \
                      next_attempt_at, last_error FROM retries";

fn from_row(row: &Row<'_>) -> rusqlite::Result<RetryState> {
    Ok(RetryState {
        connection_id: ConnectionId::new(row.get::<_, String>(0)?),
        external_id: row.get(1)?,
        attempts: row.get(2)?,
        first_failed_at: row.get(3)?,
        next_attempt_at: row.get(4)?,
        last_error: row.get(5)?,
    })
}

pub(crate) fn clear(
    conn: &rusqlite::Connection,
    connection: &ConnectionId,
    external_id: &str,
) -> Result<(), StateError> {
    conn.execute(
        "DELETE FROM retries WHERE connection_id = ?1 AND external_id = ?2",
        params![connection.as_str(), external_id],
    )
    .map_err(sql("clear retry state"))?;
    Ok(())
}

pub(crate) fn defer(
    conn: &rusqlite::Connection,
    connection: &ConnectionId,
    external_id: &str,
    error: &str,
    now: UnixSeconds,
    backoff: &Backoff,
) -> Result<RetryState, StateError> {
    connections::require(conn, connection)?;
    let previous: Option<(u32, UnixSeconds)> = conn
        .query_row(
            "SELECT attempts, first_failed_at FROM retries
             WHERE connection_id = ?1 AND external_id = ?2",
            params![connection.as_str(), external_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql("read retry state"))?;
    let (attempts, first_failed_at) = match previous {
        Some((attempts, first)) => (attempts.saturating_add(1), first),
        None => (1, now),
    };
    let delay = retry_delay(backoff, attempts, &mut rand::thread_rng());
    let next_attempt_at = now.saturating_add(delay);
    conn.execute(
        "INSERT INTO retries (connection_id, external_id, attempts, first_failed_at,
                              next_attempt_at, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(connection_id, external_id) DO UPDATE SET
             attempts = excluded.attempts,
             next_attempt_at = excluded.next_attempt_at,
             last_error = excluded.last_error",
        params![
            connection.as_str(),
            external_id,
            attempts,
            first_failed_at,
            next_attempt_at,
            error
        ],
    )
    .map_err(sql("store retry state"))?;
    tracing::debug!(connection = %connection, external_id, attempts, next_attempt_at, "item deferred");
    Ok(RetryState {
        connection_id: connection.clone(),
        external_id: external_id.to_owned(),
        attempts,
        first_failed_at,
        next_attempt_at,
        last_error: error.to_owned(),
    })
}

fn list(
    conn: &rusqlite::Connection,
    connection: &ConnectionId,
    due_by: Option<UnixSeconds>,
) -> Result<Vec<RetryState>, StateError> {
    let mut stmt = conn
        .prepare(&format!(
            "{SELECT} WHERE connection_id = ?1 AND (?2 IS NULL OR next_attempt_at <= ?2)
             ORDER BY next_attempt_at, external_id"
        ))
        .map_err(sql("list retry state"))?;
    let rows = stmt
        .query_map(params![connection.as_str(), due_by], from_row)
        .map_err(sql("list retry state"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql("list retry state"))?;
    Ok(rows)
}

impl StateDb {
    /// Records a failed attempt at `external_id` with the default
    /// [`Backoff`]: attempts + 1, next attempt after the backoff delay.
    pub fn defer(
        &self,
        connection: &ConnectionId,
        external_id: &str,
        error: &str,
        now: UnixSeconds,
    ) -> Result<RetryState, StateError> {
        self.defer_with(connection, external_id, error, now, &RETRY_BACKOFF)
    }

    /// [`StateDb::defer`] with an explicit backoff policy.
    pub fn defer_with(
        &self,
        connection: &ConnectionId,
        external_id: &str,
        error: &str,
        now: UnixSeconds,
        backoff: &Backoff,
    ) -> Result<RetryState, StateError> {
        self.write("defer item", |tx| {
            defer(tx, connection, external_id, error, now, backoff)
        })
    }

    /// Items whose next attempt is at or before `now`, earliest first.
    pub fn due_retries(
        &self,
        connection: &ConnectionId,
        now: UnixSeconds,
    ) -> Result<Vec<RetryState>, StateError> {
        self.with_conn(|conn| list(conn, connection, Some(now)))
    }

    /// Every deferred item of the connection, due or not.
    pub fn pending_retries(
        &self,
        connection: &ConnectionId,
    ) -> Result<Vec<RetryState>, StateError> {
        self.with_conn(|conn| list(conn, connection, None))
    }

    /// Forgets an item's retry state outside an import transaction.
    pub fn clear_retry(
        &self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> Result<(), StateError> {
        self.with_conn(|conn| clear(conn, connection, external_id))
    }
}
