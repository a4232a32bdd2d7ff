//! `--child PHASE DATA_DIR PLUGIN URL EMAIL CAP [EDGE_CA]`: one host phase in its
//! own process (trusting the edge's CA when given). Prints `RESULT runs listed imported already_there failed
//! microseconds before_kib peak_kib`.
use super::*;

pub fn main(args: &[String]) {
    let (args, edge_ca) = match args {
        [first @ .., ca] if args.len() == 7 => (first, Some(ca)),
        _ => (args, None),
    };
    let [phase, data, plugin, url, email, cap] = args else {
        panic!("usage: --child PHASE DATA_DIR PLUGIN URL EMAIL CAP [EDGE_CA], got {args:?}");
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
    // Plugin settings come before the `[plugins.request_budget]` table `plugin_settings` ends with.
    let trust = edge_ca.map_or(String::new(), |ca| format!("extra_ca_file = {ca:?}\n"));
    let settings = format!("{trust}{}", plugin_settings(url, cap, lookback));
    let host = open_host(data, handle, Path::new(plugin), &settings);
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
