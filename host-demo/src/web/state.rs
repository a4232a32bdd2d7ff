//! What every handler shares: the host, the scheduler, the live runs, the
//! connect flows waiting for a code, the sign-in limiter, the bound on
//! password hashing at once, and the config.

use super::auth::limiter::AttemptLimiter;
use super::auth::password_gate::PasswordGate;
use super::config::WebConfig;
use super::flows::ConnectFlows;
use super::live::LiveRuns;
use crate::host::Host;
use crate::scheduler::Scheduler;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub host: Arc<Host>,
    pub scheduler: Arc<Scheduler>,
    pub live: Arc<LiveRuns>,
    pub flows: ConnectFlows,
    pub limiter: AttemptLimiter,
    /// Bounds the argon2id work (and its memory) running at once.
    pub passwords: PasswordGate,
    pub config: WebConfig,
    /// Turns true when the server stops: open event streams end.
    pub stopping: watch::Receiver<bool>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
