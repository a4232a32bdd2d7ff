//! Invites (schema 3): an admin's one-time link that lets a new person pick
//! a handle and a password. Stored by the sha256 of the token (the link's
//! secret part never reaches the database), with the role it grants and an
//! expiry; taking one marks it used in the same transaction that creates the
//! user, so a link works once.

use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::users::{Role, UserHandle};
use rusqlite::{params, OptionalExtension};

/// An invite as the admin page lists it (the token itself is gone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    pub token_sha256: String,
    pub role: Role,
    pub created_by: Option<String>,
    pub created_at: UnixSeconds,
    pub expires_at: UnixSeconds,
    pub used_by: Option<String>,
}

impl StateDb {
    pub fn create_invite(
        &self,
        token_sha256: &str,
        role: Role,
        created_by: &UserHandle,
        now: UnixSeconds,
        expires_at: UnixSeconds,
    ) -> Result<(), StateError> {
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO web_invites (token_sha256, role, created_by, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token_sha256,
                    role.as_str(),
                    created_by.as_str(),
                    now,
                    expires_at
                ],
            )
            .map_err(sql("insert invite"))?;
            Ok(())
        })
    }

    /// The unused, unexpired invite with this token hash.
    pub fn open_invite(
        &self,
        token_sha256: &str,
        now: UnixSeconds,
    ) -> Result<Option<Invite>, StateError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT token_sha256, role, created_by, created_at, expires_at, used_by \
                 FROM web_invites WHERE token_sha256 = ?1 AND used_at IS NULL AND expires_at > ?2",
                params![token_sha256, now],
                invite_row,
            )
            .optional()
            .map_err(sql("read invite"))?
            .map(finish)
            .transpose()
        })
    }

    /// Every invite, newest first.
    pub fn invites(&self) -> Result<Vec<Invite>, StateError> {
        let rows = self.with_conn(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT token_sha256, role, created_by, created_at, expires_at, used_by \
                     FROM web_invites ORDER BY created_at DESC, token_sha256",
                )
                .map_err(sql("list invites"))?;
            let rows = stmt
                .query_map([], invite_row)
                .map_err(sql("list invites"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql("list invites"))?;
            Ok(rows)
        })?;
        rows.into_iter().map(finish).collect()
    }

    /// Creates the invited user and marks the invite used, in one
    /// transaction: an expired, used or unknown invite creates nobody.
    pub fn accept_invite(
        &self,
        token_sha256: &str,
        handle: &UserHandle,
        password_hash: &str,
        now: UnixSeconds,
    ) -> Result<Role, StateError> {
        self.write("accept invite", |tx| {
            let role: Option<String> = tx
                .query_row(
                    "SELECT role FROM web_invites \
                     WHERE token_sha256 = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![token_sha256, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql("read invite"))?;
            let role = Role::parse(&role.ok_or(StateError::InviteInvalid)?)?;
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM users WHERE handle = ?1)",
                    [handle.as_str()],
                    |r| r.get(0),
                )
                .map_err(sql("read user"))?;
            if exists {
                return Err(StateError::UserExists {
                    handle: handle.to_string(),
                });
            }
            tx.execute(
                "INSERT INTO users (handle, display_name, password_hash, role, created_at) \
                 VALUES (?1, ?1, ?2, ?3, ?4)",
                params![handle.as_str(), password_hash, role.as_str(), now],
            )
            .map_err(sql("insert invited user"))?;
            tx.execute(
                "UPDATE web_invites SET used_at = ?2, used_by = ?3 WHERE token_sha256 = ?1",
                params![token_sha256, now, handle.as_str()],
            )
            .map_err(sql("mark invite used"))?;
            Ok(role)
        })
    }
}

fn invite_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Invite, String)> {
    Ok((
        Invite {
            token_sha256: r.get(0)?,
            role: Role::User,
            created_by: r.get(2)?,
            created_at: r.get(3)?,
            expires_at: r.get(4)?,
            used_by: r.get(5)?,
        },
        r.get(1)?,
    ))
}

fn finish((mut invite, role): (Invite, String)) -> Result<Invite, StateError> {
    invite.role = Role::parse(&role)?;
    Ok(invite)
}
