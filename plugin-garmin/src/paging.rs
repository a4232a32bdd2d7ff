//! How a sync run pages through the activity list: until an empty page (a
//! short page is not the end: Garmin caps `limit` on some endpoints), the
//! backfill in explicit date windows (`startDate` and `endDate`, never an
//! end alone), and the two bounds that keep a list that never ends from
//! keeping a run busy: a budget of list requests per run, and a stop when a
//! page brings no activity not already listed in the same walk.

use std::collections::HashSet;
use time::{macros::format_description, Date, Duration, PrimitiveDateTime, Time};

/// Local days per backfill window.
pub const WINDOW_DAYS: i64 = 365;

/// A range of local days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first: Date,
    pub last: Date,
}

impl Window {
    /// The window of [`WINDOW_DAYS`] ending on `last`.
    pub fn ending(last: Date) -> Self {
        Self {
            first: last - Duration::days(WINDOW_DAYS - 1),
            last,
        }
    }

    /// The window just before this one.
    pub fn before(self) -> Self {
        Self::ending(self.first - Duration::days(1))
    }

    pub fn query(self) -> (String, String) {
        (day(self.first), day(self.last))
    }

    /// Once this window is walked, everything started (GMT) before this time
    /// has been handled or lies in older windows: the window's first day plus
    /// one day of slack, since Garmin filters by local day and the zone may be
    /// up to 14 h off GMT.
    pub fn covered_down_to(self) -> PrimitiveDateTime {
        PrimitiveDateTime::new(self.first + Duration::days(1), Time::MIDNIGHT)
    }
}

/// `YYYY-MM-DD`.
pub fn day(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Why a run stops listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The run's list requests are spent; the rest waits for the next run.
    Budget,
}

/// The list requests of one run, and the ids they brought.
#[derive(Debug)]
pub struct Pager {
    left: u32,
    seen: HashSet<String>,
}

impl Pager {
    pub fn new(budget: u32) -> Self {
        Self {
            left: budget,
            seen: HashSet::new(),
        }
    }

    /// Takes one request from the budget.
    pub fn take(&mut self) -> Result<(), Stop> {
        if self.left == 0 {
            return Err(Stop::Budget);
        }
        self.left -= 1;
        Ok(())
    }

    /// Starts a new walk (the newest end, one backfill window): ids seen before
    /// are forgotten, since walks overlap by design.
    pub fn new_walk(&mut self) {
        self.seen.clear();
    }

    /// Records a page's ids; true when it brought at least one id not listed
    /// before in this walk (a page of known ids means the list repeats itself).
    pub fn brings_news<'a>(&mut self, ids: impl Iterator<Item = &'a str>) -> bool {
        let mut news = false;
        for id in ids {
            news |= self.seen.insert(id.to_string());
        }
        news
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn windows_walk_back_without_gaps_or_overlap() {
        let w = Window::ending(date!(2026 - 12 - 01));
        assert_eq!(w.first, date!(2025 - 12 - 02));
        let older = w.before();
        assert_eq!(older.last, date!(2025 - 12 - 01));
        assert_eq!(older.first + Duration::days(WINDOW_DAYS - 1), older.last);
        assert_eq!(w.query(), ("2025-12-02".into(), "2026-12-01".into()));
        assert_eq!(w.covered_down_to(), datetime!(2025 - 12 - 03 00:00));
    }

    #[test]
    fn the_budget_runs_out_and_repeats_bring_no_news() {
        let mut pager = Pager::new(2);
        assert!(pager.take().is_ok() && pager.take().is_ok());
        assert_eq!(pager.take(), Err(Stop::Budget));
        assert!(pager.brings_news(["1", "2"].into_iter()));
        assert!(!pager.brings_news(["2", "1"].into_iter()));
        assert!(pager.brings_news(["2", "3"].into_iter()));
        assert!(!pager.brings_news(std::iter::empty()));
    }
}
