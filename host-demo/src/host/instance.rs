//! A live plugin instance: the `Importer` object a loaded plugin created,
//! with the host's services wired in. One per plugin per host, shared by all
//! of that plugin's connections, kept for the host's lifetime (pending MFA
//! logins live in it).

use crate::plugins::{Descriptor, LoadedPlugin, PluginConfig};
use crate::services::{BudgetGate, HostLogger, Redactions};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RErr, ROk};
use host_api::{HostInit, ImporterBox, InstanceServices, PluginError, API_LEVEL};
use std::path::Path;

pub struct PluginInstance {
    pub importer: ImporterBox,
    pub descriptor: Descriptor,
    pub config: PluginConfig,
}

impl PluginInstance {
    /// Creates the instance. `gate` is the plugin's share of its request
    /// budget; a plugin built before instance services existed gets
    /// `create` and no gate.
    pub fn create(
        plugin: &LoadedPlugin,
        config: &PluginConfig,
        data_dir: &Path,
        redactions: &Redactions,
        gate: Option<&BudgetGate>,
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
        let created = match plugin.module.create_with_services() {
            Some(create_with_services) => {
                let services = InstanceServices {
                    // Leaked once per instance: instances live as long as
                    // the process (libraries are never unloaded either).
                    request_gate: gate.map(|g| &*Box::leak(Box::new(g.to_service()))).into(),
                }
                .leak_into_prefix();
                create_with_services(init, services)
            }
            None => plugin.module.create()(init),
        };
        match created {
            ROk(importer) => Ok(Self {
                importer,
                descriptor: plugin.descriptor.clone(),
                config: config.clone(),
            }),
            RErr(e) => Err(e),
        }
    }
}
