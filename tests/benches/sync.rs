//! Sync benchmark, end to end: the real Garmin plugin library (release build)
//! in the real host, syncing from the Garmin Connect emulator over loopback,
//! pacing and login pauses off.
//!
//! 1. Throughput: a 1,000-activity backfill (list, download the zips, take
//!    the FIT out, convert, write the BAS store, ledger and cursor), synced
//!    until `has_more` is false with a per-run cap far above 1,000. Baselines
//!    in the same run, same activities: the bare HTTP requests (the same list
//!    pages and the 1,000 zips, one plain keep-alive client) and the local
//!    import of the same FIT bytes through the host's pipeline. Rounds
//!    interleave the three (order rotated); medians are reported. Here the
//!    emulator runs in this process, for the sync and the HTTP baseline alike.
//! 2. Peak memory of the host when the account lists 1,000 and 10,000
//!    activities. The emulator is the `garmin-emulator` binary in its own
//!    process (killed at the end by its pid). Each host phase is this binary
//!    re-run as `--child PHASE ...`, which prints its VmHWM (peak RSS of the
//!    process since its exec). `wait4`'s `ru_maxrss` is not used: Linux
//!    carries the parent's high-water mark into a fork+exec'd child, so it
//!    reports this (larger) parent. Phases per account, on one data dir:
//!    - `first-run`: login and a first run capped at 200 downloads;
//!    - `backfill`: the rest of the history in one run (info only);
//!    - `relist`: the look-back widened past the whole history, so one run
//!      lists all N activities, finds each in the ledger and downloads
//!      nothing (the measured case; the host opens the store of N only if
//!      something is imported, so here it answers from the ledger alone);
//!    - `relist-bare`: the same walk with the store opened under another
//!      handle (empty), the ledger unchanged: the listing alone.
//!
//! Run: `cargo bench -p bincio-tests --bench sync` (it first builds
//! plugin-garmin and garmin-emulator in release). `SYNC_BENCH_QUICK=1`
//! divides every size by 10 (a smoke run; not comparable).

use bincio_state::{SecretString, StateDb};
use bincio_tests::store_check::check_store;
use bincio_tests::{workspace_root, write_plugin_toml, Entry};
use garmin_emulator::{synthetic_activities, Account, Activity, Emulator, EmulatorConfig};
use host_demo::host::{ConnectOutcome, Host, SyncOptions};
use host_demo::import::{open_local, Item, Outcome};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PLUGIN: &str = "dev.bincio.garmin";
const PASSWORD: &str = "demo-password";
const HANDLE: &str = "me";
/// Above any history here: no sync is stopped by the cap.
const LARGE_CAP: u32 = 1_000_000;
/// Wider than the synthetic histories (one activity a day for 10,000 days).
const WHOLE_HISTORY_DAYS: u32 = 100_000;
/// The plugin's default page size, which the HTTP baseline copies.
const PAGE: usize = 50;
const MEMORY_TARGET: f64 = 1.2;
/// The host phases run per account, in order, on one data dir.
const PHASES: [(&str, &str); 4] = [
    (
        "first-run",
        "login + a first run, capped (same downloads, same store)",
    ),
    (
        "backfill",
        "the rest of the history in one run (downloads differ: info only)",
    ),
    (
        "relist",
        "all N listed, 0 downloads, store of N not opened (the measured case)",
    ),
    (
        "relist-bare",
        "all N listed, empty store, same ledger, 0 downloads (listing alone)",
    ),
];

struct Sizes {
    backfill: usize,
    listed: [usize; 2],
    first_run_cap: u32,
    rounds: usize,
}

fn sizes() -> Sizes {
    let quick = std::env::var_os("SYNC_BENCH_QUICK").is_some_and(|v| v != "0");
    let d = if quick { 10 } else { 1 };
    Sizes {
        backfill: 1_000 / d,
        listed: [1_000 / d, 10_000 / d],
        first_run_cap: 200 / d as u32,
        rounds: if quick { 1 } else { 7 },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        return child::main(&args[at + 1..]);
    }
    if args.iter().any(|a| a == "--list") {
        return println!("sync: bench");
    }
    let sizes = sizes();
    let (plugin, emulator) = release_artifacts();
    println!("plugin library: {}", plugin.display());
    let throughput = throughput::measure(&plugin, &sizes);
    let memory = memory::measure(&plugin, &emulator, &sizes);
    report(&sizes, &throughput, &memory);
}

/// Builds plugin-garmin (cdylib) and the emulator binary in release and
/// returns their paths; panics with cargo's output if that fails.
fn release_artifacts() -> (PathBuf, PathBuf) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args("build --release -p plugin-garmin -p garmin-emulator".split(' '))
        .current_dir(workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building plugin-garmin and garmin-emulator in release failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("release");
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let plugin = dir.join(format!("{prefix}plugin_garmin{suffix}"));
    let emulator = dir.join(format!("garmin-emulator{}", std::env::consts::EXE_SUFFIX));
    for path in [&plugin, &emulator] {
        assert!(path.is_file(), "missing {}", path.display());
    }
    (plugin, emulator)
}

/// plugin.toml settings pointing the plugin at `url`, pacing off.
fn plugin_settings(url: &str, cap: u32, lookback_days: Option<u32>) -> String {
    let mut settings = format!(
        "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\n\
         login_pause_ms = 0\nrequest_pacing_ms = 0\nmax_downloads_per_run = {cap}\n"
    );
    if let Some(days) = lookback_days {
        settings.push_str(&format!("lookback_days = {days}\n"));
    }
    settings
}

/// A host on `dir` (store `{dir}/{handle}`) with only the Garmin plugin,
/// its disclaimer accepted.
fn open_host(dir: &Path, handle: &str, plugin: &Path, settings: &str) -> Host {
    let entry = Entry {
        id: PLUGIN,
        library: plugin,
        enabled: true,
        settings,
    };
    let config = write_plugin_toml(dir, &[entry]);
    let host = Host::open(&config, dir, handle).expect("host opens");
    host.accept_disclaimer(PLUGIN).expect("disclaimer accepted");
    host
}

/// Connects `email` (no MFA) and returns the connection id.
fn connect(host: &Host, email: &str) -> String {
    let inputs = vec![
        ("email".to_string(), SecretString::new(email.into())),
        ("password".to_string(), SecretString::new(PASSWORD.into())),
    ];
    match host.begin_connect(PLUGIN, inputs).expect("connect runs") {
        ConnectOutcome::Connected { connection, .. } => connection.to_string(),
        other => panic!("{email} should connect at once, got {other:?}"),
    }
}

/// What the runs of one sync added up to.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    runs: u64,
    listed: u64,
    imported: u64,
    already_there: u64,
    /// Rejected or deferred: neither happens here.
    failed: u64,
}

/// Syncs `connection` once, or until the plugin reports no more history.
fn sync(host: &Host, connection: &str, until_done: bool) -> Totals {
    let mut totals = Totals::default();
    loop {
        let report = host.sync_connection(connection, SyncOptions::default());
        let summary = report.expect("sync runs").result.expect("sync succeeds");
        totals.runs += 1;
        totals.listed += u64::from(summary.listed);
        totals.imported += u64::from(summary.imported);
        totals.already_there += u64::from(summary.already_there);
        totals.failed += summary.rejected.len() as u64 + u64::from(summary.deferred);
        if !until_done || !summary.has_more {
            return totals;
        }
        assert!(totals.runs < 50, "has_more after 50 runs: {totals:?}");
    }
}

fn median(values: &[Duration]) -> Duration {
    let mut values = values.to_vec();
    values.sort();
    values[values.len() / 2]
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

mod throughput {
    //! Part 1: the backfill against its two baselines, rounds interleaved.
    use super::*;

    const EMAIL: &str = "backfill@example.com";

    pub struct Figures {
        pub activities: usize,
        pub fit_bytes: usize,
        pub sync_runs: u64,
        pub http_requests: usize,
        /// Per round: sync, bare HTTP, local import.
        pub sync: Vec<Duration>,
        pub http: Vec<Duration>,
        pub import: Vec<Duration>,
    }

    pub fn measure(plugin: &Path, sizes: &Sizes) -> Figures {
        let newest = time::OffsetDateTime::now_utc() - Duration::from_secs(3600);
        let spacing = Duration::from_secs(24 * 3600 + 7 * 60);
        let activities = synthetic_activities(sizes.backfill, newest, spacing);
        let account = Account::new(EMAIL, PASSWORD).with_activities(activities.clone());
        let config = EmulatorConfig::empty().with_account(account);
        let emulator = Emulator::start(config).expect("emulator starts");
        // Stores are deleted only after the last round: deleting thousands of
        // files between rounds slowed the next round's fsyncs here.
        let work = tempfile::tempdir().expect("temp dir");
        let mut f = Figures {
            activities: activities.len(),
            fit_bytes: activities
                .iter()
                .filter_map(|a| a.fit.as_ref())
                .map(Vec::len)
                .sum(),
            sync_runs: 0,
            http_requests: 0,
            sync: Vec::new(),
            http: Vec::new(),
            import: Vec::new(),
        };
        for round in 0..sizes.rounds {
            // Rotate the order so drift on a shared machine hits all three.
            for step in 0..3 {
                match (round + step) % 3 {
                    0 => {
                        let dir = work.path().join(format!("sync-{round}"));
                        let (time, runs) = sync_round(&emulator, plugin, &activities, &dir);
                        f.sync.push(time);
                        f.sync_runs = runs;
                    }
                    1 => {
                        let (time, requests) = http_round(&emulator, &activities);
                        f.http.push(time);
                        f.http_requests = requests;
                    }
                    _ => {
                        let dir = work.path().join(format!("import-{round}"));
                        f.import.push(import_round(&activities, &dir));
                    }
                }
            }
            let s = |d: &[Duration]| d[round].as_secs_f64();
            println!(
                "throughput round {}: sync {:.3} s, http {:.3} s, import {:.3} s",
                round + 1,
                s(&f.sync),
                s(&f.http),
                s(&f.import)
            );
        }
        f
    }

    /// A fresh host backfills the whole account; the time of the syncs
    /// (the login before them is not counted); then the store is validated.
    fn sync_round(
        emulator: &Emulator,
        plugin: &Path,
        all: &[Activity],
        dir: &Path,
    ) -> (Duration, u64) {
        std::fs::create_dir_all(dir).expect("data dir");
        let settings = plugin_settings(&emulator.base_url(), LARGE_CAP, None);
        let host = open_host(dir, HANDLE, plugin, &settings);
        let connection = connect(&host, EMAIL);
        let started = Instant::now();
        let totals = sync(&host, &connection, true);
        let time = started.elapsed();
        assert_eq!(
            (totals.imported, totals.failed),
            (all.len() as u64, 0),
            "{totals:?}"
        );
        let ledger = host.db.ledger_entries(PLUGIN).expect("ledger reads");
        assert_eq!(ledger.len(), all.len(), "one ledger row per activity");
        let ids = check_store(&dir.join(HANDLE))
            .unwrap_or_else(|problems| panic!("the synced store is broken: {problems:#?}"));
        assert_eq!(ids.len(), all.len(), "one stored activity per download");
        (time, totals.runs)
    }

    /// The bare HTTP of the backfill: the list pages and every zip, one
    /// keep-alive client, a token minted by the emulator (no login).
    fn http_round(emulator: &Emulator, all: &[Activity]) -> (Duration, usize) {
        let token = emulator
            .mint_tokens(EMAIL, garmin_emulator::DI_CLIENT_IDS[0])
            .access_token;
        let client = reqwest::blocking::Client::new();
        let base = emulator.base_url();
        let get = |url: String| {
            let response = client
                .get(&url)
                .bearer_auth(&token)
                .send()
                .expect("GET answers");
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.bytes().expect("body reads")
        };
        let started = Instant::now();
        let (mut requests, mut listed, mut bytes) = (0, 0, 0);
        loop {
            let path = "activitylist-service/activities/search/activities";
            let page = get(format!("{base}/{path}?start={listed}&limit={PAGE}"));
            let page: Vec<Value> = serde_json::from_slice(&page).expect("list page is JSON");
            requests += 1;
            listed += page.len();
            if page.len() < PAGE {
                break;
            }
        }
        for a in all {
            bytes += get(format!("{base}/download-service/files/activity/{}", a.id)).len();
            requests += 1;
        }
        let time = started.elapsed();
        assert_eq!(listed, all.len());
        assert!(bytes > all.len(), "every zip has a body");
        (time, requests)
    }

    /// The same FIT bytes, named and identified as the plugin does, into a
    /// fresh store through the host's pipeline, flushed every page (50) as
    /// the plugin's per-page commit does.
    fn import_round(all: &[Activity], dir: &Path) -> Duration {
        let mut pipeline = open_local(dir, HANDLE).expect("pipeline opens");
        let ids: Vec<String> = all.iter().map(|a| a.id.to_string()).collect();
        let names: Vec<String> = ids.iter().map(|id| format!("{id}_ACTIVITY.fit")).collect();
        let started = Instant::now();
        for (n, a) in all.iter().enumerate() {
            let item = Item {
                source: PLUGIN,
                external_id: Some(&ids[n]),
                connection: None,
                file_name: &names[n],
                bytes: a.fit.as_deref().expect("synthetic activities have a FIT"),
            };
            let outcome = pipeline.import(&item).expect("import runs");
            assert!(matches!(outcome, Outcome::Imported { .. }), "{outcome:?}");
            if (n + 1) % PAGE == 0 {
                pipeline.flush().expect("flush");
            }
        }
        pipeline.flush().expect("flush");
        let time = started.elapsed();
        assert_eq!(pipeline.store().len(), all.len());
        time
    }
}

mod memory {
    //! Part 2: the host's peak memory, phase by phase in child processes,
    //! against an emulator process.
    use super::*;

    /// One host phase, as its child process reported it.
    pub struct Phase {
        pub totals: Totals,
        pub seconds: f64,
        /// Peak RSS before the sync: host and store opened (and, in the
        /// first run, the login done).
        pub before_kib: u64,
        /// Peak RSS at the end of the sync.
        pub peak_kib: u64,
    }

    pub struct Account {
        pub listed: usize,
        /// In [`PHASES`] order.
        pub phases: Vec<Phase>,
    }

    /// The emulator process, killed by its pid when dropped (also on a panic).
    struct EmulatorProcess(Child);

    impl Drop for EmulatorProcess {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn email(listed: usize) -> String {
        format!("listed-{listed}@example.com")
    }

    pub fn measure(plugin: &Path, emulator: &Path, sizes: &Sizes) -> Vec<Account> {
        let work = tempfile::tempdir().expect("temp dir");
        let accounts = work.path().join("accounts.toml");
        let mut text = String::new();
        for n in sizes.listed {
            let email = email(n);
            text.push_str(&format!(
                "[[account]]\nemail = {email:?}\npassword = {PASSWORD:?}\n"
            ));
            text.push_str(&format!("sample_activities = false\nsynthetic = {n}\n\n"));
        }
        std::fs::write(&accounts, text).expect("write accounts file");
        let (emulator, url) = start_emulator(emulator, &accounts);
        println!("emulator process {} at {url}", emulator.0.id());
        let mut results = Vec::new();
        for n in sizes.listed {
            let data = work.path().join(format!("host-{n}"));
            results.push(account(plugin, &url, &data, n, sizes.first_run_cap));
        }
        drop(emulator);
        results
    }

    fn start_emulator(binary: &Path, accounts: &Path) -> (EmulatorProcess, String) {
        let mut child = Command::new(binary)
            .args(["--port", "0", "--accounts"])
            .arg(accounts)
            .stdout(Stdio::piped())
            .spawn()
            .expect("emulator starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = EmulatorProcess(child);
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        read.expect("emulator prints its address");
        let url = line.trim().strip_prefix("listening on ");
        let url =
            url.unwrap_or_else(|| panic!("unexpected first line from the emulator: {line:?}"));
        (process, url.to_string())
    }

    /// The phases for an account listing `listed` activities, checked.
    fn account(plugin: &Path, url: &str, data: &Path, listed: usize, cap: u32) -> Account {
        let email = email(listed);
        let phases: Vec<Phase> = PHASES
            .iter()
            .map(|(phase, _)| run_child(phase, data, plugin, url, &email, cap))
            .collect();
        let t: Vec<Totals> = phases.iter().map(|p| p.totals).collect();
        let n = listed as u64;
        assert_eq!(
            (t[0].imported, t[0].failed),
            (u64::from(cap), 0),
            "{:?}",
            t[0]
        );
        assert_eq!(t[0].imported + t[1].imported, n, "the backfill: {:?}", t[1]);
        for relist in &t[2..] {
            let walked = (relist.runs, relist.listed, relist.already_there);
            assert_eq!(
                walked,
                (1, n, n),
                "one run lists all, knows all: {relist:?}"
            );
            assert_eq!(
                (relist.imported, relist.failed),
                (0, 0),
                "no download: {relist:?}"
            );
        }
        let db = StateDb::open(&data.join("state.sqlite3")).expect("state db opens");
        assert_eq!(db.ledger_entries(PLUGIN).expect("ledger").len(), listed);
        let files = std::fs::read_dir(data.join(HANDLE).join("activities")).expect("store");
        assert_eq!(
            files.count(),
            2 * listed,
            "an activity file and a track each"
        );
        let db_kib = std::fs::metadata(data.join("state.sqlite3")).map_or(0, |m| m.len() / 1024);
        let peaks: Vec<String> = PHASES
            .iter()
            .zip(&phases)
            .map(|((name, _), p)| format!("{name} {}", mib(p.peak_kib)))
            .collect();
        println!(
            "account listing {listed}: peak RSS {}; state.sqlite3 {}",
            peaks.join(", "),
            mib(db_kib)
        );
        Account { listed, phases }
    }

    /// Runs this binary as `--child PHASE ...` and reads its RESULT line.
    fn run_child(
        phase: &str,
        data: &Path,
        plugin: &Path,
        url: &str,
        email: &str,
        cap: u32,
    ) -> Phase {
        let exe = std::env::current_exe().expect("bench binary path");
        let output = Command::new(exe)
            .args(["--child", phase])
            .args([data, plugin])
            .args([url, email, &cap.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("child runs");
        let out = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child {phase} failed ({}):\n{out}",
            output.status
        );
        let numbers: Vec<u64> = out
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let [runs, listed, imported, already_there, failed, micros, before_kib, peak_kib] =
            numbers[..]
        else {
            panic!("child {phase} printed no RESULT line of 8 numbers:\n{out}");
        };
        Phase {
            totals: Totals {
                runs,
                listed,
                imported,
                already_there,
                failed,
            },
            seconds: micros as f64 / 1e6,
            before_kib,
            peak_kib,
        }
    }
}

mod child {
    //! `--child PHASE DATA_DIR PLUGIN URL EMAIL CAP`: one host phase in its
    //! own process. Prints `RESULT runs listed imported already_there failed
    //! microseconds before_kib peak_kib`.
    use super::*;

    pub fn main(args: &[String]) {
        let [phase, data, plugin, url, email, cap] = args else {
            panic!("usage: --child PHASE DATA_DIR PLUGIN URL EMAIL CAP, got {args:?}");
        };
        let cap: u32 = cap.parse().expect("CAP is a number");
        let (cap, lookback, until_done, handle) = match phase.as_str() {
            "first-run" => (cap, None, false, HANDLE),
            "backfill" => (LARGE_CAP, None, true, HANDLE),
            "relist" => (LARGE_CAP, Some(WHOLE_HISTORY_DAYS), false, HANDLE),
            // Another handle: an empty store; the ledger (per data dir) is the same.
            "relist-bare" => (LARGE_CAP, Some(WHOLE_HISTORY_DAYS), false, "elsewhere"),
            other => panic!("unknown phase {other:?}"),
        };
        let data = Path::new(data);
        std::fs::create_dir_all(data).expect("data dir");
        let host = open_host(
            data,
            handle,
            Path::new(plugin),
            &plugin_settings(url, cap, lookback),
        );
        let connection = match host.db.connections().expect("connections read").first() {
            Some(c) => c.id.to_string(),
            None => connect(&host, email),
        };
        let before_kib = vm_hwm_kib();
        let started = Instant::now();
        let t = sync(&host, &connection, until_done);
        let micros = started.elapsed().as_micros();
        let peak_kib = vm_hwm_kib();
        println!(
            "RESULT {} {} {} {} {} {micros} {before_kib} {peak_kib}",
            t.runs, t.listed, t.imported, t.already_there, t.failed
        );
    }

    /// This process's peak resident set since its exec (KiB).
    fn vm_hwm_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/self/status")
    }
}

fn report(sizes: &Sizes, t: &throughput::Figures, memory: &[memory::Account]) {
    let (sync, http, import) = (median(&t.sync), median(&t.http), median(&t.import));
    let n = t.activities;
    let secs = |d: Duration| d.as_secs_f64();
    let avg_kib = t.fit_bytes as f64 / n as f64 / 1024.0;
    println!("\n## Sync benchmark (median of {} rounds)\n", sizes.rounds);
    println!("{n} synthetic activities, {avg_kib:.1} KiB of FIT each on average.\n");
    println!("| measure | time | activities/s |\n|---|---|---|");
    for (what, d) in [
        (
            format!(
                "backfill sync, {} run(s): list, download, convert, store, ledger",
                t.sync_runs
            ),
            sync,
        ),
        (
            format!(
                "baseline: bare HTTP, the same {} requests (list pages + zips)",
                t.http_requests
            ),
            http,
        ),
        (
            "baseline: local import of the same FIT bytes".to_string(),
            import,
        ),
    ] {
        println!("| {what} | {:.3} s | {:.0} |", secs(d), n as f64 / secs(d));
    }
    for (what, over) in [
        ("sync / (HTTP + import)", http + import),
        ("sync / HTTP", http),
        ("sync / import", import),
    ] {
        println!("| {what} | {:.2}x | |", secs(sync) / secs(over));
    }

    println!("\n| host phase (own process) | account lists | listed | downloaded | time | peak RSS before sync | peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    for a in memory {
        for ((name, _), p) in PHASES.iter().zip(&a.phases) {
            let downloaded = p.totals.imported + p.totals.failed;
            let (listed, before, peak) = (p.totals.listed, mib(p.before_kib), mib(p.peak_kib));
            println!(
                "| {name} | {} | {listed} | {downloaded} | {:.2} s | {before} | {peak} |",
                a.listed, p.seconds
            );
        }
    }
    let (small, large) = (&memory[0], &memory[1]);
    println!(
        "\n| peak RSS, {} vs {} listed | ratio | target |\n|---|---|---|",
        large.listed, small.listed
    );
    for (i, (name, what)) in PHASES.iter().enumerate() {
        let r = large.phases[i].peak_kib as f64 / small.phases[i].peak_kib as f64;
        let verdict = match *name {
            "backfill" => "none",
            _ if r <= MEMORY_TARGET => "<= 1.2: ok",
            _ => "<= 1.2: MISSED",
        };
        println!("| {name}: {what} | {r:.2} | {verdict} |");
    }
}
