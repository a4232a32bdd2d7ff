//! Users: who owns each connection, disclaimer acceptance, sync run and BAS
//! store on a multi-user server. A handle follows BincioActivity's rules
//! (lowercase letters, digits, `-`, `_`); passwords are stored as argon2id
//! PHC strings, never in clear. Removing a user deletes their connections
//! and secrets, and overwrites the freed pages (`secure_delete`) and the WAL.

use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::secret::SecretString;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use serde::Serialize;
use std::fmt;

/// The user a single-user host works for, and the owner of a version-1
/// database's rows unless the caller names another.
pub const DEFAULT_HANDLE: &str = "me";
/// The longest handle accepted.
pub const MAX_HANDLE_LEN: usize = 32;

/// A valid user handle (`ada`, `team-7`, `x_y`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserHandle(String);

impl UserHandle {
    /// Checks `handle` against the rules; the error says which one failed.
    pub fn parse(handle: &str) -> Result<Self, StateError> {
        let invalid = |reason| StateError::InvalidHandle {
            handle: handle.to_owned(),
            reason,
        };
        if handle.is_empty() {
            return Err(invalid("it is empty"));
        }
        if handle.len() > MAX_HANDLE_LEN {
            return Err(invalid("it is too long"));
        }
        if !handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(invalid("it has a character outside the allowed set"));
        }
        Ok(Self(handle.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A handle read back from the database, where only valid ones are
    /// written.
    pub(crate) fn trusted(handle: String) -> Self {
        Self(handle)
    }
}

impl fmt::Display for UserHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, StateError> {
        match text {
            "admin" => Ok(Self::Admin),
            "user" => Ok(Self::User),
            _ => Err(StateError::CorruptValue {
                what: "user role",
                value: text.to_owned(),
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub handle: UserHandle,
    pub display_name: String,
    pub role: Role,
    /// Whether a password is set (the hash itself is never handed out).
    pub has_password: bool,
    pub created_at: UnixSeconds,
    pub disabled_at: Option<UnixSeconds>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// Hashes a password with argon2id (the `argon2` crate's defaults: 19 MiB,
/// 2 passes) and a fresh random salt; answers the PHC string.
pub fn hash_password(password: &SecretString) -> Result<String, StateError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StateError::PasswordHash {
            reason: e.to_string(),
        })
}

/// Whether `password` matches the stored PHC string `hash`.
pub fn verify_password(hash: &str, password: &SecretString) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

const SELECT: &str = "SELECT handle, display_name, role, password_hash IS NOT NULL, created_at, \
                      disabled_at FROM users";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(User, String)> {
    Ok((
        User {
            handle: UserHandle(row.get(0)?),
            display_name: row.get(1)?,
            role: Role::User,
            has_password: row.get(3)?,
            created_at: row.get(4)?,
            disabled_at: row.get(5)?,
        },
        row.get(2)?,
    ))
}

fn finish((mut user, role): (User, String)) -> Result<User, StateError> {
    user.role = Role::parse(&role)?;
    Ok(user)
}

/// Migration step 2: a version-1 database had no users; every row it holds
/// goes to `owner`, created as an admin without a password.
pub(crate) fn adopt_v1_rows(tx: &Transaction<'_>, owner: &str) -> Result<(), StateError> {
    let owner = UserHandle::parse(owner)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let fail = |source| StateError::Migration { version: 2, source };
    tx.execute(
        "INSERT INTO users (handle, display_name, role, created_at) VALUES (?1, ?1, 'admin', ?2)",
        params![owner.as_str(), now],
    )
    .map_err(fail)?;
    for table in ["connections", "disclaimer_acceptances"] {
        tx.execute(
            &format!("UPDATE {table} SET user_handle = ?1 WHERE user_handle IS NULL"),
            [owner.as_str()],
        )
        .map_err(fail)?;
    }
    tracing::info!(owner = %owner, "version-1 state adopted by its user");
    Ok(())
}

impl StateDb {
    /// Adds a user. `password_hash` is a PHC string from [`hash_password`];
    /// `None` leaves web sign-in closed until a password is set.
    pub fn create_user(
        &self,
        handle: &UserHandle,
        display_name: &str,
        role: Role,
        password_hash: Option<&str>,
        now: UnixSeconds,
    ) -> Result<User, StateError> {
        self.write("create user", |tx| {
            if user_in(tx, handle)?.is_some() {
                return Err(StateError::UserExists {
                    handle: handle.to_string(),
                });
            }
            tx.execute(
                "INSERT INTO users (handle, display_name, password_hash, role, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    handle.as_str(),
                    display_name,
                    password_hash,
                    role.as_str(),
                    now
                ],
            )
            .map_err(sql("insert user"))?;
            Ok(())
        })?;
        tracing::info!(user = %handle, role = role.as_str(), "user created");
        self.require_user(handle)
    }

    pub fn user(&self, handle: &UserHandle) -> Result<Option<User>, StateError> {
        self.with_conn(|conn| user_in(conn, handle))
    }

    /// The user, or [`StateError::UnknownUser`].
    pub fn require_user(&self, handle: &UserHandle) -> Result<User, StateError> {
        self.user(handle)?.ok_or_else(|| StateError::UnknownUser {
            handle: handle.to_string(),
        })
    }

    /// Every user, by handle.
    pub fn users(&self) -> Result<Vec<User>, StateError> {
        let rows = self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(&format!("{SELECT} ORDER BY handle"))
                .map_err(sql("list users"))?;
            let rows = stmt
                .query_map([], from_row)
                .map_err(sql("list users"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("list users"))?;
            Ok(rows)
        })?;
        rows.into_iter().map(finish).collect()
    }

    /// The user a command means when it names none: the only user; on a
    /// database without users, `fallback` (created as an admin: the
    /// single-user host needs no `users add`); several users are an error
    /// that lists them.
    pub fn default_user(
        &self,
        fallback: &UserHandle,
        now: UnixSeconds,
    ) -> Result<User, StateError> {
        let users = self.users()?;
        match users.len() {
            0 => match self.create_user(fallback, fallback.as_str(), Role::Admin, None, now) {
                Err(StateError::UserExists { .. }) => self.require_user(fallback),
                other => other,
            },
            1 => Ok(users.into_iter().next().expect("one user")),
            _ => Err(StateError::UserAmbiguous {
                handles: users.into_iter().map(|u| u.handle.0).collect(),
            }),
        }
    }

    /// The stored password hash, for sign-in.
    pub fn password_hash(&self, handle: &UserHandle) -> Result<Option<String>, StateError> {
        self.require_user(handle)?;
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT password_hash FROM users WHERE handle = ?1",
                [handle.as_str()],
                |r| r.get(0),
            )
            .map_err(sql("read password hash"))
        })
    }

    pub fn set_password_hash(&self, handle: &UserHandle, hash: &str) -> Result<(), StateError> {
        self.update_user(handle, "set password", "password_hash = ?2", hash)?;
        tracing::info!(user = %handle, "password changed");
        Ok(())
    }

    /// Disables sign-in and scheduled syncs; data stays.
    pub fn disable_user(&self, handle: &UserHandle, now: UnixSeconds) -> Result<(), StateError> {
        self.update_user(
            handle,
            "disable user",
            "disabled_at = COALESCE(disabled_at, ?2)",
            now,
        )?;
        tracing::info!(user = %handle, "user disabled");
        Ok(())
    }

    pub fn enable_user(&self, handle: &UserHandle) -> Result<(), StateError> {
        self.update_user(
            handle,
            "enable user",
            "disabled_at = ?2",
            rusqlite::types::Null,
        )
    }

    fn update_user(
        &self,
        handle: &UserHandle,
        op: &'static str,
        set: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<(), StateError> {
        let rows = self.with_conn(|conn| {
            conn.execute(
                &format!("UPDATE users SET {set} WHERE handle = ?1"),
                params![handle.as_str(), value],
            )
            .map_err(sql(op))
        })?;
        if rows == 0 {
            return Err(StateError::UnknownUser {
                handle: handle.to_string(),
            });
        }
        Ok(())
    }

    /// Removes the user with their connections, secrets, cursors, retries,
    /// schedules, cooldowns, runs and acceptances, in one transaction, then
    /// checkpoints and truncates the WAL so no copy of a removed secret stays
    /// in the files (`secure_delete` zeroes the freed space). The import
    /// ledger (no owner) and the BAS store stay; answers the connections
    /// removed.
    pub fn remove_user(&self, handle: &UserHandle) -> Result<Vec<String>, StateError> {
        let removed = self.write("remove user", |tx| {
            if user_in(tx, handle)?.is_none() {
                return Err(StateError::UnknownUser {
                    handle: handle.to_string(),
                });
            }
            tx.pragma_update(None, "secure_delete", true)
                .map_err(sql("turn on secure delete"))?;
            let ids: Vec<String> = {
                let mut stmt = tx
                    .prepare("SELECT id FROM connections WHERE user_handle = ?1")
                    .map_err(sql("list the user's connections"))?;
                let ids = stmt
                    .query_map([handle.as_str()], |r| r.get(0))
                    .map_err(sql("list the user's connections"))?
                    .collect::<rusqlite::Result<Vec<String>>>()
                    .map_err(sql("list the user's connections"))?;
                ids
            };
            for (table, op) in [
                ("secrets", "delete the user's secrets"),
                ("cooldowns", "delete the user's cooldowns"),
                ("retries", "delete the user's retry state"),
                ("cursors", "delete the user's cursors"),
                ("schedule", "delete the user's schedules"),
                ("sync_runs", "delete the user's sync runs"),
            ] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE connection_id IN \
                         (SELECT id FROM connections WHERE user_handle = ?1)"
                    ),
                    [handle.as_str()],
                )
                .map_err(sql(op))?;
            }
            for (table, op) in [
                ("connections", "delete the user's connections"),
                ("disclaimer_acceptances", "delete the user's acceptances"),
                ("users", "delete the user"),
            ] {
                let column = if table == "users" {
                    "handle"
                } else {
                    "user_handle"
                };
                tx.execute(
                    &format!("DELETE FROM {table} WHERE {column} = ?1"),
                    [handle.as_str()],
                )
                .map_err(sql(op))?;
            }
            Ok(ids)
        })?;
        self.with_conn(|conn| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(sql("checkpoint the WAL after removing a user"))
        })?;
        tracing::info!(user = %handle, connections = removed.len(), "user removed");
        Ok(removed)
    }

    /// The owner of a connection.
    pub fn connection_owner(&self, id: &crate::ConnectionId) -> Result<UserHandle, StateError> {
        let found: Option<Option<String>> = self.with_conn(|conn| {
            conn.query_row(
                "SELECT user_handle FROM connections WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read connection owner"))
        })?;
        match found {
            None => Err(StateError::UnknownConnection { id: id.to_string() }),
            Some(None) => Err(StateError::CorruptValue {
                what: "connection owner",
                value: "NULL".into(),
            }),
            Some(Some(h)) => Ok(UserHandle(h)),
        }
    }
}

fn user_in(conn: &rusqlite::Connection, handle: &UserHandle) -> Result<Option<User>, StateError> {
    conn.query_row(
        &format!("{SELECT} WHERE handle = ?1"),
        [handle.as_str()],
        from_row,
    )
    .optional()
    .map_err(sql("read user"))?
    .map(finish)
    .transpose()
}
