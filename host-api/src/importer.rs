//! The object a plugin hands the host: one per plugin instance, shared by all
//! of that plugin's connections (each call carries its connection's context).
//!
//! All methods are blocking: the host calls them from a blocking thread, and
//! the plugin runs its own async runtime inside if it wants one (tokio's
//! runtime context does not cross a dylib boundary).

use crate::{
    connect::{ConnectStep, FieldValue},
    error::PluginError,
    services::{ConnectionContext, SyncContext},
};
use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RResult, RString, RVec},
    StableAbi,
};

#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct AccountInfo {
    pub account_id: RString,
    pub display_name: RString,
}

#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default)]
pub struct SyncRequest {
    /// The cursor last committed through `ImportSink::commit`.
    pub cursor: ROption<RString>,
    /// Overrides the plugin's own per-run download cap when set.
    pub max_downloads: ROption<u32>,
}

#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Rejection {
    pub external_id: RString,
    pub reason: RString,
}

#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default, PartialEq)]
pub struct SyncSummary {
    pub listed: u32,
    pub imported: u32,
    /// Already held, skipped without download or answered `Duplicate`.
    pub already_there: u32,
    pub rejected: RVec<Rejection>,
    /// Downloads that failed this run and were deferred for a later one.
    pub deferred: u32,
    /// More history remains (the download cap was reached).
    pub has_more: bool,
}

#[sabi_trait]
pub trait Importer: Send + Sync {
    /// Start connecting an account from the credential values the user gave.
    fn begin_connect(&self, ctx: ConnectionContext, inputs: RVec<FieldValue>) -> ConnectStep;

    /// Continue a flow that answered `NeedInput`.
    fn continue_connect(
        &self,
        ctx: ConnectionContext,
        flow_id: RString,
        inputs: RVec<FieldValue>,
    ) -> ConnectStep;

    /// Verify the stored credentials cheaply and say whose account they open.
    fn check(&self, ctx: ConnectionContext) -> RResult<AccountInfo, PluginError>;

    /// One sync run. Commits its cursor through the sink as items become
    /// durable; returns when done, capped, cancelled or failed.
    fn sync(&self, ctx: SyncContext, request: SyncRequest) -> RResult<SyncSummary, PluginError>;

    /// Forget the connection: the plugin drops what it holds in memory and
    /// deletes what it stored. The host deletes the rest.
    #[sabi(last_prefix_field)]
    fn disconnect(&self, ctx: ConnectionContext) -> RResult<(), PluginError>;
}

pub type ImporterBox = Importer_TO<'static, RBox<()>>;
