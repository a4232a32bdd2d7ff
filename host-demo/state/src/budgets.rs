//! Plugin-wide request budgets: one limiter per plugin, shared by every
//! connection (and every process) on this server, persisted so that a
//! restart does not hand out a fresh burst.
//!
//! The limiter is a GCRA (a token bucket kept as one timestamp): slots are
//! `window / (requests − burst)` apart, and up to `burst` may be taken back
//! to back, so any window holds at most `burst + (requests − burst)` =
//! `requests` slots. A "too many requests" answer to any connection starts a
//! cooldown: no slot before it ends, and none in a burst right after it.

use crate::db::StateDb;
use crate::error::{sql, StateError};
use rusqlite::{params, OptionalExtension};

/// A budget's numbers: at most `requests` in any `window_ms`, at most
/// `burst` back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetLimits {
    pub requests: u32,
    pub window_ms: u64,
    pub burst: u32,
}

impl BudgetLimits {
    /// Milliseconds between slots once the burst is spent, and the burst
    /// tolerance. `burst` is kept within 1..requests so that the window
    /// bound holds (a single request per window: no burst).
    fn spacing(self) -> (i64, i64) {
        let requests = self.requests.max(1) as i64;
        let burst = (self.burst as i64).clamp(1, (requests - 1).max(1));
        let paced = (requests - burst).max(1);
        let interval = (self.window_ms as i64 / paced).max(1);
        (interval, (burst - 1) * interval)
    }
}

/// Answer to [`StateDb::reserve_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Whether a slot was taken.
    pub granted: bool,
    /// When the (taken or next) slot is, ms since the epoch.
    pub at_ms: i64,
}

impl StateDb {
    /// Takes the plugin's next request slot at `now_ms` or later, unless it
    /// is further away than `max_wait_ms` (then nothing is taken). One write
    /// transaction: processes sharing the database share the budget.
    pub fn reserve_request(
        &self,
        plugin_id: &str,
        limits: BudgetLimits,
        now_ms: i64,
        max_wait_ms: u64,
    ) -> Result<Reservation, StateError> {
        let (interval, tolerance) = limits.spacing();
        self.write("reserve a request slot", |tx| {
            let row: Option<(i64, i64)> = tx
                .query_row(
                    "SELECT tat_ms, cooldown_until_ms FROM request_budgets WHERE plugin_id = ?1",
                    [plugin_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql("read request budget"))?;
            let (tat, cooldown_until) = row.unwrap_or((now_ms, 0));
            let tat = tat.max(now_ms);
            let at = (tat - tolerance).max(now_ms).max(cooldown_until);
            if at - now_ms > i64::try_from(max_wait_ms).unwrap_or(i64::MAX) {
                return Ok(Reservation {
                    granted: false,
                    at_ms: at,
                });
            }
            // The slot is at `at`; the next one is one interval later, and a
            // burst can only build up again from there.
            let next_tat = tat.max(at) + interval;
            tx.execute(
                "INSERT INTO request_budgets (plugin_id, tat_ms, cooldown_until_ms)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT(plugin_id) DO UPDATE SET tat_ms = excluded.tat_ms",
                params![plugin_id, next_tat, cooldown_until],
            )
            .map_err(sql("store request budget"))?;
            Ok::<_, StateError>(Reservation {
                granted: true,
                at_ms: at,
            })
        })
    }

    /// Starts (or lengthens) the plugin-wide cooldown until `until_ms`: a
    /// "too many requests" to one account slows every account. The limiter
    /// restarts from the cooldown's end without a burst.
    pub fn budget_cooldown(
        &self,
        plugin_id: &str,
        limits: BudgetLimits,
        until_ms: i64,
    ) -> Result<(), StateError> {
        let (_, tolerance) = limits.spacing();
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO request_budgets (plugin_id, tat_ms, cooldown_until_ms)
                 VALUES (?1, ?2 + ?3, ?2)
                 ON CONFLICT(plugin_id) DO UPDATE SET
                     cooldown_until_ms = MAX(cooldown_until_ms, excluded.cooldown_until_ms),
                     tat_ms = MAX(tat_ms, excluded.tat_ms)",
                params![plugin_id, until_ms, tolerance],
            )
            .map_err(sql("store request budget cooldown"))
        })?;
        tracing::info!(
            plugin_id,
            until_ms,
            "request budget cooling down after a rate limit"
        );
        Ok(())
    }

    /// The plugin's cooldown end, if one is in force at `now_ms`.
    pub fn budget_cooldown_until(
        &self,
        plugin_id: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StateError> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT cooldown_until_ms FROM request_budgets
                 WHERE plugin_id = ?1 AND cooldown_until_ms > ?2",
                params![plugin_id, now_ms],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read request budget cooldown"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, StateDb) {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.sqlite")).unwrap();
        (dir, db)
    }

    const LIMITS: BudgetLimits = BudgetLimits {
        requests: 30,
        window_ms: 60_000,
        burst: 5,
    };

    /// Grants as fast as the limiter allows, starting at `start`.
    fn grants(db: &StateDb, n: usize, start: i64) -> Vec<i64> {
        let mut now = start;
        (0..n)
            .map(|_| {
                let r = db.reserve_request("p", LIMITS, now, u64::MAX).unwrap();
                assert!(r.granted);
                now = r.at_ms;
                r.at_ms
            })
            .collect()
    }

    #[test]
    fn no_window_holds_more_than_the_budget_and_bursts_are_bounded() {
        let (_d, db) = db();
        let at = grants(&db, 200, 1_000_000);
        // The burst: 5 at once, then spaced.
        assert!(at[..5].iter().all(|t| *t == at[0]));
        assert!(at[5] > at[0]);
        for (i, t) in at.iter().enumerate() {
            let in_window = at[i..].iter().take_while(|u| **u < t + 60_000).count();
            assert!(in_window <= 30, "{in_window} slots in the minute from {t}");
            let back_to_back = at[i..].iter().take_while(|u| **u == *t).count();
            assert!(back_to_back <= 5);
        }
        // And the budget is used: the last minutes hold exactly 30 - 5 + ... at least 25.
        let last = *at.last().unwrap();
        assert!(at.iter().filter(|t| **t > last - 60_000).count() >= 25);
    }

    #[test]
    fn a_slot_too_far_away_is_not_taken_and_a_restart_keeps_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let db = StateDb::open(&path).unwrap();
        for _ in 0..5 {
            assert!(db.reserve_request("p", LIMITS, 0, 0).unwrap().granted);
        }
        let refused = db.reserve_request("p", LIMITS, 0, 1000).unwrap();
        assert!(!refused.granted);
        assert!(refused.at_ms > 1000);
        drop(db);
        // A restart does not hand out a new burst.
        let db = StateDb::open(&path).unwrap();
        assert!(!db.reserve_request("p", LIMITS, 0, 0).unwrap().granted);
        // Another plugin has its own budget.
        assert!(db.reserve_request("q", LIMITS, 0, 0).unwrap().granted);
    }

    #[test]
    fn a_cooldown_holds_every_slot_back_and_allows_no_burst_after_it() {
        let (_d, db) = db();
        db.budget_cooldown("p", LIMITS, 50_000).unwrap();
        assert_eq!(db.budget_cooldown_until("p", 0).unwrap(), Some(50_000));
        assert_eq!(db.budget_cooldown_until("p", 50_000).unwrap(), None);
        let at = grants(&db, 3, 0);
        assert_eq!(at[0], 50_000);
        assert!(at[1] > at[0] && at[2] > at[1], "{at:?}");
        // A shorter cooldown does not shorten a longer one.
        db.budget_cooldown("p", LIMITS, 10_000).unwrap();
        assert_eq!(db.budget_cooldown_until("p", 0).unwrap(), Some(50_000));
    }
}
