//! The plugin manager: `plugin.toml`, loading libraries through the stable
//! ABI, and the host's plain-Rust view of what a plugin declares.

pub mod config;
pub mod descriptor;
pub mod edit;
pub mod loader;
pub mod manager;
pub mod settings_check;

pub use config::{BudgetConfig, ConfigError, HostConfig, PluginConfig};
pub use descriptor::{Descriptor, DisclaimerText, Field, Kind};
pub use loader::{LoadError, LoadedPlugin};
pub use manager::{ManagerError, PluginEntry, PluginManager, PluginStatus};
