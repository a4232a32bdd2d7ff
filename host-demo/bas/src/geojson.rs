//! The simplified GPS track (`activities/{id}.geojson`) and the card preview of `index.json`,
//! both by Ramer-Douglas-Peucker simplification in degrees, as BincioActivity's simplify.py
//! does (epsilon 0.0001 deg, about 11 m, for the track; 0.001 deg and at most 20 points for the
//! preview).

use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::messages::Point;
use crate::metrics::round_to;

/// RDP tolerance of the track, degrees.
pub const TRACK_EPSILON_DEG: f64 = 0.0001;
/// RDP tolerance of the preview, degrees.
const PREVIEW_EPSILON_DEG: f64 = 0.001;
/// Most points in a preview.
const PREVIEW_MAX_POINTS: usize = 20;

/// One track vertex: `[lon, lat]` or `[lon, lat, elevation]` in GeoJSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    /// Degrees.
    pub lon: f64,
    /// Degrees.
    pub lat: f64,
    /// Metres.
    pub elevation_m: Option<f64>,
}

impl Serialize for TrackPoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq =
            serializer.serialize_seq(Some(2 + usize::from(self.elevation_m.is_some())))?;
        seq.serialize_element(&self.lon)?;
        seq.serialize_element(&self.lat)?;
        if let Some(elevation) = &self.elevation_m {
            seq.serialize_element(elevation)?;
        }
        seq.end()
    }
}

/// A simplified track, ready to be written as a GeoJSON Feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Kept vertices, in order.
    pub points: Vec<TrackPoint>,
    /// Speed (km/h) at each kept vertex, for gradient colouring.
    pub speeds_kmh: Vec<Option<f64>>,
    /// Number of records before simplification.
    pub point_count_original: usize,
}

impl Track {
    /// Simplifies the positioned records; `None` when fewer than two have a position.
    pub(crate) fn from_points(points: &[Point]) -> Option<Track> {
        let gps: Vec<&Point> = points.iter().filter(|p| p.latlon().is_some()).collect();
        if gps.len() < 2 {
            return None;
        }
        let coords: Vec<(f64, f64)> = gps
            .iter()
            .map(|p| (p.lon.unwrap_or_default(), p.lat.unwrap_or_default()))
            .collect();
        let keep = rdp_mask(&coords, TRACK_EPSILON_DEG);
        let kept = gps.iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| *p);
        let mut track = Track {
            points: Vec::new(),
            speeds_kmh: Vec::new(),
            point_count_original: points.len(),
        };
        for p in kept {
            track.points.push(TrackPoint {
                lon: round_to(p.lon.unwrap_or_default(), 7),
                lat: round_to(p.lat.unwrap_or_default(), 7),
                elevation_m: p.altitude_m.map(|e| round_to(e, 1)),
            });
            track
                .speeds_kmh
                .push(p.speed_ms.map(|s| round_to(s * 3.6, 2)));
        }
        Some(track)
    }

    /// The GeoJSON Feature of this track for activity `id`.
    pub fn feature<'a>(&'a self, id: &'a str) -> impl Serialize + 'a {
        Feature { track: self, id }
    }
}

struct Feature<'a> {
    track: &'a Track,
    id: &'a str,
}

struct Geometry<'a>(&'a [TrackPoint]);

struct Properties<'a> {
    track: &'a Track,
    id: &'a str,
}

impl Serialize for Feature<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Feature", 3)?;
        s.serialize_field("type", "Feature")?;
        s.serialize_field("geometry", &Geometry(&self.track.points))?;
        s.serialize_field(
            "properties",
            &Properties {
                track: self.track,
                id: self.id,
            },
        )?;
        s.end()
    }
}

impl Serialize for Geometry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Geometry", 2)?;
        s.serialize_field("type", "LineString")?;
        s.serialize_field("coordinates", self.0)?;
        s.end()
    }
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Properties", 6)?;
        s.serialize_field("id", self.id)?;
        s.serialize_field("speeds", &self.track.speeds_kmh)?;
        s.serialize_field("simplification", "rdp")?;
        s.serialize_field("rdp_epsilon", &TRACK_EPSILON_DEG)?;
        s.serialize_field("point_count_original", &self.track.point_count_original)?;
        s.serialize_field("point_count_simplified", &self.track.points.len())?;
        s.end()
    }
}

/// A few `[lat, lon]` pairs for the activity card, from `(lat, lon)` positions in order.
/// BincioActivity writes lat first here, whatever the schema's description says; its site
/// reads them that way.
pub(crate) fn preview(gps: &[(f64, f64)]) -> Option<Vec<[f64; 2]>> {
    if gps.len() < 2 {
        return None;
    }
    let lonlat: Vec<(f64, f64)> = gps.iter().map(|&(lat, lon)| (lon, lat)).collect();
    let keep = rdp_mask(&lonlat, PREVIEW_EPSILON_DEG);
    let mut reduced: Vec<(f64, f64)> = gps
        .iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect();
    if reduced.len() > PREVIEW_MAX_POINTS {
        let step = reduced.len() as f64 / (PREVIEW_MAX_POINTS - 1) as f64;
        let mut sampled: Vec<(f64, f64)> = (0..PREVIEW_MAX_POINTS - 1)
            .map(|i| reduced[((i as f64 * step) as usize).min(reduced.len() - 1)])
            .collect();
        sampled.extend(gps.last().copied());
        reduced = sampled;
    }
    Some(
        reduced
            .into_iter()
            .map(|(lat, lon)| [round_to(lat, 5), round_to(lon, 5)])
            .collect(),
    )
}

/// Ramer-Douglas-Peucker keep-mask over `(x, y)` points, iterative (no recursion depth limit).
fn rdp_mask(coords: &[(f64, f64)], epsilon: f64) -> Vec<bool> {
    let n = coords.len();
    let mut keep = vec![n < 2; n];
    if n < 2 {
        return keep;
    }
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0usize, n - 1)];
    while let Some((start, end)) = stack.pop() {
        if end - start < 2 {
            continue;
        }
        let (x1, y1) = coords[start];
        let (x2, y2) = coords[end];
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length_sq = dx * dx + dy * dy;
        let mut max_distance = -1.0;
        let mut max_index = start + 1;
        for (i, &(x0, y0)) in coords.iter().enumerate().take(end).skip(start + 1) {
            let (px, py) = if length_sq == 0.0 {
                (x1, y1)
            } else {
                let t = (((x0 - x1) * dx + (y0 - y1) * dy) / length_sq).clamp(0.0, 1.0);
                (x1 + t * dx, y1 + t * dy)
            };
            let distance = ((x0 - px).powi(2) + (y0 - py).powi(2)).sqrt();
            if distance > max_distance {
                max_distance = distance;
                max_index = i;
            }
        }
        if max_distance >= epsilon {
            keep[max_index] = true;
            stack.push((start, max_index));
            stack.push((max_index, end));
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdp_drops_points_on_a_straight_line_and_keeps_corners() {
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64 * 0.001, 0.0)).collect();
        assert_eq!(rdp_mask(&line, 0.0001).iter().filter(|k| **k).count(), 2);
        let corner = [
            (0.0, 0.0),
            (0.001, 0.0),
            (0.002, 0.0),
            (0.002, 0.001),
            (0.002, 0.002),
        ];
        assert_eq!(rdp_mask(&corner, 0.0001), [true, false, true, false, true]);
    }

    #[test]
    fn preview_is_short_and_ends_at_the_last_point() {
        let gps: Vec<(f64, f64)> = (0..500)
            .map(|i| {
                (
                    45.0 + (i as f64 * 0.1).sin() * 0.01,
                    10.0 + i as f64 * 0.001,
                )
            })
            .collect();
        let preview = preview(&gps).unwrap();
        assert!(preview.len() <= PREVIEW_MAX_POINTS);
        let (lat, lon) = gps[499];
        assert_eq!(
            preview.last().unwrap(),
            &[round_to(lat, 5), round_to(lon, 5)]
        );
    }
}
