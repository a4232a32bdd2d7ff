//! A test plugin whose descriptor panics: the host must report it and go on.

use host_api::{HostInit, ImporterBox, PluginDescriptor, PluginError};

fn descriptor() -> PluginDescriptor {
    panic!("descriptor exploded on purpose")
}

fn create(_init: HostInit) -> Result<ImporterBox, PluginError> {
    Err(PluginError::internal("never reached"))
}

bincio_plugin_kit::export_plugin!(descriptor: descriptor, create: create);
