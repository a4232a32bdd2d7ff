//! At most N password hashes (argon2id) computed at once, server-wide,
//! each in one of N reused memory buffers.
//!
//! Each argon2id check needs its whole memory cost, 19 MiB with the
//! defaults. Without a bound, a burst of sign-ins gets a blocking thread
//! each, and the server's memory grows by 19 MiB per sign-in in flight.
//! The load bench measured 40 sign-ins at once: 26 MiB became 788 MiB, and
//! the memory stayed after they ended (why it stays: [`super::argon`]).
//! Sign-ins past the bound wait their turn (first come, first served).
//! Throughput does not drop: the work is CPU-bound, and more checks at
//! once than cores do not finish sooner.

use super::super::error::WebError;
use super::argon::{hash_with, verify_with};
use argon2::Block;
use bincio_state::SecretString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

pub struct PasswordGate {
    permits: Arc<Semaphore>,
    /// Free argon2 buffers; there are never more than the permits.
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl PasswordGate {
    /// `at_once` checks at a time (at least 1).
    pub fn new(at_once: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(at_once.max(1))),
            buffers: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// Whether `password` matches the stored PHC string `hash`.
    pub async fn verify(&self, hash: String, password: SecretString) -> Result<bool, WebError> {
        self.run(move |memory| verify_with(&hash, &password, memory))
            .await
    }

    /// A new PHC string for `password`.
    pub async fn hash(&self, password: SecretString) -> Result<String, WebError> {
        self.run(move |memory| hash_with(&password, memory))
            .await?
            .map_err(WebError::internal)
    }

    /// Runs `work` (a password hash or check) on a blocking thread with a
    /// buffer of the pool, once a turn is free. The turn goes with the
    /// work: a client that leaves while its check runs does not free the
    /// turn before the check ends.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, WebError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(WebError::internal)?;
        let (counts, buffers) = (self.counts.clone(), self.buffers.clone());
        tokio::task::spawn_blocking(move || {
            let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            counts.peak.fetch_max(now, Ordering::SeqCst);
            let pool = || buffers.lock().unwrap_or_else(|p| p.into_inner());
            let mut memory = pool().pop().unwrap_or_default();
            let out = work(&mut memory);
            pool().push(memory);
            counts.in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(WebError::internal)
    }

    /// The most checks that ran at once since the server started.
    pub fn peak(&self) -> usize {
        self.counts.peak.load(Ordering::SeqCst)
    }

    /// The buffers made so far (at most the bound).
    pub fn buffers(&self) -> usize {
        self.buffers.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_bound_run_at_once_and_every_one_runs() {
        let gate = Arc::new(PasswordGate::new(3));
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    gate.run(move |_| {
                        std::thread::sleep(Duration::from_millis(20));
                        i
                    })
                    .await
                })
            })
            .collect();
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap().unwrap());
        }
        done.sort_unstable();
        assert_eq!(done, (0..24).collect::<Vec<_>>());
        // 24 sleeping checks on a pool of up to 512 blocking threads: all
        // would run at once without the gate.
        assert_eq!(gate.peak(), 3);
        assert_eq!(gate.buffers(), 3, "one buffer per turn, reused");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_made_through_the_gate_check_through_it() {
        let gate = PasswordGate::new(2);
        let hash = gate
            .hash(SecretString::from("a-long-password"))
            .await
            .unwrap();
        let check = |p: &str| gate.verify(hash.clone(), SecretString::from(p));
        assert!(check("a-long-password").await.unwrap());
        assert!(!check("a-long-passwore").await.unwrap());
        assert_eq!(gate.buffers(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_leaves_keeps_the_turn_until_its_check_ends() {
        let gate = Arc::new(PasswordGate::new(1));
        let (started, started_rx) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move |_| {
                    started.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        first.abort(); // the client went away; its check still runs
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(|_| ()).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!second.is_finished(), "the second check waits its turn");
        release.send(()).unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(gate.peak(), 1);
    }
}
