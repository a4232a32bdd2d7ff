//! Login cooldowns: after a service answers a login with "too many requests",
//! no login is tried again before `until`, even across restarts. A cooldown
//! belongs to a connection, or to an account at a plugin (before a connection
//! knows its account, or when two connections share one).

use crate::connections::ConnectionId;
use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CooldownScope {
    Connection(ConnectionId),
    /// `account_key` identifies the login (e.g. a hash of the email); the
    /// plugin id keeps two services' accounts apart.
    Account {
        plugin_id: String,
        account_key: String,
    },
}

impl CooldownScope {
    fn key(&self) -> String {
        match self {
            Self::Connection(id) => format!("connection:{id}"),
            Self::Account {
                plugin_id,
                account_key,
            } => format!("account:{plugin_id}:{account_key}"),
        }
    }

    fn connection(&self) -> Option<&str> {
        match self {
            Self::Connection(id) => Some(id.as_str()),
            Self::Account { .. } => None,
        }
    }
}

impl fmt::Display for CooldownScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl From<&ConnectionId> for CooldownScope {
    fn from(id: &ConnectionId) -> Self {
        Self::Connection(id.clone())
    }
}

impl From<ConnectionId> for CooldownScope {
    fn from(id: ConnectionId) -> Self {
        Self::Connection(id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cooldown {
    pub scope: CooldownScope,
    pub until: UnixSeconds,
    pub reason: String,
}

impl StateDb {
    /// Starts (or replaces) a cooldown lasting until `until`.
    pub fn set_cooldown(
        &self,
        scope: impl Into<CooldownScope>,
        until: UnixSeconds,
        reason: &str,
    ) -> Result<(), StateError> {
        let scope = scope.into();
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO cooldowns (scope, connection_id, until, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(scope) DO UPDATE SET until = excluded.until, reason = excluded.reason",
                params![scope.key(), scope.connection(), until, reason],
            )
            .map_err(sql("store cooldown"))
        })?;
        tracing::info!(%scope, until, reason, "login cooldown set");
        Ok(())
    }

    /// The cooldown in force at `now`, if any (an expired one answers `None`).
    pub fn cooldown(
        &self,
        scope: impl Into<CooldownScope>,
        now: UnixSeconds,
    ) -> Result<Option<Cooldown>, StateError> {
        let scope = scope.into();
        let found: Option<(UnixSeconds, String)> = self.with_conn(|conn| {
            conn.query_row(
                "SELECT until, reason FROM cooldowns WHERE scope = ?1 AND until > ?2",
                params![scope.key(), now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("read cooldown"))
        })?;
        Ok(found.map(|(until, reason)| Cooldown {
            scope,
            until,
            reason,
        }))
    }

    pub fn clear_cooldown(&self, scope: impl Into<CooldownScope>) -> Result<(), StateError> {
        let scope = scope.into();
        self.with_conn(|conn| {
            conn.execute("DELETE FROM cooldowns WHERE scope = ?1", [scope.key()])
                .map_err(sql("clear cooldown"))
        })?;
        Ok(())
    }
}
