//! Tells glibc's allocator to give freed memory back during a long import.
//!
//! By default glibc raises its trim and mmap thresholds as the process frees large blocks (up
//! to 32 MiB): after the first few, the importer's ~100 KiB serialized activities are carved
//! from the heap arenas of the threads that made them, and what they leave behind when freed
//! is kept, not returned. Over a long import that retained memory grows with the number of
//! files: a 3,000-activity export peaked some 3 MiB higher than with fixed thresholds, for the
//! same live data (measured in `benches/import_speed.rs`, part d). Fixing the trim threshold at
//! glibc's default (which also stops the thresholds from moving) keeps the peak near the live
//! data whatever the export's size; it costs system time (more `mmap`/`munmap`, ~6 % wall time
//! on that export), a price worth a bounded footprint on a small home server.
//!
//! Other allocators (musl, macOS) do not move their thresholds this way: nothing to do there.

/// glibc's own default trim threshold: free memory above this at the top of an arena goes back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 128 << 10;

/// Fixes the allocator's trim threshold (see the module's docs); a no-op off glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn keep_footprint_bounded() {
    // SAFETY: `mallopt` takes two integers and has no caller-side invariants; it may be called
    // at any time, from any thread (glibc locks its arenas). A refusal (0) leaves the defaults.
    let _ = unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) };
}

/// Fixes the allocator's trim threshold (see the module's docs); a no-op off glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_footprint_bounded() {}
