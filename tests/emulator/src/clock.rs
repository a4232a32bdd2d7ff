//! The virtual clock: real time plus an offset that tests advance, so token expiry can be crossed
//! without waiting. Every expiry decision of the emulator reads this clock.

use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

/// Real UTC time shifted forward by an adjustable offset.
#[derive(Debug, Default)]
pub struct VirtualClock {
    offset: Mutex<Duration>,
}

impl VirtualClock {
    /// The emulator's "now".
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + *self.offset.lock().expect("clock lock")
    }

    /// Seconds since the Unix epoch, as JWT claims use them.
    pub fn now_unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock") += by;
    }

    /// How far the clock is ahead of real time.
    pub fn offset(&self) -> Duration {
        *self.offset.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_by_at_least_the_offset() {
        let clock = VirtualClock::default();
        let before = clock.now_unix();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_unix() >= before + 3600);
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }
}
