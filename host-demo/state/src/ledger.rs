//! The import ledger: one row per item the import pipeline decided on
//! (imported, duplicate, or rejected), keyed by (source, external id) and
//! indexed by content hash, so the same activity is never imported twice,
//! whichever way it arrives. Rows are written through [`crate::ImportTx`].

use crate::connections::ConnectionId;
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use std::fmt;

/// The `source` of items imported from local files rather than a plugin.
pub const LOCAL_SOURCE: &str = "local";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOutcome {
    Imported,
    /// Already held: `activity_id` names the activity that holds it.
    Duplicate,
    /// Durably refused (not an activity, unreadable): `reason` says why.
    Rejected,
}

impl LedgerOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Result<Self, StateError> {
        Ok(match text {
            "imported" => Self::Imported,
            "duplicate" => Self::Duplicate,
            "rejected" => Self::Rejected,
            _ => {
                return Err(StateError::CorruptValue {
                    what: "ledger outcome",
                    value: text.to_owned(),
                })
            }
        })
    }
}

impl fmt::Display for LedgerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// The plugin id, or [`LOCAL_SOURCE`].
    pub source: String,
    /// The source's id for the item; `None` for local files.
    pub external_id: Option<String>,
    /// The connection it came through, when it came through one.
    pub connection_id: Option<ConnectionId>,
    /// sha256 of the file bytes, 64 lowercase hex digits.
    pub content_sha256: String,
    /// The BAS activity id (none for a rejection).
    pub activity_id: Option<String>,
    pub outcome: LedgerOutcome,
    /// Why it was rejected or judged a duplicate.
    pub reason: Option<String>,
    pub at: UnixSeconds,
}

/// Checks a content hash is what the ledger stores: lowercase sha256 hex.
pub fn validate_sha256(value: &str) -> Result<(), StateError> {
    let ok = value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidSha256 {
            value: value.to_owned(),
        })
    }
}

pub(crate) const SELECT: &str = "SELECT source, external_id, connection_id, content_sha256, \
     activity_id, outcome, reason, at FROM import_ledger";

type RawEntry = (LedgerEntry, String);

pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<RawEntry> {
    let connection: Option<String> = row.get(2)?;
    Ok((
        LedgerEntry {
            source: row.get(0)?,
            external_id: row.get(1)?,
            connection_id: connection.map(ConnectionId::new),
            content_sha256: row.get(3)?,
            activity_id: row.get(4)?,
            outcome: LedgerOutcome::Imported,
            reason: row.get(6)?,
            at: row.get(7)?,
        },
        row.get(5)?,
    ))
}

pub(crate) fn finish((mut entry, outcome): RawEntry) -> Result<LedgerEntry, StateError> {
    entry.outcome = LedgerOutcome::parse(&outcome)?;
    Ok(entry)
}

pub(crate) fn by_external_id(
    conn: &rusqlite::Connection,
    source: &str,
    external_id: &str,
) -> Result<Option<LedgerEntry>, StateError> {
    conn.query_row(
        &format!("{SELECT} WHERE source = ?1 AND external_id = ?2"),
        params![source, external_id],
        from_row,
    )
    .optional()
    .map_err(sql("look up ledger by external id"))?
    .map(finish)
    .transpose()
}

/// The row that best answers "do we hold this content?": an import first,
/// then a duplicate (which names the holding activity), then a rejection.
pub(crate) fn by_hash(
    conn: &rusqlite::Connection,
    sha256: &str,
) -> Result<Option<LedgerEntry>, StateError> {
    conn.query_row(
        &format!(
            "{SELECT} WHERE content_sha256 = ?1 ORDER BY \
             CASE outcome WHEN 'imported' THEN 0 WHEN 'duplicate' THEN 1 ELSE 2 END, id \
             LIMIT 1"
        ),
        [sha256],
        from_row,
    )
    .optional()
    .map_err(sql("look up ledger by content hash"))?
    .map(finish)
    .transpose()
}

pub(crate) fn insert(conn: &rusqlite::Connection, entry: &LedgerEntry) -> Result<(), StateError> {
    validate_sha256(&entry.content_sha256)?;
    let result = conn.execute(
        "INSERT INTO import_ledger (source, external_id, connection_id, content_sha256, \
         activity_id, outcome, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            entry.source,
            entry.external_id,
            entry.connection_id.as_ref().map(ConnectionId::as_str),
            entry.content_sha256,
            entry.activity_id,
            entry.outcome.as_str(),
            entry.reason,
            entry.at,
        ],
    );
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StateError::LedgerConflict {
                source_id: entry.source.clone(),
                external_id: entry.external_id.clone().unwrap_or_default(),
            })
        }
        Err(source) => Err(StateError::Sql {
            op: "insert ledger entry",
            source,
        }),
    }
}

impl StateDb {
    pub fn ledger_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<LedgerEntry>, StateError> {
        self.with_conn(|conn| by_external_id(conn, source, external_id))
    }

    /// The entry for this content hash, preferring an import over a
    /// duplicate over a rejection.
    pub fn ledger_by_hash(&self, sha256: &str) -> Result<Option<LedgerEntry>, StateError> {
        self.with_conn(|conn| by_hash(conn, sha256))
    }

    pub fn ledger_count(&self) -> Result<u64, StateError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT COUNT(*) FROM import_ledger", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(sql("count ledger entries"))
        })
    }

    /// Every entry from `source`, in the order they were recorded.
    pub fn ledger_entries(&self, source: &str) -> Result<Vec<LedgerEntry>, StateError> {
        let raw = self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!("{SELECT} WHERE source = ?1 ORDER BY id"))
                .map_err(sql("list ledger entries"))?;
            let rows = stmt
                .query_map([source], from_row)
                .map_err(sql("list ledger entries"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("list ledger entries"))?;
            Ok(rows)
        })?;
        raw.into_iter().map(finish).collect()
    }

    /// Records one entry in its own transaction (the local-file path; a
    /// plugin batch goes through [`StateDb::import_tx`]).
    pub fn record_ledger_entry(&self, entry: &LedgerEntry) -> Result<(), StateError> {
        self.write("record ledger entry", |tx| insert(tx, entry))
    }
}
