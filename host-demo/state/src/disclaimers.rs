//! Disclaimer acceptances: which version (and exact text, by sha256) of a
//! plugin's disclaimer the user accepted, and when. The host compares the
//! latest acceptance with the plugin's current disclaimer and blocks connect
//! and sync until a changed one is accepted again. History is kept.

use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::ledger::validate_sha256;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acceptance {
    pub plugin_id: String,
    pub version: String,
    /// sha256 of the disclaimer body as shown, lowercase hex.
    pub sha256: String,
    pub accepted_at: UnixSeconds,
}

impl Acceptance {
    /// Whether this acceptance covers the disclaimer `(version, sha256)`.
    pub fn covers(&self, version: &str, sha256: &str) -> bool {
        self.version == version && self.sha256.eq_ignore_ascii_case(sha256)
    }
}

impl StateDb {
    pub fn record_acceptance(
        &self,
        plugin_id: &str,
        version: &str,
        sha256_hex: &str,
        now: UnixSeconds,
    ) -> Result<(), StateError> {
        let sha256 = sha256_hex.to_ascii_lowercase();
        validate_sha256(&sha256)?;
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO disclaimer_acceptances (plugin_id, version, sha256, accepted_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![plugin_id, version, sha256, now],
            )
            .map_err(sql("record disclaimer acceptance"))
        })?;
        tracing::info!(plugin_id, version, "disclaimer accepted");
        Ok(())
    }

    /// The latest acceptance of the plugin's disclaimer, if any.
    pub fn acceptance(&self, plugin_id: &str) -> Result<Option<Acceptance>, StateError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT plugin_id, version, sha256, accepted_at FROM disclaimer_acceptances
                 WHERE plugin_id = ?1 ORDER BY accepted_at DESC, id DESC LIMIT 1",
                [plugin_id],
                |r| {
                    Ok(Acceptance {
                        plugin_id: r.get(0)?,
                        version: r.get(1)?,
                        sha256: r.get(2)?,
                        accepted_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(sql("read disclaimer acceptance"))
        })
    }
}
