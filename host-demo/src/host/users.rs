//! The host's users: which user a command acts for, and the user
//! operations of `host-demo users` (add, list, set a password, disable,
//! remove with or without their activities).

use super::{Host, HostError};
use bincio_state::{hash_password, Role, SecretString, StateDb, User, UserHandle, DEFAULT_HANDLE};
use std::path::{Path, PathBuf};

/// The user a command acts for. Named: that user (created as the admin of a
/// server that has no users yet, so a single-user host needs no `users
/// add`). Not named: the only user, `me` on a server without users, or an
/// error listing them.
pub fn resolve_user(
    db: &StateDb,
    requested: Option<&str>,
    now: i64,
) -> Result<UserHandle, HostError> {
    let user = match requested {
        None => db.default_user(&UserHandle::parse(DEFAULT_HANDLE)?, now)?,
        Some(text) => {
            let handle = UserHandle::parse(text)?;
            match db.user(&handle)? {
                Some(user) => user,
                None => {
                    let known: Vec<String> = db
                        .users()?
                        .into_iter()
                        .map(|u| u.handle.to_string())
                        .collect();
                    if !known.is_empty() {
                        return Err(HostError::UnknownUser {
                            handle: handle.to_string(),
                            known,
                        });
                    }
                    db.default_user(&handle, now)?
                }
            }
        }
    };
    if user.is_disabled() {
        return Err(HostError::UserDisabled(user.handle.to_string()));
    }
    Ok(user.handle)
}

/// What `remove_user` removed.
#[derive(Debug)]
pub struct RemovedUser {
    pub connections: Vec<String>,
    /// The store directory, when it was deleted too.
    pub deleted_store: Option<PathBuf>,
}

impl Host {
    /// This host's user as a handle.
    pub fn user(&self) -> UserHandle {
        UserHandle::parse(&self.handle).expect("the host's handle was validated at open")
    }

    /// The connection, if it belongs to `user`; another user's is refused
    /// here, whatever the caller checked before.
    pub fn owned_connection(
        &self,
        user: &UserHandle,
        id: &str,
    ) -> Result<bincio_state::Connection, HostError> {
        let connection = self.connection(id)?;
        if connection.user != *user {
            return Err(HostError::NotYourConnection {
                id: id.to_string(),
                owner: connection.user.to_string(),
            });
        }
        Ok(connection)
    }
}

/// Adds a user; the password (if any) is stored as an argon2id hash.
pub fn add_user(
    db: &StateDb,
    handle: &str,
    display_name: Option<&str>,
    role: Role,
    password: Option<&SecretString>,
    now: i64,
) -> Result<User, HostError> {
    let handle = UserHandle::parse(handle)?;
    let hash = password.map(hash_password).transpose()?;
    Ok(db.create_user(
        &handle,
        display_name.unwrap_or(handle.as_str()),
        role,
        hash.as_deref(),
        now,
    )?)
}

/// Sets a new password; every web session of the user ends (whoever knew
/// the old one is signed out).
pub fn set_user_password(
    db: &StateDb,
    handle: &str,
    password: &SecretString,
) -> Result<(), HostError> {
    let handle = UserHandle::parse(handle)?;
    let hash = hash_password(password)?;
    db.set_password_hash(&handle, &hash)?;
    db.delete_sessions_of(&handle)?;
    Ok(())
}

/// Disables sign-in and scheduled syncs, and ends the user's web sessions.
pub fn disable_user(db: &StateDb, handle: &str, now: i64) -> Result<(), HostError> {
    let handle = UserHandle::parse(handle)?;
    db.disable_user(&handle, now)?;
    db.delete_sessions_of(&handle)?;
    Ok(())
}

/// Removes the user, their connections and secrets; with
/// `delete_activities`, their BAS store `{data_dir}/{handle}/` too.
pub fn remove_user(
    db: &StateDb,
    data_dir: &Path,
    handle: &str,
    delete_activities: bool,
) -> Result<RemovedUser, HostError> {
    let handle = UserHandle::parse(handle)?;
    let connections = db.remove_user(&handle)?;
    let store = data_dir.join(handle.as_str());
    let deleted_store = if delete_activities && store.exists() {
        std::fs::remove_dir_all(&store).map_err(|source| HostError::DataDir {
            path: store.display().to_string(),
            source,
        })?;
        Some(store)
    } else {
        None
    };
    Ok(RemovedUser {
        connections,
        deleted_store,
    })
}
