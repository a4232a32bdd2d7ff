//! Connecting an account: the disclaimer gate, the login cooldown, and the
//! plugin's connect step machine, with a pending connection that is removed
//! again if the login fails.

use super::{format_utc, Host, HostError};
use crate::plugins::Field;
use crate::services::CancelFlag;
use abi_stable::std_types::RVec;
use bincio_state::{ConnectionId, ConnectionStatus, CooldownScope, SecretString, UserHandle};
use host_api::{ConnectStep, ErrorKind, FieldValue};
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
        let (_, plugin) = self.manager.loaded(plugin_id)?;
        let d = &plugin.descriptor.disclaimer;
        self.db.record_acceptance_for(
            &self.user(),
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

    pub(crate) fn check_cooldown(&self, scope: CooldownScope) -> Result<(), HostError> {
        let now = self.now();
        if let Some(c) = self.db.cooldown(scope.clone(), now)? {
            return Err(HostError::CoolingDown {
                scope: scope.to_string(),
                until_utc: format_utc(c.until),
                minutes: ((c.until - now) + 59) / 60,
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
        let user = self.user();
        self.require_disclaimer(&user, plugin_id)?;
        let account_scope = account_scope(plugin_id, &inputs);
        self.check_cooldown(account_scope.clone())?;
        let instance = self.instance(plugin_id)?;
        let connection = self
            .db
            .create_connection_for(&user, plugin_id, self.now())?;
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
        let record = self.own_connection(connection.as_str())?;
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
        step: ConnectStep,
    ) -> Result<ConnectOutcome, HostError> {
        match step {
            ConnectStep::NeedInput {
                flow_id,
                message,
                fields,
                errors,
            } => Ok(ConnectOutcome::NeedInput {
                connection,
                flow_id: flow_id.into(),
                message: message.into(),
                fields: fields.iter().map(Field::from_abi).collect(),
                errors: errors
                    .iter()
                    .map(|e| (e.key.to_string(), e.message.to_string()))
                    .collect(),
            }),
            ConnectStep::Done {
                account_id,
                display_name,
            } => self.finish_connect(plugin_id, connection, &account_id, &display_name),
            ConnectStep::Failed(error) => {
                if error.kind == ErrorKind::RATE_LIMITED {
                    let wait = error.retry_after().unwrap_or(DEFAULT_LOGIN_COOLDOWN_SECS);
                    let until = self.now() + wait as i64;
                    self.db
                        .set_cooldown(account_scope, until, &error.user_message)?;
                }
                // Nothing was connected: drop the pending connection and
                // anything the plugin stored for it.
                self.vault.delete_all(&connection)?;
                self.db.forget_connection(&connection)?;
                Err(HostError::PluginCall(error))
            }
        }
    }

    fn finish_connect(
        &self,
        plugin_id: &str,
        connection: ConnectionId,
        account_id: &str,
        display_name: &str,
    ) -> Result<ConnectOutcome, HostError> {
        let existing = self.db.connections()?.into_iter().find(|c| {
            c.id != connection
                && c.plugin_id == plugin_id
                && c.account_id.as_deref() == Some(account_id)
                && c.status != ConnectionStatus::Disconnected
        });
        if let Some(existing) = existing {
            self.vault.delete_all(&connection)?;
            self.db.forget_connection(&connection)?;
            return Err(HostError::AlreadyConnected {
                plugin: plugin_id.to_string(),
                account: display_name.to_string(),
                existing: existing.id.to_string(),
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

/// Rate limits apply to a login (an e-mail at a service), not to one
/// connection attempt, so retrying with a fresh connection cannot dodge them.
fn account_scope(plugin_id: &str, inputs: &[(String, SecretString)]) -> CooldownScope {
    let email = inputs
        .iter()
        .find(|(k, _)| k == "email")
        .map(|(_, v)| v.expose().trim().to_lowercase())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{plugin_id}\n{email}").as_bytes());
    CooldownScope::Account {
        plugin_id: plugin_id.to_string(),
        account_key: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
    }
}
