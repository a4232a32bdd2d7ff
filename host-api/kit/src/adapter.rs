//! The one generic adapter from a plain [`ImporterPlugin`] to the host-api
//! `Importer` the host drives.
//!
//! Every method, instance creation and the instance's drop run here, once,
//! in the same order: the host's logger becomes the thread's tracing
//! subscriber, the panic guard catches, and the plugin's future runs on the
//! instance's own runtime. abi_stable types are converted at this edge and
//! nowhere else.

use crate::context::{Connection, SyncRun};
use crate::guard::{catch, panic_error};
use crate::plugin::{Account, ImporterPlugin, Init, Inputs, Rejected, Request, Step, Summary};
use crate::runtime::PluginRuntime;
use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RErr, ROk, ROption, RResult, RString, RVec},
};
use host_api::{
    AccountInfo, ConnectStep, ConnectStep_NE, ConnectionContext, FieldError, FieldValue, HostInit,
    Importer, ImporterBox, Importer_TO, InstanceServices_Ref, PluginError, Rejection,
    RequestBudget, RequestGateBox, SyncContext, SyncRequest, SyncSummary,
};
use std::future::Future;
use std::path::PathBuf;

/// An [`ImporterPlugin`] dressed as a host-api `Importer`.
pub struct Adapter<P: ImporterPlugin> {
    /// `None` only while dropping.
    plugin: Option<P>,
    runtime: PluginRuntime,
}

/// The root module's `create` for `P`: the runtime, then `P::new` inside
/// it, guarded. [`crate::export_plugin!`] calls this.
pub fn create<P: ImporterPlugin>(init: HostInit) -> RResult<ImporterBox, PluginError> {
    create_with(init, P::new)
}

/// [`create`] with another constructor than `P::new` (tests inject a clock
/// or keep a handle on the instance with `Arc<P>`).
pub fn create_with<P: ImporterPlugin>(
    init: HostInit,
    new: impl FnOnce(Init) -> Result<P, PluginError>,
) -> RResult<ImporterBox, PluginError> {
    create_inner(init, None, new)
}

/// The root module's `create_with_services` for `P`: as [`create`], with
/// the services a level-2 host lends the instance (the request gate, in
/// [`Init::request_gate`]).
pub fn create_with_services<P: ImporterPlugin>(
    init: HostInit,
    services: InstanceServices_Ref,
) -> RResult<ImporterBox, PluginError> {
    let gate = match catch(|| services.request_gate().into_option().cloned()) {
        Ok(gate) => gate,
        Err(message) => return RErr(panic_error(&message)),
    };
    create_inner(init, gate, P::new)
}

/// The root module's `request_budget` for `P`.
pub fn request_budget<P: ImporterPlugin>() -> ROption<RequestBudget> {
    P::REQUEST_BUDGET.into()
}

fn create_inner<P: ImporterPlugin>(
    init: HostInit,
    request_gate: Option<RequestGateBox>,
    new: impl FnOnce(Init) -> Result<P, PluginError>,
) -> RResult<ImporterBox, PluginError> {
    let HostInit {
        api_level,
        host_version,
        settings_json,
        data_dir,
        logger,
    } = init;
    let runtime = match catch(|| PluginRuntime::new(logger, P::WORKER_THREADS)) {
        Ok(Ok(runtime)) => runtime,
        Ok(Err(e)) => {
            return RErr(
                PluginError::internal("could not start the plugin's runtime")
                    .with_detail(e.to_string()),
            )
        }
        Err(message) => return RErr(panic_error(&message)),
    };
    let init = Init {
        api_level,
        host_version: host_version.into(),
        settings_json: settings_json.into(),
        data_dir: PathBuf::from(data_dir.as_str()),
        request_gate,
    };
    let created = runtime.with_logs(|| match catch(|| runtime.in_context(|| new(init))) {
        Ok(created) => created,
        Err(message) => Err(panic_error(&message)),
    });
    match created {
        Ok(plugin) => ROk(Importer_TO::from_value(
            Adapter {
                plugin: Some(plugin),
                runtime,
            },
            TD_Opaque,
        )),
        Err(error) => RErr(error),
    }
}

impl<P: ImporterPlugin> Adapter<P> {
    /// Runs one plugin method: logs bridged, panics caught, its future on
    /// the instance's runtime.
    fn call<'a, F, T>(&'a self, method: impl FnOnce(&'a P) -> F) -> Result<T, PluginError>
    where
        F: Future<Output = Result<T, PluginError>>,
    {
        self.runtime.with_logs(|| {
            match catch(|| {
                let plugin = self.plugin.as_ref().expect("present until drop");
                self.runtime.block_on(method(plugin))
            }) {
                Ok(result) => result,
                Err(message) => Err(panic_error(&message)),
            }
        })
    }

    fn step<'a, F>(&'a self, method: impl FnOnce(&'a P) -> F) -> ConnectStep_NE
    where
        F: Future<Output = Step>,
    {
        match self.call(|plugin| {
            let step = method(plugin);
            async move { Ok(step.await) }
        }) {
            Ok(step) => connect_step(step),
            Err(error) => ConnectStep::Failed(error),
        }
        .into()
    }
}

impl<P: ImporterPlugin> Importer for Adapter<P> {
    fn begin_connect(&self, ctx: ConnectionContext, inputs: RVec<FieldValue>) -> ConnectStep_NE {
        let ctx = Connection::new(ctx);
        let inputs = Inputs::from(inputs.as_slice());
        self.step(|p| p.begin_connect(&ctx, &inputs))
    }

    fn continue_connect(
        &self,
        ctx: ConnectionContext,
        flow_id: RString,
        inputs: RVec<FieldValue>,
    ) -> ConnectStep_NE {
        let ctx = Connection::new(ctx);
        let inputs = Inputs::from(inputs.as_slice());
        self.step(|p| p.continue_connect(&ctx, flow_id.as_str(), &inputs))
    }

    fn check(&self, ctx: ConnectionContext) -> RResult<AccountInfo, PluginError> {
        let ctx = Connection::new(ctx);
        self.call(|p| p.check(&ctx))
            .map(|a| AccountInfo {
                account_id: a.account_id.into(),
                display_name: a.display_name.into(),
            })
            .into()
    }

    fn sync(&self, ctx: SyncContext, request: SyncRequest) -> RResult<SyncSummary, PluginError> {
        let ctx = SyncRun::new(ctx);
        let request = Request::from(&request);
        self.call(|p| p.sync(&ctx, &request))
            .map(SyncSummary::from)
            .into()
    }

    fn disconnect(&self, ctx: ConnectionContext) -> RResult<(), PluginError> {
        let ctx = Connection::new(ctx);
        self.call(|p| p.disconnect(&ctx)).into()
    }
}

impl<P: ImporterPlugin> Drop for Adapter<P> {
    /// The host drops the instance through an `extern "C"` destructor, where
    /// a panic would end the process: the plugin's own drop runs guarded.
    fn drop(&mut self) {
        let plugin = self.plugin.take();
        self.runtime.with_logs(|| {
            if let Err(message) = catch(move || drop(plugin)) {
                tracing::error!(target: "plugin::panic", "panic while dropping the plugin instance: {message}");
            }
        });
    }
}

fn connect_step(step: Step) -> ConnectStep {
    match step {
        Step::NeedInput {
            flow_id,
            message,
            fields,
            errors,
        } => ConnectStep::NeedInput {
            flow_id: flow_id.into(),
            message: message.into(),
            fields: fields.into(),
            errors: errors
                .into_iter()
                .map(|e| FieldError {
                    key: e.key.into(),
                    message: e.message.into(),
                })
                .collect(),
        },
        Step::Done(Account {
            account_id,
            display_name,
        }) => ConnectStep::Done {
            account_id: account_id.into(),
            display_name: display_name.into(),
        },
        Step::Failed(error) => ConnectStep::Failed(error),
    }
}

impl From<&SyncRequest> for Request {
    fn from(r: &SyncRequest) -> Self {
        Self {
            cursor: r.cursor.as_ref().map(|c| c.to_string()).into_option(),
            max_downloads: r.max_downloads.into_option(),
        }
    }
}

impl From<&Request> for SyncRequest {
    fn from(r: &Request) -> Self {
        Self {
            cursor: r.cursor.clone().map(RString::from).into(),
            max_downloads: r.max_downloads.into(),
        }
    }
}

/// `From` between the kit's and host-api's summaries, field by field, in
/// one place for both directions.
macro_rules! summary_conversion {
    ($from:ty => $to:ty, $rejected:ident) => {
        impl From<$from> for $to {
            fn from(s: $from) -> Self {
                Self {
                    listed: s.listed,
                    imported: s.imported,
                    already_there: s.already_there,
                    rejected: s
                        .rejected
                        .into_iter()
                        .map(|r| $rejected {
                            external_id: r.external_id.into(),
                            reason: r.reason.into(),
                        })
                        .collect(),
                    deferred: s.deferred,
                    has_more: s.has_more,
                }
            }
        }
    };
}

summary_conversion!(Summary => SyncSummary, Rejection);
summary_conversion!(SyncSummary => Summary, Rejected);
