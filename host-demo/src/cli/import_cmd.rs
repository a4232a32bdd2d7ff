//! `import PATH...`: local FIT files, folders and zip archives into the store.
//!
//! Every file gets a decision (imported, salvaged, duplicate, rejected); a
//! rejected file never stops the run. Only a real failure (the store or the
//! state database unusable) ends it with an error, and then everything
//! decided before it is already durable.

use host_demo::host::printable;
use host_demo::import::parallel::{self, PoolSize, Ready};
use host_demo::import::sources::{self, Amount};
use host_demo::import::{open_local, ImportError, ImportPipeline, Item, Outcome, Tally};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest stretch of work a crash could make the next run redo.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

pub fn run(data_dir: &Path, handle: &str, paths: &[PathBuf]) -> anyhow::Result<()> {
    super::allocator::keep_footprint_bounded();
    let inputs = sources::plan(paths)?;
    let mut pipeline = Opened::later(data_dir, handle);
    let mut progress = Progress::new(sources::measure(&inputs));
    let mut tally = Tally::default();
    let mut warned = Vec::new();
    let mut last_flush = Instant::now();
    parallel::for_each_ready(
        &inputs,
        PoolSize::for_this_machine(),
        &mut |ready| -> Result<(), ImportError> {
            match ready {
                Ready::File {
                    name,
                    len,
                    prepared,
                } => {
                    let outcome = pipeline
                        .get()?
                        .import_prepared(&Item::local_prepared(&name), *prepared)?;
                    if let Outcome::Imported { warnings, .. } = &outcome {
                        if !warnings.is_empty() {
                            warned.push((name.clone(), warnings.clone()));
                        }
                    }
                    tally.add(&name, &outcome);
                    progress.file_done(&name, len);
                }
                Ready::Unreadable { name, reason } => {
                    tally.reject(&name, &reason);
                    progress.file_done(&name, 0);
                }
                Ready::More(more) => progress.more(more),
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                pipeline.get()?.flush()?;
                last_flush = Instant::now();
            }
            Ok(())
        },
    )?;
    // Opened even when nothing was read: the store exists (and is recovered) after an import.
    pipeline.get()?.flush()?;
    progress.finish();
    print_summary(&tally, &warned);
    Ok(())
}

/// The pipeline, opened when the first file is ready rather than before the pool starts: on a
/// new data folder opening takes a few fsyncs (the state database's schema, the store), and the
/// pool converts the first files meanwhile. (Not [`host_demo::import::LazyPipeline`]: that one
/// shares a pipeline between syncs and needs the state database open beforehand.)
struct Opened<'a> {
    data_dir: &'a Path,
    handle: &'a str,
    pipeline: Option<ImportPipeline>,
}

impl<'a> Opened<'a> {
    fn later(data_dir: &'a Path, handle: &'a str) -> Self {
        Self {
            data_dir,
            handle,
            pipeline: None,
        }
    }

    fn get(&mut self) -> Result<&mut ImportPipeline, ImportError> {
        let pipeline = match self.pipeline.take() {
            Some(pipeline) => pipeline,
            None => open_local(self.data_dir, self.handle)?,
        };
        Ok(self.pipeline.insert(pipeline))
    }
}

/// The progress line of a long import: files done of the total, files per second, and an
/// ETA from the bytes still to read (a folder of small files and one of long rides take
/// very different times per file).
struct Progress {
    bar: ProgressBar,
    total: Amount,
    done_files: u64,
    started: Instant,
}

impl Progress {
    fn new(total: Amount) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total.bytes.max(1)), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:30} {prefix}  {binary_bytes}/{binary_total_bytes}  ETA {eta}  {wide_msg}",
        ) {
            bar.set_style(style);
        }
        let progress = Self {
            bar,
            total,
            done_files: 0,
            started: Instant::now(),
        };
        progress.show_files();
        progress
    }

    fn file_done(&mut self, name: &str, bytes: u64) {
        self.done_files += 1;
        self.bar.inc(bytes);
        self.bar.set_message(name.to_owned());
        self.show_files();
    }

    fn more(&mut self, more: Amount) {
        self.total += more;
        self.bar.inc_length(more.bytes);
        self.show_files();
    }

    fn show_files(&self) {
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = if seconds > 0.0 {
            self.done_files as f64 / seconds
        } else {
            0.0
        };
        self.bar.set_prefix(format!(
            "{}/{} files, {rate:.0} files/s",
            self.done_files, self.total.files
        ));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn print_summary(tally: &Tally, warned: &[(String, Vec<String>)]) {
    println!(
        "{} file(s): {} imported, {} salvaged, {} duplicate, {} rejected",
        tally.total(),
        tally.imported,
        tally.salvaged,
        tally.duplicate(),
        tally.rejected.len()
    );
    if !warned.is_empty() {
        println!("\nimported with a warning:");
        for (name, warnings) in warned {
            println!("  {name}: {}", warnings.join("; "));
        }
    }
    if !tally.duplicates.is_empty() {
        println!("\nkept as duplicates (not stored again):");
        for duplicate in &tally.duplicates {
            let held_by = match tally.imported_from(&duplicate.activity_id) {
                Some(file) => format!("imported from {} in this run", printable(file)),
                None => "already in the store".to_owned(),
            };
            println!(
                "  {}: {} as {} ({held_by})",
                printable(&duplicate.file_name),
                duplicate.why,
                duplicate.activity_id
            );
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
