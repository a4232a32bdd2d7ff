//! FIT `lap` messages as BAS laps.

use crate::activity::Lap;
use crate::messages::Totals;
use crate::metrics::round_to;
use crate::timefmt::LocalTime;

/// The laps that start within `[from, until]` (unix seconds), renumbered from 0; laps without a
/// start time are dropped, as BincioActivity drops them.
pub(crate) fn build(laps: &[Totals], from: i64, until: i64, clock: LocalTime) -> Vec<Lap> {
    laps.iter()
        .filter_map(|lap| Some((lap.start_time?, lap)))
        .filter(|(start, _)| (from..=until).contains(start))
        .enumerate()
        .map(|(index, (start, lap))| Lap {
            index: index as u32,
            started_at: clock.at(start).rfc3339(),
            duration_s: lap.elapsed_s.map(|s| s.round() as i64),
            distance_m: lap.distance_m.map(|d| round_to(d, 2)),
            elevation_gain_m: lap.ascent_m.map(|m| round_to(m, 1)),
            avg_speed_kmh: lap.avg_speed_ms.map(|s| round_to(s * 3.6, 2)),
            avg_hr_bpm: lap.avg_hr_bpm.map(i64::from),
            avg_power_w: lap.avg_power_w.map(i64::from),
        })
        .collect()
}
