//! `import PATH...`: local FIT files, folders and zip archives into the store.
//!
//! Every file gets a decision (imported, salvaged, duplicate, rejected); a
//! rejected file never stops the run. Only a real failure (the store or the
//! state database unusable) ends it with an error, and then everything
//! decided before it is already durable.

use host_demo::import::sources::{self, Found};
use host_demo::import::{open_local, ImportError, Item, Outcome, Tally};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest stretch of work a crash could make the next run redo.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

pub fn run(data_dir: &Path, handle: &str, paths: &[PathBuf]) -> anyhow::Result<()> {
    let inputs = sources::plan(paths)?;
    let mut pipeline = open_local(data_dir, handle)?;
    let bar = progress_bar(sources::count_files(&inputs));
    let mut tally = Tally::default();
    let mut warned = Vec::new();
    let mut last_flush = Instant::now();
    for input in &inputs {
        sources::read_input(input, &mut |found| -> Result<(), ImportError> {
            match found {
                Found::File { name, bytes } => {
                    bar.set_message(name.clone());
                    let outcome = pipeline.import(&Item::local(&name, &bytes))?;
                    if let Outcome::Imported { warnings, .. } = &outcome {
                        if !warnings.is_empty() {
                            warned.push((name.clone(), warnings.clone()));
                        }
                    }
                    tally.add(&name, &outcome);
                    bar.inc(1);
                }
                Found::Unreadable { name, reason } => {
                    tally.reject(&name, &reason);
                    bar.inc(1);
                }
                Found::More(files) => bar.inc_length(files),
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                pipeline.flush()?;
                last_flush = Instant::now();
            }
            Ok(())
        })?;
    }
    pipeline.flush()?;
    bar.finish_and_clear();
    print_summary(&tally, &warned);
    Ok(())
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} files  {elapsed_precise}  {wide_msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn print_summary(tally: &Tally, warned: &[(String, Vec<String>)]) {
    println!(
        "{} file(s): {} imported, {} salvaged, {} duplicate, {} rejected",
        tally.total(),
        tally.imported,
        tally.salvaged,
        tally.duplicate,
        tally.rejected.len()
    );
    if !warned.is_empty() {
        println!("\nimported with a warning:");
        for (name, warnings) in warned {
            println!("  {name}: {}", warnings.join("; "));
        }
    }
    if !tally.rejected.is_empty() {
        println!("\nrejected:");
        for (name, reason) in &tally.rejected {
            // The reason names the file itself when it comes from the ledger.
            if reason.starts_with(name.as_str()) {
                println!("  {reason}");
            } else {
                println!("  {name}: {reason}");
            }
        }
    }
}
