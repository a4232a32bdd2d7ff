//! Connecting an account: a small step machine driven by the host.
//!
//! The host calls `begin_connect` with the credential values the user gave.
//! The plugin answers [`ConnectStep::Done`], [`ConnectStep::Failed`], or
//! [`ConnectStep::NeedInput`] when it needs more (an MFA code); the host then
//! asks for exactly those fields and calls `continue_connect` with the same
//! `flow_id`. A pending flow lives in the plugin's memory with a time limit: a
//! host restart mid-flow means starting again.

use crate::{descriptor::FieldSpec, error::PluginError};
use abi_stable::{
    std_types::{RString, RVec},
    StableAbi,
};

/// One value the user entered. Values may be secrets: never log them.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq)]
pub struct FieldValue {
    pub key: RString,
    pub value: RString,
}

impl FieldValue {
    pub fn new(key: &str, value: &str) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl std::fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldValue({}=[redacted])", self.key)
    }
}

/// A complaint about one field; an empty `key` is about the form as a whole.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FieldError {
    pub key: RString,
    pub message: RString,
}

#[repr(u8)]
#[derive(StableAbi, Clone, Debug)]
pub enum ConnectStep {
    /// Ask the user for `fields` and call `continue_connect(flow_id, ...)`.
    NeedInput {
        flow_id: RString,
        message: RString,
        fields: RVec<FieldSpec>,
        errors: RVec<FieldError>,
    },
    /// Connected. `account_id` is the service's stable id for the account.
    Done {
        account_id: RString,
        display_name: RString,
    },
    Failed(PluginError),
}
