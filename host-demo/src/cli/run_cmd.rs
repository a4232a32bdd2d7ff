//! `run`: the scheduler in the foreground until Ctrl-C. Each enabled,
//! connected account syncs on its interval; Ctrl-C lets the syncs in hand
//! finish their current item and commit, then exits 0.

use super::sync_cmd::install_ctrl_c;
use host_demo::host::Host;
use host_demo::scheduler::Scheduler;
use host_demo::services::CancelFlag;
use std::sync::Arc;
use std::time::Duration;

/// How often the loop looks for due work (and at Ctrl-C).
const POLL: Duration = Duration::from_millis(500);

pub fn run(host: Host) -> anyhow::Result<()> {
    let host = Arc::new(host);
    let cancel = CancelFlag::new();
    install_ctrl_c(&cancel);
    let scheduler = Scheduler::new(host.clone(), cancel.clone());
    println!("Scheduler running; Ctrl-C stops it after the current item.");
    for report in host.status()? {
        if let Some(attention) = &report.attention {
            println!("paused {}: {attention}", report.connection.id);
        }
    }
    while !cancel.is_cancelled() {
        for id in scheduler.tick()? {
            println!("{id}: sync started");
        }
        for record in scheduler.take_finished() {
            let what = match &record.outcome {
                Ok(report) => match &report.result {
                    Ok(s) => format!(
                        "{} imported, {} already there, {} rejected",
                        s.imported,
                        s.already_there,
                        s.rejected.len()
                    ),
                    Err(e) => format!("failed: {e}"),
                },
                Err(e) => format!("not run: {e}"),
            };
            let next = record
                .next_run_at
                .map(host_demo::host::format_time)
                .unwrap_or_else(|| "paused until you act".into());
            println!("{}: {what}; next run {next}", record.connection);
        }
        std::thread::sleep(POLL);
    }
    scheduler.wait();
    println!("Stopped; every committed import is stored.");
    Ok(())
}
