//! The host-wide request budget of a plugin's remote service, and the gate
//! the plugin asks before each request.
//!
//! A service that rate-limits by IP (Garmin does) sees one server, however
//! many accounts sync from it, so the budget is the plugin's, not a
//! connection's: the host shares it between every connection of the plugin
//! and persists it across restarts. A plugin declares its budget through the
//! level-2 root-module field `request_budget`; the operator may override it
//! in `plugin.toml`. The gate reaches the plugin through the level-2
//! root-module field `create_with_services` (an [`InstanceServices`] prefix
//! type): plugins built before either existed still load, unbudgeted.

use crate::error::PluginError;
use abi_stable::{
    sabi_trait,
    std_types::{RArc, ROption, RResult},
    StableAbi,
};

/// At most `requests` requests in any `window_secs`, across every connection
/// of the plugin, and at most `burst` back to back.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestBudget {
    /// Requests allowed in any window.
    pub requests: u32,
    /// The window's length in seconds.
    pub window_secs: u32,
    /// Requests allowed back to back.
    pub burst: u32,
}

impl RequestBudget {
    /// `requests` per minute with at most `burst` back to back.
    pub const fn per_minute(requests: u32, burst: u32) -> Self {
        Self {
            requests,
            window_secs: 60,
            burst,
        }
    }
}

/// What the gate answers to a request for a slot.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestSlot {
    /// The slot is reserved: send after waiting `wait_ms`. When false,
    /// nothing was reserved: the next slot is further away than the caller
    /// would wait, `wait_ms` from now; end the run as rate limited.
    pub granted: bool,
    /// How long until the slot (granted) or the next free one (refused).
    pub wait_ms: u64,
}

/// The host's share of the plugin's budget. Non-blocking: the plugin does
/// the waiting (on its own runtime, watching its cancel flag).
#[sabi_trait]
pub trait RequestGate: Clone + Send + Sync {
    /// Reserves the next request slot if it is at most `max_wait_ms` away.
    fn reserve(&self, max_wait_ms: u64) -> RResult<RequestSlot, PluginError>;
    /// The service answered "too many requests" (to any account): every
    /// connection of the plugin waits `retry_after_secs`, or the host's
    /// default when the service gave none.
    fn rate_limited(&self, retry_after_secs: ROption<u64>);
}
/// The gate as the host lends it (shared, `Clone`).
pub type RequestGateBox = RequestGate_TO<'static, RArc<()>>;

/// Services the host lends a whole plugin instance (shared by all its
/// connections). A prefix type: a later API level appends fields after
/// `request_gate`, and a plugin reads them through accessors that answer
/// `None` on an older host.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = InstanceServices_Ref)))]
pub struct InstanceServices {
    /// `None` when the host applies no budget to this plugin. A reference
    /// (prefix-type fields are read by copy) to a gate the host keeps alive
    /// for the process's lifetime.
    #[sabi(last_prefix_field)]
    pub request_gate: ROption<&'static RequestGateBox>,
}
