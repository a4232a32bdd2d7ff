//! The web server when something needs the user or the server stops, over real HTTP on
//! loopback against the in-process server, the real Garmin plugin and the emulator: the status
//! says what needs the user together with the action that fixes it, and stopping the server
//! stops a sync after its item in hand and ends the live streams.

use bincio_state::{ConnectionId, ConnectionStatus, Role, SecretString, UserHandle};
use bincio_tests::harness::{DEMO_EMAIL, PASSWORD};
use bincio_tests::web_server::WebTest;
use garmin_emulator::{EmulatorConfig, Fault, Target};
use host_demo::host::ConnectOutcome;
use serde_json::json;
use std::time::Duration;

const USER_PASSWORD: &str = "ada-password-1";

/// The user `ada`, the disclaimer accepted, her Garmin account connected (no MFA).
fn connect_ada(t: &WebTest) -> ConnectionId {
    t.add_user("ada", USER_PASSWORD, Role::User);
    let ada = UserHandle::parse("ada").unwrap();
    t.host
        .accept_disclaimer_for(&ada, "dev.bincio.garmin")
        .unwrap();
    let credentials = vec![
        ("email".into(), SecretString::from(DEMO_EMAIL)),
        ("password".into(), SecretString::from(PASSWORD)),
    ];
    match t
        .host
        .begin_connect_for(&ada, "dev.bincio.garmin", credentials)
        .unwrap()
    {
        ConnectOutcome::Connected { connection, .. } => connection,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_status_says_what_needs_the_user_with_the_action_that_fixes_it() {
    use bincio_state::CooldownScope;
    let t = WebTest::start(EmulatorConfig::default_demo(), "", WebTest::config());
    let id = connect_ada(&t);
    let mut c = t.client();
    c.login("ada", USER_PASSWORD);
    assert_eq!(
        c.get("/api/garmin/status").json()["attention"],
        serde_json::Value::Null
    );

    let until = t.host.now() + 3600;
    t.host
        .db
        .set_cooldown(CooldownScope::Connection(id.clone()), until, "slow down")
        .unwrap();
    let limited = c.get("/api/garmin/status").json();
    let text = limited["attention"].as_str().unwrap();
    assert!(
        text.starts_with("Rate limited by the service: no sync before "),
        "{text}"
    );
    assert!(
        text.contains(&host_demo::host::format_time(until)),
        "{text}"
    );

    t.host
        .db
        .set_connection_status(
            &id,
            ConnectionStatus::NeedsUser,
            Some("Garmin refused the password."),
        )
        .unwrap();
    let page = c.get("/settings/importers");
    assert!(
        page.body.contains("id=\"attention-garmin\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("Garmin refused the password. Connect again to fix it."),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("href=\"/settings/importers/dev.bincio.garmin/connect\""));
    assert!(
        !page.body.contains("host-demo connect"),
        "no CLI advice on the page"
    );
    assert_eq!(
        c.post_json("/api/garmin/sync", json!({})).status,
        409,
        "it cannot sync until fixed"
    );
}

#[test]
fn stopping_the_server_stops_a_sync_after_its_item_and_ends_the_streams() {
    use bincio_state::RunOutcome;
    let mut t = WebTest::start(EmulatorConfig::default_demo(), "", WebTest::config());
    let id = connect_ada(&t);
    t.emulator
        .set_fault(Fault::Delay(Duration::from_millis(400)).on(Target::Download(None)));
    let mut c = t.client();
    c.login("ada", USER_PASSWORD);
    assert_eq!(
        c.post_json("/api/garmin/sync", json!({})).json()["started"],
        true
    );
    let (first_item, seen_first) = std::sync::mpsc::channel();
    let follower = std::thread::spawn(move || {
        let mut sent = false;
        c.read_stream("/api/garmin/sync/stream", |e| {
            if e["type"] == "progress" && !sent {
                sent = true;
                let _ = first_item.send(());
            }
        })
    });
    seen_first.recv().expect("the run imports its first item");
    t.stop();
    let events = follower.join().expect("the stream ended with the server");
    let run = t.host.db.last_run(&id).unwrap().unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Cancelled), "{run:?}");
    let all = t
        .emulator
        .activities(bincio_tests::harness::DEMO_EMAIL)
        .len() as u64;
    assert!(
        run.counts.imported >= 1 && run.counts.imported < all,
        "{run:?} of {all}"
    );
    assert!(
        matches!(
            events.last().unwrap()["type"].as_str(),
            Some("error" | "progress")
        ),
        "{events:?}"
    );
    // What was imported is in the store.
    let index = std::fs::read_to_string(t.data_dir().join("ada/index.json")).unwrap();
    assert!(index.contains("\"id\""), "{index}");
}
