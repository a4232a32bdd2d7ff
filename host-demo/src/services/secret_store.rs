//! `SecretStore`: the vault, scoped to one (plugin, connection).
//!
//! The plugin sees plain values; the vault seals each under the master key
//! with associated data binding it to (key version, plugin, connection,
//! field). Every value that passes through is registered for log scrubbing.
//!
//! A stored value that fails its integrity check (a flipped bit, a
//! ciphertext copied from another connection, an edited key version) is not
//! a transient failure: it is logged at error level (names only, never the
//! value), handed to the plugin as "needs user action", and recorded in
//! [`IntegrityFailures`] so the host pauses the connection whatever the
//! plugin makes of it.

use super::logger::Redactions;
use super::Guarded;
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use bincio_state::{ConnectionId, SecretString, Vault, VaultError};
use host_api::{PluginError, SecretStore, SecretStoreBox};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Connections whose stored secrets failed their integrity check, with the
/// message for the user; the host takes them after each plugin call.
#[derive(Clone, Default)]
pub struct IntegrityFailures(Arc<Mutex<HashMap<ConnectionId, String>>>);

impl IntegrityFailures {
    fn record(&self, connection: &ConnectionId, message: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(connection.clone())
            .or_insert(message);
    }

    /// The failure recorded for `connection` since the last call, if any.
    pub fn take(&self, connection: &ConnectionId) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(connection)
    }
}

#[derive(Clone)]
pub struct VaultSecretStore {
    vault: Arc<Vault>,
    plugin_id: Arc<str>,
    connection: ConnectionId,
    redactions: Redactions,
    integrity: IntegrityFailures,
}

impl VaultSecretStore {
    pub fn new(
        vault: Arc<Vault>,
        plugin_id: &str,
        connection: ConnectionId,
        redactions: Redactions,
        integrity: IntegrityFailures,
    ) -> Self {
        Self {
            vault,
            plugin_id: plugin_id.into(),
            connection,
            redactions,
            integrity,
        }
    }

    /// The error the plugin gets for a failed read; an integrity failure is
    /// also logged and recorded.
    fn read_error(&self, field: &str, e: VaultError) -> PluginError {
        if !is_integrity_failure(&e) {
            return vault_error("read", field, e);
        }
        // The vault's message names connection and field, never the value.
        tracing::error!(
            target: "host::vault",
            connection = %self.connection,
            field,
            "integrity failure: {e}"
        );
        let message = format!(
            "the stored secret {field:?} failed its integrity check (altered, or copied from \
             another connection); it was not used"
        );
        self.integrity.record(&self.connection, message.clone());
        PluginError::needs_user_action(message).with_detail(e.to_string())
    }
    pub fn to_service(&self) -> SecretStoreBox {
        Guarded::secret_store(self.clone())
    }
}

/// A stored value that cannot be trusted (as opposed to a database that
/// could not be reached).
pub fn is_integrity_failure(e: &VaultError) -> bool {
    matches!(
        e,
        VaultError::Tampered { .. }
            | VaultError::NotUtf8 { .. }
            | VaultError::KeyVersionMismatch { .. }
    )
}

fn vault_error(action: &str, field: &str, e: VaultError) -> PluginError {
    // The vault's errors name the connection and field, never the value.
    PluginError::transient(format!(
        "the host could not {action} the stored value {field:?}"
    ))
    .with_detail(e.to_string())
}

impl SecretStore for VaultSecretStore {
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RString>, PluginError> {
        match self
            .vault
            .get(&self.connection, &self.plugin_id, key.as_str())
        {
            Ok(Some(value)) => {
                self.redactions.add(value.expose());
                RResult::ROk(ROption::RSome(RString::from(value.expose())))
            }
            Ok(None) => RResult::ROk(ROption::RNone),
            Err(e) => RResult::RErr(self.read_error(key.as_str(), e)),
        }
    }

    fn put(&self, key: RStr<'_>, value: RStr<'_>) -> RResult<(), PluginError> {
        // The value it replaces is superseded: no longer scrubbed.
        match self
            .vault
            .get(&self.connection, &self.plugin_id, key.as_str())
        {
            Ok(Some(old)) => self.redactions.replace(old.expose(), value.as_str()),
            _ => self.redactions.add(value.as_str()),
        }
        let secret = SecretString::new(value.as_str().to_string());
        self.vault
            .put(&self.connection, &self.plugin_id, key.as_str(), &secret)
            .map_err(|e| vault_error("store", key.as_str(), e))
            .into()
    }

    fn delete(&self, key: RStr<'_>) -> RResult<(), PluginError> {
        // A deleted value is no longer this connection's secret.
        if let Ok(Some(old)) = self
            .vault
            .get(&self.connection, &self.plugin_id, key.as_str())
        {
            self.redactions.forget(old.expose());
        }
        self.vault
            .delete(&self.connection, key.as_str())
            .map_err(|e| vault_error("delete", key.as_str(), e))
            .into()
    }
}
