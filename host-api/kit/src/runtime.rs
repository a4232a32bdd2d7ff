//! The plugin's own async runtime, with its logs bridged to the host.
//!
//! A plugin cannot use the host's tokio runtime (each library has its own
//! copy of tokio's thread-locals), so each plugin instance owns a small
//! multi-thread runtime and blocks on it inside each blocking `Importer`
//! call. Every call runs with the host's logger as the thread's tracing
//! subscriber, and futures carry it onto the runtime's worker threads.

use host_api::LoggerBox;
use std::future::Future;
use std::sync::Once;
use tracing::{instrument::WithSubscriber, Dispatch};

use crate::log_bridge::HostLogLayer;

pub struct PluginRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    dispatch: Dispatch,
}

impl PluginRuntime {
    /// A runtime with `worker_threads` workers whose logs go to `logger`.
    pub fn new(logger: LoggerBox, worker_threads: usize) -> std::io::Result<Self> {
        install_panic_hook();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("plugin-worker")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
            dispatch: Dispatch::new(HostLogLayer::subscriber(logger)),
        })
    }

    /// Runs blocking code with the host logger as the thread's subscriber.
    pub fn with_logs<T>(&self, body: impl FnOnce() -> T) -> T {
        tracing::dispatcher::with_default(&self.dispatch, body)
    }

    /// Runs blocking code inside the runtime's context (so async clients and
    /// timers may be created) with the host logger as the thread's subscriber.
    pub fn in_context<T>(&self, body: impl FnOnce() -> T) -> T {
        let runtime = self
            .runtime
            .as_ref()
            .expect("runtime is present until drop");
        let _entered = runtime.enter();
        self.with_logs(body)
    }

    /// Drives `future` to completion from the calling (host) thread.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let runtime = self
            .runtime
            .as_ref()
            .expect("runtime is present until drop");
        self.with_logs(|| runtime.block_on(future.with_subscriber(self.dispatch.clone())))
    }
}

impl Drop for PluginRuntime {
    fn drop(&mut self) {
        // The host may drop the importer from any thread; never block it on
        // tasks that are still winding down.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Routes panic messages through tracing, and so to the host log: a plugin
/// library's default hook would only write to its own stderr. The previous
/// hook still runs, so a panic stays visible where the host has no logger.
/// The panic itself is caught by the guard.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!(target: "plugin::panic", "{info}");
            previous(info);
        }));
    });
}
