//! Sync history: one row per sync run, opened when it starts and closed with
//! its outcome, counts and error. A run left open by a crash is closed as
//! `interrupted` at the next start.

use crate::connections::{self, ConnectionId};
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run {}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Succeeded,
    Failed,
    Cancelled,
    /// The process stopped before the run finished.
    Interrupted,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Result<Self, StateError> {
        Ok(match text {
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            _ => {
                return Err(StateError::CorruptValue {
                    what: "sync run outcome",
                    value: text.to_owned(),
                })
            }
        })
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub imported: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub deferred: u64,
}

/// Why a run failed: the plugin error's kind name and its message (both
/// free of secrets by the boundary's contract).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunError {
    pub kind: String,
    pub message: String,
}

/// What `finish_run` records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunFinish {
    pub finished_at: UnixSeconds,
    pub outcome: RunOutcome,
    pub counts: RunCounts,
    pub error: Option<RunError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    pub id: RunId,
    pub connection_id: ConnectionId,
    pub started_at: UnixSeconds,
    /// `None` while the run is in progress.
    pub finished_at: Option<UnixSeconds>,
    pub outcome: Option<RunOutcome>,
    pub counts: RunCounts,
    pub error: Option<RunError>,
}

const SELECT: &str = "SELECT id, connection_id, started_at, finished_at, outcome, imported, \
                      duplicates, rejected, deferred, error_kind, error_message FROM sync_runs";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(SyncRun, Option<String>)> {
    let kind: Option<String> = row.get(9)?;
    let message: Option<String> = row.get(10)?;
    let count = |i: usize| row.get::<_, i64>(i).map(|n| n.max(0) as u64);
    Ok((
        SyncRun {
            id: RunId(row.get(0)?),
            connection_id: ConnectionId::new(row.get::<_, String>(1)?),
            started_at: row.get(2)?,
            finished_at: row.get(3)?,
            outcome: None,
            counts: RunCounts {
                imported: count(5)?,
                duplicates: count(6)?,
                rejected: count(7)?,
                deferred: count(8)?,
            },
            error: kind.map(|kind| RunError {
                kind,
                message: message.unwrap_or_default(),
            }),
        },
        row.get(4)?,
    ))
}

fn finish((mut run, outcome): (SyncRun, Option<String>)) -> Result<SyncRun, StateError> {
    run.outcome = outcome.as_deref().map(RunOutcome::parse).transpose()?;
    Ok(run)
}

/// Where the import ledger and the retry list stood when a run started, so
/// that what the run committed can be counted even when it failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunMark {
    ledger: i64,
    retries: i64,
}

impl StateDb {
    /// The current ends of the ledger and the retry list.
    pub fn run_mark(&self) -> Result<RunMark, StateError> {
        self.with_conn(|conn| {
            let max = |table: &str| {
                conn.query_row(
                    &format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}"),
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(sql("read the run mark"))
            };
            Ok(RunMark {
                ledger: max("import_ledger")?,
                retries: max("retries")?,
            })
        })
    }

    /// What `connection` durably committed since `mark`: ledger rows by
    /// outcome, and downloads newly deferred to a later run.
    pub fn committed_since(
        &self,
        connection: &ConnectionId,
        mark: RunMark,
    ) -> Result<RunCounts, StateError> {
        self.with_conn(|conn| {
            let op = "count what a run committed";
            let mut counts = RunCounts::default();
            let mut stmt = conn
                .prepare(
                    "SELECT outcome, COUNT(*) FROM import_ledger
                     WHERE connection_id = ?1 AND rowid > ?2 GROUP BY outcome",
                )
                .map_err(sql(op))?;
            let rows = stmt
                .query_map(params![connection.as_str(), mark.ledger], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(sql(op))?;
            for row in rows {
                let (outcome, n) = row.map_err(sql(op))?;
                let n = n.max(0) as u64;
                match outcome.as_str() {
                    "imported" => counts.imported = n,
                    "duplicate" => counts.duplicates = n,
                    "rejected" => counts.rejected = n,
                    _ => {}
                }
            }
            counts.deferred = conn
                .query_row(
                    "SELECT COUNT(*) FROM retries WHERE connection_id = ?1 AND rowid > ?2",
                    params![connection.as_str(), mark.retries],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(sql(op))?
                .max(0) as u64;
            Ok(counts)
        })
    }

    /// Opens a run record.
    pub fn start_run(
        &self,
        connection: &ConnectionId,
        now: UnixSeconds,
    ) -> Result<RunId, StateError> {
        self.write("start sync run", |tx| {
            connections::require(tx, connection)?;
            tx.execute(
                "INSERT INTO sync_runs (connection_id, started_at) VALUES (?1, ?2)",
                params![connection.as_str(), now],
            )
            .map_err(sql("start sync run"))?;
            Ok(RunId(tx.last_insert_rowid()))
        })
    }

    /// Closes a run record with what happened.
    pub fn finish_run(&self, run: RunId, finish: &RunFinish) -> Result<(), StateError> {
        let c = &finish.counts;
        let rows = self.with_conn(|conn| {
            conn.execute(
                "UPDATE sync_runs SET finished_at = ?2, outcome = ?3, imported = ?4,
                     duplicates = ?5, rejected = ?6, deferred = ?7, error_kind = ?8,
                     error_message = ?9
                 WHERE id = ?1",
                params![
                    run.0,
                    finish.finished_at,
                    finish.outcome.as_str(),
                    c.imported as i64,
                    c.duplicates as i64,
                    c.rejected as i64,
                    c.deferred as i64,
                    finish.error.as_ref().map(|e| e.kind.as_str()),
                    finish.error.as_ref().map(|e| e.message.as_str()),
                ],
            )
            .map_err(sql("finish sync run"))
        })?;
        if rows == 0 {
            return Err(StateError::UnknownRun { id: run.0 });
        }
        Ok(())
    }

    /// Closes every run still open (left so by a crash) as `interrupted`;
    /// call once at start-up. Answers how many were closed.
    pub fn close_interrupted_runs(&self, now: UnixSeconds) -> Result<usize, StateError> {
        self.with_conn(|conn| {
            conn.execute(
                "UPDATE sync_runs SET finished_at = ?1, outcome = 'interrupted'
                 WHERE finished_at IS NULL",
                [now],
            )
            .map_err(sql("close interrupted sync runs"))
        })
    }

    /// The most recent run of the connection, finished or not.
    pub fn last_run(&self, connection: &ConnectionId) -> Result<Option<SyncRun>, StateError> {
        Ok(self.runs(connection, 1)?.into_iter().next())
    }

    /// The connection's latest `limit` runs, newest first.
    pub fn runs(
        &self,
        connection: &ConnectionId,
        limit: usize,
    ) -> Result<Vec<SyncRun>, StateError> {
        let raw = self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "{SELECT} WHERE connection_id = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2"
                ))
                .map_err(sql("list sync runs"))?;
            let rows = stmt
                .query_map(
                    params![connection.as_str(), limit.min(i64::MAX as usize) as i64],
                    from_row,
                )
                .map_err(sql("list sync runs"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("list sync runs"))?;
            Ok(rows)
        })?;
        raw.into_iter().map(finish).collect()
    }

    pub fn run(&self, run: RunId) -> Result<Option<SyncRun>, StateError> {
        let raw = self.with_conn(|conn| {
            conn.query_row(&format!("{SELECT} WHERE id = ?1"), [run.0], from_row)
                .optional()
                .map_err(sql("read sync run"))
        })?;
        raw.map(finish).transpose()
    }
}
