//! The contract between the BincioActivity host and its importer plugins.
//!
//! Everything in this crate crosses a dynamic-library boundary, so every type is
//! `#[repr(C)]` + [`StableAbi`](abi_stable::StableAbi) and uses abi_stable's
//! `R*` std replacements. Nothing else lives here: the plugin-side helpers
//! (panic guard, log bridge, runtime, export macro) are in `bincio-plugin-kit`.
//!
//! How a plugin is used, in order:
//! 1. The host loads the library and gets its [`root::PluginModule_Ref`].
//! 2. [`root::PluginModule::descriptor`] says who the plugin is, which
//!    credentials and settings it takes and what the user must accept
//!    ([`descriptor`]).
//! 3. [`root::PluginModule::create`] builds an [`importer::ImporterBox`] from a
//!    [`root::HostInit`] (settings, logger).
//! 4. The host drives connect ([`connect`]), `check`, `sync` and `disconnect`
//!    on it, passing host services ([`services`]) scoped to one connection.
//! 5. Every failure is a [`error::PluginError`] whose kind tells the host how
//!    to react (retry, back off, pause and ask the user).
//!
//! Rules for plugin authors are in the README of this crate.

// abi_stable's derive and sabi_trait macros expand to items these lints flag; the
// generated names (`Foo_Ref`, `Foo_TO`, `Foo_NE`) are the crate's public vocabulary.
#![allow(non_local_definitions, non_camel_case_types)]
#![warn(missing_docs)]

pub mod budget;
pub mod connect;
pub mod descriptor;
pub mod error;
pub mod grow;
pub mod importer;
pub mod root;
pub mod services;

pub use budget::{
    InstanceServices, InstanceServices_Ref, RequestBudget, RequestGate, RequestGateBox,
    RequestGate_TO, RequestSlot,
};
pub use connect::{ConnectStep, ConnectStep_NE, FieldError, FieldValue};
pub use descriptor::{
    Capabilities, Disclaimer, FieldFlags, FieldKind, FieldSpec, PluginDescriptor,
};
pub use error::{ErrorKind, PluginError};
pub use grow::UnknownVariant;
pub use importer::{
    AccountInfo, Importer, ImporterBox, Importer_TO, Rejection, SyncRequest, SyncSummary,
};
pub use root::{HostInit, PluginModule, PluginModule_Ref, PluginRoot, API_LEVEL, MIN_API_LEVEL};
pub use services::{
    Cancel, CancelBox, Cancel_TO, ConnectionContext, ImportItem, ImportOutcome, ImportOutcome_NE,
    ImportSink, ImportSinkBox, ImportSink_TO, LogLevel, Logger, LoggerBox, Logger_TO, PendingRetry,
    Progress, ProgressBox, Progress_TO, SecretStore, SecretStoreBox, SecretStore_TO, SyncContext,
};
