//! Connecting an account: a small step machine driven by the host.
//!
//! The host calls `begin_connect` with the credential values the user gave.
//! The plugin answers [`ConnectStep::Done`], [`ConnectStep::Failed`], or
//! [`ConnectStep::NeedInput`] when it needs more (an MFA code); the host then
//! asks for exactly those fields and calls `continue_connect` with the same
//! `flow_id`. A pending flow lives in the plugin's memory with a time limit: a
//! host restart mid-flow means starting again.
//!
//! [`ConnectStep`] crosses the boundary as [`ConnectStep_NE`], abi_stable's
//! non-exhaustive wrapper: see [`crate::grow`] for what that does and does
//! not allow.

use crate::{descriptor::FieldSpec, error::PluginError, grow::UnknownVariant};
use abi_stable::{
    nonexhaustive_enum::NonExhaustive,
    std_types::{RString, RVec},
    StableAbi,
};

/// One value the user entered. Values may be secrets: never log them (the
/// `Debug` output redacts `value`).
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq)]
pub struct FieldValue {
    /// The [`FieldSpec::key`] this value answers.
    pub key: RString,
    /// What the user entered, as text (file contents for secret files).
    pub value: RString,
}

impl FieldValue {
    /// A value for the field `key`.
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
    /// The field complained about, or empty for the whole form.
    pub key: RString,
    /// What is wrong, for the user; never contains the value itself.
    pub message: RString,
}

/// Where a connect flow stands after one call.
///
/// Non-exhaustive: it crosses the boundary wrapped in [`ConnectStep_NE`]
/// (`step.into()`), and the receiving side unwraps it with
/// [`ConnectStep::from_abi`], which reports a variant it does not know (from
/// a plugin built against a newer `host-api`) as an error instead of
/// misreading it.
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
#[sabi(kind(WithNonExhaustive(
    // Room for variants added later: today's largest (NeedInput) takes 17
    // words. The size is part of the layout and can never change.
    size = [usize; 32],
    traits(Debug, Clone, PartialEq),
)))]
#[non_exhaustive]
pub enum ConnectStep {
    /// Ask the user for `fields` and call `continue_connect(flow_id, ...)`.
    NeedInput {
        /// The plugin's id for the pending flow; passed back unchanged.
        flow_id: RString,
        /// What to tell the user (e.g. "Enter the code Garmin e-mailed you").
        message: RString,
        /// The fields to ask for now (e.g. a one-time code).
        fields: RVec<FieldSpec>,
        /// Complaints about the previous answer (a wrong code), if any.
        errors: RVec<FieldError>,
    },
    /// Connected. `account_id` is the service's stable id for the account.
    Done {
        /// The service's stable id for the account (the same across logins).
        account_id: RString,
        /// A name the user recognises the account by.
        display_name: RString,
    },
    /// The flow ended without a connection; the error says why and what to do.
    Failed(PluginError),
}

impl ConnectStep {
    /// Unwraps a step that crossed the boundary.
    ///
    /// # Errors
    /// [`UnknownVariant`] when the other side sent a variant this build of
    /// `host-api` does not know.
    pub fn from_abi(step: ConnectStep_NE) -> Result<Self, UnknownVariant> {
        crate::grow::known(step, "ConnectStep")
    }
}

impl From<ConnectStep> for ConnectStep_NE {
    fn from(step: ConnectStep) -> Self {
        NonExhaustive::new(step)
    }
}
