//! Reading and converting files on every core while decisions stay in order.
//!
//! One thread reads the inputs ([`sources::read_input`]: files, folders, zips streamed entry
//! by entry), a pool of workers hashes and converts each file ([`Prepared::new`]), and the
//! caller's thread receives the results **in the order the files were read**, whatever the
//! thread timing, to decide and store them. So the store, the activity ids and the ledger rows
//! are the same as a one-thread import's, and dedupe decides the same way.
//!
//! Memory is bounded: a file is read only when one of `slots` places is free, and a place is
//! freed when the caller has taken its result. At most `slots` files (bytes and conversion) are
//! in the pool at once, plus the one the reader holds while waiting for a place.

use super::pipeline::Prepared;
use super::sources::{self, Amount, Found, Input};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// What a run of the pool did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Files handed to the caller.
    pub files: u64,
    /// The most files that were in the pool (read, not yet taken by the caller) at once.
    pub most_in_pool: usize,
}

/// One file's result, or what else reading found, in reading order.
pub enum Ready {
    /// A file read, with its hash and conversion.
    File {
        name: String,
        bytes: Vec<u8>,
        prepared: Box<Prepared>,
    },
    /// A file or archive that could not be read.
    Unreadable { name: String, reason: String },
    /// A nested archive was opened: this much more is coming.
    More(Amount),
}

/// The threads to convert on by default: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Reads `inputs`, converts their files on `workers` threads with at most `slots` files in the
/// pool, and hands every result to `consume` in reading order. An error from `consume` stops
/// everything (the threads end) and is returned.
pub fn for_each_ready<E>(
    inputs: &[Input],
    workers: usize,
    slots: usize,
    consume: &mut dyn FnMut(Ready) -> Result<(), E>,
) -> Result<PoolStats, E> {
    let workers = workers.max(1);
    let slots = slots.max(1);
    // A slot is a token: the reader takes one before handing a file on, the caller's thread
    // gives it back once it has taken the file's result.
    let (slot_back, slot_free) = sync_channel::<()>(slots);
    for _ in 0..slots {
        let _ = slot_back.send(());
    }
    let (job_tx, job_rx) = channel::<(u64, Found)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (ready_tx, ready_rx) = channel::<(u64, Ready)>();
    let in_pool = AtomicUsize::new(0);
    let most_in_pool = AtomicUsize::new(0);
    let counts = (&in_pool, &most_in_pool);
    std::thread::scope(|scope| {
        scope.spawn(move || read_all(inputs, &slot_free, job_tx, counts));
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let ready_tx = ready_tx.clone();
            scope.spawn(move || convert_jobs(&job_rx, &ready_tx));
        }
        drop(ready_tx);
        let result = deliver_in_order(&ready_rx, &slot_back, &in_pool, consume);
        // On an error, the reader sees the slots gone and the workers their results
        // unwanted: every thread ends, and the scope joins them.
        drop(slot_back);
        drop(ready_rx);
        result.map(|files| PoolStats {
            files,
            most_in_pool: most_in_pool.load(Ordering::Relaxed),
        })
    })
}

/// The reader: every input in order, numbered; a file waits for a free slot.
fn read_all(
    inputs: &[Input],
    slot_free: &Receiver<()>,
    job_tx: std::sync::mpsc::Sender<(u64, Found)>,
    (in_pool, most_in_pool): (&AtomicUsize, &AtomicUsize),
) {
    let mut seq = 0u64;
    for input in inputs {
        let read = sources::read_input(input, &mut |found| -> Result<(), ()> {
            if matches!(found, Found::File { .. }) {
                slot_free.recv().map_err(drop)?;
                let now = in_pool.fetch_add(1, Ordering::Relaxed) + 1;
                most_in_pool.fetch_max(now, Ordering::Relaxed);
            }
            job_tx.send((seq, found)).map_err(drop)?;
            seq += 1;
            Ok(())
        });
        if read.is_err() {
            return;
        }
    }
}

/// A worker: hashes and converts files until the reader is done.
fn convert_jobs(
    job_rx: &Mutex<Receiver<(u64, Found)>>,
    ready_tx: &std::sync::mpsc::Sender<(u64, Ready)>,
) {
    loop {
        let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((seq, found)) = job else { return };
        let ready = match found {
            Found::File { name, bytes } => {
                let prepared = Box::new(Prepared::new(&name, &bytes));
                Ready::File {
                    name,
                    bytes,
                    prepared,
                }
            }
            Found::Unreadable { name, reason } => Ready::Unreadable { name, reason },
            Found::More(amount) => Ready::More(amount),
        };
        if ready_tx.send((seq, ready)).is_err() {
            return;
        }
    }
}

/// The caller's side: results put back in reading order, each file's slot freed once taken.
fn deliver_in_order<E>(
    ready_rx: &Receiver<(u64, Ready)>,
    slot_back: &std::sync::mpsc::SyncSender<()>,
    in_pool: &AtomicUsize,
    consume: &mut dyn FnMut(Ready) -> Result<(), E>,
) -> Result<u64, E> {
    let mut waiting: BTreeMap<u64, Ready> = BTreeMap::new();
    let mut next = 0u64;
    let mut files = 0u64;
    for (seq, ready) in ready_rx {
        waiting.insert(seq, ready);
        while let Some(ready) = waiting.remove(&next) {
            next += 1;
            let was_file = matches!(ready, Ready::File { .. });
            let outcome = consume(ready);
            if was_file {
                files += 1;
                in_pool.fetch_sub(1, Ordering::Relaxed);
                // Never blocks: as many slots come back as were handed out.
                let _ = slot_back.try_send(());
            }
            outcome?;
        }
    }
    Ok(files)
}
