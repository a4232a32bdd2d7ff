//! `RequestGate`: the plugin-wide request budget the host lends a plugin
//! instance, backed by the state database's persisted limiter (shared by
//! every connection of the plugin, every user, and every process on this
//! server). Also where the effective budget is worked out: the plugin's
//! declared one, overridden or turned off by `[plugins.request_budget]`.

use crate::plugins::{BudgetConfig, PluginConfig};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, ROption, RResult};
use bincio_plugin_kit::guard;
use bincio_state::{BudgetLimits, StateDb};
use host_api::{
    PluginError, PluginRoot, RequestBudget, RequestGate, RequestGateBox, RequestGate_TO,
    RequestSlot,
};

/// How long every connection waits after a "too many requests" that named
/// no Retry-After.
pub const DEFAULT_COOLDOWN_SECS: u64 = 300;

/// The budget a plugin gets on this host: its own (through the optional
/// root-module field; plugins built before it have none), with the
/// operator's `plugin.toml` values on top; `None` when there is none or it
/// is turned off.
pub fn effective_budget(config: &PluginConfig, module: &PluginRoot) -> Option<BudgetLimits> {
    let declared = module
        .request_budget()
        .and_then(|f| Option::<RequestBudget>::from(f()));
    merge(declared, config.request_budget)
}

fn merge(declared: Option<RequestBudget>, config: Option<BudgetConfig>) -> Option<BudgetLimits> {
    if config.is_some_and(|c| !c.enabled) {
        return None;
    }
    let c = config.unwrap_or(BudgetConfig {
        enabled: true,
        requests: None,
        window_secs: None,
        burst: None,
    });
    let requests = c.requests.or(declared.map(|d| d.requests))?;
    let window_secs = c
        .window_secs
        .or(declared.map(|d| d.window_secs))
        .unwrap_or(60);
    let burst = c
        .burst
        .or(declared.map(|d| d.burst))
        .unwrap_or(1)
        .min(requests.saturating_sub(1).max(1));
    Some(BudgetLimits {
        requests: requests.max(1),
        window_ms: u64::from(window_secs.max(1)) * 1000,
        burst: burst.max(1),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Clone)]
pub struct BudgetGate {
    plugin_id: String,
    limits: BudgetLimits,
    db: StateDb,
}

impl BudgetGate {
    pub fn new(plugin_id: &str, limits: BudgetLimits, db: StateDb) -> Self {
        Self {
            plugin_id: plugin_id.to_string(),
            limits,
            db,
        }
    }

    pub fn limits(&self) -> BudgetLimits {
        self.limits
    }

    pub fn to_service(&self) -> RequestGateBox {
        RequestGate_TO::from_ptr(RArc::new(self.clone()), TD_Opaque)
    }
}

impl RequestGate for BudgetGate {
    fn reserve(&self, max_wait_ms: u64) -> RResult<RequestSlot, PluginError> {
        guard(|| {
            let now = now_ms();
            match self
                .db
                .reserve_request(&self.plugin_id, self.limits, now, max_wait_ms)
            {
                Ok(r) => RResult::ROk(RequestSlot {
                    granted: r.granted,
                    wait_ms: (r.at_ms - now).max(0) as u64,
                }),
                Err(e) => RResult::RErr(
                    PluginError::transient("the host could not reserve a request slot")
                        .with_detail(e.to_string()),
                ),
            }
        })
    }

    fn rate_limited(&self, retry_after_secs: ROption<u64>) {
        let secs = retry_after_secs
            .into_option()
            .unwrap_or(DEFAULT_COOLDOWN_SECS);
        let until = now_ms().saturating_add((secs as i64).saturating_mul(1000));
        let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.db.budget_cooldown(&self.plugin_id, self.limits, until)
        }));
        match stored {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: "host::budget", plugin = %self.plugin_id, "cannot store the rate-limit cooldown: {e}")
            }
            Err(_) => {
                tracing::error!(target: "host::budget", plugin = %self.plugin_id, "storing the rate-limit cooldown panicked")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(enabled: bool, requests: Option<u32>, burst: Option<u32>) -> Option<BudgetConfig> {
        Some(BudgetConfig {
            enabled,
            requests,
            window_secs: None,
            burst,
        })
    }

    #[test]
    fn the_operator_overrides_or_turns_off_the_declared_budget() {
        let garmin = Some(RequestBudget::per_minute(30, 5));
        let own = merge(garmin, None).unwrap();
        assert_eq!((own.requests, own.window_ms, own.burst), (30, 60_000, 5));
        let lower = merge(garmin, cfg(true, Some(10), None)).unwrap();
        assert_eq!((lower.requests, lower.burst), (10, 5));
        assert_eq!(merge(garmin, cfg(false, None, None)), None);
        // No declared budget and none configured: none.
        assert_eq!(merge(None, None), None);
        // Configured for a plugin that declares none.
        assert_eq!(merge(None, cfg(true, Some(8), None)).unwrap().burst, 1);
        // A burst never reaches the budget itself.
        assert_eq!(merge(garmin, cfg(true, Some(4), Some(9))).unwrap().burst, 3);
    }
}
