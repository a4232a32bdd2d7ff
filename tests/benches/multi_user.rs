//! Multi-user benchmark: the real Garmin plugin in the real host, the
//! scheduler serving many users from the emulator (pacing and the request
//! budget off).
//!
//! 1. Throughput: 20 users × 200 activities synced by the scheduler (8 at
//!    once) against one user's 4,000 in the same run, in activities per
//!    second; the figure is single ÷ multi (goal ≤ 1.2: serving many users
//!    costs at most 20 % more per activity).
//! 2. Idle overhead: N users connected with nothing new; one scheduler round
//!    (every connection due) costs this process CPU time and the service
//!    requests; per connection, at 1,000 users against 10 (flat = 1.0).
//!
//! Run: `cargo bench -p bincio-tests --bench multi_user`. `MULTI_BENCH_QUICK=1`
//! divides the sizes by 10 (a smoke run; not comparable);
//! `MULTI_BENCH_IDLE_USERS=N` sets the idle round's user count.

use bincio_tests::multi_user::{run_until_idle, Server};
use host_demo::scheduler::Scheduler;
use std::time::Instant;

const UNBUDGETED: &str =
    "max_downloads_per_run = 1000000\n[plugins.request_budget]\nenabled = false";

fn quick() -> usize {
    if std::env::var_os("MULTI_BENCH_QUICK").is_some() {
        10
    } else {
        1
    }
}

/// Activities per second syncing `users` × `per_user` to the end.
fn throughput(users: usize, per_user: usize) -> f64 {
    let server = Server::start(users, per_user, UNBUDGETED);
    for i in 0..users {
        server.add_and_connect(i);
    }
    let s = server.scheduler(8);
    let started = Instant::now();
    let failures = run_until_idle(&server, &s, 20);
    let secs = started.elapsed().as_secs_f64();
    assert!(failures.is_empty(), "{failures:?}");
    let imported: usize = (0..users).map(|i| server.store_ids(i).len()).sum();
    assert_eq!(imported, users * per_user);
    imported as f64 / secs
}

/// This process's CPU time so far (user + system), in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// (CPU ms, requests) per connection for one idle round of `users`, each
/// with one activity already synced (an account with none has no newest
/// activity to look from, and its idle run sends nothing).
fn idle_round(users: usize) -> (f64, f64) {
    let server = Server::start(users, 1, UNBUDGETED);
    for i in 0..users {
        server.add_and_connect(i);
    }
    let s: Scheduler = server.scheduler(8);
    // The first round (first runs) is warm-up; the second is measured.
    run_until_idle(&server, &s, 2);
    server.clock.advance(25 * 3600);
    let requests = server.emulator.request_log().len();
    let cpu = cpu_secs();
    let failures = run_until_idle(&server, &s, 2);
    assert!(failures.is_empty(), "{failures:?}");
    let cpu = cpu_secs() - cpu;
    let requests = server.emulator.request_log().len() - requests;
    let db = bincio_state::StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    let runs: usize = db
        .connections()
        .unwrap()
        .iter()
        .map(|c| db.runs(&c.id, 10).unwrap().len())
        .sum();
    eprintln!("{users} users: {runs} runs in both rounds, {requests} requests in the measured one");
    (cpu * 1000.0 / users as f64, requests as f64 / users as f64)
}

fn main() {
    let q = quick();
    if std::env::var_os("MULTI_BENCH_IDLE_ONLY").is_some() {
        let n = std::env::var("MULTI_BENCH_IDLE_USERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        println!("{:?}", idle_round(n));
        return;
    }
    let multi = throughput(20, 200 / q);
    let single = throughput(1, 4000 / q);
    println!(
        "throughput: 20 users x {} = {multi:.0} activities/s; 1 user x {} = {single:.0} activities/s; single/multi = {:.2} (goal <= 1.2)",
        200 / q,
        4000 / q,
        single / multi
    );
    let (small_cpu, small_req) = idle_round(10);
    let big = std::env::var("MULTI_BENCH_IDLE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000 / q);
    let (big_cpu, big_req) = idle_round(big);
    println!(
        "idle round: {} users: {big_cpu:.2} ms CPU and {big_req:.2} requests per connection; 10 users: {small_cpu:.2} ms and {small_req:.2}; per-connection CPU ratio {:.2}",
        big,
        big_cpu / small_cpu
    );
}
