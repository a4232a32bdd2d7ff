//! The root module: the one symbol the host looks up in a plugin library.
//!
//! It is an abi_stable prefix type: a plugin built against a later API level
//! with fields appended after `create` still loads into an older host. The
//! other way round (a newer host, an older plugin) abi_stable refuses the
//! layout, so a level that appends fields keeps the older root frozen: the
//! level-1 [`PluginModule`] here, the level-2 one (`request_budget`,
//! `create_with_services`) in [`level2`], and [`PluginRoot::load`] checks a
//! plugin against the newest root first and each older one after (see
//! [`crate::grow`]). Hosts load it with `lib_header_from_path` + [`PluginRoot::load`]
//! (`init_root_module` underneath),
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
    library::{LibHeader, LibraryError, RootModule},
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

/// The root module at layout level 2: level 1's fields, then the request
/// budget's two. Same type name as level 1, so an older host sees a plugin
/// built against it as level 1 with extra fields (which it ignores).
pub mod level2 {
    use super::*;

    /// The plugin's entry points at layout level 2 (what
    /// `bincio_plugin_kit::export_plugin!` exports). Frozen in turn once a
    /// level 3 exists.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModule_Ref)))]
    pub struct PluginModule {
        /// Who the plugin is. Pure data.
        pub descriptor: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
        /// A new importer instance, without instance services.
        #[sabi(last_prefix_field)]
        pub create: extern "C" fn(HostInit) -> RResult<ImporterBox, PluginError>,
        /// The plugin's host-wide request budget for its remote service,
        /// `RNone` for none.
        pub request_budget: extern "C" fn() -> ROption<RequestBudget>,
        /// As `create`, with the services the host lends the whole instance
        /// (the request gate). A level-2 host calls this one.
        pub create_with_services:
            extern "C" fn(HostInit, InstanceServices_Ref) -> RResult<ImporterBox, PluginError>,
    }

    impl RootModule for PluginModule_Ref {
        declare_root_module_statics! {PluginModule_Ref}
        const BASE_NAME: &'static str = "bincio_importer";
        const NAME: &'static str = "BincioActivity importer plugin";
        const VERSION_STRINGS: VersionStrings = package_version_strings!();
    }
}

/// A loaded plugin's root module, at the layout level the plugin was built
/// against; what an older level lacks answers `None`.
#[derive(Clone, Copy)]
pub enum PluginRoot {
    /// Built against layout level 2 (request budget, instance services).
    Level2(level2::PluginModule_Ref),
    /// Built against layout level 1: driven with defaults (no budget, no
    /// instance services).
    Level1(PluginModule_Ref),
}

impl PluginRoot {
    /// Checks the library's root module against the newest layout first and
    /// each older one after (a failed layout check leaves the header
    /// reusable). When none fits, the error is level 1's: the layout every
    /// plugin shares, so it names the mismatch that matters.
    pub fn load(header: &LibHeader) -> Result<Self, LibraryError> {
        match header.init_root_module::<level2::PluginModule_Ref>() {
            Ok(root) => Ok(Self::Level2(root)),
            Err(_) => header
                .init_root_module::<PluginModule_Ref>()
                .map(Self::Level1),
        }
    }

    /// The root module's layout level (1 or 2).
    pub fn level(&self) -> u32 {
        match self {
            Self::Level2(_) => 2,
            Self::Level1(_) => 1,
        }
    }

    /// The `descriptor` entry point.
    pub fn descriptor(&self) -> extern "C" fn() -> RResult<PluginDescriptor, PluginError> {
        match self {
            Self::Level2(m) => m.descriptor(),
            Self::Level1(m) => m.descriptor(),
        }
    }

    /// The `create` entry point.
    pub fn create(&self) -> extern "C" fn(HostInit) -> RResult<ImporterBox, PluginError> {
        match self {
            Self::Level2(m) => m.create(),
            Self::Level1(m) => m.create(),
        }
    }

    /// The `request_budget` entry point; `None` before level 2.
    pub fn request_budget(&self) -> Option<extern "C" fn() -> ROption<RequestBudget>> {
        match self {
            Self::Level2(m) => m.request_budget(),
            Self::Level1(_) => None,
        }
    }

    /// The `create_with_services` entry point; `None` before level 2.
    #[allow(clippy::type_complexity)]
    pub fn create_with_services(
        &self,
    ) -> Option<extern "C" fn(HostInit, InstanceServices_Ref) -> RResult<ImporterBox, PluginError>>
    {
        match self {
            Self::Level2(m) => m.create_with_services(),
            Self::Level1(_) => None,
        }
    }
}
