//! The inline 1 Hz timeseries: records downsampled to at most one per second, as parallel
//! arrays with BincioActivity's rounding (7 decimals for positions, 1 for altitude and
//! temperature, 2 for speed).

use crate::activity::Timeseries;
use crate::messages::Point;
use crate::metrics::round_to;

/// Builds the timeseries of `points`, with `t` counted from `start` (unix seconds).
pub(crate) fn build(points: &[Point], start: i64) -> Timeseries {
    let mut ts = Timeseries::default();
    let has_gps = points.iter().any(|p| p.latlon().is_some());
    let mut lat = Vec::new();
    let mut lon = Vec::new();
    let mut last_t = None;
    for p in points {
        let t = p.t - start;
        // Later samples of a second already taken, and samples out of order, are dropped.
        if t < 0 || last_t.is_some_and(|last| t <= last) {
            continue;
        }
        last_t = Some(t);
        ts.t.push(t);
        if has_gps {
            lat.push(p.lat.map(|v| round_to(v, 7)));
            lon.push(p.lon.map(|v| round_to(v, 7)));
        }
        ts.elevation_m.push(p.altitude_m.map(|v| round_to(v, 1)));
        ts.speed_kmh.push(p.speed_ms.map(|v| round_to(v * 3.6, 2)));
        ts.hr_bpm.push(p.hr_bpm.map(i64::from));
        ts.cadence_rpm.push(p.cadence_rpm.map(i64::from));
        ts.power_w.push(p.power_w.map(i64::from));
        ts.temperature_c
            .push(p.temperature_c.map(|v| round_to(v, 1)));
    }
    if has_gps {
        ts.lat = Some(lat);
        ts.lon = Some(lon);
    }
    ts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_sample_per_second_in_order() {
        let points: Vec<Point> = [10, 10, 11, 9, 13]
            .iter()
            .map(|&t| Point {
                t,
                hr_bpm: Some(t as u16),
                speed_ms: Some(1.0),
                ..Point::default()
            })
            .collect();
        let ts = build(&points, 10);
        assert_eq!(ts.t, vec![0, 1, 3]);
        assert_eq!(ts.hr_bpm, vec![Some(10), Some(11), Some(13)]);
        assert_eq!(ts.speed_kmh, vec![Some(3.6); 3]);
        assert_eq!(ts.lat, None, "no position at all: lat is null");
    }
}
