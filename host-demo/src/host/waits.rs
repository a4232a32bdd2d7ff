//! Bounds on every wait a server or a plugin asks the host for: a
//! `Retry-After` at a 429, a plugin's declared intervals, a cooldown read
//! back from the state database. A hostile or broken peer must not crash the
//! host (overflowing `now + wait`) nor freeze an account for millennia, so
//! each wait is clamped to a sane maximum, the clamp is logged, and every
//! time sum saturates.

use bincio_state::UnixSeconds;

/// The longest wait honoured after a "too many requests" (login or sync): a
/// day. Longer asks are clamped, and the clamp is logged.
pub const MAX_RATE_LIMIT_WAIT_SECS: u64 = 24 * 3600;

/// The longest sync interval the host schedules: 31 days, whatever a plugin
/// declares (its default or minimum) or the user sets.
pub const MAX_INTERVAL_SECS: u64 = 31 * 24 * 3600;

/// `requested` seconds (from a server or a plugin), at most
/// [`MAX_RATE_LIMIT_WAIT_SECS`]; a longer ask is logged with both values.
pub fn clamp_rate_limit_wait(requested: u64, what: &str) -> i64 {
    if requested > MAX_RATE_LIMIT_WAIT_SECS {
        tracing::warn!(
            target: "host::waits",
            requested_secs = requested,
            clamped_secs = MAX_RATE_LIMIT_WAIT_SECS,
            "{what}: the service asked to wait {requested} s; waiting {MAX_RATE_LIMIT_WAIT_SECS} s (the host's maximum) instead"
        );
    }
    secs_i64(requested.min(MAX_RATE_LIMIT_WAIT_SECS))
}

/// A plugin-declared or configured interval in seconds, within 1 s ..= [`MAX_INTERVAL_SECS`].
pub fn clamp_interval(secs: u64) -> i64 {
    secs_i64(secs.clamp(1, MAX_INTERVAL_SECS))
}

/// `secs` as i64, saturating at `i64::MAX` (never wrapping to a negative).
pub fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// `now + secs`, saturating.
pub fn after(now: UnixSeconds, secs: i64) -> UnixSeconds {
    now.saturating_add(secs)
}

/// A stored cooldown end, as the host honours it: at most
/// [`MAX_RATE_LIMIT_WAIT_SECS`] after `now` (a cooldown stored by an older
/// host from a hostile `Retry-After` may lie in year 9999).
pub fn honoured_until(until: UnixSeconds, now: UnixSeconds) -> UnixSeconds {
    until.min(after(now, secs_i64(MAX_RATE_LIMIT_WAIT_SECS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_asks_are_clamped_and_sums_saturate() {
        for huge in [u64::MAX, i64::MAX as u64, 99_999_999_999] {
            assert_eq!(clamp_rate_limit_wait(huge, "test"), 24 * 3600);
        }
        assert_eq!(clamp_rate_limit_wait(120, "test"), 120);
        assert_eq!(after(i64::MAX - 1, 10), i64::MAX);
        assert_eq!(clamp_interval(u64::MAX), 31 * 24 * 3600);
        assert_eq!(clamp_interval(0), 1);
        assert_eq!(secs_i64(u64::MAX), i64::MAX);
        assert_eq!(honoured_until(i64::MAX, 1000), 1000 + 24 * 3600);
        assert_eq!(honoured_until(2000, 1000), 2000);
    }
}
