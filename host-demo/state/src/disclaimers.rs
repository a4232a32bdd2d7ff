//! Disclaimer acceptances: which version (and exact text, by sha256) of a
//! plugin's disclaimer the user accepted, and when. The host compares the
//! latest acceptance with the plugin's current disclaimer and blocks connect
//! and sync until a changed one is accepted again. History is kept.

use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::ledger::validate_sha256;
use crate::users::{UserHandle, DEFAULT_HANDLE};
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
    /// Records an acceptance by the default user ([`StateDb::default_user`]).
    pub fn record_acceptance(
        &self,
        plugin_id: &str,
        version: &str,
        sha256_hex: &str,
        now: UnixSeconds,
    ) -> Result<(), StateError> {
        let user = self.default_user(&UserHandle::parse(DEFAULT_HANDLE)?, now)?;
        self.record_acceptance_for(&user.handle, plugin_id, version, sha256_hex, now)
    }

    /// Records that `user` accepted the disclaimer `(version, sha256)`: each
    /// user accepts for themselves.
    pub fn record_acceptance_for(
        &self,
        user: &UserHandle,
        plugin_id: &str,
        version: &str,
        sha256_hex: &str,
        now: UnixSeconds,
    ) -> Result<(), StateError> {
        self.require_user(user)?;
        let sha256 = sha256_hex.to_ascii_lowercase();
        validate_sha256(&sha256)?;
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO disclaimer_acceptances
                     (plugin_id, version, sha256, accepted_at, user_handle)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![plugin_id, version, sha256, now, user.as_str()],
            )
            .map_err(sql("record disclaimer acceptance"))
        })?;
        tracing::info!(plugin_id, version, user = %user, "disclaimer accepted");
        Ok(())
    }

    /// The default user's latest acceptance of the plugin's disclaimer.
    pub fn acceptance(&self, plugin_id: &str) -> Result<Option<Acceptance>, StateError> {
        match self.users()?.as_slice() {
            [] => Ok(None),
            [only] => self.acceptance_for(&only.handle, plugin_id),
            several => Err(StateError::UserAmbiguous {
                handles: several.iter().map(|u| u.handle.to_string()).collect(),
            }),
        }
    }

    /// The user's latest acceptance of the plugin's disclaimer, if any.
    pub fn acceptance_for(
        &self,
        user: &UserHandle,
        plugin_id: &str,
    ) -> Result<Option<Acceptance>, StateError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT plugin_id, version, sha256, accepted_at FROM disclaimer_acceptances
                 WHERE plugin_id = ?1 AND user_handle = ?2
                 ORDER BY accepted_at DESC, id DESC LIMIT 1",
                params![plugin_id, user.as_str()],
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
