//! The host's plugin-wide request budget as the Garmin plugin uses it: the
//! budget it declares, the wait for a slot before each connectapi request,
//! and the report of a 429. The one place the plugin speaks to the host's
//! request gate ([`crate::api`] calls it; the SSO/DI client does not).

use crate::errors::{GarminError, Result};
use crate::settings::Settings;
use host_api::{RequestBudget, RequestGateBox};
use std::time::Duration;

/// Garmin limits by IP, not by account: 30 requests a minute across every
/// account this server syncs, at most 5 back to back (conservative; the
/// operator may change it in `plugin.toml`).
pub const REQUEST_BUDGET: RequestBudget = RequestBudget::per_minute(30, 5);

/// The host's request gate, or none (a host that applies no budget, or an
/// older host that lends no instance services).
#[derive(Clone, Default)]
pub struct Budget(Option<RequestGateBox>);

impl Budget {
    /// Asks `gate` before each request; `None`: never waits.
    pub fn new(gate: Option<RequestGateBox>) -> Self {
        Self(gate)
    }

    /// Waits for a slot of the budget (shared by every account on the
    /// server) before one request; cancellable while waiting. A slot further
    /// away than `max_inline_wait_secs` ends the call as rate limited, so the
    /// host reschedules the run instead of a thread sleeping.
    pub async fn wait_for_slot(
        &self,
        settings: &Settings,
        cancelled: &crate::auth::CancelFn,
    ) -> Result<()> {
        let Some(gate) = &self.0 else {
            return Ok(());
        };
        let max_wait_ms = settings.max_inline_wait_secs.saturating_mul(1000);
        let slot = gate
            .reserve(max_wait_ms)
            .into_result()
            .map_err(|e| GarminError::transient("request budget", e.user_message.to_string()))?;
        if !slot.granted {
            let secs = slot.wait_ms.div_ceil(1000);
            return Err(GarminError::rate_limited(
                "request budget",
                Some(secs),
                secs,
            ));
        }
        let mut left = Duration::from_millis(slot.wait_ms);
        while !left.is_zero() {
            if cancelled() {
                return Err(GarminError::Cancelled);
            }
            let step = left.min(Duration::from_millis(200));
            tokio::time::sleep(step).await;
            left -= step;
        }
        Ok(())
    }

    /// Garmin answered 429 (to any account): every connection waits
    /// `retry_after_secs`, or the host's default.
    pub fn rate_limited(&self, retry_after_secs: Option<u64>) {
        if let Some(gate) = &self.0 {
            gate.rate_limited(retry_after_secs.into());
        }
    }
}
