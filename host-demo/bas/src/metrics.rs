//! Summary metrics of an activity: the device's own session figures where the file has them,
//! computed from the records otherwise (the rules of BincioActivity's metrics.py: haversine
//! distance, a 1 km/h moving threshold, elevation with a hysteresis dead band).

use crate::messages::{Point, Totals};

/// Below this speed the athlete is stopped (km/h).
const STOPPED_KMH: f64 = 1.0;
/// Elevation dead band for barometric altitude (m).
const BAROMETRIC_STEP_M: f64 = 5.0;
/// Elevation dead band for GPS altitude (m): noisier.
const GPS_STEP_M: f64 = 10.0;
const EARTH_RADIUS_M: f64 = 6_371_000.0;
const MS_TO_KMH: f64 = 3.6;

/// The summary figures of a BAS activity, already rounded as BAS writes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Metrics {
    pub distance_m: Option<f64>,
    pub duration_s: Option<i64>,
    pub moving_time_s: Option<i64>,
    pub elevation_gain_m: Option<f64>,
    pub elevation_loss_m: Option<f64>,
    pub avg_speed_kmh: Option<f64>,
    pub max_speed_kmh: Option<f64>,
    pub avg_hr_bpm: Option<i64>,
    pub max_hr_bpm: Option<i64>,
    pub avg_cadence_rpm: Option<i64>,
    pub avg_power_w: Option<i64>,
    pub max_power_w: Option<i64>,
    pub bbox: Option<[f64; 4]>,
    pub start_latlng: Option<[f64; 2]>,
    pub end_latlng: Option<[f64; 2]>,
}

/// Session values first, record-derived values for whatever the session lacks.
pub(crate) fn summarise(session: Option<&Totals>, points: &[Point], barometric: bool) -> Metrics {
    let mut m = match session {
        Some(s) => with_session(s, from_records(points, barometric)),
        None => from_records(points, barometric),
    };
    // Moving time is computed per record pair and may overshoot the device's elapsed time.
    if let (Some(moving), Some(elapsed)) = (m.moving_time_s, m.duration_s) {
        m.moving_time_s = Some(moving.min(elapsed));
    }
    m
}

fn with_session(s: &Totals, from_records: Metrics) -> Metrics {
    let int = |v: Option<u16>| v.map(i64::from);
    let kmh = |v: Option<f64>| v.map(|ms| round_to(ms * MS_TO_KMH, 2));
    Metrics {
        distance_m: s
            .distance_m
            .map(|d| round_to(d, 2))
            .or(from_records.distance_m),
        duration_s: s.elapsed_s.map(round_s).or(from_records.duration_s),
        moving_time_s: s
            .moving_s
            .map(round_s)
            .or(from_records.moving_time_s)
            .or(s.timer_s.map(round_s)),
        elevation_gain_m: s
            .ascent_m
            .map(|m| round_to(m, 1))
            .or(from_records.elevation_gain_m),
        elevation_loss_m: s
            .descent_m
            .map(|m| round_to(m, 1))
            .or(from_records.elevation_loss_m),
        avg_speed_kmh: kmh(s.avg_speed_ms).or(from_records.avg_speed_kmh),
        max_speed_kmh: kmh(s.max_speed_ms).or(from_records.max_speed_kmh),
        avg_hr_bpm: int(s.avg_hr_bpm).or(from_records.avg_hr_bpm),
        max_hr_bpm: int(s.max_hr_bpm).or(from_records.max_hr_bpm),
        avg_cadence_rpm: int(s.avg_cadence_rpm).or(from_records.avg_cadence_rpm),
        avg_power_w: int(s.avg_power_w).or(from_records.avg_power_w),
        max_power_w: int(s.max_power_w).or(from_records.max_power_w),
        ..from_records
    }
}

/// Everything computed from the records alone.
pub(crate) fn from_records(points: &[Point], barometric: bool) -> Metrics {
    let mut m = Metrics::default();
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return m;
    };
    if points.len() >= 2 {
        m.duration_s = Some(last.t - first.t);
    }
    motion(points, &mut m);
    let (gain, loss) = elevation(points, barometric);
    m.elevation_gain_m = gain.map(|g| round_to(g, 1));
    m.elevation_loss_m = loss.map(|l| round_to(l, 1));
    let (avg_hr, max_hr) = mean_and_max(points.iter().map(|p| p.hr_bpm));
    m.avg_hr_bpm = avg_hr;
    m.max_hr_bpm = max_hr;
    m.avg_cadence_rpm = mean_and_max(points.iter().map(|p| p.cadence_rpm)).0;
    let (avg_power, max_power) = mean_and_max(points.iter().map(|p| p.power_w));
    m.avg_power_w = avg_power;
    m.max_power_w = max_power;
    positions(points, &mut m);
    m
}

/// Distance, moving time and speeds in one pass over consecutive records.
fn motion(points: &[Point], m: &mut Metrics) {
    let device_distance = points.iter().rev().find_map(|p| p.distance_m);
    let device_max_kmh = points
        .iter()
        .filter_map(|p| p.speed_ms)
        .fold(None, |max: Option<f64>, s| {
            Some(max.map_or(s, |m| m.max(s)))
        })
        .map(|s| s * MS_TO_KMH);
    let mut total_m = 0.0;
    let mut moving_m = 0.0;
    let mut moving_s = 0i64;
    let mut max_segment_kmh = 0.0f64;
    let mut has_motion = false;
    for pair in points.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let dt = b.t - a.t;
        if dt <= 0 {
            continue;
        }
        let segment_m = match (a.latlon(), b.latlon(), a.speed_ms) {
            (Some(from), Some(to), _) => haversine_m(from, to),
            (_, _, Some(speed)) => speed * dt as f64,
            _ => continue,
        };
        has_motion = true;
        let kmh = segment_m / dt as f64 * MS_TO_KMH;
        total_m += segment_m;
        max_segment_kmh = max_segment_kmh.max(kmh);
        if kmh >= STOPPED_KMH {
            moving_s += dt;
            moving_m += segment_m;
        }
    }
    // The device's cumulative distance wins unless it is zero while positions say otherwise.
    m.distance_m = match device_distance {
        Some(d) if d > 0.0 => Some(round_to(d, 2)),
        _ if total_m > 0.0 => Some(round_to(total_m, 1)),
        other => other.map(|d| round_to(d, 2)),
    };
    if has_motion {
        m.moving_time_s = (moving_s > 0).then_some(moving_s);
        m.avg_speed_kmh =
            (moving_s > 0).then(|| round_to(moving_m / moving_s as f64 * MS_TO_KMH, 2));
        m.max_speed_kmh = device_max_kmh
            .or((max_segment_kmh > 0.0).then_some(max_segment_kmh))
            .map(|v| round_to(v, 2));
    }
}

/// Climb and descent with a dead band: a new altitude counts only once it differs from the last
/// counted one by the step, which filters sensor noise.
fn elevation(points: &[Point], barometric: bool) -> (Option<f64>, Option<f64>) {
    let step = if barometric {
        BAROMETRIC_STEP_M
    } else {
        GPS_STEP_M
    };
    let mut altitudes = points.iter().filter_map(|p| p.altitude_m);
    let Some(mut committed) = altitudes.next() else {
        return (None, None);
    };
    let (mut gain, mut loss, mut seen) = (0.0, 0.0, 1);
    for altitude in altitudes {
        seen += 1;
        let diff = altitude - committed;
        if diff.abs() >= step {
            if diff > 0.0 {
                gain += diff;
            } else {
                loss -= diff;
            }
            committed = altitude;
        }
    }
    if seen < 2 {
        return (None, None);
    }
    (Some(gain), Some(loss))
}

fn positions(points: &[Point], m: &mut Metrics) {
    let mut bbox: Option<[f64; 4]> = None;
    let mut first = None;
    let mut last = None;
    for (lat, lon) in points.iter().filter_map(Point::latlon) {
        first.get_or_insert([lat, lon]);
        last = Some([lat, lon]);
        let b = bbox.get_or_insert([lon, lat, lon, lat]);
        b[0] = b[0].min(lon);
        b[1] = b[1].min(lat);
        b[2] = b[2].max(lon);
        b[3] = b[3].max(lat);
    }
    m.bbox = bbox.map(|b| b.map(|v| round_to(v, 7)));
    m.start_latlng = first.map(|p: [f64; 2]| p.map(|v| round_to(v, 7)));
    m.end_latlng = last.map(|p: [f64; 2]| p.map(|v| round_to(v, 7)));
}

/// Integer mean (truncated, as BincioActivity does) and maximum of the present values.
fn mean_and_max(values: impl Iterator<Item = Option<u16>>) -> (Option<i64>, Option<i64>) {
    let (mut sum, mut count, mut max) = (0i64, 0i64, None::<i64>);
    for v in values.flatten() {
        let v = i64::from(v);
        sum += v;
        count += 1;
        max = Some(max.map_or(v, |m| m.max(v)));
    }
    ((count > 0).then(|| sum / count), max)
}

/// Great-circle distance in metres between two (lat, lon) points in degrees.
pub(crate) fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (phi1, phi2) = (a.0.to_radians(), b.0.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (b.1 - a.1).to_radians();
    let h = (dphi * 0.5).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda * 0.5).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.min(1.0).sqrt().asin()
}

/// Rounds to `digits` decimals (BAS writes rounded figures, as BincioActivity does).
pub(crate) fn round_to(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn round_s(seconds: f64) -> i64 {
    seconds.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: i64, lat: f64, altitude: f64) -> Point {
        Point {
            t,
            lat: Some(lat),
            lon: Some(10.0),
            altitude_m: Some(altitude),
            hr_bpm: Some(100 + t as u16),
            ..Point::default()
        }
    }

    #[test]
    fn records_give_distance_time_climb_and_heart_rate() {
        // 0.001 degree of latitude is about 111 m; 10 s apart: about 40 km/h.
        let points: Vec<Point> = (0..5)
            .map(|i| point(i * 10, 45.0 + i as f64 * 0.001, 100.0 + i as f64 * 6.0))
            .collect();
        let m = from_records(&points, true);
        let d = m.distance_m.unwrap();
        assert!((d - 444.8).abs() < 1.0, "{d}");
        assert_eq!(m.duration_s, Some(40));
        assert_eq!(m.moving_time_s, Some(40));
        assert_eq!(m.elevation_gain_m, Some(24.0));
        assert_eq!(m.elevation_loss_m, Some(0.0));
        assert_eq!((m.avg_hr_bpm, m.max_hr_bpm), (Some(120), Some(140)));
        assert_eq!(m.bbox, Some([10.0, 45.0, 10.0, 45.004]));
    }

    #[test]
    fn session_figures_win_over_records() {
        let points = vec![point(0, 45.0, 0.0), point(10, 45.001, 0.0)];
        let session = Totals {
            distance_m: Some(120.456),
            elapsed_s: Some(12.6),
            avg_hr_bpm: Some(99),
            ..Totals::default()
        };
        let m = summarise(Some(&session), &points, false);
        assert_eq!(m.distance_m, Some(120.46));
        assert_eq!(m.duration_s, Some(13));
        assert_eq!(m.avg_hr_bpm, Some(99));
        assert_eq!(m.max_hr_bpm, Some(110));
    }
}
