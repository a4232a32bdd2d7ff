//! A test plugin whose descriptor is fine and whose every method panics, to
//! prove the kit's adapter turns each panic into an `internal` error.

use abi_stable::std_types::RVec;
use bincio_plugin_kit::{
    Account, Connection, ImporterPlugin, Init, Inputs, Request, Step, Summary, SyncRun,
};
use host_api::{Capabilities, Disclaimer, PluginDescriptor, PluginError, API_LEVEL};

fn descriptor() -> PluginDescriptor {
    PluginDescriptor {
        id: "test.faulty".into(),
        name: "Faulty test plugin".into(),
        version: "0.0.1".into(),
        api_level: API_LEVEL,
        capabilities: Capabilities::default(),
        credential_fields: RVec::new(),
        settings_fields: RVec::new(),
        disclaimer: Disclaimer {
            version: 1,
            title: "Test".into(),
            markdown: "A plugin for tests.".into(),
        },
        default_interval_secs: 3600,
        min_interval_secs: 60,
    }
}

struct Faulty;

impl ImporterPlugin for Faulty {
    const WORKER_THREADS: usize = 1;

    fn new(_: Init) -> Result<Self, PluginError> {
        Ok(Faulty)
    }
    async fn begin_connect(&self, _: &Connection, _: &Inputs) -> Step {
        panic!("begin_connect exploded")
    }
    async fn continue_connect(&self, _: &Connection, _: &str, _: &Inputs) -> Step {
        panic!("continue_connect exploded")
    }
    async fn check(&self, _: &Connection) -> Result<Account, PluginError> {
        panic!("check exploded")
    }
    async fn sync(&self, _: &SyncRun, _: &Request) -> Result<Summary, PluginError> {
        panic!("sync exploded")
    }
    async fn disconnect(&self, _: &Connection) -> Result<(), PluginError> {
        panic!("disconnect exploded")
    }
}

bincio_plugin_kit::export_plugin!(descriptor: descriptor, importer: Faulty);
