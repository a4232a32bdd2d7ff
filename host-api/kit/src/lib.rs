//! Plugin-side helpers for writing a BincioActivity importer.
//!
//! None of this crosses the boundary itself; it makes the boundary's rules
//! easy to keep:
//! - [`guard`]: every exported function and every `Importer` method body runs
//!   inside `catch_unwind`, so a panic becomes an `internal` error instead of
//!   abi_stable's `process::exit`.
//! - [`log_bridge`]: the plugin's `tracing` events go to the host's `Logger`
//!   (a dylib has its own tracing globals; without this, logs are lost).
//! - [`runtime`]: the plugin's own tokio runtime (tokio's context does not
//!   cross a dylib boundary either), with the log bridge attached.
//! - [`export_plugin!`]: exports the root module with both entry points guarded.

#[cfg(not(panic = "unwind"))]
compile_error!(
    "importer plugins must be built with panic = \"unwind\": the panic guard relies on it"
);

pub mod guard;
pub mod log_bridge;
pub mod runtime;

pub use guard::{guard, guard_step, panic_message};
pub use log_bridge::HostLogLayer;
pub use runtime::PluginRuntime;

#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
    pub use host_api;
}

/// Exports a plugin's root module.
///
/// `descriptor` is a `fn() -> host_api::PluginDescriptor`; `create` is a
/// `fn(host_api::HostInit) -> Result<host_api::ImporterBox, host_api::PluginError>`.
/// Both run inside [`guard`]. The second form adds `request_budget` (a
/// `fn() -> Option<host_api::RequestBudget>`) and `create_with_services` (a
/// `fn(HostInit, InstanceServices_Ref) -> Result<ImporterBox, PluginError>`,
/// called instead of `create` by hosts that lend instance services); the
/// first form exports no budget. The calling crate must depend on `abi_stable`
/// (its `export_root_module` attribute names it).
#[macro_export]
macro_rules! export_plugin {
    (descriptor: $descriptor:path, create: $create:path $(,)?) => {
        $crate::export_plugin!(@module $descriptor, $create, || None, |init, _services| $create(init));
    };
    (
        descriptor: $descriptor:path,
        create: $create:path,
        request_budget: $budget:path,
        create_with_services: $create_with:path $(,)?
    ) => {
        $crate::export_plugin!(@module $descriptor, $create, $budget, $create_with);
    };
    (@module $descriptor:path, $create:path, $budget:expr, $create_with:expr) => {
        #[::abi_stable::export_root_module]
        pub fn bincio_plugin_root_module() -> $crate::__private::host_api::PluginModule_Ref {
            use $crate::__private::abi_stable::prefix_type::PrefixTypeTrait;
            use $crate::__private::abi_stable::std_types::{RErr, ROk, ROption, RResult};
            use $crate::__private::host_api::{
                HostInit, ImporterBox, InstanceServices_Ref, PluginDescriptor, PluginError,
                PluginModule, RequestBudget,
            };

            extern "C" fn guarded_descriptor() -> RResult<PluginDescriptor, PluginError> {
                $crate::guard(|| ROk($descriptor()))
            }
            extern "C" fn guarded_create(init: HostInit) -> RResult<ImporterBox, PluginError> {
                $crate::guard(|| match $create(init) {
                    Ok(importer) => ROk(importer),
                    Err(error) => RErr(error),
                })
            }
            extern "C" fn __bincio_request_budget() -> ROption<RequestBudget> {
                let budget: fn() -> Option<RequestBudget> = $budget;
                // A panic here means "no budget" rather than a dead host.
                ::std::panic::catch_unwind(budget).ok().flatten().into()
            }
            extern "C" fn guarded_create_with(
                init: HostInit,
                services: InstanceServices_Ref,
            ) -> RResult<ImporterBox, PluginError> {
                let create_with: fn(
                    HostInit,
                    InstanceServices_Ref,
                ) -> Result<ImporterBox, PluginError> = $create_with;
                $crate::guard(|| match create_with(init, services) {
                    Ok(importer) => ROk(importer),
                    Err(error) => RErr(error),
                })
            }
            PluginModule {
                descriptor: guarded_descriptor,
                create: guarded_create,
                request_budget: __bincio_request_budget,
                create_with_services: guarded_create_with,
            }
            .leak_into_prefix()
        }
    };
}
