//! Numbered schema steps. `PRAGMA user_version` records the last applied
//! step; each step runs in its own transaction together with the version bump,
//! so a crash leaves the database at a whole step. Steps are append-only: a
//! released step is never edited, a change is a new step.

use crate::error::StateError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// `PRAGMA application_id`: "BINC". Lets `open` refuse some other SQLite file.
pub(crate) const APPLICATION_ID: i64 = 0x4249_4E43;

/// Step `i` (0-based) brings the schema to version `i + 1`.
const STEPS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE connections (
        id             TEXT PRIMARY KEY,
        plugin_id      TEXT NOT NULL,
        account_id     TEXT,
        display_name   TEXT,
        status         TEXT NOT NULL,
        status_message TEXT,
        created_at     INTEGER NOT NULL
    );
    CREATE INDEX connections_by_plugin ON connections(plugin_id);

    -- Connection ids are never reused, even after a connection is forgotten.
    CREATE TABLE connection_counters (
        prefix TEXT PRIMARY KEY,
        last   INTEGER NOT NULL
    );

    -- One row per master key version; the canary is a known plaintext
    -- encrypted under that key, used to refuse a wrong key at open.
    CREATE TABLE vault_keys (
        version    INTEGER PRIMARY KEY,
        canary     BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );

    -- Ciphertexts only: sealed = nonce || SIV tag || ciphertext.
    CREATE TABLE secrets (
        connection_id TEXT NOT NULL REFERENCES connections(id),
        field         TEXT NOT NULL,
        plugin_id     TEXT NOT NULL,
        key_version   INTEGER NOT NULL,
        sealed        BLOB NOT NULL,
        PRIMARY KEY (connection_id, field)
    );

    CREATE TABLE cursors (
        connection_id TEXT PRIMARY KEY REFERENCES connections(id),
        cursor        TEXT NOT NULL
    );

    -- Outlives connections on purpose: no foreign key.
    CREATE TABLE import_ledger (
        id             INTEGER PRIMARY KEY,
        source         TEXT NOT NULL,
        external_id    TEXT,
        connection_id  TEXT,
        content_sha256 TEXT NOT NULL,
        activity_id    TEXT,
        outcome        TEXT NOT NULL CHECK (outcome IN ('imported', 'duplicate', 'rejected')),
        reason         TEXT,
        at             INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX import_ledger_external
        ON import_ledger(source, external_id) WHERE external_id IS NOT NULL;
    CREATE INDEX import_ledger_content ON import_ledger(content_sha256);
    CREATE INDEX import_ledger_activity ON import_ledger(activity_id);

    CREATE TABLE retries (
        connection_id   TEXT NOT NULL REFERENCES connections(id),
        external_id     TEXT NOT NULL,
        attempts        INTEGER NOT NULL,
        first_failed_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT NOT NULL,
        PRIMARY KEY (connection_id, external_id)
    );
    CREATE INDEX retries_due ON retries(connection_id, next_attempt_at);

    CREATE TABLE sync_runs (
        id            INTEGER PRIMARY KEY,
        connection_id TEXT NOT NULL REFERENCES connections(id),
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        outcome       TEXT,
        imported      INTEGER NOT NULL DEFAULT 0,
        duplicates    INTEGER NOT NULL DEFAULT 0,
        rejected      INTEGER NOT NULL DEFAULT 0,
        deferred      INTEGER NOT NULL DEFAULT 0,
        error_kind    TEXT,
        error_message TEXT
    );
    CREATE INDEX sync_runs_by_connection ON sync_runs(connection_id, started_at);

    CREATE TABLE disclaimer_acceptances (
        id          INTEGER PRIMARY KEY,
        plugin_id   TEXT NOT NULL,
        version     TEXT NOT NULL,
        sha256      TEXT NOT NULL,
        accepted_at INTEGER NOT NULL
    );
    CREATE INDEX disclaimer_acceptances_by_plugin ON disclaimer_acceptances(plugin_id);

    -- scope is 'connection:<id>' or 'account:<plugin>:<account key>'.
    CREATE TABLE cooldowns (
        scope         TEXT PRIMARY KEY,
        connection_id TEXT,
        until         INTEGER NOT NULL,
        reason        TEXT NOT NULL
    );

    CREATE TABLE schedule (
        connection_id        TEXT PRIMARY KEY REFERENCES connections(id),
        next_run_at          INTEGER NOT NULL,
        consecutive_failures INTEGER NOT NULL
    );
    "#,
    // 2: users. Connections and disclaimer acceptances belong to one user
    // (runs, cursors, retries, schedules and connection cooldowns through
    // their connection); the plugin-wide request budgets. The v1 rows are
    // given to the legacy owner by `adopt_v1_rows` in the same transaction.
    r#"
    CREATE TABLE users (
        handle        TEXT PRIMARY KEY,
        display_name  TEXT NOT NULL,
        password_hash TEXT,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
        created_at    INTEGER NOT NULL,
        disabled_at   INTEGER
    );

    ALTER TABLE connections ADD COLUMN user_handle TEXT REFERENCES users(handle);
    CREATE INDEX connections_by_user ON connections(user_handle);
    ALTER TABLE disclaimer_acceptances ADD COLUMN user_handle TEXT REFERENCES users(handle);
    CREATE INDEX disclaimer_acceptances_by_user
        ON disclaimer_acceptances(user_handle, plugin_id);

    -- ADD COLUMN cannot add NOT NULL with a reference; these triggers refuse
    -- an owner-less row instead.
    CREATE TRIGGER connections_need_a_user BEFORE INSERT ON connections
        WHEN NEW.user_handle IS NULL
        BEGIN SELECT RAISE(ABORT, 'a connection needs a user'); END;
    CREATE TRIGGER acceptances_need_a_user BEFORE INSERT ON disclaimer_acceptances
        WHEN NEW.user_handle IS NULL
        BEGIN SELECT RAISE(ABORT, 'a disclaimer acceptance needs a user'); END;

    -- One request budget per plugin, shared by all its connections: the
    -- GCRA's theoretical arrival time and the server-wide 429 cooldown, in
    -- milliseconds since the epoch.
    CREATE TABLE request_budgets (
        plugin_id         TEXT PRIMARY KEY,
        tat_ms            INTEGER NOT NULL,
        cooldown_until_ms INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 3: the web settings page. Sessions are stored by the sha256 of their
    // id (the cookie's value never reaches the database), each with its
    // CSRF token; invites by the sha256 of their token. Both go with their
    // user.
    r#"
    CREATE TABLE web_sessions (
        id_sha256    TEXT PRIMARY KEY,
        user_handle  TEXT NOT NULL REFERENCES users(handle) ON DELETE CASCADE,
        csrf_token   TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
    );
    CREATE INDEX web_sessions_by_user ON web_sessions(user_handle);
    CREATE INDEX web_sessions_by_expiry ON web_sessions(expires_at);

    CREATE TABLE web_invites (
        token_sha256 TEXT PRIMARY KEY,
        role         TEXT NOT NULL CHECK (role IN ('admin', 'user')),
        created_by   TEXT REFERENCES users(handle) ON DELETE SET NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        used_at      INTEGER,
        used_by      TEXT
    );
    "#,
];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]; a no-op when it is already
/// there. Refuses a database from a newer program rather than guess.
/// `legacy_owner` receives the rows of a version-1 database (it had no users).
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    legacy_owner: &str,
) -> Result<(), StateError> {
    migrate_to(conn, path, legacy_owner, SCHEMA_VERSION)
}

/// Creates a database at an older schema `version`, exactly as the program
/// that wrote that version made it: for migration tests only.
#[doc(hidden)]
pub fn create_at_version(path: &Path, version: i64) -> Result<(), StateError> {
    let mut conn = Connection::open(path).map_err(|source| StateError::Open {
        path: path.to_owned(),
        source,
    })?;
    migrate_to(&mut conn, path, crate::users::DEFAULT_HANDLE, version)
}

fn migrate_to(
    conn: &mut Connection,
    path: &Path,
    legacy_owner: &str,
    target: i64,
) -> Result<(), StateError> {
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|source| StateError::Open {
            path: path.to_owned(),
            source,
        })?;
    let found = user_version(conn, path)?;
    if app_id != APPLICATION_ID && !(app_id == 0 && found == 0) {
        return Err(StateError::NotStateDb {
            path: path.to_owned(),
            application_id: app_id,
        });
    }
    if app_id == 0 && found == 0 {
        refuse_foreign(conn, path)?;
    }
    if found > SCHEMA_VERSION {
        return Err(StateError::SchemaTooNew {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, step) in STEPS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        let version = index as i64 + 1;
        let fail = |source| StateError::Migration { version, source };
        // IMMEDIATE: two processes opening a fresh file must not both migrate.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Re-read under the write lock: another process may have migrated.
        let now_at: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(fail)?;
        if now_at >= version {
            continue;
        }
        tx.execute_batch(step).map_err(fail)?;
        if version == 2 && found >= 1 {
            crate::users::adopt_v1_rows(&tx, legacy_owner)?;
        }
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(version, "state database migrated");
    }
    Ok(())
}

/// A database without our application id and version must be empty: one
/// holding anything (another program's tables, views, indexes) is refused,
/// never migrated in place.
fn refuse_foreign(conn: &Connection, path: &Path) -> Result<(), StateError> {
    let read = |source| StateError::Open {
        path: path.to_owned(),
        source,
    };
    let (tables, sample): (i64, Option<String>) = conn
        .query_row(
            "SELECT COUNT(*), MIN(name) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(read)?;
    if tables > 0 {
        return Err(StateError::ForeignDb {
            path: path.to_owned(),
            tables,
            sample: sample.unwrap_or_default(),
        });
    }
    Ok(())
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, StateError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|source| StateError::Open {
            path: path.to_owned(),
            source,
        })
}
