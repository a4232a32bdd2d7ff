//! connectapi endpoints: profile and settings, list paging and filters, count, late uploads,
//! and the original download's zip.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;
use garmin_emulator::{synthetic_activities, Account, Activity, Emulator, EmulatorConfig};
use serde_json::Value;
use time::macros::datetime;

const EMAIL: &str = "a@example.com";

fn with_activities(activities: Vec<Activity>) -> (Emulator, String) {
    let emu = Emulator::start(
        EmulatorConfig::empty().with_account(Account::new(EMAIL, "pw").with_activities(activities)),
    )
    .unwrap();
    let token = emu.mint_tokens(EMAIL, FIRST_CLIENT).access_token;
    (emu, token)
}

fn list(emu: &Emulator, token: &str, query: &str) -> Vec<Value> {
    let resp = api_get(
        &emu.base_url(),
        &format!("/activitylist-service/activities/search/activities?{query}"),
        token,
    );
    assert_eq!(resp.status(), 200, "{query}");
    resp.json::<Vec<Value>>().unwrap()
}

fn ids(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["activityId"].as_u64().unwrap())
        .collect()
}

#[test]
fn profile_and_settings_have_what_clients_read() {
    let (emu, token) = with_activities(Vec::new());
    let profile: Value = api_get(
        &emu.base_url(),
        "/userprofile-service/socialProfile",
        &token,
    )
    .json()
    .unwrap();
    assert_eq!(profile["displayName"], "a");
    assert!(profile["profileId"].as_u64().is_some());
    let settings: Value = api_get(
        &emu.base_url(),
        "/userprofile-service/userprofile/user-settings",
        &token,
    )
    .json()
    .unwrap();
    assert_eq!(settings["userData"]["measurementSystem"], "metric");
}

#[test]
fn list_pages_newest_first_and_ends_with_an_empty_page() {
    let acts = synthetic_activities(
        25,
        datetime!(2024-06-30 07:00 +02:00),
        Duration::from_secs(86_400),
    );
    let expected: Vec<u64> = acts.iter().map(|a| a.id).collect(); // already newest first
    let (emu, token) = with_activities(acts);
    let mut seen = Vec::new();
    let mut start = 0;
    loop {
        let page = list(&emu, &token, &format!("start={start}&limit=10"));
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        seen.extend(ids(&page));
        start += 10;
    }
    assert_eq!(seen, expected);
    assert_eq!(emu.stats().list_requests, 4);
    let count: Value = api_get(
        &emu.base_url(),
        "/activitylist-service/activities/count",
        &token,
    )
    .json()
    .unwrap();
    assert_eq!(count["totalCount"], 25);
    let oldest_first = list(&emu, &token, "limit=3&sortOrder=asc");
    assert_eq!(
        ids(&oldest_first),
        expected.iter().rev().take(3).copied().collect::<Vec<_>>()
    );
}

#[test]
fn list_entries_agree_with_the_activity() {
    let acts = synthetic_activities(
        1,
        datetime!(2024-06-30 07:00 +02:00),
        Duration::from_secs(600),
    );
    let a = acts[0].clone();
    let (emu, token) = with_activities(acts);
    let e = &list(&emu, &token, "start=0&limit=1")[0];
    assert_eq!(e["activityId"], a.id);
    assert_eq!(e["activityName"], a.name);
    assert_eq!(e["startTimeLocal"], "2024-06-30 07:00:00");
    assert_eq!(e["startTimeGMT"], "2024-06-30 05:00:00");
    assert_eq!(e["activityType"]["typeKey"], a.type_key);
    assert_eq!(e["distance"].as_f64(), Some(a.distance_m));
    assert_eq!(e["duration"].as_f64(), Some(a.duration_s));
}

#[test]
fn date_filters_use_the_local_day_and_are_inclusive() {
    let acts = synthetic_activities(
        10,
        datetime!(2024-06-10 23:30 +02:00),
        Duration::from_secs(86_400),
    );
    let (emu, token) = with_activities(acts.clone());
    let found = list(
        &emu,
        &token,
        "startDate=2024-06-05&endDate=2024-06-07&limit=100",
    );
    // 23:30 local on the 5th..7th (21:30 UTC, same day).
    assert_eq!(ids(&found), vec![acts[3].id, acts[4].id, acts[5].id]);
    let bad = api_get(
        &emu.base_url(),
        "/activitylist-service/activities/search/activities?startDate=June",
        &token,
    );
    assert_eq!(bad.status(), 400);
    let count: Value = api_get(
        &emu.base_url(),
        "/activitylist-service/activities/count?startDate=2024-06-09",
        &token,
    )
    .json()
    .unwrap();
    assert_eq!(count["totalCount"], 2);
}

#[test]
fn unlisted_activities_appear_when_uploaded_late() {
    let mut acts = synthetic_activities(
        3,
        datetime!(2024-06-30 07:00 UTC),
        Duration::from_secs(3600),
    );
    acts[1].listed = false;
    let hidden = acts[1].id;
    let (emu, token) = with_activities(acts);
    assert!(!ids(&list(&emu, &token, "limit=10")).contains(&hidden));
    assert_eq!(
        api_get(
            &emu.base_url(),
            &format!("/download-service/files/activity/{hidden}"),
            &token
        )
        .status(),
        404
    );
    emu.set_listed(EMAIL, hidden, true);
    assert_eq!(ids(&list(&emu, &token, "limit=10"))[1], hidden);
    let late = synthetic_activities(1, datetime!(2024-07-01 07:00 UTC), Duration::from_secs(600))
        .remove(0);
    let late_id = late.id;
    emu.add_activity(EMAIL, late);
    assert_eq!(ids(&list(&emu, &token, "limit=1")), vec![late_id]);
}

#[test]
fn original_download_is_a_zip_holding_the_fit() {
    let acts = synthetic_activities(
        2,
        datetime!(2024-06-30 07:00 UTC),
        Duration::from_secs(3600),
    );
    let (emu, token) = with_activities(acts.clone());
    let resp = api_get(
        &emu.base_url(),
        &format!("/download-service/files/activity/{}", acts[0].id),
        &token,
    );
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/x-zip-compressed"
    );
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{}.zip\"", acts[0].id)
    );
    let bytes = resp.bytes().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(archive.len(), 1);
    let mut entry = archive
        .by_name(&format!("{}_ACTIVITY.fit", acts[0].id))
        .unwrap();
    let mut fit = Vec::new();
    entry.read_to_end(&mut fit).unwrap();
    assert_eq!(&fit, acts[0].fit.as_ref().unwrap());
    assert_eq!(emu.stats().downloads, 1);
}

#[test]
fn manual_and_unknown_activities_download_404() {
    let manual = Activity::manual(
        77,
        datetime!(2024-06-30 07:00 UTC),
        "Gym",
        "strength_training",
        0.0,
        1800.0,
    );
    let (emu, token) = with_activities(vec![manual]);
    for id in ["77", "78", "not-a-number"] {
        let resp = api_get(
            &emu.base_url(),
            &format!("/download-service/files/activity/{id}"),
            &token,
        );
        assert_eq!(resp.status(), 404, "{id}");
        assert_eq!(resp.json::<Value>().unwrap()["error"], "NotFoundException");
    }
    let entry = &list(&emu, &token, "limit=1")[0];
    assert_eq!(entry["manualActivity"], true);
}

#[test]
fn accounts_do_not_see_each_other() {
    let mine = synthetic_activities(1, datetime!(2024-06-30 07:00 UTC), Duration::from_secs(600));
    let theirs = synthetic_activities(1, datetime!(2024-05-30 07:00 UTC), Duration::from_secs(600));
    let their_id = theirs[0].id;
    let emu = Emulator::start(
        EmulatorConfig::empty()
            .with_account(Account::new(EMAIL, "pw").with_activities(mine))
            .with_account(Account::new("b@example.com", "pw").with_activities(theirs)),
    )
    .unwrap();
    let token = emu.mint_tokens(EMAIL, FIRST_CLIENT).access_token;
    assert!(!ids(&list(&emu, &token, "limit=10")).contains(&their_id));
    assert_eq!(
        api_get(
            &emu.base_url(),
            &format!("/download-service/files/activity/{their_id}"),
            &token
        )
        .status(),
        404
    );
}

#[test]
fn default_demo_serves_the_real_fixtures_consistently() {
    let emu = Emulator::start(EmulatorConfig::default_demo()).unwrap();
    let held = emu.activities("demo@example.com");
    assert!(
        held.len() >= 10,
        "expected the shared FIT fixtures, got {} activities",
        held.len()
    );
    let token = emu
        .mint_tokens("demo@example.com", FIRST_CLIENT)
        .access_token;
    let entries = list(&emu, &token, "limit=100");
    for e in &entries {
        let id = e["activityId"].as_u64().unwrap();
        let a = held.iter().find(|a| a.id == id).unwrap();
        // The list's start and distance are the FIT session's own.
        let summary = garmin_emulator::activity::summarize_fit(a.fit.as_ref().unwrap()).unwrap();
        assert_eq!(
            e["startTimeGMT"],
            garmin_emulator::listing::garmin_time(summary.start)
        );
        assert!((e["distance"].as_f64().unwrap() - summary.distance_m).abs() < 0.01);
    }
    let other = emu.activities("mfa@example.com");
    assert_eq!(other.len(), held.len());
}
