//! The BincioActivity host, as a library so the end-to-end suites can drive
//! it in-process; `main.rs` is a thin CLI over it.
//!
//! - [`plugins`]: plugin.toml, the loader and the plugin manager.
//! - [`atomic_file`]: crash-safe small-file replacement.

pub mod atomic_file;
pub mod plugins;
