//! `status`: each connection, its account, last run, next run and what
//! needs attention.

use host_demo::host::{ConnectionStatusReport, Host};

pub fn run(host: &Host) -> anyhow::Result<()> {
    let reports = host.status()?;
    if reports.is_empty() {
        println!(
            "No connections yet. `host-demo connect dev.bincio.garmin` connects a Garmin account."
        );
        return Ok(());
    }
    print_reports(&reports);
    Ok(())
}

/// The admin view: every user, with their connections under them.
pub fn run_all(host: &Host) -> anyhow::Result<()> {
    let reports = host.status_all()?;
    for user in host.db.users()? {
        let disabled = if user.is_disabled() {
            " (disabled)"
        } else {
            ""
        };
        println!("user {}{disabled}:", user.handle);
        let theirs: Vec<_> = reports
            .iter()
            .filter(|r| r.connection.user == user.handle)
            .collect();
        if theirs.is_empty() {
            println!("  no connections");
        }
        for r in theirs {
            print_report(r, "  ");
        }
    }
    Ok(())
}

fn print_reports(reports: &[ConnectionStatusReport]) {
    for r in reports {
        print_report(r, "");
    }
}

fn print_report(r: &ConnectionStatusReport, indent: &str) {
    {
        let c = &r.connection;
        println!(
            "{indent}{}  {}  {}  [{}]",
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
                    "{indent}    last run: {} -> {outcome}: {} imported, {} already there, {} rejected, {} left for later{}",
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
            None => println!("{indent}    last run: never"),
        }
        println!("{indent}    next run: {}", r.next_run_text());
        if let Some(attention) = &r.attention {
            println!("{indent}    needs attention: {attention}");
        }
    }
}
