//! The activity list: query parsing (start, limit, startDate, endDate, activityType, sortOrder),
//! filtering and paging, and the JSON of one list entry as Garmin shows it.

use std::collections::HashMap;

use serde_json::{json, Value};
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::activity::{parent_type_key, type_ids, Activity};
use crate::config::Account;

/// Largest `limit` the search endpoint accepts.
pub const MAX_LIMIT: usize = 1000;

/// A parsed list query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub start: usize,
    pub limit: usize,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub activity_type: Option<String>,
    pub ascending: bool,
}

/// Why a list query is refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListQueryError {
    #[error("query parameter {name} is not a non-negative integer: {value:?}")]
    NotANumber { name: &'static str, value: String },
    #[error("limit {0} is above the maximum {MAX_LIMIT}")]
    LimitTooLarge(usize),
    #[error("query parameter {name} is not a YYYY-MM-DD date: {value:?}")]
    BadDate { name: &'static str, value: String },
    #[error("endDate without startDate")]
    EndWithoutStart,
}

impl ListQuery {
    pub fn parse(params: &HashMap<String, String>) -> Result<ListQuery, ListQueryError> {
        let number = |name: &'static str, default: usize| match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map_err(|_| ListQueryError::NotANumber {
                    name,
                    value: v.clone(),
                }),
        };
        let date = |name: &'static str| match params.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => Date::parse(v, format_description!("[year]-[month]-[day]"))
                .map(Some)
                .map_err(|_| ListQueryError::BadDate {
                    name,
                    value: v.clone(),
                }),
        };
        let limit = number("limit", 20)?;
        if limit > MAX_LIMIT {
            return Err(ListQueryError::LimitTooLarge(limit));
        }
        if params.get("endDate").is_some_and(|v| !v.is_empty())
            && params.get("startDate").is_none_or(|v| v.is_empty())
        {
            // Garmin answers 400 to an end without a start.
            return Err(ListQueryError::EndWithoutStart);
        }
        Ok(ListQuery {
            start: number("start", 0)?,
            limit,
            start_date: date("startDate")?,
            end_date: date("endDate")?,
            activity_type: params
                .get("activityType")
                .filter(|v| !v.is_empty())
                .cloned(),
            ascending: params
                .get("sortOrder")
                .is_some_and(|v| v.eq_ignore_ascii_case("asc")),
        })
    }

    fn keeps(&self, a: &Activity) -> bool {
        let local_day = a.start.date();
        a.listed
            && self.start_date.is_none_or(|d| local_day >= d)
            && self.end_date.is_none_or(|d| local_day <= d)
            && self
                .activity_type
                .as_deref()
                .is_none_or(|t| a.type_key == t || parent_type_key(&a.type_key) == t)
    }
}

/// The listed activities of `account` matching `query`, sorted (newest first unless ascending),
/// without paging.
pub fn matching<'a>(account: &'a Account, query: &ListQuery) -> Vec<&'a Activity> {
    let mut found: Vec<&Activity> = account
        .activities
        .iter()
        .filter(|a| query.keeps(a))
        .collect();
    found.sort_by_key(|a| (a.start.unix_timestamp(), a.id));
    if !query.ascending {
        found.reverse();
    }
    found
}

/// One page of `matching`, at most `cap` long whatever `limit` asks (Garmin caps `limit` on some
/// endpoints, so a short page is not the end); empty past the end.
pub fn page<'a>(account: &'a Account, query: &ListQuery, cap: usize) -> Vec<&'a Activity> {
    matching(account, query)
        .into_iter()
        .skip(query.start)
        .take(query.limit.min(cap))
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS` as Garmin writes start times.
pub fn garmin_time(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .expect("formattable time")
}

/// The list entry of `a` for `account`.
pub fn entry(account: &Account, a: &Activity) -> Value {
    let (type_id, parent_type_id) = type_ids(&a.type_key);
    let speed = if a.duration_s > 0.0 {
        a.distance_m / a.duration_s
    } else {
        0.0
    };
    json!({
        "activityId": a.id,
        "activityName": a.name,
        "description": null,
        "startTimeLocal": garmin_time(a.start),
        "startTimeGMT": garmin_time(a.start.to_offset(UtcOffset::UTC)),
        "beginTimestamp": a.start.unix_timestamp() * 1000,
        "timeZoneId": null,
        "activityType": {
            "typeId": type_id,
            "typeKey": a.type_key,
            "parentTypeId": parent_type_id,
            "isHidden": false,
            "restricted": false,
            "trimmable": true,
        },
        "eventType": { "typeId": 9, "typeKey": "uncategorized", "sortOrder": 10 },
        "distance": a.distance_m,
        "duration": a.duration_s,
        "elapsedDuration": a.duration_s,
        "movingDuration": a.duration_s,
        "elevationGain": null,
        "elevationLoss": null,
        "averageSpeed": speed,
        "maxSpeed": null,
        "calories": null,
        "bmrCalories": null,
        "averageHR": null,
        "maxHR": null,
        "steps": null,
        "ownerId": account.profile_id,
        "ownerDisplayName": account.display_name,
        "ownerFullName": account.display_name,
        "userProfileId": account.profile_id,
        "deviceId": if a.fit.is_some() { json!(3_442_000_000u64) } else { Value::Null },
        "manufacturer": if a.fit.is_some() { "GARMIN" } else { "" },
        "hasPolyline": a.fit.is_some(),
        "hasImages": false,
        "isMultiSportParent": false,
        "locationName": null,
        "lapCount": 1,
        "manualActivity": a.fit.is_none(),
        "favorite": false,
        "pr": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn account() -> Account {
        let days = [
            datetime!(2024-03-01 08:00 +01:00),
            datetime!(2024-03-03 23:30 +01:00),
            datetime!(2024-03-05 07:00 +01:00),
        ];
        let acts = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Activity::manual(
                    i as u64 + 1,
                    *d,
                    "x",
                    if i == 1 { "indoor_cycling" } else { "running" },
                    1000.0,
                    600.0,
                )
            })
            .collect();
        Account::new("a@b.c", "p").with_activities(acts)
    }

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn newest_first_paging_and_local_day_filters() {
        let acc = account();
        let ids = |q: &ListQuery| page(&acc, q, 1000).iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(&query(&[])), vec![3, 2, 1]);
        assert_eq!(ids(&query(&[("start", "1"), ("limit", "1")])), vec![2]);
        assert!(ids(&query(&[("start", "3")])).is_empty());
        // 2024-03-03 23:30 +01:00 is 22:30 UTC: the local day counts.
        assert_eq!(
            ids(&query(&[
                ("startDate", "2024-03-03"),
                ("endDate", "2024-03-03")
            ])),
            vec![2]
        );
        assert_eq!(ids(&query(&[("activityType", "cycling")])), vec![2]);
        assert_eq!(ids(&query(&[("sortOrder", "asc")])), vec![1, 2, 3]);
    }

    #[test]
    fn bad_queries_are_refused() {
        let mut p = HashMap::new();
        p.insert("limit".to_string(), "5000".to_string());
        assert_eq!(
            ListQuery::parse(&p),
            Err(ListQueryError::LimitTooLarge(5000))
        );
        p.insert("limit".to_string(), "x".to_string());
        assert!(matches!(
            ListQuery::parse(&p),
            Err(ListQueryError::NotANumber { .. })
        ));
        let mut end_only = HashMap::new();
        end_only.insert("endDate".to_string(), "2026-01-01".to_string());
        assert_eq!(
            ListQuery::parse(&end_only),
            Err(ListQueryError::EndWithoutStart)
        );
    }
}
