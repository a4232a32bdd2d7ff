//! Connections: one user account at one plugin's service ("garmin-1"), their
//! status, and removing what a disconnected connection leaves behind.

use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::users::{UserHandle, DEFAULT_HANDLE};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The host's id for a connection, like `garmin-1`: stable across restarts,
/// never reused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ConnectionId(String);

impl ConnectionId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ConnectionId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl FromStr for ConnectionId {
    type Err = std::convert::Infallible;
    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Ok(Self(id.to_owned()))
    }
}

/// Where a connection stands, as the user sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Created, login not finished yet.
    Pending,
    /// Logged in; scheduled syncs run.
    Active,
    /// Paused until the user acts (MFA, bad password, changed disclaimer).
    NeedsUser,
    /// Paused by the user or the host; no syncs.
    Paused,
    /// Disconnected: secrets gone, history kept.
    Disconnected,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::NeedsUser => "needs_user",
            Self::Paused => "paused",
            Self::Disconnected => "disconnected",
        }
    }

    fn parse(text: &str) -> Result<Self, StateError> {
        Ok(match text {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "needs_user" => Self::NeedsUser,
            "paused" => Self::Paused,
            "disconnected" => Self::Disconnected,
            _ => {
                return Err(StateError::CorruptValue {
                    what: "connection status",
                    value: text.to_owned(),
                })
            }
        })
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub plugin_id: String,
    /// The service's account id, once connected.
    pub account_id: Option<String>,
    pub display_name: Option<String>,
    pub status: ConnectionStatus,
    /// Why the status is what it is ("MFA code needed"); never a secret.
    pub status_message: Option<String>,
    pub created_at: UnixSeconds,
    /// The user the connection belongs to.
    pub user: UserHandle,
}

/// The short name a connection id starts with: the last dot-separated part
/// of the plugin id, lowercased, letters, digits and dashes only
/// (`dev.bincio.garmin` → `garmin`).
pub fn connection_prefix(plugin_id: &str) -> Result<String, StateError> {
    let last = plugin_id.rsplit('.').next().unwrap_or(plugin_id);
    let prefix: String = last
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .map(|c| if c == '_' { '-' } else { c })
        .collect();
    let prefix = prefix.trim_matches('-').to_owned();
    if prefix.is_empty() {
        return Err(StateError::InvalidPluginId {
            plugin_id: plugin_id.to_owned(),
        });
    }
    Ok(prefix)
}

const SELECT: &str = "SELECT id, plugin_id, account_id, display_name, status, status_message, \
                      created_at, user_handle FROM connections";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(Connection, String)> {
    let status: String = row.get(4)?;
    Ok((
        Connection {
            id: ConnectionId(row.get(0)?),
            plugin_id: row.get(1)?,
            account_id: row.get(2)?,
            display_name: row.get(3)?,
            // Parsed after the row closure: rusqlite wants its own error type here.
            status: ConnectionStatus::Pending,
            status_message: row.get(5)?,
            created_at: row.get(6)?,
            user: UserHandle::trusted(row.get::<_, Option<String>>(7)?.unwrap_or_default()),
        },
        status,
    ))
}

fn finish((mut connection, status): (Connection, String)) -> Result<Connection, StateError> {
    connection.status = ConnectionStatus::parse(&status)?;
    Ok(connection)
}

/// Fails with [`StateError::UnknownConnection`] unless `id` exists.
pub(crate) fn require(tx: &rusqlite::Connection, id: &ConnectionId) -> Result<(), StateError> {
    let found = tx
        .query_row(
            "SELECT 1 FROM connections WHERE id = ?1",
            [id.as_str()],
            |_| Ok(()),
        )
        .optional()
        .map_err(sql("look up connection"))?;
    found.ok_or_else(|| StateError::UnknownConnection { id: id.to_string() })
}

fn changed(rows: usize, id: &ConnectionId) -> Result<(), StateError> {
    if rows == 0 {
        return Err(StateError::UnknownConnection { id: id.to_string() });
    }
    Ok(())
}

impl StateDb {
    /// Creates a `pending` connection for `plugin_id` with the next free id
    /// (`garmin-1`, `garmin-2`, ...), owned by the default user
    /// ([`StateDb::default_user`]). Ids are never reused.
    pub fn create_connection(
        &self,
        plugin_id: &str,
        now: UnixSeconds,
    ) -> Result<ConnectionId, StateError> {
        let owner = self.default_user(&UserHandle::parse(DEFAULT_HANDLE)?, now)?;
        self.create_connection_for(&owner.handle, plugin_id, now)
    }

    /// As [`StateDb::create_connection`], owned by `user` (who must exist and
    /// not be disabled).
    pub fn create_connection_for(
        &self,
        user: &UserHandle,
        plugin_id: &str,
        now: UnixSeconds,
    ) -> Result<ConnectionId, StateError> {
        if self.require_user(user)?.is_disabled() {
            return Err(StateError::UserDisabled {
                handle: user.to_string(),
            });
        }
        let prefix = connection_prefix(plugin_id)?;
        let id = self.write("create connection", |tx| {
            let last: i64 = tx
                .query_row(
                    "INSERT INTO connection_counters (prefix, last) VALUES (?1, 1)
                     ON CONFLICT(prefix) DO UPDATE SET last = last + 1
                     RETURNING last",
                    [&prefix],
                    |r| r.get(0),
                )
                .map_err(sql("allocate connection id"))?;
            let id = ConnectionId(format!("{prefix}-{last}"));
            tx.execute(
                "INSERT INTO connections (id, plugin_id, status, created_at, user_handle)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.as_str(),
                    plugin_id,
                    ConnectionStatus::Pending.as_str(),
                    now,
                    user.as_str()
                ],
            )
            .map_err(sql("insert connection"))?;
            Ok::<_, StateError>(id)
        })?;
        tracing::info!(connection = %id, plugin_id, user = %user, "connection created");
        Ok(id)
    }

    /// Records which account the login reached.
    pub fn set_connection_account(
        &self,
        id: &ConnectionId,
        account_id: &str,
        display_name: &str,
    ) -> Result<(), StateError> {
        let rows = self.with_conn(|conn| {
            conn.execute(
                "UPDATE connections SET account_id = ?2, display_name = ?3 WHERE id = ?1",
                params![id.as_str(), account_id, display_name],
            )
            .map_err(sql("set connection account"))
        })?;
        changed(rows, id)
    }

    /// Sets the status and its user-facing reason (cleared when `None`).
    pub fn set_connection_status(
        &self,
        id: &ConnectionId,
        status: ConnectionStatus,
        message: Option<&str>,
    ) -> Result<(), StateError> {
        let rows = self.with_conn(|conn| {
            conn.execute(
                "UPDATE connections SET status = ?2, status_message = ?3 WHERE id = ?1",
                params![id.as_str(), status.as_str(), message],
            )
            .map_err(sql("set connection status"))
        })?;
        changed(rows, id)?;
        tracing::info!(connection = %id, status = status.as_str(), "connection status changed");
        Ok(())
    }

    pub fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StateError> {
        let found = self.with_conn(|conn| {
            conn.query_row(&format!("{SELECT} WHERE id = ?1"), [id.as_str()], from_row)
                .optional()
                .map_err(sql("read connection"))
        })?;
        found.map(finish).transpose()
    }

    /// Every connection, oldest first.
    pub fn connections(&self) -> Result<Vec<Connection>, StateError> {
        self.connections_where("", None)
    }

    /// The user's connections, oldest first.
    pub fn connections_of(&self, user: &UserHandle) -> Result<Vec<Connection>, StateError> {
        self.connections_where("WHERE user_handle = ?1", Some(user.as_str()))
    }

    fn connections_where(
        &self,
        filter: &str,
        value: Option<&str>,
    ) -> Result<Vec<Connection>, StateError> {
        let rows = self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!("{SELECT} {filter} ORDER BY created_at, rowid"))
                .map_err(sql("list connections"))?;
            let params: Vec<&dyn rusqlite::ToSql> =
                value.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
            let rows = stmt
                .query_map(params.as_slice(), from_row)
                .map_err(sql("list connections"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("list connections"))?;
            Ok(rows)
        })?;
        rows.into_iter().map(finish).collect()
    }

    /// Disconnect: removes the connection's secrets, cooldowns, retry rows,
    /// cursor and schedule, and marks it `disconnected`, in one transaction.
    /// The import ledger, the sync history and the activities stay.
    pub fn delete_connection_data(&self, id: &ConnectionId) -> Result<(), StateError> {
        self.write("delete connection data", |tx| {
            require(tx, id)?;
            delete_dependents(tx, id)?;
            tx.execute(
                "UPDATE connections SET status = ?2, status_message = NULL WHERE id = ?1",
                params![id.as_str(), ConnectionStatus::Disconnected.as_str()],
            )
            .map_err(sql("mark connection disconnected"))?;
            Ok::<_, StateError>(())
        })?;
        tracing::info!(connection = %id, "connection data deleted");
        Ok(())
    }

    /// Removes the connection entirely: its data as in
    /// [`StateDb::delete_connection_data`], its sync history and its row. The
    /// import ledger stays (activities stay imported); the id is not reused.
    pub fn forget_connection(&self, id: &ConnectionId) -> Result<(), StateError> {
        self.write("forget connection", |tx| {
            require(tx, id)?;
            delete_dependents(tx, id)?;
            tx.execute(
                "DELETE FROM sync_runs WHERE connection_id = ?1",
                [id.as_str()],
            )
            .map_err(sql("delete sync runs"))?;
            tx.execute("DELETE FROM connections WHERE id = ?1", [id.as_str()])
                .map_err(sql("delete connection"))?;
            Ok::<_, StateError>(())
        })?;
        tracing::info!(connection = %id, "connection forgotten");
        Ok(())
    }
}

fn delete_dependents(tx: &Transaction<'_>, id: &ConnectionId) -> Result<(), StateError> {
    for (table, op) in [
        ("secrets", "delete secrets"),
        ("cooldowns", "delete cooldowns"),
        ("retries", "delete retry state"),
        ("cursors", "delete cursor"),
        ("schedule", "delete schedule"),
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE connection_id = ?1"),
            [id.as_str()],
        )
        .map_err(sql(op))?;
    }
    Ok(())
}
