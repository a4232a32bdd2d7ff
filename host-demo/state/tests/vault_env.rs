//! `Vault::open` reads `BINCIO_MASTER_KEY` from the real environment. Its own
//! test binary: it sets a process-wide variable.

mod common;

use bincio_state::{KeyOrigin, MasterKey, Vault, VaultError, MASTER_KEY_ENV};
use common::{read, store, Fixture};

#[test]
fn open_takes_the_key_from_the_environment_before_the_key_file() {
    let (fx, db, id) = Fixture::with_connection();
    let key = MasterKey::generate().to_base64();
    std::env::set_var(MASTER_KEY_ENV, key.expose());
    let vault = Vault::open(fx.data_dir(), &db).unwrap();
    assert_eq!(vault.key_origin(), &KeyOrigin::Env);
    assert!(!fx.key_path().exists());
    store(&vault, &id, "password", "pw");
    drop(vault);

    std::env::set_var(MASTER_KEY_ENV, MasterKey::generate().to_base64().expose());
    let err = Vault::open(fx.data_dir(), &db).unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::WrongKey {
                origin: KeyOrigin::Env,
                ..
            }
        ),
        "{err}"
    );

    // An empty variable counts as unset: the key file is used (and missing).
    std::env::set_var(MASTER_KEY_ENV, "");
    let err = Vault::open(fx.data_dir(), &db).unwrap_err();
    assert!(matches!(err, VaultError::KeyMissing { .. }), "{err}");

    std::env::set_var(MASTER_KEY_ENV, key.expose());
    let vault = Vault::open(fx.data_dir(), &db).unwrap();
    assert_eq!(read(&vault, &id, "password"), "pw");
    std::env::remove_var(MASTER_KEY_ENV);
}
