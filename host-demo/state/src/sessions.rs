//! Web sign-in sessions (schema 3): one row per signed-in browser or API
//! client, found by the sha256 of its id (the cookie's value itself is never
//! stored), with the session's CSRF token, when it was made, when it expires
//! and when it was last used. Signing out deletes the row; disabling or
//! removing the user ends every session of theirs.

use crate::db::{StateDb, UnixSeconds};
use crate::error::{sql, StateError};
use crate::users::UserHandle;
use rusqlite::{params, OptionalExtension};

/// A session's last use is written at most this often: reading a session
/// for every request must not make every request a database write.
pub const LAST_SEEN_STEP_SECS: i64 = 60;

/// A live session as the web layer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    pub id_sha256: String,
    pub user: UserHandle,
    pub csrf_token: String,
    pub created_at: UnixSeconds,
    pub expires_at: UnixSeconds,
    pub last_seen_at: UnixSeconds,
}

/// What a new session row holds.
pub struct NewSession<'a> {
    pub id_sha256: &'a str,
    pub user: &'a UserHandle,
    pub csrf_token: &'a str,
    pub now: UnixSeconds,
    pub expires_at: UnixSeconds,
}

impl StateDb {
    /// Stores a new session; expired sessions of every user go in the same
    /// transaction, so the table holds live sessions only.
    pub fn create_session(&self, new: &NewSession<'_>) -> Result<(), StateError> {
        self.write("create web session", |tx| {
            tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [new.now])
                .map_err(sql("purge expired web sessions"))?;
            tx.execute(
                "INSERT INTO web_sessions (id_sha256, user_handle, csrf_token, created_at, \
                 expires_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                params![
                    new.id_sha256,
                    new.user.as_str(),
                    new.csrf_token,
                    new.now,
                    new.expires_at
                ],
            )
            .map_err(sql("insert web session"))?;
            Ok(())
        })
    }

    /// The session with this id hash if it has not expired and its user is
    /// not disabled; its last use is moved to `now` when it was
    /// [`LAST_SEEN_STEP_SECS`] or more ago.
    pub fn live_session(
        &self,
        id_sha256: &str,
        now: UnixSeconds,
    ) -> Result<Option<WebSession>, StateError> {
        self.with_conn(|conn| {
            let found = conn
                .query_row(
                    "SELECT s.id_sha256, s.user_handle, s.csrf_token, s.created_at, s.expires_at, \
                     s.last_seen_at FROM web_sessions s JOIN users u ON u.handle = s.user_handle \
                     WHERE s.id_sha256 = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
                    params![id_sha256, now],
                    |r| {
                        Ok(WebSession {
                            id_sha256: r.get(0)?,
                            user: UserHandle::trusted(r.get(1)?),
                            csrf_token: r.get(2)?,
                            created_at: r.get(3)?,
                            expires_at: r.get(4)?,
                            last_seen_at: r.get(5)?,
                        })
                    },
                )
                .optional()
                .map_err(sql("read web session"))?;
            if let Some(session) = &found {
                if now.saturating_sub(session.last_seen_at) >= LAST_SEEN_STEP_SECS {
                    conn.execute(
                        "UPDATE web_sessions SET last_seen_at = ?2 WHERE id_sha256 = ?1",
                        params![session.id_sha256, now],
                    )
                    .map_err(sql("touch web session"))?;
                }
            }
            Ok(found)
        })
    }

    /// Ends one session; answers whether it existed.
    pub fn delete_session(&self, id_sha256: &str) -> Result<bool, StateError> {
        self.with_conn(|conn| {
            conn.execute("DELETE FROM web_sessions WHERE id_sha256 = ?1", [id_sha256])
                .map(|n| n > 0)
                .map_err(sql("delete web session"))
        })
    }

    /// Ends every session of `user` (a disabled user, a changed password);
    /// answers how many there were.
    pub fn delete_sessions_of(&self, user: &UserHandle) -> Result<usize, StateError> {
        self.with_conn(|conn| {
            conn.execute(
                "DELETE FROM web_sessions WHERE user_handle = ?1",
                [user.as_str()],
            )
            .map_err(sql("delete the user's web sessions"))
        })
    }

    /// How many sessions are stored (live or not yet purged).
    pub fn session_count(&self) -> Result<u64, StateError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT COUNT(*) FROM web_sessions", [], |r| r.get(0))
                .map_err(sql("count web sessions"))
        })
    }
}
