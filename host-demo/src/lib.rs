//! The BincioActivity host, as a library so the end-to-end suites can drive
//! it in-process; `main.rs` is a thin CLI over it.
//!
//! - [`plugins`]: plugin.toml, the loader and the plugin manager.
//! - [`host`]: the host's operations: connect, check, sync, status, disconnect.
//! - [`scheduler`]: syncs on each connection's interval, with jitter and backoff.
//! - [`services`]: the host services lent to plugins (vault-backed secrets,
//!   the import sink, progress, logger, cancel).
//! - [`clock`]: system time, or a manual clock for tests.
//! - [`web`]: the web settings page and its JSON API (`host-demo serve`).

#![forbid(unsafe_code)]

pub mod clock;
pub mod host;
pub mod import;
pub mod plugins;
pub mod scheduler;
pub mod services;
pub mod web;
