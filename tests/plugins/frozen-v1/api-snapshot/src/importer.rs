//! The object a plugin hands the host: one per plugin instance, shared by all
//! of that plugin's connections (each call carries its connection's context).
//!
//! All methods are blocking: the host calls them from a blocking thread, and
//! the plugin runs its own async runtime inside if it wants one (tokio's
//! runtime context does not cross a dylib boundary).

use crate::{
    connect::{ConnectStep_NE, FieldValue},
    error::PluginError,
    services::{ConnectionContext, SyncContext},
};
use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RResult, RString, RVec},
    StableAbi,
};

/// Whose account a connection's credentials open.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct AccountInfo {
    /// The service's stable id for the account.
    pub account_id: RString,
    /// A name the user recognises the account by.
    pub display_name: RString,
}

/// What one sync run is asked to do.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default)]
pub struct SyncRequest {
    /// The cursor last committed through `ImportSink::commit`.
    pub cursor: ROption<RString>,
    /// Overrides the plugin's own per-run download cap when set.
    pub max_downloads: ROption<u32>,
}

/// An item refused for good this run, and why.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Rejection {
    /// The source's id for the item.
    pub external_id: RString,
    /// Why, for the user.
    pub reason: RString,
}

/// What one sync run did, counted by the plugin.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default, PartialEq)]
pub struct SyncSummary {
    /// Items the service listed in the part of history this run looked at.
    pub listed: u32,
    /// Items the pipeline answered `Imported`.
    pub imported: u32,
    /// Already held, skipped without download or answered `Duplicate`.
    pub already_there: u32,
    /// Items refused for good (by the plugin or the pipeline), with reasons.
    pub rejected: RVec<Rejection>,
    /// Downloads that failed this run and were deferred for a later one.
    pub deferred: u32,
    /// More history remains (the download cap was reached).
    pub has_more: bool,
}

/// A plugin instance: connects accounts and syncs them. Built by
/// [`crate::PluginModule::create`]; the host keeps one per plugin and calls it
/// from several threads.
#[sabi_trait]
pub trait Importer: Send + Sync {
    /// Start connecting an account from the credential values the user gave.
    /// The step crosses as [`ConnectStep_NE`]: build it with
    /// `ConnectStep::...into()`, read it with [`crate::ConnectStep::from_abi`].
    fn begin_connect(&self, ctx: ConnectionContext, inputs: RVec<FieldValue>) -> ConnectStep_NE;

    /// Continue a flow that answered `NeedInput`.
    fn continue_connect(
        &self,
        ctx: ConnectionContext,
        flow_id: RString,
        inputs: RVec<FieldValue>,
    ) -> ConnectStep_NE;

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

/// An owned [`Importer`] trait object, as `create` returns it.
pub type ImporterBox = Importer_TO<'static, RBox<()>>;
