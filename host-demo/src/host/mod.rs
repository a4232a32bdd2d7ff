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
use crate::services::{BudgetGate, CancelFlag, Redactions, VaultSecretStore};
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
        std::fs::create_dir_all(data_dir).map_err(|source| HostError::DataDir {
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
        Ok(Self {
            manager,
            db,
            vault,
            data_dir: data_dir.to_path_buf(),
            handle: handle.to_string(),
            clock,
            redactions: Redactions::default(),
            instances: Mutex::new(HashMap::new()),
            pipeline_openers: Mutex::new(HashMap::new()),
        })
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
            )
            .to_service(),
            cancel: cancel.to_service(),
        }
    }

    /// The import sink for one run of `connection`, into its owner's store.
    pub(crate) fn import_sink(
        &self,
        plugin_id: &str,
        connection: &ConnectionId,
    ) -> Result<Box<dyn sync::RunSink>, HostError> {
        let owner = self.db.connection_owner(connection)?;
        Ok(Box::new(PipelineSink::lazy(
            LazyPipeline::new(self.opener(owner.as_str())),
            plugin_id,
            connection.clone(),
            self.clock.clone(),
        )))
    }

    /// The import pipeline into `{data_dir}/{handle}/`, shared by every
    /// sync running in this process. It is opened when the first needs it
    /// and closed when the last lets go, so the store's cross-process lock
    /// is held only while this host writes (a `host-demo import` beside
    /// `host-demo run` waits for a sync, not for the scheduler to stop).
    pub fn pipeline(&self) -> Result<SharedPipeline, HostError> {
        Ok(self.opener(&self.handle).get()?)
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

    pub(crate) fn connection(&self, id: &str) -> Result<bincio_state::Connection, HostError> {
        self.db
            .connection(&ConnectionId::new(id))?
            .ok_or_else(|| HostError::UnknownConnection(id.to_string()))
    }
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
