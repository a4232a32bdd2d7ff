//! Web server load benchmark: `host-demo serve` as a child process, with
//! many signed-in clients polling the status page while syncs run.
//!
//! The emulator runs in this process with one account per user. The server
//! is the real `host-demo serve` binary, with the real Garmin plugin library
//! and its scheduler. Its peak RSS (`VmHWM`) is reset through
//! `/proc/PID/clear_refs` at the start of each phase and read at its end.
//! Setup: users are added to the state database, and each client signs in
//! through `POST /api/auth/login`. One client per user connects its Garmin
//! account through `POST /api/garmin/connect` (disclaimer accepted by its
//! sha256). The scheduler's first runs import each account's one activity.
//! The bench waits for all of them to end.
//! 1. idle: every client polls the importers page and `/api/garmin/status`
//!    in turn, a fixed number of requests each. Nothing else runs.
//! 2. busy: the emulator gets new activities for every account. Each user's
//!    sync starts through `POST /api/garmin/sync`, and every client opens
//!    `/api/garmin/sync/stream` and reads it to the run's `done`. During
//!    that, the clients poll as in phase 1, with the same number of requests.
//!
//! Printed: p50 and p99 latency of the page and of the API, peak RSS,
//! busy/idle ratios, errors and SSE events read. Any error (status not 200,
//! transport error or timeout, a stream without `done`, a run that imported
//! less than it should) fails the bench after the table.
//!
//! Run: `cargo bench -p bincio-tests --bench web_load` (release: it first
//! builds host-demo and plugin-garmin in release), or `cargo test -p
//! bincio-tests --bench web_load` (debug build). `WEB_LOAD_QUICK=1`: 40
//! clients of 4 users, a smoke run whose figures do not compare.

mod load;
mod measure;
mod server;

use measure::{Phase, PhaseResult};
use std::time::Duration;

/// How large a run is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub users: usize,
    pub clients: usize,
    pub polls_per_client: usize,
    /// New activities per account before the busy phase: what each sync
    /// imports.
    pub new_activities: usize,
}

fn sizes() -> Sizes {
    if std::env::var_os("WEB_LOAD_QUICK").is_some_and(|v| v != "0") {
        Sizes {
            users: 4,
            clients: 40,
            polls_per_client: 10,
            new_activities: 30,
        }
    } else {
        Sizes {
            users: 20,
            clients: 200,
            polls_per_client: 40,
            new_activities: 1000,
        }
    }
}

/// The longest any phase (or the setup) may take before the bench fails.
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return println!("web_load: bench");
    }
    let sizes = sizes();
    let artifacts = server::build_artifacts();
    println!(
        "host-demo: {}; plugin: {}",
        artifacts.host_demo.display(),
        artifacts.plugin.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let emulator = load::start_emulator(sizes.users);
    let work = tempfile::tempdir().expect("temp dir");
    let data = work.path().join("data");
    // 0700, as the server wants its data dir (else it warns and tightens it).
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&data)
        .expect("data dir");
    let config =
        server::prepare_data_dir(&data, &artifacts.plugin, &emulator.base_url(), sizes.users);
    let server = server::ServerProcess::start(
        &artifacts.host_demo,
        &config,
        &data,
        work.path().join("server.log"),
    );
    println!("server process {} at {}", server.pid(), server.url);
    let mut outcome = runtime.block_on(load::run(&server, &emulator, sizes));
    outcome.server_log_problems = server.stop();
    report(&sizes, &outcome);
    let errors: Vec<&String> = outcome.phases.iter().flat_map(|p| &p.errors).collect();
    let count: usize = outcome.phases.iter().map(|p| p.error_count).sum();
    assert!(
        count == 0,
        "{count} errors under load (first ones): {errors:#?}"
    );
}

/// What [`load::run`] measured.
pub struct Outcome {
    pub phases: Vec<PhaseResult>,
    /// The server's RSS after setup, before phase 1 (KiB).
    pub at_rest_kib: u64,
    /// Warnings and errors the server logged (lines).
    pub server_log_problems: Vec<String>,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(busy: f64, idle: f64) -> String {
    if idle > 0.0 {
        format!("{:.2}x", busy / idle)
    } else {
        "n/a".into()
    }
}

fn report(sizes: &Sizes, outcome: &Outcome) {
    let [idle, busy] = &outcome.phases[..] else {
        panic!("two phases expected");
    };
    println!();
    println!(
        "web load: {} signed-in clients ({} per user) of {} users, {} polls each per phase \
         ({} requests), busy: {} syncs of {} new activities each, every client reading its SSE stream",
        sizes.clients,
        sizes.clients / sizes.users,
        sizes.users,
        sizes.polls_per_client,
        sizes.clients * sizes.polls_per_client,
        sizes.users,
        sizes.new_activities
    );
    println!(
        "| phase | page p50 | page p99 | API p50 | API p99 | requests/s | peak RSS | errors | SSE events |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for p in [idle, busy] {
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} |",
            p.phase.name(),
            ms(p.page.p50),
            ms(p.page.p99),
            ms(p.api.p50),
            ms(p.api.p99),
            p.requests_per_sec(),
            mib(p.peak_kib),
            p.error_count,
            p.sse_events
        );
    }
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "| busy / idle | {} | {} | {} | {} | {} | {} | | |",
        ratio(secs(busy.page.p50), secs(idle.page.p50)),
        ratio(secs(busy.page.p99), secs(idle.page.p99)),
        ratio(secs(busy.api.p50), secs(idle.api.p50)),
        ratio(secs(busy.api.p99), secs(idle.api.p99)),
        ratio(busy.requests_per_sec(), idle.requests_per_sec()),
        ratio(busy.peak_kib as f64, idle.peak_kib as f64),
    );
    println!();
    println!(
        "server at rest after setup: RSS {}; busy phase: {} of {} polls made while syncs ran; \
         syncs ended {:.1} s after they started; {} activities imported",
        mib(outcome.at_rest_kib),
        busy.polls_during_syncs,
        sizes.clients * sizes.polls_per_client,
        busy.syncs_secs,
        busy.imported
    );
    println!(
        "server log: {} warning/error lines",
        outcome.server_log_problems.len()
    );
    for line in outcome.server_log_problems.iter().take(10) {
        println!("  {line}");
    }
    debug_assert!(matches!(idle.phase, Phase::Idle) && matches!(busy.phase, Phase::Busy));
}
