//! A test plugin built against a different plugin interface: its root module
//! has the same name and version as host-api's but another layout, as a
//! plugin built against an older or forked interface would. The host's
//! layout check must refuse it with a clear error.

#![allow(non_local_definitions, non_camel_case_types)]

use abi_stable::{
    declare_root_module_statics, export_root_module,
    library::RootModule,
    package_version_strings,
    prefix_type::PrefixTypeTrait,
    sabi_types::VersionStrings,
    std_types::{RString, RVec},
    StableAbi,
};

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModule_Ref)))]
pub struct PluginModule {
    /// Returns a bare name instead of a descriptor.
    pub descriptor: extern "C" fn() -> RString,
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(RVec<u8>) -> u32,
}

impl RootModule for PluginModule_Ref {
    declare_root_module_statics! {PluginModule_Ref}
    const BASE_NAME: &'static str = "bincio_importer";
    const NAME: &'static str = "BincioActivity importer plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

extern "C" fn descriptor() -> RString {
    "test.incompatible".into()
}

extern "C" fn create(_: RVec<u8>) -> u32 {
    0
}

#[export_root_module]
pub fn root() -> PluginModule_Ref {
    PluginModule { descriptor, create }.leak_into_prefix()
}
