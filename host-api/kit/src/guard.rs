//! The panic guard: the one thing every boundary-crossing body must run in.
//!
//! abi_stable ends the whole process when a panic reaches an `extern "C"`
//! function, so a bug in one plugin would take the host and every other
//! plugin down. Catching here turns it into an `internal` error the host can
//! show and recover from.

use abi_stable::std_types::{RErr, RResult};
use host_api::{ConnectStep, PluginError};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`, turning a panic into `PluginError::internal`.
pub fn guard<T>(body: impl FnOnce() -> RResult<T, PluginError>) -> RResult<T, PluginError> {
    // AssertUnwindSafe: after a panic we only report it; the instance state
    // it may have left half-updated is not read by this frame.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => RErr(panic_error(&*payload)),
    }
}

/// [`guard`] for the connect step machine, whose failure is a step variant.
pub fn guard_step(body: impl FnOnce() -> ConnectStep) -> ConnectStep {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(step) => step,
        Err(payload) => ConnectStep::Failed(panic_error(&*payload)),
    }
}

fn panic_error(payload: &(dyn Any + Send)) -> PluginError {
    let message = panic_message(payload);
    tracing::error!(target: "plugin::panic", "panic caught at the plugin boundary: {message}");
    PluginError::internal("the plugin hit an internal error (a bug); see the host log")
        .with_detail(format!("panic: {message}"))
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROk;
    use host_api::ErrorKind;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let result: RResult<u8, PluginError> = guard(|| panic!("boom {}", 42));
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::INTERNAL);
        assert!(error.detail.contains("boom 42"), "{}", error.detail);
    }

    #[test]
    fn a_value_passes_through() {
        assert_eq!(guard(|| ROk(7)).unwrap(), 7);
    }

    #[test]
    fn a_panicking_step_fails() {
        match guard_step(|| panic!("step")) {
            ConnectStep::Failed(e) => assert_eq!(e.kind, ErrorKind::INTERNAL),
            other => panic!("unexpected {other:?}"),
        }
    }
}
