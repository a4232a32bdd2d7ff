//! A host wired to an emulator, for one test: a temp data dir, a plugin.toml
//! pointing the real Garmin plugin library at the emulator (pauses and
//! pacing off), a manual clock, and every log line captured at TRACE.

use crate::{plugin_libraries, write_plugin_toml, Entry};
use bincio_state::SecretString;
use garmin_emulator::{Emulator, EmulatorConfig};
use host_demo::clock::ManualClock;
use host_demo::host::{ConnectOutcome, Host, HostError, SyncOptions, SyncReport};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const PLUGIN: &str = "dev.bincio.garmin";
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const MFA_EMAIL: &str = "mfa@example.com";
pub const PASSWORD: &str = "demo-password";

pub struct TestHost {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub host: Arc<Host>,
    settings: String,
}

impl TestHost {
    /// An emulator with `config` and a host whose plugin has `extra_settings`
    /// (TOML lines) on top of the test defaults.
    pub fn start(config: EmulatorConfig, extra_settings: &str) -> Self {
        crate::logs::capture();
        let emulator = Emulator::start(config).expect("emulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = emulator.base_url();
        let settings = emulator_settings(&url, extra_settings);
        let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp());
        let host = open_host(dir.path(), &settings, &clock);
        host.accept_disclaimer(PLUGIN).expect("accept disclaimer");
        Self {
            emulator,
            dir,
            clock,
            host,
            settings,
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Drops the host and opens a new one on the same data dir, as a
    /// restart would.
    pub fn restart(&mut self) {
        let host = open_host(self.dir.path(), &self.settings, &self.clock);
        self.host = host;
    }

    pub fn connect(&self, email: &str, password: &str) -> Result<ConnectOutcome, HostError> {
        self.host.begin_connect(
            PLUGIN,
            vec![
                ("email".into(), SecretString::new(email.into())),
                ("password".into(), SecretString::new(password.into())),
            ],
        )
    }

    /// Connects the demo account and returns its connection id.
    pub fn connect_demo(&self) -> String {
        match self.connect(DEMO_EMAIL, PASSWORD).expect("demo connects") {
            ConnectOutcome::Connected { connection, .. } => connection.to_string(),
            other => panic!("demo account should connect at once, got {other:?}"),
        }
    }

    pub fn sync(&self, connection: &str) -> SyncReport {
        self.host
            .sync_connection(connection, SyncOptions::default())
            .expect("sync runs")
    }

    /// Syncs until the plugin reports no more history (at most `max_runs`).
    pub fn sync_until_done(&self, connection: &str, max_runs: usize) -> Vec<SyncReport> {
        let mut reports = Vec::new();
        for _ in 0..max_runs {
            let report = self.sync(connection);
            let more = matches!(&report.result, Ok(s) if s.has_more);
            reports.push(report);
            if !more {
                break;
            }
        }
        reports
    }

    pub fn state_db_path(&self) -> PathBuf {
        self.dir.path().join("state.sqlite3")
    }
}

/// The Garmin plugin's settings pointing at the emulator at `url` (pauses
/// and pacing off, no request budget), with `extra_settings` (TOML lines).
pub fn emulator_settings(url: &str, extra_settings: &str) -> String {
    format!(
        "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\nweb_service_base_url = {url:?}\n\
login_pause_ms = 0\nrequest_pacing_ms = 0\nrequest_timeout_secs = 10\n{extra_settings}{}",
        crate::NO_BUDGET
    )
}

fn open_host(dir: &Path, settings: &str, clock: &ManualClock) -> Arc<Host> {
    let libs = plugin_libraries();
    let config = write_plugin_toml(
        dir,
        &[Entry {
            id: PLUGIN,
            library: &libs.garmin,
            enabled: true,
            settings,
        }],
    );
    let host =
        Host::open_with_clock(&config, dir, "me", Arc::new(clock.clone())).expect("host opens");
    Arc::new(host)
}
