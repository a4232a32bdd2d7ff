//! `SecretStore`: the vault, scoped to one (plugin, connection).
//!
//! The plugin sees plain values; the vault seals each under the master key
//! with associated data binding it to (key version, plugin, connection,
//! field). Every value that passes through is registered for log scrubbing.

use super::logger::Redactions;
use super::Guarded;
use abi_stable::std_types::{ROption, RResult, RStr, RString};
use bincio_state::{ConnectionId, SecretString, Vault, VaultError};
use host_api::{PluginError, SecretStore, SecretStoreBox};
use std::sync::Arc;

#[derive(Clone)]
pub struct VaultSecretStore {
    vault: Arc<Vault>,
    plugin_id: Arc<str>,
    connection: ConnectionId,
    redactions: Redactions,
}

impl VaultSecretStore {
    pub fn new(
        vault: Arc<Vault>,
        plugin_id: &str,
        connection: ConnectionId,
        redactions: Redactions,
    ) -> Self {
        Self {
            vault,
            plugin_id: plugin_id.into(),
            connection,
            redactions,
        }
    }
    pub fn to_service(&self) -> SecretStoreBox {
        Guarded::secret_store(self.clone())
    }
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
            Err(e) => RResult::RErr(vault_error("read", key.as_str(), e)),
        }
    }

    fn put(&self, key: RStr<'_>, value: RStr<'_>) -> RResult<(), PluginError> {
        self.redactions.add(value.as_str());
        let secret = SecretString::new(value.as_str().to_string());
        self.vault
            .put(&self.connection, &self.plugin_id, key.as_str(), &secret)
            .map_err(|e| vault_error("store", key.as_str(), e))
            .into()
    }

    fn delete(&self, key: RStr<'_>) -> RResult<(), PluginError> {
        self.vault
            .delete(&self.connection, key.as_str())
            .map_err(|e| vault_error("delete", key.as_str(), e))
            .into()
    }
}
