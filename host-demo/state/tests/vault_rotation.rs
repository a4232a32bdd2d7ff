//! Key rotation: values kept, old key retired, failures and crashes leave a
//! vault that opens with all its values.

mod common;

use bincio_state::vault::key_file::PENDING_KEY_FILE_NAME;
use bincio_state::{MasterKey, Vault, VaultError};
use common::{connection, read, secret, store, vault, vault_rows, Fixture};
use std::fs;
use std::os::unix::fs::PermissionsExt;

#[test]
fn rotation_keeps_every_value_and_retires_the_old_key() {
    let (fx, db, a) = Fixture::with_connection();
    let b = connection(&db);
    let mut vault = vault(&fx, &db);
    let values = [
        (&a, "password", "a-password"),
        (&a, "tokens", "a-tokens"),
        (&b, "password", "b-password"),
    ];
    for (id, field, value) in values {
        store(&vault, id, field, value);
    }
    let old_key_text = fs::read_to_string(fx.key_path()).unwrap();
    let rows_before = vault_rows(&fx);

    assert_eq!(vault.rotate_key(MasterKey::generate()).unwrap(), 2);
    assert_eq!(vault.key_version(), 2);
    for (id, field, value) in values {
        assert_eq!(read(&vault, id, field), value);
    }
    // Every ciphertext and the key check changed; the file holds the new key.
    let rows_after = vault_rows(&fx);
    assert_eq!(rows_after.len(), rows_before.len());
    for (before, after) in rows_before.iter().zip(&rows_after) {
        assert_ne!(before.3, after.3);
    }
    let new_key_text = fs::read_to_string(fx.key_path()).unwrap();
    assert_ne!(new_key_text, old_key_text);
    let mode = fs::metadata(fx.key_path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!fx.data_dir().join(PENDING_KEY_FILE_NAME).exists());

    // The old key no longer opens the vault; the new file does.
    let old = secret(old_key_text.trim());
    let err = Vault::open_with_env_key(fx.data_dir(), &db, Some(&old)).unwrap_err();
    assert!(
        matches!(err, VaultError::WrongKey { version: 2, .. }),
        "{err}"
    );
    drop(vault);
    let reopened = self::vault(&fx, &db);
    assert_eq!(reopened.key_version(), 2);
    for (id, field, value) in values {
        assert_eq!(read(&reopened, id, field), value);
    }
}

#[test]
fn failed_rotation_keeps_the_old_key_and_values() {
    let (fx, _db, id, mut vault) = Fixture::with_vault();
    store(&vault, &id, "password", "keep-me");
    store(&vault, &id, "broken", "x");
    fx.raw()
        .execute(
            "UPDATE secrets SET sealed = zeroblob(40) WHERE field = 'broken'",
            [],
        )
        .unwrap();
    let key_before = fs::read(fx.key_path()).unwrap();
    let rows_before = vault_rows(&fx);

    let err = vault.rotate_key(MasterKey::generate()).unwrap_err();
    assert!(
        matches!(err, VaultError::Tampered { ref field, .. } if field == "broken"),
        "{err}"
    );
    assert_eq!(vault.key_version(), 1);
    assert_eq!(fs::read(fx.key_path()).unwrap(), key_before);
    assert!(!fx.data_dir().join(PENDING_KEY_FILE_NAME).exists());
    assert_eq!(vault_rows(&fx), rows_before);
    assert_eq!(read(&vault, &id, "password"), "keep-me");
}

#[test]
fn open_finishes_a_rotation_interrupted_before_the_rename() {
    let (fx, db, id, mut vault) = Fixture::with_vault();
    store(&vault, &id, "password", "survives");
    let old_key = fs::read(fx.key_path()).unwrap();
    vault.rotate_key(MasterKey::generate()).unwrap();
    drop(vault);
    // Put the files back as a crash between commit and rename leaves them.
    let pending = fx.data_dir().join(PENDING_KEY_FILE_NAME);
    fs::rename(fx.key_path(), &pending).unwrap();
    fs::write(fx.key_path(), &old_key).unwrap();
    fs::set_permissions(fx.key_path(), fs::Permissions::from_mode(0o600)).unwrap();

    let vault = self::vault(&fx, &db);
    assert_eq!(vault.key_version(), 2);
    assert_eq!(read(&vault, &id, "password"), "survives");
    assert!(!pending.exists());
    assert_ne!(fs::read(fx.key_path()).unwrap(), old_key);

    // A stale pending key from a rotation that never committed is removed.
    drop(vault);
    fs::write(
        &pending,
        format!("{}\n", MasterKey::generate().to_base64().expose()),
    )
    .unwrap();
    fs::set_permissions(&pending, fs::Permissions::from_mode(0o600)).unwrap();
    let vault = self::vault(&fx, &db);
    assert!(!pending.exists());
    assert_eq!(read(&vault, &id, "password"), "survives");
}
