//! A test plugin whose descriptor panics: the host must report it and go on.

use bincio_plugin_kit::{
    Account, Connection, ImporterPlugin, Init, Inputs, Request, Step, Summary, SyncRun,
};
use host_api::{PluginDescriptor, PluginError};

fn descriptor() -> PluginDescriptor {
    panic!("descriptor exploded on purpose")
}

/// Never created: the host refuses a plugin whose descriptor fails.
struct NeverCreated;

impl ImporterPlugin for NeverCreated {
    fn new(_: Init) -> Result<Self, PluginError> {
        Err(PluginError::internal("never reached"))
    }
    async fn begin_connect(&self, _: &Connection, _: &Inputs) -> Step {
        Step::Failed(PluginError::internal("never reached"))
    }
    async fn continue_connect(&self, _: &Connection, _: &str, _: &Inputs) -> Step {
        Step::Failed(PluginError::internal("never reached"))
    }
    async fn check(&self, _: &Connection) -> Result<Account, PluginError> {
        Err(PluginError::internal("never reached"))
    }
    async fn sync(&self, _: &SyncRun, _: &Request) -> Result<Summary, PluginError> {
        Err(PluginError::internal("never reached"))
    }
    async fn disconnect(&self, _: &Connection) -> Result<(), PluginError> {
        Err(PluginError::internal("never reached"))
    }
}

bincio_plugin_kit::export_plugin!(descriptor: descriptor, importer: NeverCreated);
