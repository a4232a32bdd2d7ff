//! Disconnecting: the plugin forgets what it holds, the host deletes every
//! stored credential and token of the connection, and the imported
//! activities stay.

use super::{Host, HostError};
use crate::services::CancelFlag;
use bincio_state::{ConnectionId, UserHandle};
use host_api::PluginError;

#[derive(Debug)]
pub struct Disconnected {
    pub connection: ConnectionId,
    /// Stored values the connection had (credentials, tokens, state).
    pub secrets_deleted: usize,
    /// The plugin's own cleanup failed (it may not be loaded any more); the
    /// host's deletion happened regardless.
    pub plugin_warning: Option<PluginError>,
}

impl Host {
    pub fn disconnect(&self, connection_id: &str) -> Result<Disconnected, HostError> {
        self.disconnect_for(&self.user(), connection_id)
    }

    /// As [`Host::disconnect`], for `user`: another user's connection is
    /// refused and left as it is.
    pub fn disconnect_for(
        &self,
        user: &UserHandle,
        connection_id: &str,
    ) -> Result<Disconnected, HostError> {
        let connection = self.owned_connection(user, connection_id)?;
        let id = connection.id.clone();
        // Counted first: the plugin deletes what it stored itself.
        let stored = self.vault.fields(&id)?.len();
        let plugin_warning = match self.instance(&connection.plugin_id) {
            Ok(instance) => {
                let ctx = self.connection_context(&connection.plugin_id, &id, &CancelFlag::new());
                instance.importer.disconnect(ctx).into_result().err()
            }
            Err(e) => Some(PluginError::internal(format!(
                "the plugin could not be asked to forget the connection: {e}"
            ))),
        };
        self.vault.delete_all(&id)?;
        self.db.delete_connection_data(&id)?;
        Ok(Disconnected {
            connection: id,
            secrets_deleted: stored,
            plugin_warning,
        })
    }
}
