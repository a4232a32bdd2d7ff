//! Jittered exponential backoff, the one helper for every randomised wait of the workspace:
//! the host's scheduler (interval ±10 %, backoff after failed runs), the state database's
//! per-item retries, and a plugin's pacing and retries (the Garmin plugin).
//!
//! A [`Jitter`] scales a wait by a random factor from a range, so that many waits started
//! together do not end together; a [`Backoff`] doubles a base wait per retry up to a cap,
//! then applies its jitter. Arithmetic saturates: no wait, however absurd its inputs,
//! overflows or panics.
//!
//! It lives beside `host-api` because both sides of the plugin boundary use it and neither
//! may depend on the other; it holds no ABI type (nothing of it crosses the boundary).

#![forbid(unsafe_code)]

use rand::Rng;
use std::time::Duration;

/// Most doublings a backoff makes (2^32 times the base is past any sane cap).
const MAX_DOUBLINGS: u32 = 32;

/// A random factor from `[low, high]` applied to a wait.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter {
    pub low: f64,
    pub high: f64,
}

impl Jitter {
    /// No randomness: the wait as it is.
    pub const NONE: Jitter = Jitter {
        low: 1.0,
        high: 1.0,
    };

    /// `[1 - fraction, 1 + fraction]`: never systematically early or late.
    pub const fn around(fraction: f64) -> Self {
        Jitter {
            low: 1.0 - fraction,
            high: 1.0 + fraction,
        }
    }

    /// `[1 - fraction, 1]`: up to `fraction` earlier, never later than the wait itself.
    pub const fn below(fraction: f64) -> Self {
        Jitter {
            low: 1.0 - fraction,
            high: 1.0,
        }
    }

    /// `wait` scaled by a factor drawn from the range (its `low` end when the range is empty).
    /// A zero wait stays zero; a negative or NaN factor gives zero; an overflow gives
    /// `Duration::MAX`.
    pub fn apply<R: Rng + ?Sized>(&self, wait: Duration, rng: &mut R) -> Duration {
        if wait.is_zero() {
            return Duration::ZERO;
        }
        let factor = if self.high > self.low {
            rng.gen_range(self.low..=self.high)
        } else {
            self.low
        };
        scale(wait, factor)
    }

    /// [`apply`](Self::apply) to whole seconds (rounded; a negative wait counts as zero).
    pub fn apply_secs<R: Rng + ?Sized>(&self, secs: i64, rng: &mut R) -> i64 {
        to_secs(self.apply(from_secs(secs), rng))
    }
}

/// `base × 2^retry`, at most `max`, then scaled by `jitter`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The wait before the first retry (retry 0).
    pub base: Duration,
    /// The longest wait before jitter.
    pub max: Duration,
    pub jitter: Jitter,
}

impl Backoff {
    /// The wait before retry `retry` (0 is the first), without jitter.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let doubled = self
            .base
            .checked_mul(1u32 << retry.min(MAX_DOUBLINGS - 1))
            .unwrap_or(Duration::MAX);
        doubled.min(self.max)
    }

    /// The wait before retry `retry` (0 is the first), with jitter.
    pub fn delay<R: Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        self.jitter.apply(self.ceiling(retry), rng)
    }

    /// [`delay`](Self::delay) in whole seconds (rounded, saturating at `i64::MAX`).
    pub fn delay_secs<R: Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> i64 {
        to_secs(self.delay(retry, rng))
    }

    /// [`ceiling`](Self::ceiling) in whole seconds.
    pub fn ceiling_secs(&self, retry: u32) -> i64 {
        to_secs(self.ceiling(retry))
    }
}

/// `wait × factor`, saturating at `Duration::MAX` (`mul_f64` panics on overflow); a negative
/// or NaN factor is zero.
fn scale(wait: Duration, factor: f64) -> Duration {
    if factor.is_nan() || factor <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(wait.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// Seconds as a wait (a negative count is zero).
pub fn from_secs(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// A wait in whole seconds, rounded, saturating at `i64::MAX`.
pub fn to_secs(wait: Duration) -> i64 {
    // `as` saturates for floats; exact below 2^53 s, and nothing here is near it.
    wait.as_secs_f64().round() as i64
}

#[cfg(test)]
mod tests;
