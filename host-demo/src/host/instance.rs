//! A live plugin instance: the `Importer` object a loaded plugin created,
//! with the host's services wired in. One per plugin per host, shared by all
//! of that plugin's connections, kept for the host's lifetime (pending MFA
//! logins live in it).

use crate::plugins::{Descriptor, LoadedPlugin, PluginConfig};
use crate::services::{HostLogger, Redactions};
use abi_stable::std_types::{RErr, ROk};
use host_api::{HostInit, ImporterBox, PluginError, API_LEVEL};
use std::path::Path;

pub struct PluginInstance {
    pub importer: ImporterBox,
    pub descriptor: Descriptor,
    pub config: PluginConfig,
}

impl PluginInstance {
    pub fn create(
        plugin: &LoadedPlugin,
        config: &PluginConfig,
        data_dir: &Path,
        redactions: &Redactions,
    ) -> Result<Self, PluginError> {
        let plugin_dir = data_dir.join("plugins").join(&config.id);
        std::fs::create_dir_all(&plugin_dir).map_err(|e| {
            PluginError::internal(format!("cannot create {}", plugin_dir.display()))
                .with_detail(e.to_string())
        })?;
        let init = HostInit {
            api_level: API_LEVEL,
            host_version: env!("CARGO_PKG_VERSION").into(),
            settings_json: config.settings_json().into(),
            data_dir: plugin_dir.display().to_string().into(),
            logger: HostLogger::new(&config.id, redactions.clone()).to_service(),
        };
        match plugin.module.create()(init) {
            ROk(importer) => Ok(Self {
                importer,
                descriptor: plugin.descriptor.clone(),
                config: config.clone(),
            }),
            RErr(e) => Err(e),
        }
    }
}
