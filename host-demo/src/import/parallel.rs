//! Reading and converting files on every core while decisions stay in order.
//!
//! One thread reads the inputs ([`sources::read_input`]: files, folders, zips streamed entry
//! by entry), a pool of workers hashes and converts each file ([`Prepared::new`]), and the
//! caller's thread receives the results **in the order the files were read**, whatever the
//! thread timing, to decide and store them. So the store, the activity ids and the ledger rows
//! are the same as a one-thread import's, and dedupe decides the same way.
//!
//! Memory is bounded twice ([`PoolSize`]): at most `files` FIT files are in memory (read and
//! not yet converted: a worker drops a file's bytes once it is converted), plus the one the
//! reader holds while waiting; and at most `ahead` files are read and not yet taken by the
//! caller, converted or not. The second bound is what keeps every core busy: one long file
//! holds up the decisions behind it (they are taken in order), and the files after it are
//! converted meanwhile instead of waiting for it to finish.

use super::pipeline::Prepared;
use super::sources::{self, Amount, Found, Input};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

/// How many files the pool may hold: see the module's docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSize {
    /// Threads converting files.
    pub workers: usize,
    /// FIT files in memory (read, not yet converted) at once.
    pub files: usize,
    /// Files read and not yet taken by the caller (converted or not) at once.
    pub ahead: usize,
}

impl PoolSize {
    /// One worker and one FIT file in memory per core, and four files per core ahead of the
    /// caller: enough that one long file does not idle the other cores (the `import_speed`
    /// bench measures the cores used and the peak memory).
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            workers: cores,
            files: cores,
            ahead: 4 * cores,
        }
    }

    fn at_least_one(self) -> Self {
        Self {
            workers: self.workers.max(1),
            files: self.files.max(1),
            ahead: self.ahead.max(1),
        }
    }
}

/// What a run of the pool did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Files handed to the caller.
    pub files: u64,
    /// The most FIT files that were in memory (read, not yet converted) at once.
    pub most_in_memory: usize,
    /// The most files that were read and not yet taken by the caller at once.
    pub most_ahead: usize,
}

/// One file's result, or what else reading found, in reading order.
pub enum Ready {
    /// A file read and converted (its bytes already dropped): its name, its size, its hash
    /// and conversion.
    File {
        name: String,
        len: u64,
        prepared: Box<Prepared>,
    },
    /// A file or archive that could not be read.
    Unreadable { name: String, reason: String },
    /// A nested archive was opened: this much more is coming.
    More(Amount),
}

/// Tokens of one bound: taken by the reader, given back by a worker or by the caller's thread.
/// `in_use` and `most` count them for [`PoolStats`].
struct Bound {
    give_back: SyncSender<()>,
    take: Mutex<Receiver<()>>,
    in_use: AtomicUsize,
    most: AtomicUsize,
}

impl Bound {
    fn new(tokens: usize) -> Self {
        let (give_back, take) = sync_channel::<()>(tokens);
        for _ in 0..tokens {
            let _ = give_back.send(());
        }
        Self {
            give_back,
            take: Mutex::new(take),
            in_use: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        }
    }

    /// Waits for a token; `false` once the pool is stopping.
    fn acquire(&self, stopping: &AtomicBool) -> bool {
        let taken = self.take.lock().unwrap_or_else(|p| p.into_inner()).recv();
        if taken.is_err() || stopping.load(Ordering::Relaxed) {
            return false;
        }
        let now = self.in_use.fetch_add(1, Ordering::Relaxed) + 1;
        self.most.fetch_max(now, Ordering::Relaxed);
        true
    }

    fn release(&self) {
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        // Never blocks: as many tokens come back as were handed out.
        let _ = self.give_back.try_send(());
    }

    /// Wakes a reader waiting for a token, so it sees the pool stopping.
    fn wake(&self) {
        let _ = self.give_back.try_send(());
    }
}

/// Reads `inputs`, converts their files on `size.workers` threads within `size`'s bounds, and
/// hands every result to `consume` in reading order. An error from `consume` stops everything
/// (the threads end) and is returned.
pub fn for_each_ready<E>(
    inputs: &[Input],
    size: PoolSize,
    consume: &mut dyn FnMut(Ready) -> Result<(), E>,
) -> Result<PoolStats, E> {
    let size = size.at_least_one();
    let in_memory = Bound::new(size.files);
    let ahead = Bound::new(size.ahead);
    let stopping = AtomicBool::new(false);
    let (job_tx, job_rx) = channel::<(u64, Found)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (ready_tx, ready_rx) = channel::<(u64, Ready)>();
    let bounds = (&in_memory, &ahead, &stopping);
    std::thread::scope(|scope| {
        scope.spawn(move || read_all(inputs, job_tx, bounds));
        for _ in 0..size.workers {
            let job_rx = Arc::clone(&job_rx);
            let ready_tx = ready_tx.clone();
            let in_memory = &in_memory;
            scope.spawn(move || convert_jobs(&job_rx, &ready_tx, in_memory));
        }
        drop(ready_tx);
        let result = deliver_in_order(&ready_rx, &ahead, consume);
        // On an error the reader sees `stopping` (woken should it wait for a token) and the
        // workers their results unwanted: every thread ends, and the scope joins them.
        stopping.store(true, Ordering::Relaxed);
        ahead.wake();
        in_memory.wake();
        drop(ready_rx);
        result.map(|files| PoolStats {
            files,
            most_in_memory: in_memory.most.load(Ordering::Relaxed),
            most_ahead: ahead.most.load(Ordering::Relaxed),
        })
    })
}

/// The reader: every input in order, numbered; a file waits for room in both bounds.
fn read_all(
    inputs: &[Input],
    job_tx: Sender<(u64, Found)>,
    (in_memory, ahead, stopping): (&Bound, &Bound, &AtomicBool),
) {
    let mut seq = 0u64;
    for input in inputs {
        let read = sources::read_input(input, &mut |found| -> Result<(), ()> {
            if matches!(found, Found::File { .. })
                && !(ahead.acquire(stopping) && in_memory.acquire(stopping))
            {
                return Err(());
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

/// A worker: hashes and converts files until the reader is done, dropping each file's bytes
/// (and its place in memory) as soon as it is converted.
fn convert_jobs(
    job_rx: &Mutex<Receiver<(u64, Found)>>,
    ready_tx: &Sender<(u64, Ready)>,
    in_memory: &Bound,
) {
    loop {
        let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((seq, found)) = job else { return };
        let ready = match found {
            Found::File { name, bytes } => {
                let prepared = Box::new(Prepared::new(&name, &bytes));
                let len = bytes.len() as u64;
                drop(bytes);
                in_memory.release();
                Ready::File {
                    name,
                    len,
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

/// The caller's side: results put back in reading order, each file's place ahead freed once
/// it is taken (before it is decided, so the pool converts meanwhile).
fn deliver_in_order<E>(
    ready_rx: &Receiver<(u64, Ready)>,
    ahead: &Bound,
    consume: &mut dyn FnMut(Ready) -> Result<(), E>,
) -> Result<u64, E> {
    let mut waiting: BTreeMap<u64, Ready> = BTreeMap::new();
    let mut next = 0u64;
    let mut files = 0u64;
    for (seq, ready) in ready_rx {
        waiting.insert(seq, ready);
        while let Some(ready) = waiting.remove(&next) {
            next += 1;
            if matches!(ready, Ready::File { .. }) {
                files += 1;
                ahead.release();
            }
            consume(ready)?;
        }
    }
    Ok(files)
}
