//! Logging for the binary: tracing to stderr, filtered by `RUST_LOG`
//! (default `warn`). Plugin log lines arrive through the host Logger service
//! and are filtered the same way.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
