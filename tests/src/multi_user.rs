//! A server with many users for the multi-user suites and benchmark: the
//! emulator serving one account per user, a data dir whose plugin.toml
//! points the Garmin plugin at it, users added and connected one by one,
//! and the scheduler driven round by round on a manual clock.

use crate::store_check::check_store;
use crate::{plugin_libraries, write_plugin_toml, Entry};
use bincio_state::{ConnectionId, Role, SecretString, StateDb};
use garmin_emulator::{synthetic_activities, Account, Emulator, EmulatorConfig};
use host_demo::clock::{Clock, ManualClock};
use host_demo::host::{users::add_user, ConnectOutcome, Host};
use host_demo::scheduler::Scheduler;
use host_demo::services::CancelFlag;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const PLUGIN: &str = "dev.bincio.garmin";
pub const PASSWORD: &str = "pw-of-every-test-account";

pub fn handle(i: usize) -> String {
    format!("user-{i:02}")
}

pub fn email(i: usize) -> String {
    format!("user{i}@example.com")
}

/// One server: `users` accounts of `per_user` activities each at the
/// emulator, and a data dir whose plugin.toml has `extra` (TOML lines after
/// the settings: `[plugins.request_budget]` and the like).
pub struct Server {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub clock: ManualClock,
}

impl Server {
    /// `users` accounts of `per_user` activities; `settings` are TOML lines
    /// for the plugin's entry after its settings (a `[plugins.request_budget]`
    /// table may follow them).
    pub fn start(users: usize, per_user: usize, settings: &str) -> Self {
        Self::start_with(users, per_user, settings, plugin_libraries().garmin.clone())
    }

    /// As [`Server::start`] with another build of the plugin library.
    pub fn start_with(users: usize, per_user: usize, settings: &str, library: PathBuf) -> Self {
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
            "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\nweb_service_base_url = {url:?}\n\
login_pause_ms = 0\nrequest_pacing_ms = 0\nrequest_timeout_secs = 20\n{settings}{}",
            if settings.contains("request_budget") {
                ""
            } else {
                crate::NO_BUDGET
            }
        );
        let config = write_plugin_toml(
            dir.path(),
            &[Entry {
                id: PLUGIN,
                library: &library,
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

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn host_for(&self, handle: &str) -> Host {
        Host::open_with_clock(
            &self.config,
            self.data(),
            handle,
            Arc::new(self.clock.clone()),
        )
        .expect("host opens")
    }

    /// Adds user `i`, accepts the disclaimer as them, connects their account.
    pub fn add_and_connect(&self, i: usize) -> ConnectionId {
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
    pub fn scheduler(&self, max_concurrent: usize) -> Scheduler {
        Scheduler::new(Arc::new(self.host_for(&handle(0))), CancelFlag::new())
            .with_max_concurrent(max_concurrent)
    }

    /// The external ids in user `i`'s store.
    pub fn store_ids(&self, i: usize) -> BTreeSet<String> {
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

    pub fn expected_count(&self, i: usize) -> usize {
        self.emulator.activities(&email(i)).len()
    }
}

/// Ticks until no connection is due and none runs, moving the clock past
/// the plugin's minimum interval (and any failure backoff) between rounds,
/// until no run has more history or failed; answers the failures seen.
pub fn run_until_idle(server: &Server, s: &Scheduler, max_rounds: usize) -> Vec<String> {
    let mut failures = Vec::new();
    for _ in 0..max_rounds {
        let mut started = 0;
        loop {
            let now_started = s.tick().unwrap().len();
            started += now_started;
            // A run may end between the tick and this check: stop only when
            // nothing runs and nothing is due.
            if now_started == 0 && s.running().is_empty() && s.due().unwrap().is_empty() {
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
