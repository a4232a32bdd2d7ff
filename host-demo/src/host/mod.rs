//! The host itself: the plugin manager, the state database, the vault and
//! the live plugin instances, and the operations the CLI and the scheduler
//! run on them (connect, check, sync, status, disconnect).
//!
//! Every operation works with ordinary Rust types; the abi_stable types
//! appear only where a call crosses into a plugin.

mod connect;
mod disconnect;
mod error;
mod instance;
mod status;
mod sync;
pub mod users;
pub mod waits;

pub use connect::{ConnectOutcome, DisclaimerState};
pub use error::HostError;
pub use instance::PluginInstance;
pub use status::ConnectionStatusReport;
pub use sync::{SyncOptions, SyncReport};
pub use users::{resolve_user, RemovedUser};

use crate::clock::{Clock, SystemClock};
use crate::import::{LazyPipeline, PipelineOpener, SharedPipeline};
use crate::plugins::PluginManager;
use crate::services::import_sink::PipelineSink;
use crate::services::{BudgetGate, CancelFlag, IntegrityFailures, Redactions, VaultSecretStore};
use bincio_state::{ConnectionId, StateDb, Vault};
use host_api::ConnectionContext;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct Host {
    pub manager: PluginManager,
    pub db: StateDb,
    pub vault: Arc<Vault>,
    pub data_dir: PathBuf,
    /// The user this host acts for in per-user commands (connect, sync,
    /// status); the scheduler serves every user.
    pub handle: String,
    pub clock: Arc<dyn Clock>,
    redactions: Redactions,
    integrity: IntegrityFailures,
    instances: Mutex<HashMap<String, Arc<PluginInstance>>>,
    /// One import pipeline opener per user: each user's store is
    /// `{data_dir}/{handle}/`.
    pipeline_openers: Mutex<HashMap<String, Arc<PipelineOpener>>>,
}

impl Host {
    /// Reads plugin.toml, loads the enabled plugins, opens (creating if
    /// needed) the data directory, the state database and the vault, acting
    /// for user `handle` (created when the server has no user yet).
    pub fn open(config: &Path, data_dir: &Path, handle: &str) -> Result<Self, HostError> {
        Self::open_with_clock(config, data_dir, handle, Arc::new(SystemClock))
    }

    pub fn open_with_clock(
        config: &Path,
        data_dir: &Path,
        handle: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, HostError> {
        Self::open_for(config, data_dir, Some(handle), clock)
    }

    /// As [`Host::open`] for `user`, or, when `None`, the server's only user
    /// (an error listing them when there are several; `me` on a server
    /// without users).
    pub fn open_for(
        config: &Path,
        data_dir: &Path,
        user: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, HostError> {
        if let Some(user) = user {
            validate_handle(user)?;
        }
        // 0700 from the start (it holds the master key and the secrets);
        // an existing looser directory is tightened with a warning.
        bincio_state::private_fs::private_dir(data_dir).map_err(|source| HostError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let manager = PluginManager::load(config)?;
        let db = StateDb::open_as(
            &data_dir.join("state.sqlite3"),
            user.unwrap_or(bincio_state::DEFAULT_HANDLE),
        )?;
        let handle = users::resolve_user(&db, user, clock.now())?;
        let handle = handle.as_str();
        db.close_interrupted_runs(clock.now())?;
        let vault = Arc::new(Vault::open(data_dir, &db)?);
        let mut host = Self {
            manager,
            db,
            vault,
            data_dir: data_dir.to_path_buf(),
            handle: handle.to_string(),
            clock,
            redactions: Redactions::default(),
            integrity: IntegrityFailures::default(),
            instances: Mutex::new(HashMap::new()),
            pipeline_openers: Mutex::new(HashMap::new()),
        };
        host.create_instances();
        Ok(host)
    }

    /// Creates every loaded plugin's importer now, so a plugin that refuses
    /// its settings (out of its own ranges) is reported when `plugin.toml`
    /// is read, with the setting's line, and not at its first sync. A plugin
    /// that cannot be created is marked failed; the others go on.
    fn create_instances(&mut self) {
        let ids: Vec<String> = self
            .manager
            .enabled_and_loaded()
            .map(|(config, _)| config.id.clone())
            .collect();
        for id in ids {
            let Err(error) = self.instance(&id) else {
                continue;
            };
            let Ok(entry) = self.manager.entry(&id) else {
                continue;
            };
            let message = match error.plugin_error() {
                Some(e) => crate::plugins::settings_check::locate(&entry.config, &e.user_message)
                    .map(|located| located.to_string())
                    .unwrap_or_else(|| error.to_string()),
                None => error.to_string(),
            };
            self.manager.mark_failed(
                &id,
                crate::plugins::LoadError::Settings {
                    id: id.clone(),
                    message,
                },
            );
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Secrets registered here are scrubbed from every plugin log line.
    pub fn redactions(&self) -> &Redactions {
        &self.redactions
    }

    /// The plugin's live instance, created on first use.
    pub fn instance(&self, plugin_id: &str) -> Result<Arc<PluginInstance>, HostError> {
        let mut instances = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(instance) = instances.get(plugin_id) {
            return Ok(instance.clone());
        }
        let (config, plugin) = self.manager.loaded(plugin_id)?;
        let gate = crate::services::request_gate::effective_budget(config, &plugin.module)
            .map(|limits| BudgetGate::new(plugin_id, limits, self.db.clone()));
        if let Some(gate) = &gate {
            let l = gate.limits();
            tracing::info!(target: "host::budget", plugin = plugin_id, requests = l.requests, window_ms = l.window_ms, burst = l.burst, "request budget");
        }
        let instance = PluginInstance::create(
            plugin,
            config,
            &self.data_dir,
            &self.redactions,
            gate.as_ref(),
        )
        .map_err(|error| HostError::Create {
            plugin: plugin_id.to_string(),
            error,
        })?;
        let instance = Arc::new(instance);
        instances.insert(plugin_id.to_string(), instance.clone());
        Ok(instance)
    }

    /// The services a call for this connection receives.
    pub(crate) fn connection_context(
        &self,
        plugin_id: &str,
        connection: &ConnectionId,
        cancel: &CancelFlag,
    ) -> ConnectionContext {
        ConnectionContext {
            connection_id: connection.as_str().into(),
            secrets: VaultSecretStore::new(
                self.vault.clone(),
                plugin_id,
                connection.clone(),
                self.redactions.clone(),
                self.integrity.clone(),
            )
            .to_service(),
            cancel: cancel.to_service(),
        }
    }

    /// Why `connection`'s stored secrets cannot be trusted, if a plugin call
    /// since the last look found out (see [`IntegrityFailures`]).
    pub(crate) fn take_integrity_failure(&self, connection: &ConnectionId) -> Option<String> {
        self.integrity.take(connection)
    }

    /// The import sink for one run of `connection`, into its owner's store.
    pub(crate) fn import_sink(
        &self,
        plugin_id: &str,
        connection: &ConnectionId,
        items: crate::services::ItemObserver,
    ) -> Result<Box<dyn sync::RunSink>, HostError> {
        let owner = self.db.connection_owner(connection)?;
        Ok(Box::new(
            PipelineSink::lazy(
                LazyPipeline::new(self.opener(owner.as_str())),
                plugin_id,
                connection.clone(),
                self.clock.clone(),
            )
            .with_observer(items),
        ))
    }

    /// The import pipeline into `{data_dir}/{handle}/`, shared by every
    /// sync running in this process. It is opened when the first needs it
    /// and closed when the last lets go, so the store's cross-process lock
    /// is held only while this host writes (a `host-demo import` beside
    /// `host-demo run` waits for a sync, not for the scheduler to stop).
    pub fn pipeline(&self) -> Result<SharedPipeline, HostError> {
        self.pipeline_for(&self.user())
    }

    /// As [`Host::pipeline`], into `user`'s store `{data_dir}/{handle}/`.
    pub fn pipeline_for(
        &self,
        user: &bincio_state::UserHandle,
    ) -> Result<SharedPipeline, HostError> {
        Ok(self.opener(user.as_str()).get()?)
    }

    /// The pipeline opener of `handle`'s store.
    fn opener(&self, handle: &str) -> Arc<PipelineOpener> {
        let mut openers = self
            .pipeline_openers
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        openers
            .entry(handle.to_string())
            .or_insert_with(|| {
                Arc::new(PipelineOpener::new(
                    self.data_dir.clone(),
                    handle.to_string(),
                    self.db.clone(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }

    /// The cooldown of `scope` in force now, if any, as the host honours it:
    /// one stored further ahead than [`waits::MAX_RATE_LIMIT_WAIT_SECS`] (by
    /// an older host, from a hostile `Retry-After`) is shortened to that, in
    /// the database too, with a warning.
    pub(crate) fn active_cooldown(
        &self,
        scope: &bincio_state::CooldownScope,
    ) -> Result<Option<bincio_state::Cooldown>, HostError> {
        let now = self.now();
        let Some(mut cooldown) = self.db.cooldown(scope.clone(), now)? else {
            return Ok(None);
        };
        let honoured = waits::honoured_until(cooldown.until, now);
        if honoured != cooldown.until {
            tracing::warn!(
                target: "host::waits",
                scope = %scope,
                stored_until = cooldown.until,
                honoured_until = honoured,
                "a stored cooldown lay beyond the host's maximum wait; shortened"
            );
            self.db
                .set_cooldown(scope.clone(), honoured, &cooldown.reason)?;
            cooldown.until = honoured;
        }
        Ok(Some(cooldown))
    }

    pub(crate) fn connection(&self, id: &str) -> Result<bincio_state::Connection, HostError> {
        self.db
            .connection(&ConnectionId::new(id))?
            .ok_or_else(|| HostError::UnknownConnection(id.to_string()))
    }
}

/// The longest BincioActivity handle accepted (the users table's rule).
pub use bincio_state::users::MAX_HANDLE_LEN;

/// BincioActivity's handle rules ([`bincio_state::UserHandle::parse`]): 1 to
/// [`MAX_HANDLE_LEN`] lowercase ASCII letters, digits, `-` and `_`. The
/// handle names a directory (`{data_dir}/{handle}/`) and a lock file, so it
/// is checked before any file is touched: `x/../../victim` must not create
/// anything anywhere.
pub fn validate_handle(handle: &str) -> Result<(), HostError> {
    bincio_state::UserHandle::parse(handle)
        .map(|_| ())
        .map_err(|_| HostError::InvalidHandle(handle.escape_debug().to_string()))
}

/// `text` safe to print on a terminal: control characters (newlines, escape
/// sequences, NUL...) shown escaped, the rest as is.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// "2026-11-25 14:03 UTC" for messages.
pub fn format_time(unix: i64) -> String {
    format_utc(unix)
}

pub(crate) fn format_utc(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(
            printable("run\u{1b}[2J\nx\u{0}.fit"),
            "run\\u{1b}[2J\\nx\\0.fit"
        );
        assert_eq!(printable("Zürich ride.fit"), "Zürich ride.fit");
    }
}
