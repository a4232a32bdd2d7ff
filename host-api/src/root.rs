//! The root module: the one symbol the host looks up in a plugin library.
//!
//! It is an abi_stable prefix type, so later API levels may append fields
//! after `create` and older plugins still load (the accessor then returns
//! `None`): `request_budget` and `create_with_services` came that way. Hosts load it with `lib_header_from_path` + `init_root_module`,
//! never `load_from_file`, which caches one module per type and would hand a
//! second plugin the first one's functions.

use crate::{
    budget::{InstanceServices_Ref, RequestBudget},
    descriptor::PluginDescriptor,
    error::PluginError,
    importer::ImporterBox,
    services::LoggerBox,
};
use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RString},
    StableAbi,
};

/// The behavioural contract this crate describes. Bump it when the meaning of
/// a call changes even though its layout does not.
pub const API_LEVEL: u32 = 1;
/// The oldest level a host built from this crate still drives.
pub const MIN_API_LEVEL: u32 = 1;

/// What the host gives a plugin instance at creation.
#[repr(C)]
#[derive(StableAbi, Clone)]
pub struct HostInit {
    pub api_level: u32,
    pub host_version: RString,
    /// The plugin's settings from `plugin.toml`, as a JSON object.
    pub settings_json: RString,
    /// A directory the plugin may use for caches; nothing in it is secret.
    pub data_dir: RString,
    pub logger: LoggerBox,
}

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModule_Ref)))]
pub struct PluginModule {
    /// Who the plugin is. Pure data.
    pub descriptor: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
    /// A new importer instance.
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(HostInit) -> RResult<ImporterBox, PluginError>,
    /// Optional (absent in plugins built before it; the accessor answers
    /// `None`): the plugin's host-wide request budget for its remote
    /// service, `RNone` for none.
    pub request_budget: extern "C" fn() -> ROption<RequestBudget>,
    /// Optional: as `create`, with the services the host lends the whole
    /// instance (the request gate). A host calls this one when present.
    pub create_with_services:
        extern "C" fn(HostInit, InstanceServices_Ref) -> RResult<ImporterBox, PluginError>,
}

impl RootModule for PluginModule_Ref {
    declare_root_module_statics! {PluginModule_Ref}
    const BASE_NAME: &'static str = "bincio_importer";
    const NAME: &'static str = "BincioActivity importer plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
