//! The server under load: `host-demo serve` as a child process on a data
//! dir made here (plugin.toml pointing the plugin at the emulator, users
//! with passwords), its peak RSS read from `/proc/PID/status`, and its stop
//! through SIGINT as Ctrl-C would (killed by its pid if it does not stop).

use bincio_state::{Role, SecretString, StateDb};
use bincio_tests::{write_plugin_toml, Entry};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PLUGIN: &str = "dev.bincio.garmin";
/// Every user's password, at the server and at the emulator.
pub const PASSWORD: &str = "web-load-password-1";
/// How long the server may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub fn handle(i: usize) -> String {
    format!("user-{i:02}")
}

pub fn email(i: usize) -> String {
    format!("user{i}@example.com")
}

pub struct Artifacts {
    pub host_demo: PathBuf,
    pub plugin: PathBuf,
}

/// Builds host-demo and plugin-garmin in this bench's own profile (release
/// under `cargo bench`, debug under `cargo test --bench`) and returns their
/// paths; panics with cargo's output if the build fails.
pub fn build_artifacts() -> Artifacts {
    let exe = std::env::current_exe().expect("bench binary path");
    // target/<profile>/deps/web_load-HASH
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the bench runs from target/<profile>/deps")
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut args = vec!["build", "-p", "host-demo", "-p", "plugin-garmin"];
    if release {
        args.push("--release");
    }
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    bincio_tests::cargo_build(&args, "host-demo and plugin-garmin");
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let artifacts = Artifacts {
        host_demo: profile_dir.join(format!("host-demo{}", std::env::consts::EXE_SUFFIX)),
        plugin: profile_dir.join(format!("{prefix}plugin_garmin{suffix}")),
    };
    for path in [&artifacts.host_demo, &artifacts.plugin] {
        assert!(path.is_file(), "missing {}", path.display());
    }
    artifacts
}

/// A data dir for `users` users (`user-00`...) whose plugin.toml points
/// the plugin at the emulator at `url`, pacing and the request budget off,
/// no per-run cap below what one sync imports.
pub fn prepare_data_dir(dir: &Path, plugin: &Path, url: &str, users: usize) -> PathBuf {
    let settings = format!(
        "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\nweb_service_base_url = {url:?}\n\
         login_pause_ms = 0\nrequest_pacing_ms = 0\nrequest_timeout_secs = 30\n\
         max_downloads_per_run = 1000000\nlookback_days = 30\n{}",
        bincio_tests::NO_BUDGET
    );
    let config = write_plugin_toml(
        dir,
        &[Entry {
            id: PLUGIN,
            library: plugin,
            enabled: true,
            settings: &settings,
        }],
    );
    let db = StateDb::open(&dir.join("state.sqlite3")).expect("state db");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for i in 0..users {
        host_demo::host::users::add_user(
            &db,
            &handle(i),
            None,
            Role::User,
            Some(&SecretString::from(PASSWORD)),
            now,
        )
        .expect("user added");
    }
    config
}

/// `host-demo serve` on 127.0.0.1 (a free port), stderr into `log`.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl ServerProcess {
    pub fn start(host_demo: &Path, config: &Path, data: &Path, log: PathBuf) -> Self {
        let stderr = std::fs::File::create(&log).expect("server log file");
        let mut child = Command::new(host_demo)
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("host-demo serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        // "Serving the settings page on http://127.0.0.1:PORT (...)"; an
        // earlier line may say that nobody can sign in yet (not here).
        let url = lines.by_ref().map_while(Result::ok).find_map(|line| {
            let at = line.find("http://")?;
            line[at..].split_whitespace().next().map(str::to_string)
        });
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let mut server = Self {
            child,
            url: String::new(),
            log,
        };
        server.url = url.unwrap_or_else(|| {
            panic!(
                "host-demo serve printed no URL; its log:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            )
        });
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn status_kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/PID/status"))
    }

    /// Peak RSS since exec or the last [`ServerProcess::reset_peak`] (KiB).
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Sets the peak RSS back to the current RSS (Linux: `5` into
    /// `clear_refs`), so each phase reads its own peak.
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
            .expect("resetting the server's VmHWM through /proc/PID/clear_refs");
    }

    /// Stops the server as Ctrl-C would and returns the log lines at
    /// warning level or above.
    pub fn stop(mut self) -> Vec<String> {
        let interrupted = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let started = Instant::now();
        let mut stopped = false;
        while interrupted && started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "host-demo serve ended with {status}");
                stopped = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut problems: Vec<String> = log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .map(str::to_string)
            .collect();
        if !stopped {
            problems.push(format!(
                "the server did not stop within {STOP_TIMEOUT:?} of SIGINT; killed"
            ));
        }
        problems
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
