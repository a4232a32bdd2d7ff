//! The plugin manager: every entry of `plugin.toml` with its load status.
//!
//! One broken entry never stops the others: a bad library, a duplicate id or
//! a panicking descriptor is recorded as that plugin's status and reported,
//! and the rest of the host goes on.

use super::{
    config::{ConfigError, HostConfig, PluginConfig},
    loader::{self, LoadError, LoadedPlugin},
};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum PluginStatus {
    Loaded(LoadedPlugin),
    /// Not loaded: the user disabled it.
    Disabled,
    Failed(LoadError),
}

impl PluginStatus {
    pub fn label(&self) -> String {
        match self {
            Self::Loaded(_) => "loaded".into(),
            Self::Disabled => "disabled (not loaded)".into(),
            Self::Failed(e) => format!("failed: {e}"),
        }
    }
}

#[derive(Debug)]
pub struct PluginEntry {
    pub config: PluginConfig,
    pub status: PluginStatus,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error("no plugin {id:?} in {path}; `plugins list` shows the known ones")]
    Unknown { id: String, path: PathBuf },
    #[error("plugin {id} is disabled; enable it with `host-demo plugins enable {id}`")]
    Disabled { id: String },
    #[error(transparent)]
    Load(#[from] LoadError),
}

pub struct PluginManager {
    pub config_path: PathBuf,
    pub entries: Vec<PluginEntry>,
    /// Entries of plugin.toml that could not be used at all (duplicate ids...).
    pub config_errors: Vec<ConfigError>,
}

impl PluginManager {
    /// Reads `plugin.toml` and loads every enabled plugin.
    pub fn load(config_path: &Path) -> Result<Self, ConfigError> {
        let config = HostConfig::load(config_path)?;
        let entries = config
            .plugins
            .into_iter()
            .map(|config| {
                let status = if config.enabled {
                    match loader::load(&config) {
                        Ok(plugin) => PluginStatus::Loaded(plugin),
                        Err(e) => {
                            tracing::warn!(target: "host::plugins", "{e}");
                            PluginStatus::Failed(e)
                        }
                    }
                } else {
                    PluginStatus::Disabled
                };
                PluginEntry { config, status }
            })
            .collect();
        for error in &config.errors {
            tracing::warn!(target: "host::plugins", "{error}");
        }
        Ok(Self {
            config_path: config.path,
            entries,
            config_errors: config.errors,
        })
    }

    pub fn entry(&self, id: &str) -> Result<&PluginEntry, ManagerError> {
        self.entries
            .iter()
            .find(|e| e.config.id == id)
            .ok_or_else(|| ManagerError::Unknown {
                id: id.into(),
                path: self.config_path.clone(),
            })
    }

    /// The loaded plugin, or why it is not usable.
    pub fn loaded(&self, id: &str) -> Result<(&PluginConfig, &LoadedPlugin), ManagerError> {
        let entry = self.entry(id)?;
        match &entry.status {
            PluginStatus::Loaded(plugin) => Ok((&entry.config, plugin)),
            PluginStatus::Disabled => Err(ManagerError::Disabled { id: id.into() }),
            PluginStatus::Failed(e) => Err(ManagerError::Load(clone_error(e, &entry.config))),
        }
    }

    /// Loads a plugin even if disabled, for `plugins info`.
    pub fn inspect(&self, id: &str) -> Result<LoadedPlugin, ManagerError> {
        let entry = self.entry(id)?;
        match &entry.status {
            PluginStatus::Loaded(plugin) => Ok(plugin.clone()),
            _ => Ok(loader::load(&entry.config)?),
        }
    }

    /// Marks a loaded plugin as failed (its importer refused to be created).
    pub(crate) fn mark_failed(&mut self, id: &str, error: LoadError) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.config.id == id) {
            tracing::warn!(target: "host::plugins", "{error}");
            entry.status = PluginStatus::Failed(error);
        }
    }

    pub fn enabled_and_loaded(&self) -> impl Iterator<Item = (&PluginConfig, &LoadedPlugin)> {
        self.entries.iter().filter_map(|e| match &e.status {
            PluginStatus::Loaded(p) => Some((&e.config, p)),
            _ => None,
        })
    }
}

/// Load errors hold non-Clone sources; re-running the load gives the caller
/// its own copy with the same message.
fn clone_error(error: &LoadError, config: &PluginConfig) -> LoadError {
    if let LoadError::Settings { id, message } = error {
        return LoadError::Settings {
            id: id.clone(),
            message: message.clone(),
        };
    }
    loader::load(config)
        .err()
        .unwrap_or_else(|| LoadError::Open {
            id: config.id.clone(),
            path: config.library.clone(),
            reason: error.to_string(),
        })
}
