//! What a plugin author implements: [`ImporterPlugin`], a plain-Rust trait
//! with std types, and the plain values its methods take and give.
//!
//! The kit's [`crate::adapter`] turns an implementation into the host-api
//! `Importer` the host drives, applying the panic guard, the plugin's own
//! tokio runtime and the log bridge once, for every method. An
//! implementation therefore never sees an abi_stable type in its signatures
//! and cannot forget a guard.

use crate::context::{Connection, SyncRun};
use host_api::{FieldSpec, FieldValue, PluginError, RequestBudget, RequestGateBox};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

/// What the host gives a new plugin instance (`HostInit` without the logger,
/// which the adapter wires into tracing), and the services a level-2 host
/// lends the whole instance.
#[derive(Clone)]
pub struct Init {
    pub api_level: u32,
    pub host_version: String,
    /// The plugin's settings from `plugin.toml`, as a JSON object.
    pub settings_json: String,
    /// A directory the plugin may use for caches; nothing in it is secret.
    pub data_dir: PathBuf,
    /// The host's plugin-wide request budget, to ask before each request to
    /// the remote service; `None` when the host applies none (or lends no
    /// instance services).
    pub request_gate: Option<RequestGateBox>,
}

impl std::fmt::Debug for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Init")
            .field("api_level", &self.api_level)
            .field("host_version", &self.host_version)
            .field("settings_json", &self.settings_json)
            .field("data_dir", &self.data_dir)
            .field("request_gate", &self.request_gate.is_some())
            .finish()
    }
}

/// The values the user entered at connect, by key, trimmed; empty ones are
/// left out. Values may be secrets: `Debug` shows keys only.
#[derive(Clone, Default)]
pub struct Inputs(Vec<(String, String)>);

impl Inputs {
    pub fn new(values: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            values
                .into_iter()
                .map(|(k, v)| (k, v.trim().to_string()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        )
    }
    /// The value of `key` (the last one if the host sent it twice).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl From<&[FieldValue]> for Inputs {
    fn from(values: &[FieldValue]) -> Self {
        Self::new(
            values
                .iter()
                .map(|v| (v.key.to_string(), v.value.to_string())),
        )
    }
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=[redacted]")))
            .finish()
    }
}

/// Whose account the credentials open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The service's stable id for the account.
    pub account_id: String,
    pub display_name: String,
}

/// A complaint about one input field; an empty `key` is about the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub key: String,
    pub message: String,
}

/// One step of the connect machine.
#[derive(Debug, Clone)]
pub enum Step {
    /// Ask the user for `fields` and call `continue_connect(flow_id, ...)`.
    NeedInput {
        flow_id: String,
        message: String,
        fields: Vec<FieldSpec>,
        errors: Vec<InputError>,
    },
    Done(Account),
    Failed(PluginError),
}

/// What the host asks of one sync run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The cursor last committed through the sink.
    pub cursor: Option<String>,
    /// Overrides the plugin's own per-run download cap when set.
    pub max_downloads: Option<u32>,
}

/// An item the plugin refused this run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub external_id: String,
    pub reason: String,
}

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub listed: u32,
    pub imported: u32,
    /// Already held, skipped without download or answered `Duplicate`.
    pub already_there: u32,
    pub rejected: Vec<Rejected>,
    /// Downloads that failed this run and were deferred for a later one.
    pub deferred: u32,
    /// More history remains (the download cap was reached).
    pub has_more: bool,
}

/// An importer, in plain Rust. Every method may panic: the adapter turns a
/// panic into an `internal` error and the host goes on.
///
/// The methods are async and run on the instance's own runtime
/// ([`ImporterPlugin::WORKER_THREADS`] workers), blocked on from the host's
/// calling thread; an implementation with nothing to await writes an
/// ordinary `async fn`. Everything they log through `tracing` reaches the
/// host's logger.
pub trait ImporterPlugin: Send + Sync + Sized + 'static {
    /// Worker threads of the instance's runtime.
    const WORKER_THREADS: usize = 2;

    /// The plugin's host-wide request budget for its remote service, shared
    /// by every connection (the operator may override it); `None`: none.
    /// A host that applies it lends the gate in [`Init::request_gate`].
    const REQUEST_BUDGET: Option<RequestBudget> = None;

    /// A new instance. Runs inside the instance's runtime context, so async
    /// clients may be built here.
    fn new(init: Init) -> Result<Self, PluginError>;

    /// Start connecting an account from the credential values the user gave.
    fn begin_connect(&self, ctx: &Connection, inputs: &Inputs) -> impl Future<Output = Step>;

    /// Continue a flow that answered [`Step::NeedInput`].
    fn continue_connect(
        &self,
        ctx: &Connection,
        flow_id: &str,
        inputs: &Inputs,
    ) -> impl Future<Output = Step>;

    /// Verify the stored credentials cheaply and say whose account they open.
    fn check(&self, ctx: &Connection) -> impl Future<Output = Result<Account, PluginError>>;

    /// One sync run; commits its cursor through the sink as items become
    /// durable.
    fn sync(
        &self,
        ctx: &SyncRun,
        request: &Request,
    ) -> impl Future<Output = Result<Summary, PluginError>>;

    /// Forget the connection: drop what is held in memory, delete what was
    /// stored.
    fn disconnect(&self, ctx: &Connection) -> impl Future<Output = Result<(), PluginError>>;
}

/// A shared instance is an instance: lets a test keep a handle on the
/// plugin the adapter drives.
impl<P: ImporterPlugin> ImporterPlugin for Arc<P> {
    const WORKER_THREADS: usize = P::WORKER_THREADS;
    const REQUEST_BUDGET: Option<RequestBudget> = P::REQUEST_BUDGET;

    fn new(init: Init) -> Result<Self, PluginError> {
        P::new(init).map(Arc::new)
    }
    fn begin_connect(&self, ctx: &Connection, inputs: &Inputs) -> impl Future<Output = Step> {
        (**self).begin_connect(ctx, inputs)
    }
    fn continue_connect(
        &self,
        ctx: &Connection,
        flow_id: &str,
        inputs: &Inputs,
    ) -> impl Future<Output = Step> {
        (**self).continue_connect(ctx, flow_id, inputs)
    }
    fn check(&self, ctx: &Connection) -> impl Future<Output = Result<Account, PluginError>> {
        (**self).check(ctx)
    }
    fn sync(
        &self,
        ctx: &SyncRun,
        request: &Request,
    ) -> impl Future<Output = Result<Summary, PluginError>> {
        (**self).sync(ctx, request)
    }
    fn disconnect(&self, ctx: &Connection) -> impl Future<Output = Result<(), PluginError>> {
        (**self).disconnect(ctx)
    }
}
