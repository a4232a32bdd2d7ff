//! Plugin-side kit for writing a BincioActivity importer.
//!
//! A plugin author implements [`ImporterPlugin`], a plain-Rust trait with std
//! types, and exports it with [`export_plugin!`]. The kit does the rest, once
//! for every entry point:
//! - [`adapter`]: the one generic `host_api::Importer` over any
//!   [`ImporterPlugin`]; every method, the instance's creation and its drop
//!   run inside the panic [`guard`], on the plugin's [`runtime`], with the
//!   [`log_bridge`] as tracing subscriber.
//! - [`context`]: the host's services (secrets, cancel flag, import sink,
//!   progress) as plain-Rust handles.
//! - [`guard`]: `catch_unwind` turning a panic into an `internal` error
//!   instead of abi_stable's `process::exit`; the host applies [`catch`] to
//!   the services it lends.
//! - [`log_bridge`]: the plugin's `tracing` events go to the host's `Logger`
//!   (a dylib has its own tracing globals; without this, logs are lost).
//! - [`runtime`]: the plugin's own tokio runtime (tokio's context does not
//!   cross a dylib boundary either), with the log bridge attached.

#[cfg(not(panic = "unwind"))]
compile_error!(
    "importer plugins must be built with panic = \"unwind\": the panic guard relies on it"
);

pub mod adapter;
pub mod context;
pub mod guard;
pub mod log_bridge;
pub mod plugin;
pub mod runtime;

pub use context::{Connection, Outcome, ProgressHandle, Retry, Secrets, Sink, SyncRun};
pub use guard::{catch, guard, panic_message};
pub use log_bridge::HostLogLayer;
pub use plugin::{
    Account, ImporterPlugin, Init, InputError, Inputs, Rejected, Request, Step, Summary,
};
pub use runtime::PluginRuntime;

#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
    pub use host_api;
}

/// Exports a plugin's root module, at layout level 2
/// (`host_api::root::level2`).
///
/// `descriptor` is a `fn() -> host_api::PluginDescriptor`; `importer` is a
/// type implementing [`ImporterPlugin`], driven through the kit's
/// [`adapter`] (its [`ImporterPlugin::REQUEST_BUDGET`] is the root's
/// `request_budget`; `create_with_services` hands the host's request gate to
/// it in [`Init::request_gate`]). Every entry point runs inside [`guard`].
/// The calling crate must depend on `abi_stable` (its `export_root_module`
/// attribute names it).
#[macro_export]
macro_rules! export_plugin {
    (descriptor: $descriptor:path, importer: $importer:ty $(,)?) => {
        #[::abi_stable::export_root_module]
        pub fn bincio_plugin_root_module(
        ) -> $crate::__private::host_api::root::level2::PluginModule_Ref {
            use $crate::__private::abi_stable::prefix_type::PrefixTypeTrait;
            use $crate::__private::abi_stable::std_types::{ROk, ROption, RResult};
            use $crate::__private::host_api::root::level2::PluginModule;
            use $crate::__private::host_api::{
                HostInit, ImporterBox, InstanceServices_Ref, PluginDescriptor, PluginError,
                RequestBudget,
            };

            extern "C" fn guarded_descriptor() -> RResult<PluginDescriptor, PluginError> {
                $crate::guard(|| ROk($descriptor()))
            }
            extern "C" fn guarded_create(init: HostInit) -> RResult<ImporterBox, PluginError> {
                $crate::guard(|| $crate::adapter::create::<$importer>(init))
            }
            extern "C" fn guarded_request_budget() -> ROption<RequestBudget> {
                // A panic here means "no budget" rather than a dead host.
                $crate::catch($crate::adapter::request_budget::<$importer>)
                    .unwrap_or(ROption::RNone)
            }
            extern "C" fn guarded_create_with_services(
                init: HostInit,
                services: InstanceServices_Ref,
            ) -> RResult<ImporterBox, PluginError> {
                $crate::guard(|| $crate::adapter::create_with_services::<$importer>(init, services))
            }
            PluginModule {
                descriptor: guarded_descriptor,
                create: guarded_create,
                request_budget: guarded_request_budget,
                create_with_services: guarded_create_with_services,
            }
            .leak_into_prefix()
        }
    };
}
