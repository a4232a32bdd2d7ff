//! What one phase of the load measured: latency percentiles, the phase's figures, and its
//! errors (every one counted, the first few kept).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Error messages kept for the report (all are counted).
const KEPT_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy)]
pub enum Phase {
    Idle,
    Busy,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Idle => "idle: polling only",
            Phase::Busy => "busy: polling + SSE + syncs",
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Latencies {
    pub p50: Duration,
    pub p99: Duration,
    pub count: usize,
}

pub fn latencies(mut all: Vec<Duration>) -> Latencies {
    all.sort();
    let at = |q: f64| {
        all.get(((all.len().saturating_sub(1)) as f64 * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Latencies {
        p50: at(0.50),
        p99: at(0.99),
        count: all.len(),
    }
}

pub struct PhaseResult {
    pub phase: Phase,
    pub page: Latencies,
    pub api: Latencies,
    pub polling: Duration,
    pub peak_kib: u64,
    pub error_count: usize,
    pub errors: Vec<String>,
    pub sse_events: usize,
    pub polls_during_syncs: usize,
    pub syncs_secs: f64,
    pub imported: u64,
}

impl PhaseResult {
    pub fn requests_per_sec(&self) -> f64 {
        (self.page.count + self.api.count) as f64 / self.polling.as_secs_f64().max(1e-9)
    }
}

/// Errors of one phase: every one counted, the first few kept.
#[derive(Default)]
pub struct Errors {
    count: AtomicUsize,
    kept: Mutex<Vec<String>>,
}

impl Errors {
    pub fn add(&self, message: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < KEPT_ERRORS {
            kept.push(message);
        }
    }

    pub fn take(&self) -> (usize, Vec<String>) {
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|p| p.into_inner()));
        (self.count.swap(0, Ordering::Relaxed), kept)
    }
}
