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
//! 3. Through the edge: connect (login, DI exchange, profile) and the same
//!    backfill through the emulator's `--edge` (HTTPS, HTTP/2, the plugin's
//!    browser TLS for SSO and DI) against plain HTTP, same run, as ratios.
//!
//! 4. Peak memory of the host's first run (login, then 200 downloads) through the emulator
//!    binary's `--edge` against plain HTTP, same run, as a ratio: what the browser's TLS and
//!    HTTP/2 client cost in memory.
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
    // `SYNC_BENCH_ONLY=edge` runs part 3 alone, `=memory-edge` part 4 alone.
    let only = std::env::var("SYNC_BENCH_ONLY").unwrap_or_default();
    assert!(
        ["", "edge", "memory-edge"].contains(&only.as_str()),
        "SYNC_BENCH_ONLY is edge, memory-edge or unset, not {only:?}"
    );
    if only.is_empty() {
        let throughput = throughput::measure(&plugin, &sizes);
        let memory = memory::measure(&plugin, &emulator, &sizes);
        report(&sizes, &throughput, &memory);
    }
    if only.is_empty() || only == "edge" {
        let edge = edge::measure(&plugin, &sizes);
        edge::report(&edge);
    }
    if only.is_empty() || only == "memory-edge" {
        let memory = memory::measure_edge(&plugin, &emulator, &sizes);
        memory::report_edge(&memory, &sizes);
    }
}

/// Builds plugin-garmin (cdylib) and the emulator binary in release and
/// returns their paths; panics with cargo's output if that fails.
fn release_artifacts() -> (PathBuf, PathBuf) {
    let args = "build --release -p plugin-garmin -p garmin-emulator"
        .split(' ')
        .map(std::ffi::OsStr::new)
        .collect::<Vec<_>>();
    bincio_tests::cargo_build(&args, "plugin-garmin and garmin-emulator in release");
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
        "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\nweb_service_base_url = {url:?}\n\
         login_pause_ms = 0\nrequest_pacing_ms = 0\nmax_downloads_per_run = {cap}\n"
    );
    if let Some(days) = lookback_days {
        settings.push_str(&format!("lookback_days = {days}\n"));
    }
    settings.push_str(bincio_tests::NO_BUDGET);
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

mod throughput;

mod memory;

mod child;

mod edge;

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
