//! What can go wrong in a host operation, each with what to do about it.

use crate::plugins::{ConfigError, ManagerError};
use bincio_state::{StateError, VaultError};
use host_api::PluginError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plugin(#[from] ManagerError),
    // Transparent: the CLI prints the error chain (`{:#}`), and a message
    // that also embeds its source would print it twice.
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("plugin {plugin}: creating its importer failed: {error}")]
    Create { plugin: String, error: PluginError },
    #[error("the disclaimer of {plugin} (version {version}) has not been accepted{}; run `host-demo connect {plugin}` to read and accept it", if *changed { " since it changed" } else { "" })]
    DisclaimerNotAccepted {
        plugin: String,
        version: u32,
        changed: bool,
    },
    #[error("{scope}: {service} asked us to slow down; no login is tried before {until_utc} ({minutes} min from now) so the account is not blocked")]
    CoolingDown {
        /// The plugin's name (its descriptor's), or its id if it is not loaded.
        service: String,
        scope: String,
        until_utc: String,
        minutes: i64,
    },
    #[error("--handle \"{0}\" is not a BincioActivity handle: use 1 to 64 lowercase letters, digits, '-' and '_'")]
    InvalidHandle(String),
    #[error("no connection {0:?}; `host-demo status` lists them")]
    UnknownConnection(String),
    #[error("connection {id} needs you: {message}. Run `host-demo connect {plugin}` again")]
    NeedsUser {
        id: String,
        plugin: String,
        message: String,
    },
    #[error("{0}")]
    PluginCall(PluginError),
    #[error("a required field is missing: {0}")]
    MissingField(String),
    #[error("connect flow {0:?} is unknown or expired; start again")]
    UnknownFlow(String),
    #[error("import: {0}")]
    Import(#[from] crate::import::ImportError),
    #[error("no user {handle:?} on this server; its users: {}", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownUser { handle: String, known: Vec<String> },
    #[error("user {0:?} is disabled; `host-demo users list` shows the users")]
    UserDisabled(String),
    #[error("connection {id} belongs to user {owner}; pass `--user {owner}`")]
    NotYourConnection { id: String, owner: String },
    #[error("cannot start a sync thread: {0}")]
    Thread(std::io::Error),
}

impl From<PluginError> for HostError {
    fn from(e: PluginError) -> Self {
        Self::PluginCall(e)
    }
}

impl HostError {
    /// The plugin error underneath, if this came from the plugin.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            Self::PluginCall(e) | Self::Create { error: e, .. } => Some(e),
            _ => None,
        }
    }
}
