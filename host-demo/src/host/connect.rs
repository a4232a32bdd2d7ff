//! Connecting an account: the disclaimer gate, the login cooldown, and the
//! plugin's connect step machine, with a pending connection that is removed
//! again if the login fails.

use super::{format_utc, waits, Host, HostError};
use crate::plugins::Field;
use crate::services::CancelFlag;
use abi_stable::std_types::RVec;
use bincio_state::{ConnectionId, ConnectionStatus, CooldownScope, SecretString, UserHandle};
use host_api::{ConnectStep, ConnectStep_NE, ErrorKind, FieldValue, PluginError};
use sha2::{Digest, Sha256};

/// Wait after a rate-limited login when the service gave no Retry-After.
const DEFAULT_LOGIN_COOLDOWN_SECS: u64 = 3600;

#[derive(Debug, Clone, PartialEq)]
pub enum DisclaimerState {
    Accepted,
    NeverAccepted,
    /// Accepted once, but the text or version has changed since.
    Changed,
}

#[derive(Debug)]
pub enum ConnectOutcome {
    /// Ask the user for `fields`, then call `continue_connect`.
    NeedInput {
        connection: ConnectionId,
        flow_id: String,
        message: String,
        fields: Vec<Field>,
        /// (field key, message); an empty key is about the whole form.
        errors: Vec<(String, String)>,
    },
    Connected {
        connection: ConnectionId,
        account_id: String,
        display_name: String,
    },
}

impl Host {
    /// Where this host's user stands with the plugin's disclaimer.
    pub fn disclaimer_state(&self, plugin_id: &str) -> Result<DisclaimerState, HostError> {
        self.disclaimer_state_for(&self.user(), plugin_id)
    }

    /// Where `user` stands with the plugin's disclaimer: each user accepts
    /// for themselves.
    pub fn disclaimer_state_for(
        &self,
        user: &UserHandle,
        plugin_id: &str,
    ) -> Result<DisclaimerState, HostError> {
        let (_, plugin) = self.manager.loaded(plugin_id)?;
        let d = &plugin.descriptor.disclaimer;
        Ok(match self.db.acceptance_for(user, plugin_id)? {
            None => DisclaimerState::NeverAccepted,
            Some(a) if a.covers(&d.version.to_string(), &d.sha256) => DisclaimerState::Accepted,
            Some(_) => DisclaimerState::Changed,
        })
    }

    /// Records that this host's user accepted the plugin's current disclaimer.
    pub fn accept_disclaimer(&self, plugin_id: &str) -> Result<(), HostError> {
        self.accept_disclaimer_for(&self.user(), plugin_id)
    }

    /// Records that `user` accepted the plugin's current disclaimer.
    pub fn accept_disclaimer_for(
        &self,
        user: &UserHandle,
        plugin_id: &str,
    ) -> Result<(), HostError> {
        let (_, plugin) = self.manager.loaded(plugin_id)?;
        let d = &plugin.descriptor.disclaimer;
        self.db.record_acceptance_for(
            user,
            plugin_id,
            &d.version.to_string(),
            &d.sha256,
            self.now(),
        )?;
        Ok(())
    }

    pub(crate) fn require_disclaimer(
        &self,
        user: &UserHandle,
        plugin_id: &str,
    ) -> Result<(), HostError> {
        let state = self.disclaimer_state_for(user, plugin_id)?;
        if state == DisclaimerState::Accepted {
            return Ok(());
        }
        let (_, plugin) = self.manager.loaded(plugin_id)?;
        Err(HostError::DisclaimerNotAccepted {
            plugin: plugin_id.to_string(),
            version: plugin.descriptor.disclaimer.version,
            changed: state == DisclaimerState::Changed,
        })
    }

    pub(crate) fn check_cooldown(
        &self,
        plugin_id: &str,
        scope: CooldownScope,
    ) -> Result<(), HostError> {
        let now = self.now();
        if let Some(c) = self.active_cooldown(&scope)? {
            let service = match self.manager.loaded(plugin_id) {
                Ok((_, plugin)) => plugin.descriptor.name.clone(),
                Err(_) => plugin_id.to_string(),
            };
            return Err(HostError::CoolingDown {
                service,
                scope: scope.to_string(),
                until_utc: format_utc(c.until),
                minutes: c.until.saturating_sub(now).saturating_add(59) / 60,
            });
        }
        Ok(())
    }

    /// Starts connecting an account of `plugin_id` with the values the user
    /// gave (by field key).
    pub fn begin_connect(
        &self,
        plugin_id: &str,
        inputs: Vec<(String, SecretString)>,
    ) -> Result<ConnectOutcome, HostError> {
        self.begin_connect_for(&self.user(), plugin_id, inputs)
    }

    /// As [`Host::begin_connect`], for `user`: the connection is theirs.
    pub fn begin_connect_for(
        &self,
        user: &UserHandle,
        plugin_id: &str,
        inputs: Vec<(String, SecretString)>,
    ) -> Result<ConnectOutcome, HostError> {
        self.require_disclaimer(user, plugin_id)?;
        let account_field = self.manager.loaded(plugin_id)?.1.descriptor.account_field();
        let account_scope =
            account_scope(plugin_id, account_field.map(|f| f.key.as_str()), &inputs);
        self.check_cooldown(plugin_id, account_scope.clone())?;
        let instance = self.instance(plugin_id)?;
        let connection = self.db.create_connection_for(user, plugin_id, self.now())?;
        let ctx = self.connection_context(plugin_id, &connection, &CancelFlag::new());
        let step = instance
            .importer
            .begin_connect(ctx, self.field_values(&inputs));
        self.after_step(plugin_id, connection, account_scope, step)
    }

    /// Continues a flow that asked for more input (an MFA code).
    pub fn continue_connect(
        &self,
        connection: &ConnectionId,
        flow_id: &str,
        inputs: Vec<(String, SecretString)>,
    ) -> Result<ConnectOutcome, HostError> {
        self.continue_connect_for(&self.user(), connection, flow_id, inputs)
    }

    /// As [`Host::continue_connect`], for `user`: another user's connection
    /// is refused.
    pub fn continue_connect_for(
        &self,
        user: &UserHandle,
        connection: &ConnectionId,
        flow_id: &str,
        inputs: Vec<(String, SecretString)>,
    ) -> Result<ConnectOutcome, HostError> {
        let record = self.owned_connection(user, connection.as_str())?;
        let plugin_id = record.plugin_id.clone();
        self.require_disclaimer(&record.user, &plugin_id)?;
        let instance = self.instance(&plugin_id)?;
        let ctx = self.connection_context(&plugin_id, connection, &CancelFlag::new());
        let step =
            instance
                .importer
                .continue_connect(ctx, flow_id.into(), self.field_values(&inputs));
        self.after_step(
            &plugin_id,
            connection.clone(),
            CooldownScope::Connection(connection.clone()),
            step,
        )
    }

    /// Drops a connect flow the user did not finish: the pending
    /// connection and anything the plugin stored for it. A connection that
    /// is no longer pending (connected meanwhile) is left alone.
    pub fn abandon_connect(&self, connection: &ConnectionId) -> Result<(), HostError> {
        self.abandon_connect_for(&self.user(), connection)
    }

    /// As [`Host::abandon_connect`], for `user`: another user's connection
    /// is refused, an unknown one is nothing to drop.
    pub fn abandon_connect_for(
        &self,
        user: &UserHandle,
        connection: &ConnectionId,
    ) -> Result<(), HostError> {
        match self.db.connection(connection)? {
            Some(c) if c.user != *user => {
                return Err(HostError::NotYourConnection {
                    id: connection.to_string(),
                    owner: c.user.to_string(),
                })
            }
            Some(c) if c.status == ConnectionStatus::Pending => {
                self.vault.delete_all(connection)?;
                self.db.forget_connection(connection)?;
                tracing::info!(target: "host::connect", connection = %connection, "unfinished connect flow dropped");
            }
            _ => {}
        }
        Ok(())
    }

    fn field_values(&self, inputs: &[(String, SecretString)]) -> RVec<FieldValue> {
        inputs
            .iter()
            .map(|(key, value)| {
                self.redactions().add(value.expose());
                FieldValue::new(key, value.expose())
            })
            .collect()
    }

    fn after_step(
        &self,
        plugin_id: &str,
        connection: ConnectionId,
        account_scope: CooldownScope,
        step: ConnectStep_NE,
    ) -> Result<ConnectOutcome, HostError> {
        // A connect flow writes fresh secrets; a stale integrity note
        // about the values they replace does not outlive it.
        self.take_integrity_failure(&connection);
        let step = ConnectStep::from_abi(step).unwrap_or_else(|unknown| {
            ConnectStep::Failed(PluginError::permanent(format!(
                "plugin {plugin_id} answered {unknown}; update the host"
            )))
        });
        let error = match step {
            ConnectStep::NeedInput {
                flow_id,
                message,
                fields,
                errors,
            } => {
                return Ok(ConnectOutcome::NeedInput {
                    connection,
                    flow_id: flow_id.into(),
                    message: message.into(),
                    fields: fields.iter().map(Field::from_abi).collect(),
                    errors: errors
                        .iter()
                        .map(|e| (e.key.to_string(), e.message.to_string()))
                        .collect(),
                })
            }
            ConnectStep::Done {
                account_id,
                display_name,
            } => return self.finish_connect(plugin_id, connection, &account_id, &display_name),
            ConnectStep::Failed(error) => error,
            other => PluginError::permanent(format!(
                "plugin {plugin_id} answered a connect step this host does not handle: {other:?}"
            )),
        };
        if error.kind == ErrorKind::RATE_LIMITED {
            let wait = error.retry_after().unwrap_or(DEFAULT_LOGIN_COOLDOWN_SECS);
            let wait = waits::clamp_rate_limit_wait(wait, &format!("login to {plugin_id}"));
            let until = waits::after(self.now(), wait);
            self.db
                .set_cooldown(account_scope, until, &error.user_message)?;
        }
        // Nothing was connected: drop the pending connection and anything the
        // plugin stored for it.
        self.vault.delete_all(&connection)?;
        self.db.forget_connection(&connection)?;
        Err(HostError::PluginCall(self.scrub_error(error)))
    }

    fn finish_connect(
        &self,
        plugin_id: &str,
        connection: ConnectionId,
        account_id: &str,
        display_name: &str,
    ) -> Result<ConnectOutcome, HostError> {
        // Only the same user's connection of that account is taken over:
        // another user who signs in to the same account gets a connection
        // of their own, never theirs.
        let owner = self.db.connection_owner(&connection)?;
        let existing = self.db.connections_of(&owner)?.into_iter().find(|c| {
            c.id != connection
                && c.plugin_id == plugin_id
                && c.account_id.as_deref() == Some(account_id)
                && c.status != ConnectionStatus::Disconnected
        });
        if let Some(existing) = existing {
            // The same account again (its login needed the user, or the
            // user wants fresh credentials): keep its connection, its
            // history and its cursor; replace its secrets and resume it.
            self.move_secrets(plugin_id, &connection, &existing.id)?;
            self.db.forget_connection(&connection)?;
            self.db
                .set_connection_account(&existing.id, account_id, display_name)?;
            self.db
                .set_connection_status(&existing.id, ConnectionStatus::Active, None)?;
            self.db
                .clear_cooldown(CooldownScope::Connection(existing.id.clone()))?;
            self.db.set_schedule(&existing.id, self.now(), 0)?;
            tracing::info!(target: "host::connect", connection = %existing.id, "reconnected: secrets replaced, connection resumed");
            return Ok(ConnectOutcome::Connected {
                connection: existing.id,
                account_id: account_id.to_string(),
                display_name: display_name.to_string(),
            });
        }
        self.db
            .set_connection_account(&connection, account_id, display_name)?;
        self.db
            .set_connection_status(&connection, ConnectionStatus::Active, None)?;
        self.db.set_schedule(&connection, self.now(), 0)?;
        Ok(ConnectOutcome::Connected {
            connection,
            account_id: account_id.to_string(),
            display_name: display_name.to_string(),
        })
    }
}

impl Host {
    /// Re-seals every secret the plugin stored for `from` under `to` (the
    /// vault binds each to its connection), drops `to`'s values that the new
    /// login did not store, and forgets the superseded values for log
    /// scrubbing. `to` keeps a value at every moment: each field is
    /// overwritten before anything is deleted.
    fn move_secrets(
        &self,
        plugin_id: &str,
        from: &ConnectionId,
        to: &ConnectionId,
    ) -> Result<(), HostError> {
        let fresh = self.vault.fields(from)?;
        for field in self.vault.fields(to)? {
            // The old value is superseded; unreadable (tampered) ones are
            // simply overwritten.
            if let Ok(Some(old)) = self.vault.get(to, plugin_id, &field) {
                self.redactions().forget(old.expose());
            }
        }
        for field in &fresh {
            if let Some(value) = self.vault.get(from, plugin_id, field)? {
                self.vault.put(to, plugin_id, field, &value)?;
            }
        }
        for field in self.vault.fields(to)? {
            if !fresh.contains(&field) {
                self.vault.delete(to, &field)?;
            }
        }
        self.vault.delete_all(from)?;
        Ok(())
    }
}

/// Rate limits apply to a login (the account named by the field the plugin
/// marks `IDENTIFIES_ACCOUNT`, e.g. an e-mail), not to one connection attempt,
/// so retrying with a fresh connection cannot dodge them. Without a marked
/// field the scope is the plugin as a whole.
fn account_scope(
    plugin_id: &str,
    account_field: Option<&str>,
    inputs: &[(String, SecretString)],
) -> CooldownScope {
    let account = account_field
        .and_then(|key| inputs.iter().find(|(k, _)| k == key))
        .map(|(_, v)| v.expose().trim().to_lowercase())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{plugin_id}\n{account}").as_bytes());
    CooldownScope::Account {
        plugin_id: plugin_id.to_string(),
        account_key: hex::encode(&digest[..8]),
    }
}
