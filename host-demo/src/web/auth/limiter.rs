//! The sign-in attempt limiter: failed sign-ins counted per client address
//! and per handle in a fixed window; past the limit a sign-in is refused
//! (even with the right password) until the window ends, and the message
//! says when. In memory and bounded: each map holds at most
//! [`MAX_TRACKED`] keys; a full map first drops expired windows, then the
//! oldest, so a flood of addresses cannot grow it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The most addresses, and the most handles, tracked at once.
pub const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// "this address" or "this account".
    pub what: &'static str,
    pub retry_after_secs: i64,
}

impl std::fmt::Display for Limited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let minutes = (self.retry_after_secs + 59) / 60;
        write!(
            f,
            "too many failed sign-ins from {}; try again in {minutes} minute(s)",
            self.what
        )
    }
}

#[derive(Clone, Copy)]
struct Window {
    started: i64,
    failures: u32,
}

struct Counter {
    limit: u32,
    windows: HashMap<String, Window>,
    max_keys: usize,
}

impl Counter {
    fn check(&self, key: &str, now: i64, window: i64) -> Option<i64> {
        let w = self.windows.get(key)?;
        let ends = w.started.saturating_add(window);
        (now < ends && w.failures >= self.limit).then_some(ends - now)
    }

    fn fail(&mut self, key: &str, now: i64, window: i64) {
        if !self.windows.contains_key(key) && self.windows.len() >= self.max_keys {
            self.windows
                .retain(|_, w| now < w.started.saturating_add(window));
            if self.windows.len() >= self.max_keys {
                if let Some(oldest) = self
                    .windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| k.clone())
                {
                    self.windows.remove(&oldest);
                }
            }
        }
        let entry = self.windows.entry(key.to_string()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= entry.started.saturating_add(window) {
            *entry = Window {
                started: now,
                failures: 0,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
    }
}

pub struct AttemptLimiter {
    window_secs: i64,
    inner: Mutex<(Counter, Counter)>,
}

impl AttemptLimiter {
    pub fn new(per_ip: u32, per_handle: u32, window_secs: i64) -> Self {
        Self::with_capacity(per_ip, per_handle, window_secs, MAX_TRACKED)
    }

    pub fn with_capacity(per_ip: u32, per_handle: u32, window_secs: i64, max_keys: usize) -> Self {
        let counter = |limit| Counter {
            limit,
            windows: HashMap::new(),
            max_keys: max_keys.max(1),
        };
        Self {
            window_secs: window_secs.max(1),
            inner: Mutex::new((counter(per_ip), counter(per_handle))),
        }
    }

    /// Refuses a sign-in from `ip` for `handle` while either is over its limit.
    pub fn check(&self, ip: IpAddr, handle: &str, now: i64) -> Result<(), Limited> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = inner.0.check(&ip.to_string(), now, self.window_secs) {
            return Err(Limited {
                what: "this address",
                retry_after_secs: wait,
            });
        }
        if let Some(wait) = inner.1.check(handle, now, self.window_secs) {
            return Err(Limited {
                what: "this account",
                retry_after_secs: wait,
            });
        }
        Ok(())
    }

    pub fn record_failure(&self, ip: IpAddr, handle: &str, now: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.0.fail(&ip.to_string(), now, self.window_secs);
        inner.1.fail(handle, now, self.window_secs);
    }

    /// How many addresses and handles are tracked.
    pub fn tracked(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (inner.0.windows.len(), inner.1.windows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_handle_is_locked_after_its_limit_until_the_window_ends() {
        let l = AttemptLimiter::new(100, 3, 600);
        for i in 0..3 {
            assert!(l.check(ip(i), "ada", 1000).is_ok());
            l.record_failure(ip(i), "ada", 1000);
        }
        let err = l.check(ip(9), "ada", 1100).unwrap_err();
        assert_eq!(err.what, "this account");
        assert_eq!(err.retry_after_secs, 500);
        assert!(
            err.to_string().contains("try again in 9 minute(s)"),
            "{err}"
        );
        assert!(
            l.check(ip(9), "bob", 1100).is_ok(),
            "other handles unaffected"
        );
        assert!(l.check(ip(9), "ada", 1600).is_ok(), "the window ended");
    }

    #[test]
    fn an_address_is_locked_whatever_handles_it_tries() {
        let l = AttemptLimiter::new(2, 100, 600);
        l.record_failure(ip(1), "a", 0);
        l.record_failure(ip(1), "b", 0);
        assert_eq!(l.check(ip(1), "c", 1).unwrap_err().what, "this address");
        assert!(l.check(ip(2), "c", 1).is_ok());
    }

    #[test]
    fn the_tracked_keys_stay_bounded() {
        let l = AttemptLimiter::with_capacity(5, 5, 600, 50);
        for i in 0..1000 {
            l.record_failure(ip(i), &format!("user-{i}"), i64::from(i));
        }
        assert_eq!(l.tracked(), (50, 50));
        // The newest are kept, the oldest evicted.
        l.record_failure(ip(999), "user-999", 1000);
        assert!(l.tracked().0 <= 50);
    }
}
