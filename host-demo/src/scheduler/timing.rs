//! When a connection runs next: its interval (the user's setting within the plugin's bounds),
//! jitter so that many servers do not hit the service in lockstep, backoff after failures, a
//! service's `retry_after` honoured, and no run at all while the connection needs its user.

use crate::host::waits::{after, clamp_interval, clamp_rate_limit_wait};
use crate::host::{HostError, SyncReport};
use crate::plugins::{Descriptor, PluginConfig};
use bincio_backoff::{from_secs, Backoff, Jitter};
use host_api::ErrorKind;
use rand::Rng;

/// How far a next run may move from its nominal time, either way, so that
/// many servers do not hit the service in lockstep.
pub const JITTER_FRACTION: f64 = 0.1;
/// The longest wait after repeated failures.
pub const MAX_BACKOFF_SECS: i64 = 24 * 3600;

/// The sync interval in seconds for `config`'s plugin: the user's
/// `interval_minutes`, else the plugin's default; never below the plugin's
/// minimum; always within 1 s ..= [`crate::host::waits::MAX_INTERVAL_SECS`], whatever the
/// plugin declares.
pub fn interval_for(config: &PluginConfig, d: &Descriptor) -> i64 {
    let wanted = config
        .interval_minutes
        .map(|m| clamp_interval(m.saturating_mul(60)))
        .unwrap_or(clamp_interval(d.default_interval.as_secs()));
    wanted.max(clamp_interval(d.min_interval.as_secs()))
}

#[derive(Clone, Copy)]
pub(super) struct Policy {
    pub(super) interval: i64,
    pub(super) min_interval: i64,
}

/// When to run next, and the new count of consecutive failures; `None`
/// when the connection waits for its user.
pub(super) fn next_run(
    outcome: &Result<SyncReport, HostError>,
    now: i64,
    failures: u32,
    policy: Policy,
    rng: &mut impl Rng,
) -> (Option<i64>, u32) {
    let jitter = Jitter::around(JITTER_FRACTION);
    let error = match outcome {
        Ok(report) => match &report.result {
            Ok(summary) => {
                // Backfill continues sooner, but never below the minimum.
                let base = if summary.has_more {
                    policy.min_interval
                } else {
                    policy.interval
                };
                return (
                    Some(after(
                        now,
                        jitter.apply_secs(base, rng).max(policy.min_interval),
                    )),
                    0,
                );
            }
            Err(e) => match e.kind {
                ErrorKind::INVALID_CREDENTIALS | ErrorKind::NEEDS_USER_ACTION => {
                    return (None, failures.saturating_add(1))
                }
                ErrorKind::CANCELLED => return (Some(now), failures),
                _ => Some(e.retry_after()),
            },
        },
        Err(HostError::NeedsUser { .. } | HostError::DisclaimerNotAccepted { .. }) => {
            return (None, failures)
        }
        Err(HostError::CoolingDown { minutes, .. }) => {
            return (Some(after(now, minutes.saturating_mul(60))), failures);
        }
        Err(_) => None,
    };
    let failures = failures.saturating_add(1);
    let backoff = Backoff {
        base: from_secs(policy.min_interval),
        max: from_secs(MAX_BACKOFF_SECS),
        jitter,
    };
    let wait = backoff
        .delay_secs(failures - 1, rng)
        .max(policy.min_interval);
    let wait = match error.flatten() {
        Some(retry_after) => wait.max(clamp_rate_limit_wait(retry_after, "sync")),
        None => wait,
    };
    (Some(after(now, wait)), failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bincio_state::{ConnectionId, RunId};
    use host_api::{PluginError, SyncSummary};
    use rand::SeedableRng;

    const POLICY: Policy = Policy {
        interval: 6 * 3600,
        min_interval: 3600,
    };

    fn report(result: Result<SyncSummary, PluginError>) -> Result<SyncReport, HostError> {
        Ok(SyncReport {
            connection: ConnectionId::new("garmin-1"),
            run: RunId(1),
            result,
            committed: Default::default(),
        })
    }

    #[test]
    fn success_schedules_the_interval_within_the_jitter() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let (next, failures) = next_run(
                &report(Ok(SyncSummary::default())),
                1000,
                3,
                POLICY,
                &mut rng,
            );
            let wait = next.unwrap() - 1000;
            assert!((19_440..=23_760).contains(&wait), "{wait}");
            assert_eq!(failures, 0);
        }
    }

    #[test]
    fn failures_back_off_and_retry_after_wins() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let transient = || report(Err(PluginError::transient("5xx")));
        let (first, f1) = next_run(&transient(), 0, 0, POLICY, &mut rng);
        let (third, f3) = next_run(&transient(), 0, 2, POLICY, &mut rng);
        assert_eq!((f1, f3), (1, 3));
        assert!(first.unwrap() >= 3600 && third.unwrap() >= 4 * 3600 * 9 / 10);
        let limited = report(Err(PluginError::rate_limited("slow down", Some(50_000))));
        let (next, _) = next_run(&limited, 0, 0, POLICY, &mut rng);
        assert!(next.unwrap() >= 50_000);
    }

    #[test]
    fn extreme_retry_afters_and_times_saturate_within_a_day() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for huge in [u64::MAX, i64::MAX as u64, 99_999_999_999] {
            let limited = report(Err(PluginError::rate_limited("slow down", Some(huge))));
            let (next, _) = next_run(&limited, 1_000, u32::MAX, POLICY, &mut rng);
            let wait = next.unwrap() - 1_000;
            // A day, plus the backoff's jitter at most.
            assert!(
                (3600..=MAX_BACKOFF_SECS * 11 / 10).contains(&wait),
                "{huge}: {wait}"
            );
        }
        let (next, _) = next_run(
            &report(Ok(SyncSummary::default())),
            i64::MAX - 10,
            0,
            POLICY,
            &mut rng,
        );
        assert_eq!(next, Some(i64::MAX));
    }

    #[test]
    fn a_connection_that_needs_its_user_is_not_rescheduled() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (next, _) = next_run(
            &report(Err(PluginError::invalid_credentials("bad password"))),
            0,
            0,
            POLICY,
            &mut rng,
        );
        assert_eq!(next, None);
    }
}
