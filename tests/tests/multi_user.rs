//! Many users on one server, against the emulator serving many accounts:
//! every user's activities land in their own store exactly once; the
//! plugin-wide request budget holds across all accounts (no window above
//! it, bounded bursts) and a 429 to one account slows every account; a new
//! connection's first run is not queued behind others' backfills; one
//! user's broken store or cooldown never stops another's sync.

use bincio_state::{ConnectionId, Role, SecretString, StateDb};
use bincio_tests::store_check::check_store;
use bincio_tests::{plugin_libraries, write_plugin_toml, Entry};
use garmin_emulator::{synthetic_activities, Account, Emulator, EmulatorConfig, LoggedRequest};
use host_demo::clock::{Clock, ManualClock};
use host_demo::host::{users::add_user, ConnectOutcome, Host};
use host_demo::scheduler::Scheduler;
use host_demo::services::CancelFlag;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const PLUGIN: &str = "dev.bincio.garmin";
const PASSWORD: &str = "pw-of-every-test-account";

fn handle(i: usize) -> String {
    format!("user-{i:02}")
}

fn email(i: usize) -> String {
    format!("user{i}@example.com")
}

/// One server: `users` accounts of `per_user` activities each at the
/// emulator, and a data dir whose plugin.toml has `extra` (TOML lines after
/// the settings: `[plugins.request_budget]` and the like).
struct Server {
    emulator: Emulator,
    dir: tempfile::TempDir,
    config: PathBuf,
    clock: ManualClock,
}

impl Server {
    fn start(users: usize, per_user: usize, settings: &str) -> Self {
        let newest = time::OffsetDateTime::now_utc() - Duration::from_secs(86_400);
        let mut config = EmulatorConfig::empty();
        for i in 0..users {
            // Starts differ per account (ids derive from the start second).
            let start = newest - Duration::from_secs(13 * i as u64);
            let activities = synthetic_activities(per_user, start, Duration::from_secs(3 * 3600));
            config =
                config.with_account(Account::new(&email(i), PASSWORD).with_activities(activities));
        }
        let emulator = Emulator::start(config).expect("emulator starts");
        let dir = tempfile::tempdir().unwrap();
        let url = emulator.base_url();
        let settings = format!(
            "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\n\
login_pause_ms = 0\nrequest_pacing_ms = 0\nrequest_timeout_secs = 20\n{settings}"
        );
        let config = write_plugin_toml(
            dir.path(),
            &[Entry {
                id: PLUGIN,
                library: &plugin_libraries().garmin,
                enabled: true,
                settings: &settings,
            }],
        );
        let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp());
        Self {
            emulator,
            dir,
            config,
            clock,
        }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    fn host_for(&self, handle: &str) -> Host {
        Host::open_with_clock(
            &self.config,
            self.data(),
            handle,
            Arc::new(self.clock.clone()),
        )
        .expect("host opens")
    }

    /// Adds user `i`, accepts the disclaimer as them, connects their account.
    fn add_and_connect(&self, i: usize) -> ConnectionId {
        let db = StateDb::open(&self.data().join("state.sqlite3")).unwrap();
        add_user(&db, &handle(i), None, Role::User, None, self.clock.now()).unwrap();
        drop(db);
        let host = self.host_for(&handle(i));
        host.accept_disclaimer(PLUGIN).unwrap();
        let outcome = host
            .begin_connect(
                PLUGIN,
                vec![
                    ("email".into(), SecretString::from(email(i).as_str())),
                    ("password".into(), SecretString::from(PASSWORD)),
                ],
            )
            .expect("connects");
        match outcome {
            ConnectOutcome::Connected { connection, .. } => connection,
            other => panic!("user {i} did not connect: {other:?}"),
        }
    }

    /// The server's scheduler host (it serves every user whoever opens it).
    fn scheduler(&self, max_concurrent: usize) -> Scheduler {
        Scheduler::new(Arc::new(self.host_for(&handle(0))), CancelFlag::new())
            .with_max_concurrent(max_concurrent)
    }

    /// The external ids in user `i`'s store.
    fn store_ids(&self, i: usize) -> BTreeSet<String> {
        let store = self.data().join(handle(i));
        if !store.join("index.json").exists() {
            return BTreeSet::new();
        }
        check_store(&store).unwrap_or_else(|p| panic!("store of {}: {p:?}", handle(i)));
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(store.join("index.json")).unwrap()).unwrap();
        index["activities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    }

    fn expected_count(&self, i: usize) -> usize {
        self.emulator.activities(&email(i)).len()
    }
}

/// Ticks until no connection is due and none runs, moving the clock past
/// the plugin's minimum interval (and any failure backoff) between rounds,
/// until no run has more history or failed; answers the failures seen.
fn run_until_idle(server: &Server, s: &Scheduler, max_rounds: usize) -> Vec<String> {
    let mut failures = Vec::new();
    for _ in 0..max_rounds {
        let mut started = 0;
        loop {
            let now_started = s.tick().unwrap().len();
            started += now_started;
            if now_started == 0 && s.running().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut again = false;
        for r in s.take_finished() {
            match &r.outcome {
                Ok(report) => match &report.result {
                    Ok(sum) => again |= sum.has_more,
                    Err(e) => {
                        failures.push(format!("{}: {e}", r.connection));
                        again = true;
                    }
                },
                Err(e) => {
                    failures.push(format!("{}: {e}", r.connection));
                    again = true;
                }
            }
        }
        if started == 0 || !again {
            return failures;
        }
        // Past the minimum interval and the longest failure backoff.
        server.clock.advance(25 * 3600);
    }
    panic!("still syncing after {max_rounds} rounds; failures: {failures:?}");
}

#[test]
fn twenty_users_get_their_own_activities_exactly_once() {
    const USERS: usize = 20;
    let server = Server::start(
        USERS,
        200,
        "max_downloads_per_run = 100\n[plugins.request_budget]\nenabled = false",
    );
    for i in 0..USERS {
        server.add_and_connect(i);
    }
    let s = server.scheduler(8);
    let failures = run_until_idle(&server, &s, 10);
    eprintln!("transient failures, retried: {failures:?}");
    let mut all = BTreeSet::new();
    for i in 0..USERS {
        let ids = server.store_ids(i);
        assert_eq!(ids.len(), server.expected_count(i), "{}", handle(i));
        for id in &ids {
            assert!(all.insert(id.clone()), "{id} is in two stores");
        }
    }
    // Exactly once: one ledger row per activity, all imported.
    let db = StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    assert_eq!(db.ledger_count().unwrap(), (USERS * 200) as u64);
    // Each user's connection is theirs, and their runs are recorded.
    for c in db.connections().unwrap() {
        assert!(db.last_run(&c.id).unwrap().is_some());
        assert!(c.user.as_str().starts_with("user-"));
    }
}

/// API requests (those carrying an account's token) from `from` on.
fn api_requests(server: &Server, from: usize) -> Vec<LoggedRequest> {
    server.emulator.request_log()[from..]
        .iter()
        .filter(|r| r.account.is_some())
        .cloned()
        .collect()
}

#[test]
fn the_budget_holds_across_all_accounts_with_bounded_bursts() {
    const USERS: usize = 4;
    const REQUESTS: usize = 12;
    const WINDOW_MS: i64 = 4000;
    const BURST: usize = 3;
    let server = Server::start(
        USERS,
        8,
        &format!(
            "[plugins.request_budget]\nrequests = {REQUESTS}\nwindow_secs = {}\nburst = {BURST}",
            WINDOW_MS / 1000
        ),
    );
    for i in 0..USERS {
        server.add_and_connect(i);
    }
    let from = server.emulator.request_log().len();
    let s = server.scheduler(USERS);
    run_until_idle(&server, &s, 5);
    for i in 0..USERS {
        assert_eq!(server.store_ids(i).len(), 8, "{}", handle(i));
    }
    let log = api_requests(&server, from);
    let accounts: BTreeSet<_> = log.iter().filter_map(|r| r.account.clone()).collect();
    assert_eq!(accounts.len(), USERS, "every account was served");
    assert!(
        log.len() > 2 * REQUESTS,
        "enough requests to test: {}",
        log.len()
    );
    let times: Vec<i64> = log.iter().map(|r| r.at_ms).collect();
    for (k, t) in times.iter().enumerate() {
        let in_window = times[k..]
            .iter()
            .take_while(|u| **u < t + WINDOW_MS)
            .count();
        assert!(
            in_window <= REQUESTS,
            "{in_window} requests in the {WINDOW_MS} ms from {t}"
        );
        // A burst: requests closer together than a fifth of the spacing.
        let spacing = WINDOW_MS / (REQUESTS - BURST) as i64;
        let burst = times[k..]
            .iter()
            .take_while(|u| **u < t + spacing / 5)
            .count();
        assert!(burst <= BURST, "{burst} requests back to back at {t}");
    }
    // The budget was the limit: the whole took at least the paced time.
    let span = times.last().unwrap() - times[0];
    let paced = (times.len() - BURST) as i64 * (WINDOW_MS / (REQUESTS - BURST) as i64);
    assert!(
        span >= paced * 9 / 10,
        "{} requests in {span} ms",
        times.len()
    );
}

#[test]
fn a_429_to_one_account_slows_every_account() {
    const USERS: usize = 3;
    const RETRY_AFTER_MS: i64 = 3000;
    let server = Server::start(
        USERS,
        12,
        "[plugins.request_budget]\nrequests = 600\nwindow_secs = 60\nburst = 5",
    );
    for i in 0..USERS {
        server.add_and_connect(i);
    }
    let from = server.emulator.request_log().len();
    server
        .emulator
        .rate_limit_account(&email(0), 1, (RETRY_AFTER_MS / 1000) as u64);
    let s = server.scheduler(USERS);
    s.tick().unwrap();
    s.wait();
    let log = api_requests(&server, from);
    let limited = log
        .iter()
        .find(|r| r.rate_limited)
        .expect("the account got its 429");
    let t429 = limited.at_ms;
    let others: Vec<i64> = log
        .iter()
        .filter(|r| r.account.as_deref() != Some(email(0).as_str()))
        .map(|r| r.at_ms)
        .collect();
    // Requests already on their way when the 429 came (one per other sync)
    // may arrive; nothing else from any account until the cooldown is over.
    let during = others
        .iter()
        .filter(|t| **t > t429 && **t < t429 + RETRY_AFTER_MS - 200)
        .count();
    assert!(
        during < USERS,
        "{during} requests of other accounts during the cooldown"
    );
    assert!(
        others.iter().any(|t| *t >= t429 + RETRY_AFTER_MS - 200),
        "the others went on after the cooldown"
    );
    for i in 1..USERS {
        assert_eq!(server.store_ids(i).len(), 12, "{} finished", handle(i));
    }
}

#[test]
fn the_last_connected_users_first_run_comes_before_others_backfills() {
    let server = Server::start(5, 60, "max_downloads_per_run = 20");
    for i in 0..4 {
        server.add_and_connect(i);
    }
    let s = server.scheduler(2);
    // Round one: everyone's first run (the backfills go on after it).
    for _ in 0..2 {
        assert_eq!(s.tick().unwrap().len(), 2);
        s.wait();
    }
    s.take_finished();
    server.clock.advance(3601);
    let late = server.add_and_connect(4);
    // Everyone is due again; the new connection's first run goes first.
    let started = s.tick().unwrap();
    assert!(started.contains(&late), "started {started:?}, not {late}");
    s.wait();
    assert_eq!(server.store_ids(4).len(), 20, "its first run imported");
    // The backfills were not done yet: the newcomer did not wait for them.
    let backfilled: usize = (0..4).map(|i| server.store_ids(i).len()).sum();
    assert!(backfilled < 4 * 60, "{backfilled}");
}

#[test]
fn one_users_broken_store_or_cooldown_never_stops_another() {
    let server = Server::start(3, 5, "");
    for i in 0..3 {
        server.add_and_connect(i);
    }
    // user-01's store cannot be created; user-02 is cooling down.
    std::fs::write(server.data().join(handle(1)), b"not a directory").unwrap();
    let db = StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    let third = db
        .connections_of(&bincio_state::UserHandle::parse(&handle(2)).unwrap())
        .unwrap()[0]
        .id
        .clone();
    db.set_cooldown(third, server.clock.now() + 3600, "Too many requests")
        .unwrap();
    let s = server.scheduler(3);
    s.tick().unwrap();
    s.wait();
    let finished = s.take_finished();
    assert_eq!(finished.len(), 3);
    assert_eq!(server.store_ids(0).len(), 5, "user-00 synced regardless");
    let failed = finished
        .iter()
        .filter(|r| !matches!(&r.outcome, Ok(rep) if rep.result.is_ok()))
        .count();
    assert_eq!(failed, 2, "the broken store and the cooldown fail alone");
}
