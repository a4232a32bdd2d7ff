//! The root module: the one symbol the host looks up in a plugin library.
//!
//! It is an abi_stable prefix type: a plugin built against a later API level
//! with fields appended after `create` still loads into an older host. The
//! other way round (a newer host, an older plugin) abi_stable refuses the
//! layout, so a level that appends a field keeps this one as its level-1 root
//! and the loader checks each plugin against its own level (see
//! [`crate::grow`]). Hosts load it with `lib_header_from_path` + `init_root_module`,
//! never `load_from_file`, which caches one module per type and would hand a
//! second plugin the first one's functions.

use crate::{
    descriptor::PluginDescriptor, error::PluginError, importer::ImporterBox, services::LoggerBox,
};
use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RResult, RString},
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
    /// The [`API_LEVEL`] of the host's build.
    pub api_level: u32,
    /// The host's own version, for logs and user agents.
    pub host_version: RString,
    /// The plugin's settings from `plugin.toml`, as a JSON object.
    pub settings_json: RString,
    /// A directory the plugin may use for caches; nothing in it is secret.
    pub data_dir: RString,
    /// Where the plugin's log lines go (the kit's bridge forwards to it).
    pub logger: LoggerBox,
}

/// The plugin's entry points at API level 1. Frozen: a later level appends
/// its fields to a copy of this struct and keeps this one as the level-1 root
/// (see [`crate::grow`]).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModule_Ref)))]
pub struct PluginModule {
    /// Who the plugin is. Pure data.
    pub descriptor: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
    /// A new importer instance.
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(HostInit) -> RResult<ImporterBox, PluginError>,
}

impl RootModule for PluginModule_Ref {
    declare_root_module_statics! {PluginModule_Ref}
    const BASE_NAME: &'static str = "bincio_importer";
    const NAME: &'static str = "BincioActivity importer plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
