//! Users: handles, passwords, ownership of connections and acceptances, the
//! migration of a version-1 database, and removal that leaves no secret in
//! the database file or its WAL.

mod common;

use bincio_state::migrations::create_at_version;
use bincio_state::{
    hash_password, verify_password, ConnectionId, Role, SecretString, StateDb, StateError,
    UserHandle, Vault, SCHEMA_VERSION,
};
use common::{read, secret, sha, store, Fixture, GARMIN, NOW};
use rusqlite::params;
use std::path::Path;

fn handle(text: &str) -> UserHandle {
    UserHandle::parse(text).unwrap()
}

#[test]
fn handles_follow_bincio_rules_and_their_length_bound() {
    for good in ["me", "ada", "team-7", "x_y", "0", &"a".repeat(32)] {
        assert_eq!(UserHandle::parse(good).unwrap().as_str(), good);
    }
    for (bad, why) in [
        ("", "empty"),
        (&"a".repeat(33) as &str, "too long"),
        ("Ada", "character"),
        ("a b", "character"),
        ("ada.b", "character"),
        ("é", "character"),
    ] {
        let err = UserHandle::parse(bad).unwrap_err();
        assert!(matches!(err, StateError::InvalidHandle { .. }), "{bad}");
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
}

#[test]
fn passwords_are_argon2id_and_verify() {
    let hash = hash_password(&secret("correct horse")).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    assert!(verify_password(&hash, &secret("correct horse")));
    assert!(!verify_password(&hash, &secret("wrong horse")));
    assert!(!verify_password("not a hash", &secret("correct horse")));
    // A fresh salt each time.
    assert_ne!(hash, hash_password(&secret("correct horse")).unwrap());
}

#[test]
fn users_are_created_listed_disabled_and_given_passwords() {
    let fx = Fixture::new();
    let db = fx.open();
    let ada = db
        .create_user(&handle("ada"), "Ada L.", Role::Admin, None, NOW)
        .unwrap();
    assert_eq!(
        (ada.role, ada.has_password, ada.disabled_at),
        (Role::Admin, false, None)
    );
    assert!(matches!(
        db.create_user(&handle("ada"), "again", Role::User, None, NOW),
        Err(StateError::UserExists { .. })
    ));
    db.create_user(&handle("bob"), "Bob", Role::User, None, NOW)
        .unwrap();
    let hash = hash_password(&secret("pw")).unwrap();
    db.set_password_hash(&handle("bob"), &hash).unwrap();
    db.disable_user(&handle("bob"), NOW + 5).unwrap();
    drop(db);
    let db = fx.open();
    let users = db.users().unwrap();
    let names: Vec<_> = users.iter().map(|u| u.handle.as_str()).collect();
    assert_eq!(names, ["ada", "bob"]);
    assert!(users[1].has_password && users[1].disabled_at == Some(NOW + 5));
    let stored = db.password_hash(&handle("bob")).unwrap().unwrap();
    assert!(verify_password(&stored, &secret("pw")));
    assert!(matches!(
        db.create_connection_for(&handle("bob"), GARMIN, NOW),
        Err(StateError::UserDisabled { .. })
    ));
    assert!(matches!(
        db.set_password_hash(&handle("nobody"), &hash),
        Err(StateError::UnknownUser { .. })
    ));
}

#[test]
fn the_default_user_is_the_only_one_or_an_error_listing_them() {
    let fx = Fixture::new();
    let db = fx.open();
    // No users: the single-user host gets its fallback, once.
    let me = db.default_user(&handle("me"), NOW).unwrap();
    assert_eq!((me.handle.as_str(), me.role), ("me", Role::Admin));
    assert_eq!(
        db.default_user(&handle("other"), NOW).unwrap().handle,
        me.handle
    );
    db.create_user(&handle("zoe"), "Zoe", Role::User, None, NOW)
        .unwrap();
    let err = db.default_user(&handle("me"), NOW).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this server has several users (me, zoe); say which one with --user"
    );
    assert!(matches!(
        db.create_connection(GARMIN, NOW),
        Err(StateError::UserAmbiguous { .. })
    ));
}

#[test]
fn connections_and_acceptances_belong_to_their_user() {
    let fx = Fixture::new();
    let db = fx.open();
    for h in ["ada", "bob"] {
        db.create_user(&handle(h), h, Role::User, None, NOW)
            .unwrap();
    }
    let a = db
        .create_connection_for(&handle("ada"), GARMIN, NOW)
        .unwrap();
    let b = db
        .create_connection_for(&handle("bob"), GARMIN, NOW)
        .unwrap();
    assert_eq!(db.connection(&a).unwrap().unwrap().user.as_str(), "ada");
    assert_eq!(db.connection_owner(&b).unwrap().as_str(), "bob");
    let of_bob: Vec<_> = db.connections_of(&handle("bob")).unwrap();
    assert_eq!(of_bob.len(), 1);
    assert_eq!(of_bob[0].id, b);
    db.record_acceptance_for(&handle("ada"), GARMIN, "3", &sha(1), NOW)
        .unwrap();
    assert!(db.acceptance_for(&handle("ada"), GARMIN).unwrap().is_some());
    // Ada's acceptance is not Bob's.
    assert!(db.acceptance_for(&handle("bob"), GARMIN).unwrap().is_none());
    // A row without an owner is refused by the schema itself.
    let raw = fx.raw();
    let err = raw
        .execute(
            "INSERT INTO connections (id, plugin_id, status, created_at) VALUES ('x-1', 'x', 'pending', 0)",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("needs a user"), "{err}");
}

/// Everything a version-1 host leaves in its data dir, written with the v1
/// schema (the released step 1) and the statements the v1 host used. The
/// secrets are sealed by the vault in a donor data dir with the same key and
/// connection ids (a ciphertext is bound to plugin, connection, field and key
/// version, not to the database file).
fn make_v1_data_dir(dir: &Path) {
    let donor = tempfile::tempdir().unwrap();
    let donor_db = StateDb::open(&donor.path().join("state.sqlite")).unwrap();
    let donor_vault = Vault::open_with_env_key(donor.path(), &donor_db, None).unwrap();
    let g1 = donor_db.create_connection(GARMIN, NOW).unwrap();
    let g2 = donor_db.create_connection(GARMIN, NOW).unwrap();
    store(&donor_vault, &g1, "password", "hunter2-garmin-1");
    store(&donor_vault, &g1, "refresh_token", "rt-one");
    store(&donor_vault, &g2, "password", "hunter2-garmin-2");
    std::fs::copy(donor.path().join("master.key"), dir.join("master.key")).unwrap();
    let donor_raw = rusqlite::Connection::open(donor.path().join("state.sqlite")).unwrap();

    let path = dir.join("state.sqlite");
    create_at_version(&path, 1).unwrap();
    let v1 = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        v1.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .unwrap(),
        1
    );
    for (id, n) in [("garmin-1", 1), ("garmin-2", 2)] {
        v1.execute(
            "INSERT INTO connections (id, plugin_id, account_id, display_name, status, created_at)
             VALUES (?1, ?2, ?3, 'Ada', 'active', ?4)",
            params![id, GARMIN, format!("acct-{n}"), NOW + n],
        )
        .unwrap();
        v1.execute(
            "INSERT INTO schedule (connection_id, next_run_at, consecutive_failures) VALUES (?1, ?2, 0)",
            params![id, NOW + 3600],
        )
        .unwrap();
        v1.execute(
            "INSERT INTO cursors (connection_id, cursor) VALUES (?1, ?2)",
            params![id, format!("{{\"page\":{n}}}")],
        )
        .unwrap();
    }
    v1.execute(
        "INSERT INTO connection_counters (prefix, last) VALUES ('garmin', 2)",
        [],
    )
    .unwrap();
    let mut keys = donor_raw
        .prepare("SELECT version, canary, created_at FROM vault_keys")
        .unwrap();
    let keys: Vec<(i64, Vec<u8>, i64)> = keys
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (version, canary, at) in keys {
        v1.execute(
            "INSERT INTO vault_keys (version, canary, created_at) VALUES (?1, ?2, ?3)",
            params![version, canary, at],
        )
        .unwrap();
    }
    let mut secrets = donor_raw
        .prepare("SELECT connection_id, field, plugin_id, key_version, sealed FROM secrets")
        .unwrap();
    let secrets: Vec<(String, String, String, i64, Vec<u8>)> = secrets
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(secrets.len(), 3);
    for (c, f, p, k, s) in secrets {
        v1.execute(
            "INSERT INTO secrets (connection_id, field, plugin_id, key_version, sealed)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c, f, p, k, s],
        )
        .unwrap();
    }
    for n in 0..5 {
        v1.execute(
            "INSERT INTO import_ledger (source, external_id, connection_id, content_sha256, \
             activity_id, outcome, reason, at) VALUES (?1, ?2, 'garmin-1', ?3, ?4, 'imported', NULL, ?5)",
            params![GARMIN, format!("ext-{n}"), sha(n as u8), format!("act-{n}"), NOW],
        )
        .unwrap();
    }
    v1.execute(
        "INSERT INTO retries (connection_id, external_id, attempts, first_failed_at, \
         next_attempt_at, last_error) VALUES ('garmin-2', 'ext-9', 2, ?1, ?2, '5xx')",
        params![NOW, NOW + 600],
    )
    .unwrap();
    for (id, outcome) in [("garmin-1", "succeeded"), ("garmin-2", "failed")] {
        v1.execute(
            "INSERT INTO sync_runs (connection_id, started_at, finished_at, outcome, imported)
             VALUES (?1, ?2, ?3, ?4, 5)",
            params![id, NOW, NOW + 10, outcome],
        )
        .unwrap();
    }
    v1.execute(
        "INSERT INTO disclaimer_acceptances (plugin_id, version, sha256, accepted_at)
         VALUES (?1, '1', ?2, ?3)",
        params![GARMIN, sha(7), NOW],
    )
    .unwrap();
    v1.execute(
        "INSERT INTO cooldowns (scope, connection_id, until, reason)
         VALUES ('connection:garmin-2', 'garmin-2', ?1, 'Too many requests')",
        [NOW + 7200],
    )
    .unwrap();
}

/// Every row of the tables a v1 database had, as text, for comparing.
fn dump(path: &Path) -> Vec<String> {
    let raw = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for table in [
        "connections",
        "connection_counters",
        "vault_keys",
        "secrets",
        "cursors",
        "import_ledger",
        "retries",
        "sync_runs",
        "disclaimer_acceptances",
        "cooldowns",
        "schedule",
        "users",
    ] {
        let Ok(mut stmt) = raw.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2")) else {
            continue; // `users` before the migration
        };
        let width = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cells: Vec<String> = (0..width)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        out.extend(rows);
    }
    out
}

#[test]
fn a_version_1_data_dir_is_migrated_keeping_every_row_and_secret() {
    let fx = Fixture::new();
    make_v1_data_dir(fx.data_dir());
    let before = dump(&fx.db_path());
    assert_eq!(SCHEMA_VERSION, 3);

    let db = StateDb::open_as(&fx.db_path(), "ada").unwrap();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    let users = db.users().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].handle.as_str(), users[0].role),
        ("ada", Role::Admin)
    );
    // Every v1 row is still there (the new columns aside).
    let after = dump(&fx.db_path());
    for row in before.iter().filter(|r| !r.starts_with("users")) {
        let stem = row.clone();
        assert!(
            after.iter().any(|a| a.starts_with(&stem)),
            "lost or changed by the migration: {row}"
        );
    }
    let connections = db.connections().unwrap();
    assert_eq!(connections.len(), 2);
    assert!(connections.iter().all(|c| c.user.as_str() == "ada"));
    assert_eq!(db.ledger_count().unwrap(), 5);
    assert_eq!(
        db.runs(&ConnectionId::from("garmin-1"), 10).unwrap().len(),
        1
    );
    assert!(db.acceptance_for(&handle("ada"), GARMIN).unwrap().is_some());
    assert!(db
        .cooldown(ConnectionId::from("garmin-2"), NOW)
        .unwrap()
        .is_some());
    assert_eq!(
        db.cursor(&ConnectionId::from("garmin-2"))
            .unwrap()
            .as_deref(),
        Some("{\"page\":2}")
    );
    // The secrets still decrypt under the same key.
    let vault = Vault::open_with_env_key(fx.data_dir(), &db, None).unwrap();
    assert_eq!(
        read(&vault, &ConnectionId::from("garmin-1"), "password"),
        "hunter2-garmin-1"
    );
    assert_eq!(
        read(&vault, &ConnectionId::from("garmin-1"), "refresh_token"),
        "rt-one"
    );
    assert_eq!(
        read(&vault, &ConnectionId::from("garmin-2"), "password"),
        "hunter2-garmin-2"
    );
    // New connections continue the numbering.
    assert_eq!(
        db.create_connection(GARMIN, NOW).unwrap().as_str(),
        "garmin-3"
    );
    drop((vault, db));

    // A second open is a no-op, whatever owner it names.
    let settled = dump(&fx.db_path());
    let db = StateDb::open_as(&fx.db_path(), "someone-else").unwrap();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    drop(db);
    assert_eq!(dump(&fx.db_path()), settled);
}

#[test]
fn a_fresh_database_has_no_users_until_one_is_needed() {
    let fx = Fixture::new();
    let db = fx.open();
    assert!(db.users().unwrap().is_empty());
    assert!(db.acceptance(GARMIN).unwrap().is_none());
    assert!(matches!(
        StateDb::open_as(&Fixture::new().db_path(), "Bad Handle").map(|_| ()),
        Ok(())
    ));
}

#[test]
fn a_bad_legacy_owner_fails_the_migration_and_changes_nothing() {
    let fx = Fixture::new();
    make_v1_data_dir(fx.data_dir());
    let before = dump(&fx.db_path());
    let err = StateDb::open_as(&fx.db_path(), "Bad Handle").unwrap_err();
    assert!(matches!(err, StateError::InvalidHandle { .. }), "{err}");
    let raw = fx.raw();
    let version: i64 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
    drop(raw);
    assert_eq!(dump_v1(&fx.db_path()), before);
}

fn dump_v1(path: &Path) -> Vec<String> {
    // `users` does not exist at v1: the dump of the other tables only.
    let raw = rusqlite::Connection::open(path).unwrap();
    let has_users: bool = raw
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'users'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0;
    assert!(!has_users, "the failed migration left a users table");
    drop(raw);
    dump(path)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn removing_a_user_leaves_no_trace_of_their_secrets_in_the_db_or_wal() {
    let fx = Fixture::new();
    let db = fx.open();
    let vault = common::vault(&fx, &db);
    for h in ["ada", "bob"] {
        db.create_user(&handle(h), h, Role::User, None, NOW)
            .unwrap();
    }
    let a = db
        .create_connection_for(&handle("ada"), GARMIN, NOW)
        .unwrap();
    let b = db
        .create_connection_for(&handle("bob"), GARMIN, NOW)
        .unwrap();
    let plaintext = "ada-secret-plaintext-0123456789";
    vault
        .put(&a, GARMIN, "password", &SecretString::from(plaintext))
        .unwrap();
    store(&vault, &b, "password", "bob-keeps-this");
    db.record_acceptance_for(&handle("ada"), GARMIN, "1", &sha(1), NOW)
        .unwrap();
    db.start_run(&a, NOW).unwrap();
    db.set_cooldown(a.clone(), NOW + 60, "slow").unwrap();
    let sealed: Vec<u8> = fx
        .raw()
        .query_row(
            "SELECT sealed FROM secrets WHERE connection_id = ?1",
            [a.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    let files = |fx: &Fixture| {
        let mut bytes = std::fs::read(fx.db_path()).unwrap();
        bytes.extend(std::fs::read(fx.db_path().with_extension("sqlite-wal")).unwrap_or_default());
        bytes
    };
    // The ciphertext is on disk before (so the check below can fail).
    assert!(contains(&files(&fx), &sealed[sealed.len() - 16..]));

    let removed = db.remove_user(&handle("ada")).unwrap();
    assert_eq!(removed, vec![a.to_string()]);
    assert!(db.user(&handle("ada")).unwrap().is_none());
    assert!(db.connection(&a).unwrap().is_none());
    let on_disk = files(&fx);
    assert!(!contains(&on_disk, plaintext.as_bytes()));
    assert!(
        !contains(&on_disk, &sealed),
        "the ciphertext is still on disk"
    );
    assert!(!contains(&on_disk, &sealed[sealed.len() - 16..]));
    // Bob is untouched.
    assert_eq!(read(&vault, &b, "password"), "bob-keeps-this");
    assert!(matches!(
        db.remove_user(&handle("ada")),
        Err(StateError::UnknownUser { .. })
    ));
}
