//! The panic guard: the one thing every boundary-crossing body must run in.
//!
//! abi_stable ends the whole process when a panic reaches an `extern "C"`
//! function, so a bug in one plugin would take the host and every other
//! plugin down. Catching here turns it into an `internal` error the host can
//! show and recover from. Plugin authors do not call it: the kit's
//! [`crate::adapter`] and [`crate::export_plugin!`] apply it to every entry
//! point; the host applies [`catch`] to every service it lends.

use abi_stable::std_types::{RErr, RResult};
use host_api::PluginError;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; a panic comes back as its message.
///
/// The payload is dropped inside a second guard, so a payload whose own
/// `Drop` panics cannot escape either (that second payload is leaked: it is
/// a bug's leftovers, and dropping it could panic again).
pub fn catch<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    // AssertUnwindSafe: after a panic we only report it; the state it may
    // have left half-updated is not read by this frame.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => Ok(value),
        Err(payload) => {
            let message = panic_message(&*payload);
            if let Err(nested) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(nested);
            }
            Err(message)
        }
    }
}

/// Runs `body` on the plugin side, turning a panic into `PluginError::internal`.
pub fn guard<T>(body: impl FnOnce() -> RResult<T, PluginError>) -> RResult<T, PluginError> {
    match catch(body) {
        Ok(result) => result,
        Err(message) => RErr(panic_error(&message)),
    }
}

/// The error a caught plugin panic becomes (also logged at error level).
pub fn panic_error(message: &str) -> PluginError {
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
    fn a_non_string_payload_is_named() {
        let message = catch(|| std::panic::panic_any(42u32)).unwrap_err();
        assert_eq!(message, "non-string panic payload");
    }

    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("the payload's drop panics too");
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_does_not_escape() {
        let message = catch(|| std::panic::panic_any(PanicsOnDrop)).unwrap_err();
        assert_eq!(message, "non-string panic payload");
    }
}
