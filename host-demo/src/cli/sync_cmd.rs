//! `sync [ID]`: one run now, with a progress bar and a summary.

use anyhow::bail;
use host_demo::host::{printable, Host, SyncOptions};
use host_demo::services::{CancelFlag, ProgressEvent, ProgressReporter};
use indicatif::{ProgressBar, ProgressStyle};

pub fn run(host: &Host, id: Option<&str>, max_downloads: Option<u32>) -> anyhow::Result<()> {
    let connections: Vec<_> = host
        .db
        .connections_of(&host.user())?
        .into_iter()
        .filter(|c| match id {
            None => c.status == bincio_state::ConnectionStatus::Active,
            Some(id) => c.id.as_str() == id || c.plugin_id == id,
        })
        .collect();
    if connections.is_empty() {
        match id {
            Some(id) => {
                bail!("no connection or plugin {id:?}; `host-demo status` lists the connections")
            }
            None => bail!(
                "no active connections; connect one with `host-demo connect dev.bincio.garmin`"
            ),
        }
    }
    let cancel = CancelFlag::new();
    install_ctrl_c(&cancel);
    let mut failures = 0;
    for connection in connections {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(connection.id.to_string());
        let shown = bar.clone();
        let progress = ProgressReporter::new(move |event| match event {
            ProgressEvent::Total(total) => shown.set_length(total),
            ProgressEvent::Advance { done, message } => {
                shown.set_position(done);
                shown.set_message(message);
            }
        });
        let options = SyncOptions {
            max_downloads,
            cancel: cancel.clone(),
            progress,
            ..SyncOptions::default()
        };
        let outcome = host.sync_connection(connection.id.as_str(), options);
        bar.finish_and_clear();
        match outcome {
            Err(e) => {
                failures += 1;
                println!("{}: not synced: {e}", connection.id);
            }
            Ok(report) => match &report.result {
                Ok(s) => {
                    println!(
                        "{}: {} listed, {} imported, {} already there, {} rejected, {} left for the next run{}",
                        connection.id,
                        s.listed,
                        s.imported,
                        s.already_there,
                        s.rejected.len(),
                        s.deferred,
                        if s.has_more { " (more history remains: run sync again)" } else { "" }
                    );
                    for r in s.rejected.iter() {
                        println!(
                            "    rejected {}: {}",
                            printable(&r.external_id),
                            printable(&r.reason)
                        );
                    }
                }
                Err(e) => {
                    failures += 1;
                    println!(
                        "{}: sync failed: {}",
                        connection.id,
                        printable(&e.to_string())
                    );
                }
            },
        }
    }
    if failures > 0 {
        bail!("{failures} connection(s) did not sync; see above");
    }
    Ok(())
}

/// Ctrl-C asks the plugin to stop after the item in hand; its committed
/// work stays. A second Ctrl-C changes nothing: the item in hand still
/// finishes (a run is never cut mid-commit).
pub fn install_ctrl_c(cancel: &CancelFlag) {
    let cancel = cancel.clone();
    let installed = ctrlc::set_handler(move || {
        if !cancel.is_cancelled() {
            eprintln!("stopping after the current item...");
        }
        cancel.cancel();
    });
    if let Err(e) = installed {
        tracing::warn!("Ctrl-C will stop the process at once: {e}");
    }
}
