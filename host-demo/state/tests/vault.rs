//! The vault against real files and a real SQLite database: round trips,
//! bound ciphertexts, wrong keys, key file rules, tampering. Rotation is in
//! `vault_rotation.rs`.

mod common;

use bincio_state::{ConnectionId, KeyOrigin, MasterKey, Vault, VaultError};
use common::{connection, read, reopen, secret, store, vault, vault_rows, Fixture, GARMIN};
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn round_trip_put_get_delete() {
    let (fx, db, id, vault) = Fixture::with_vault();
    assert_eq!(vault.key_version(), 1);
    assert_eq!(vault.key_origin(), &KeyOrigin::File(fx.key_path()));

    store(&vault, &id, "password", "correct horse battery");
    store(&vault, &id, "tokens", "{\"refresh\":\"r-1\"}");
    assert_eq!(read(&vault, &id, "password"), "correct horse battery");
    store(&vault, &id, "tokens", "{\"refresh\":\"r-2\"}");
    assert_eq!(read(&vault, &id, "tokens"), "{\"refresh\":\"r-2\"}");
    assert_eq!(vault.fields(&id).unwrap(), ["password", "tokens"]);
    assert!(vault.get(&id, GARMIN, "missing").unwrap().is_none());

    vault.delete(&id, "password").unwrap();
    assert!(vault.get(&id, GARMIN, "password").unwrap().is_none());
    assert_eq!(vault.delete_all(&id).unwrap(), 1);
    assert!(vault.fields(&id).unwrap().is_empty());

    // Survives reopening both the database and the vault.
    store(&vault, &id, "password", "again");
    drop(vault);
    drop(db);
    let (_db, vault) = reopen(&fx);
    assert_eq!(read(&vault, &id, "password"), "again");
}

#[test]
fn secrets_need_an_existing_connection_of_the_same_plugin() {
    let (_fx, _db, id, vault) = Fixture::with_vault();
    let err = vault
        .put(
            &ConnectionId::from("garmin-99"),
            GARMIN,
            "password",
            &secret("x"),
        )
        .unwrap_err();
    assert!(
        matches!(err, VaultError::UnknownConnection { ref connection } if connection == "garmin-99")
    );
    let err = vault
        .put(&id, "dev.bincio.strava", "password", &secret("x"))
        .unwrap_err();
    assert!(matches!(err, VaultError::PluginMismatch { .. }), "{err}");

    // Reading under another plugin id fails authentication: the AD binds it.
    store(&vault, &id, "password", "pw");
    let err = vault.get(&id, "dev.bincio.strava", "password").unwrap_err();
    assert!(matches!(err, VaultError::Tampered { .. }), "{err}");
}

#[test]
fn ciphertexts_moved_between_fields_or_connections_fail() {
    let (fx, db, first) = Fixture::with_connection();
    let second = connection(&db);
    let vault = vault(&fx, &db);
    store(&vault, &first, "password", "first-password");
    store(&vault, &first, "token", "first-token");
    store(&vault, &second, "password", "second-password");

    let raw = fx.raw();
    // first.password's ciphertext into first.token ...
    raw.execute(
        "UPDATE secrets SET sealed = (SELECT sealed FROM secrets
             WHERE connection_id = ?1 AND field = 'password')
         WHERE connection_id = ?1 AND field = 'token'",
        [first.as_str()],
    )
    .unwrap();
    // ... and into second.password.
    raw.execute(
        "UPDATE secrets SET sealed = (SELECT sealed FROM secrets
             WHERE connection_id = ?1 AND field = 'password')
         WHERE connection_id = ?2 AND field = 'password'",
        [first.as_str(), second.as_str()],
    )
    .unwrap();

    for (id, field) in [(&first, "token"), (&second, "password")] {
        let err = vault.get(id, GARMIN, field).unwrap_err();
        match &err {
            VaultError::Tampered {
                connection,
                field: f,
            } => {
                assert_eq!(connection, id.as_str());
                assert_eq!(f, field);
            }
            other => panic!("expected Tampered, got {other}"),
        }
        assert!(!err.to_string().contains("first-password"));
    }
    // The original is untouched.
    assert_eq!(read(&vault, &first, "password"), "first-password");
}

#[test]
fn tampered_ciphertext_is_refused_naming_connection_and_field() {
    let (fx, _db, id, vault) = Fixture::with_vault();
    store(&vault, &id, "password", "do-not-print-me");

    let raw = fx.raw();
    let mut sealed: Vec<u8> = raw
        .query_row(
            "SELECT sealed FROM secrets WHERE field = 'password'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let last = sealed.len() - 1;
    sealed[last] ^= 0x01;
    raw.execute(
        "UPDATE secrets SET sealed = ?1 WHERE field = 'password'",
        [&sealed],
    )
    .unwrap();

    let err = vault.get(&id, GARMIN, "password").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, VaultError::Tampered { .. }), "{message}");
    assert!(
        message.contains("garmin-1") && message.contains("password"),
        "{message}"
    );
    assert!(!message.contains("do-not-print-me"));
    assert!(!format!("{err:?}").contains("do-not-print-me"));
}

#[test]
fn key_file_is_created_0600_and_holds_a_64_byte_key() {
    let fx = Fixture::new();
    let db = fx.open();
    assert!(!fx.key_path().exists());
    let _vault = vault(&fx, &db);
    let meta = fs::metadata(fx.key_path()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = fs::read_to_string(fx.key_path()).unwrap();
    MasterKey::from_base64(&text).expect("key file holds base64 of 64 bytes");
    // A second open reads the same file rather than making a new key.
    let before = fs::read(fx.key_path()).unwrap();
    let _again = vault(&fx, &db);
    assert_eq!(fs::read(fx.key_path()).unwrap(), before);
}

#[test]
fn key_file_readable_by_others_is_refused_with_chmod_advice() {
    let fx = Fixture::new();
    let db = fx.open();
    drop(vault(&fx, &db));
    fs::set_permissions(fx.key_path(), fs::Permissions::from_mode(0o644)).unwrap();
    let err = Vault::open_with_env_key(fx.data_dir(), &db, None).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, VaultError::KeyFileInsecure { mode: 0o644, .. }),
        "{message}"
    );
    assert!(
        message.contains(&format!("chmod 600 {}", fx.key_path().display())),
        "{message}"
    );
    // Group-readable only is refused too; 0600 opens again.
    fs::set_permissions(fx.key_path(), fs::Permissions::from_mode(0o640)).unwrap();
    assert!(Vault::open_with_env_key(fx.data_dir(), &db, None).is_err());
    fs::set_permissions(fx.key_path(), fs::Permissions::from_mode(0o600)).unwrap();
    assert!(Vault::open_with_env_key(fx.data_dir(), &db, None).is_ok());
}

#[test]
fn wrong_key_is_refused_and_nothing_is_overwritten() {
    let (fx, db, id, vault) = Fixture::with_vault();
    store(&vault, &id, "password", "pw-1");
    drop(vault);
    drop(db);
    let key_file_before = fs::read(fx.key_path()).unwrap();
    let db_bytes_before = fs::read(fx.db_path()).unwrap();
    let rows_before = vault_rows(&fx);

    // A different key in the environment.
    let db = fx.open();
    let other = MasterKey::generate().to_base64();
    let err = Vault::open_with_env_key(fx.data_dir(), &db, Some(&other)).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::WrongKey {
                origin: KeyOrigin::Env,
                version: 1
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("BINCIO_MASTER_KEY"));

    // A different key in the key file.
    let replaced = MasterKey::generate().to_base64();
    fs::write(fx.key_path(), format!("{}\n", replaced.expose())).unwrap();
    let err = Vault::open_with_env_key(fx.data_dir(), &db, None).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::WrongKey {
                origin: KeyOrigin::File(_),
                ..
            }
        ),
        "{err}"
    );
    // The wrong key file is left as it was, not replaced by a fresh key.
    assert_eq!(
        fs::read_to_string(fx.key_path()).unwrap().trim(),
        replaced.expose()
    );
    drop(db);

    fs::write(fx.key_path(), &key_file_before).unwrap();
    assert_eq!(vault_rows(&fx), rows_before);
    assert_eq!(fs::read(fx.db_path()).unwrap(), db_bytes_before);
    let (_db, vault) = reopen(&fx);
    assert_eq!(read(&vault, &id, "password"), "pw-1");
}

#[test]
fn malformed_env_key_is_refused_without_echoing_it() {
    let fx = Fixture::new();
    let db = fx.open();
    let bad = secret("c2hvcnQ=");
    let err = Vault::open_with_env_key(fx.data_dir(), &db, Some(&bad)).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::KeyMalformed {
                origin: KeyOrigin::Env,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("c2hvcnQ="));
    assert!(!fx.key_path().exists());
}

#[test]
fn missing_key_file_for_an_existing_vault_is_an_error_not_a_new_key() {
    let (fx, db, id) = Fixture::with_connection();
    store(&vault(&fx, &db), &id, "password", "pw");
    fs::remove_file(fx.key_path()).unwrap();
    let err = Vault::open_with_env_key(fx.data_dir(), &db, None).unwrap_err();
    assert!(
        matches!(err, VaultError::KeyMissing { version: 1, .. }),
        "{err}"
    );
    assert!(!fx.key_path().exists());
}

#[test]
fn env_key_opens_a_vault_and_must_match_afterwards() {
    let (fx, db, id) = Fixture::with_connection();
    let key = MasterKey::generate().to_base64();
    let vault = Vault::open_with_env_key(fx.data_dir(), &db, Some(&key)).unwrap();
    assert_eq!(vault.key_origin(), &KeyOrigin::Env);
    store(&vault, &id, "password", "env-pw");
    assert!(!fx.key_path().exists(), "an env key writes no key file");
    drop(vault);
    let vault = Vault::open_with_env_key(fx.data_dir(), &db, Some(&key)).unwrap();
    assert_eq!(read(&vault, &id, "password"), "env-pw");
    // Without the variable a fresh key file would not match: refused.
    let err = Vault::open_with_env_key(fx.data_dir(), &db, None).unwrap_err();
    assert!(matches!(err, VaultError::KeyMissing { .. }), "{err}");
}

#[test]
fn no_plaintext_secret_in_any_file_of_the_data_dir() {
    let (fx, db, id, mut vault) = Fixture::with_vault();
    let value = "PlainTextNeedle-7f3a9c";
    store(&vault, &id, "password", value);
    store(&vault, &id, "tokens", value);
    vault.rotate_key(MasterKey::generate()).unwrap();

    let scan = |label: &str| {
        let mut seen_field_name = false;
        for entry in fs::read_dir(fx.data_dir()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = fs::read(&path).unwrap();
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{label}: plaintext secret found in {}",
                path.display()
            );
            seen_field_name |= bytes.windows(6).any(|w| w == b"tokens");
        }
        // The scan does see row data: the (non-secret) field name is there.
        assert!(seen_field_name, "{label}: scan found no row data at all");
    };
    scan("while open (WAL)");
    drop(vault);
    drop(db);
    scan("after close");
}
