//! Performance curves BincioActivity shows on its records pages, computed as its metrics.py
//! does on a dense 1 Hz series (gaps count as zero power / zero speed): mean maximal power,
//! best efforts over standard distances, and the best continuous climb.

use crate::messages::Point;
use crate::metrics::round_to;
use crate::sport::Sport;

/// Mean-maximal-power durations (s), log-spaced.
const MMP_DURATIONS_S: [usize; 15] = [
    1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 1200, 1800, 3600,
];
/// A series longer than this has broken timestamps; dense arrays would be absurd.
const MAX_SPAN_S: i64 = 7 * 24 * 3600;

/// Best-effort distances (km) per sport.
fn effort_distances_km(sport: Sport) -> &'static [f64] {
    match sport {
        Sport::Running => &[0.4, 1.0, 1.609, 5.0, 10.0, 21.097, 42.195],
        Sport::Cycling => &[5.0, 10.0, 20.0, 50.0, 100.0],
        Sport::Swimming => &[0.1, 0.2, 0.5, 1.0, 2.0],
        _ => &[],
    }
}

/// The three curves of one activity.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Efforts {
    pub mmp: Option<Vec<(i64, i64)>>,
    pub best_efforts: Option<Vec<(f64, i64)>>,
    pub best_climb_m: Option<f64>,
}

pub(crate) fn compute(points: &[Point], start: i64, sport: Sport) -> Efforts {
    let samples = one_per_second(points, start);
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Efforts::default();
    };
    if last.0 - first.0 > MAX_SPAN_S {
        return Efforts::default();
    }
    Efforts {
        mmp: mean_maximal_power(&samples),
        best_efforts: best_efforts(&samples, sport),
        best_climb_m: if sport == Sport::Cycling {
            best_climb(&samples)
        } else {
            None
        },
    }
}

/// (seconds since start, point) with at most one point per second, later duplicates dropped.
fn one_per_second(points: &[Point], start: i64) -> Vec<(i64, &Point)> {
    let mut samples: Vec<(i64, &Point)> = Vec::with_capacity(points.len());
    for p in points {
        let t = p.t - start;
        if t < 0 || samples.last().is_some_and(|(last, _)| *last == t) {
            continue;
        }
        samples.push((t, p));
    }
    samples
}

/// Dense 1 Hz array over the span of the samples for which `value` gives something.
fn dense<T: Copy>(
    samples: &[(i64, &Point)],
    fill: T,
    value: impl Fn(&Point) -> Option<T>,
) -> Vec<T> {
    let present: Vec<(i64, T)> = samples
        .iter()
        .filter_map(|(t, p)| value(p).map(|v| (*t, v)))
        .collect();
    let (Some(first), Some(last)) = (present.first(), present.last()) else {
        return Vec::new();
    };
    let t0 = first.0;
    let mut series = vec![fill; usize::try_from(last.0 - t0 + 1).unwrap_or(0)];
    for (t, v) in present {
        if let Some(slot) = usize::try_from(t - t0).ok().and_then(|i| series.get_mut(i)) {
            *slot = v;
        }
    }
    series
}

fn mean_maximal_power(samples: &[(i64, &Point)]) -> Option<Vec<(i64, i64)>> {
    if samples.iter().filter(|(_, p)| p.power_w.is_some()).count() < 2 {
        return None;
    }
    let power = dense(samples, 0i64, |p| p.power_w.map(i64::from));
    let mut curve = Vec::new();
    for d in MMP_DURATIONS_S {
        if d > power.len() {
            break;
        }
        let mut window: i64 = power[..d].iter().sum();
        let mut best = window;
        for i in d..power.len() {
            window += power[i] - power[i - d];
            best = best.max(window);
        }
        curve.push((d as i64, (best as f64 / d as f64).round() as i64));
    }
    (!curve.is_empty()).then_some(curve)
}

fn best_efforts(samples: &[(i64, &Point)], sport: Sport) -> Option<Vec<(f64, i64)>> {
    let targets = effort_distances_km(sport);
    if targets.is_empty() {
        return None;
    }
    // Every sample takes part (no speed counts as zero), so the span is the whole series.
    let speed_ms = dense(samples, 0.0, |p| Some(p.speed_ms.unwrap_or(0.0)));
    let efforts: Vec<(f64, i64)> = targets
        .iter()
        .filter_map(|&km| fastest_seconds(&speed_ms, km * 1000.0).map(|s| (km, s)))
        .collect();
    (!efforts.is_empty()).then_some(efforts)
}

/// Fewest consecutive seconds covering `target_m` (two-pointer window over m/s samples).
fn fastest_seconds(speed_ms: &[f64], target_m: f64) -> Option<i64> {
    let mut left = 0;
    let mut covered_m = 0.0;
    let mut best: Option<i64> = None;
    for right in 0..speed_ms.len() {
        covered_m += speed_ms[right];
        while covered_m >= target_m && left <= right {
            let seconds = (right - left + 1) as i64;
            best = Some(best.map_or(seconds, |b| b.min(seconds)));
            covered_m -= speed_ms[left];
            left += 1;
        }
    }
    best
}

/// Largest net gain over a contiguous stretch (Kadane on altitude deltas); a gap in the
/// altitude series breaks the stretch.
fn best_climb(samples: &[(i64, &Point)]) -> Option<f64> {
    let altitude = dense(samples, None, |p| p.altitude_m.map(Some));
    if altitude.iter().flatten().count() < 2 {
        return None;
    }
    let (mut best, mut current, mut previous) = (0.0f64, 0.0f64, None::<f64>);
    for a in altitude {
        match (a, previous) {
            (None, _) => {
                current = 0.0;
                previous = None;
            }
            (Some(a), Some(p)) => {
                current = (current + a - p).max(0.0);
                best = best.max(current);
                previous = Some(a);
            }
            (Some(a), None) => previous = Some(a),
        }
    }
    (best > 0.0).then(|| round_to(best, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmp_takes_the_best_window_and_zero_fills_gaps() {
        let points: Vec<Point> = [(0, 100), (1, 300), (2, 300), (5, 400)]
            .iter()
            .map(|&(t, w)| Point {
                t,
                power_w: Some(w),
                ..Point::default()
            })
            .collect();
        let e = compute(&points, 0, Sport::Cycling);
        assert_eq!(e.mmp, Some(vec![(1, 400), (2, 300), (5, 200)]));
    }

    #[test]
    fn best_effort_and_climb() {
        // 10 m/s for 100 s: 400 m take 40 s, 1 km takes all 100 s, 1.609 km is out of reach.
        let points: Vec<Point> = (0..100)
            .map(|t| Point {
                t,
                speed_ms: Some(10.0),
                altitude_m: Some(if t < 50 { t as f64 } else { 100.0 - t as f64 }),
                ..Point::default()
            })
            .collect();
        let run = compute(&points, 0, Sport::Running);
        assert_eq!(run.best_efforts, Some(vec![(0.4, 40), (1.0, 100)]));
        assert_eq!(run.best_climb_m, None);
        let ride = compute(&points, 0, Sport::Cycling);
        assert_eq!(ride.best_climb_m, Some(50.0), "0 m up to 50 m at t = 50 s");
    }
}
