//! FIT sport and sub-sport names mapped onto BAS's `sport` and `sub_sport` enums, following
//! BincioActivity's own normalisation (bincio/extract/sport.py and parsers/fit.py), with the
//! gaps it leaves closed so every value written is one the BAS schema accepts.

use serde::{Deserialize, Serialize};

/// BAS `sport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sport {
    /// Road, mountain, gravel, indoor, e-bike.
    Cycling,
    /// Street, trail, track, treadmill.
    Running,
    /// Hiking.
    Hiking,
    /// Walking.
    Walking,
    /// Pool and open water.
    Swimming,
    /// Nordic and alpine.
    Skiing,
    /// Anything else.
    Other,
}

impl Sport {
    /// The BAS name, e.g. `cycling`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sport::Cycling => "cycling",
            Sport::Running => "running",
            Sport::Hiking => "hiking",
            Sport::Walking => "walking",
            Sport::Swimming => "swimming",
            Sport::Skiing => "skiing",
            Sport::Other => "other",
        }
    }
}

/// BAS `sub_sport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubSport {
    /// Road cycling.
    Road,
    /// Mountain biking.
    Mountain,
    /// Gravel and cyclocross.
    Gravel,
    /// Trainer, treadmill, virtual.
    Indoor,
    /// Trail running.
    Trail,
    /// Track running or cycling.
    Track,
    /// Cross-country skiing.
    Nordic,
    /// Downhill skiing.
    Alpine,
    /// Open-water swimming.
    OpenWater,
    /// Pool swimming.
    Pool,
}

/// Maps a FIT (sport, sub_sport) pair, as fitparser names them, to BAS.
pub fn map_fit_sport(sport: Option<&str>, sub_sport: Option<&str>) -> (Sport, Option<SubSport>) {
    let sub = sub_sport.and_then(map_sub_sport);
    let bas_sport = match sport.unwrap_or("") {
        "cycling" | "e_biking" => Sport::Cycling,
        "running" => Sport::Running,
        "walking" => Sport::Walking,
        "hiking" => Sport::Hiking,
        "swimming" => Sport::Swimming,
        "cross_country_skiing" | "alpine_skiing" => Sport::Skiing,
        // Gym machines say what they are only in the sub-sport.
        "fitness_equipment" => match sub_sport.unwrap_or("") {
            "indoor_cycling" | "spin" => Sport::Cycling,
            "treadmill" | "indoor_running" => Sport::Running,
            "indoor_walking" => Sport::Walking,
            _ => Sport::Other,
        },
        _ => Sport::Other,
    };
    let sub = match (bas_sport, sport.unwrap_or("")) {
        (Sport::Skiing, "cross_country_skiing") => Some(SubSport::Nordic),
        (Sport::Skiing, _) => Some(SubSport::Alpine),
        _ => sub,
    };
    (bas_sport, sub)
}

fn map_sub_sport(sub_sport: &str) -> Option<SubSport> {
    Some(match sub_sport {
        "road" => SubSport::Road,
        "mountain" | "downhill" | "e_bike_mountain" => SubSport::Mountain,
        "gravel_cycling" | "cyclocross" | "mixed_surface" => SubSport::Gravel,
        "indoor_cycling"
        | "spin"
        | "virtual_activity"
        | "treadmill"
        | "indoor_running"
        | "indoor_walking"
        | "indoor_hand_cycling" => SubSport::Indoor,
        "trail" => SubSport::Trail,
        "track" | "track_cycling" => SubSport::Track,
        "skate_skiing" => SubSport::Nordic,
        "lap_swimming" => SubSport::Pool,
        "open_water" => SubSport::OpenWater,
        // generic, street, commuting... carry no BAS sub-sport.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_names_map_to_bas_enums() {
        assert_eq!(
            map_fit_sport(Some("cycling"), Some("generic")),
            (Sport::Cycling, None)
        );
        assert_eq!(
            map_fit_sport(Some("cycling"), Some("indoor_cycling")),
            (Sport::Cycling, Some(SubSport::Indoor))
        );
        assert_eq!(
            map_fit_sport(Some("swimming"), Some("open_water")),
            (Sport::Swimming, Some(SubSport::OpenWater))
        );
        assert_eq!(
            map_fit_sport(Some("swimming"), Some("lap_swimming")),
            (Sport::Swimming, Some(SubSport::Pool))
        );
        assert_eq!(
            map_fit_sport(Some("fitness_equipment"), Some("treadmill")),
            (Sport::Running, Some(SubSport::Indoor))
        );
        assert_eq!(
            map_fit_sport(Some("cross_country_skiing"), None),
            (Sport::Skiing, Some(SubSport::Nordic))
        );
        assert_eq!(
            map_fit_sport(Some("transition"), Some("generic")),
            (Sport::Other, None)
        );
        assert_eq!(map_fit_sport(None, None), (Sport::Other, None));
        assert_eq!(
            map_fit_sport(Some("cycling"), Some("commuting")),
            (Sport::Cycling, None)
        );
    }
}
