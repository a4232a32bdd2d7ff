//! No secret value reaches a log line, even at TRACE. Its own test binary,
//! so the buffer-writing subscriber sees every event of this process.

mod common;

use bincio_state::{MasterKey, SecretString, VaultError};
use common::{store, Fixture, GARMIN};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn no_secret_value_in_trace_logs_or_errors() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(buffer.clone())
        .finish();
    let password = "LogNeedlePassword-41c2";
    let token = "LogNeedleToken-99e0";
    let new_key = MasterKey::generate();
    let new_key_text = new_key.to_base64();

    let errors = tracing::subscriber::with_default(subscriber, || {
        let (fx, _db, id, mut vault) = Fixture::with_vault();
        let first_key_text = std::fs::read_to_string(fx.key_path()).unwrap();
        let password = SecretString::from(password);
        vault.put(&id, GARMIN, "password", &password).unwrap();
        store(&vault, &id, "tokens", token);
        tracing::info!(?password, "a careless caller logs the secret's Debug");
        tracing::info!("and its Display: {password}");
        let read = vault.get(&id, GARMIN, "password").unwrap().unwrap();
        tracing::trace!(?read, "read back");
        vault.rotate_key(new_key).unwrap();
        vault.get(&id, GARMIN, "tokens").unwrap().unwrap();
        fx.raw()
            .execute(
                "UPDATE secrets SET sealed = zeroblob(48) WHERE field = 'tokens'",
                [],
            )
            .unwrap();
        let err = vault.get(&id, GARMIN, "tokens").unwrap_err();
        assert!(matches!(err, VaultError::Tampered { .. }));
        tracing::error!(%err, ?err, "vault error");
        vault.delete_all(&id).unwrap();
        (format!("{err} {err:?}"), first_key_text)
    });

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    // The subscriber did capture the vault's own events at every level.
    for expected in [
        "secret stored",
        "secret read",
        "vault key rotated",
        "TRACE",
        "DEBUG",
    ] {
        assert!(log.contains(expected), "log lacks {expected:?}:\n{log}");
    }
    assert!(log.contains("[redacted]"));
    let (error_text, first_key_text) = errors;
    for needle in [
        password,
        token,
        new_key_text.expose(),
        first_key_text.trim(),
    ] {
        assert!(!log.contains(needle), "log leaks a secret:\n{log}");
        assert!(
            !error_text.contains(needle),
            "error leaks a secret: {error_text}"
        );
    }
}
