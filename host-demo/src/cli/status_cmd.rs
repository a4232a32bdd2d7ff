//! `status`: each connection, its account, last run, next run and what
//! needs attention.

use host_demo::host::Host;

pub fn run(host: &Host) -> anyhow::Result<()> {
    let reports = host.status()?;
    if reports.is_empty() {
        println!(
            "No connections yet. `host-demo connect dev.bincio.garmin` connects a Garmin account."
        );
        return Ok(());
    }
    for r in reports {
        let c = &r.connection;
        println!(
            "{}  {}  {}  [{}]",
            c.id,
            c.plugin_id,
            c.display_name.as_deref().unwrap_or("(no account)"),
            c.status
        );
        match &r.last_run {
            Some(run) => {
                let outcome = run
                    .outcome
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "running".into());
                println!(
                    "    last run: {} -> {outcome}: {} imported, {} already there, {} rejected, {} left for later{}",
                    host_demo::host::format_time(run.started_at),
                    run.counts.imported,
                    run.counts.duplicates,
                    run.counts.rejected,
                    run.counts.deferred,
                    run.error
                        .as_ref()
                        .map(|e| format!(" ({}: {})", e.kind, e.message))
                        .unwrap_or_default()
                );
            }
            None => println!("    last run: never"),
        }
        println!("    next run: {}", r.next_run_text());
        if let Some(attention) = &r.attention {
            println!("    needs attention: {attention}");
        }
    }
    Ok(())
}
