//! A test plugin whose descriptor is fine and whose every method panics, to
//! prove the panic guard turns each panic into an `internal` error.

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RResult, RString, RVec},
};
use bincio_plugin_kit::{guard, guard_step};
use host_api::{
    AccountInfo, Capabilities, ConnectStep_NE, ConnectionContext, Disclaimer, FieldValue, HostInit,
    Importer, ImporterBox, Importer_TO, PluginDescriptor, PluginError, SyncContext, SyncRequest,
    SyncSummary, API_LEVEL,
};

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

impl Importer for Faulty {
    fn begin_connect(&self, _: ConnectionContext, _: RVec<FieldValue>) -> ConnectStep_NE {
        guard_step(|| panic!("begin_connect exploded")).into()
    }
    fn continue_connect(
        &self,
        _: ConnectionContext,
        _: RString,
        _: RVec<FieldValue>,
    ) -> ConnectStep_NE {
        guard_step(|| panic!("continue_connect exploded")).into()
    }
    fn check(&self, _: ConnectionContext) -> RResult<AccountInfo, PluginError> {
        guard(|| panic!("check exploded"))
    }
    fn sync(&self, _: SyncContext, _: SyncRequest) -> RResult<SyncSummary, PluginError> {
        guard(|| panic!("sync exploded"))
    }
    fn disconnect(&self, _: ConnectionContext) -> RResult<(), PluginError> {
        guard(|| panic!("disconnect exploded"))
    }
}

fn create(_init: HostInit) -> Result<ImporterBox, PluginError> {
    Ok(Importer_TO::from_value(Faulty, TD_Opaque))
}

bincio_plugin_kit::export_plugin!(descriptor: descriptor, create: create);
