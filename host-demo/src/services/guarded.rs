//! [`Guarded`]: the one wrapper every host service goes through before it is
//! lent to a plugin.
//!
//! A service method is called from the plugin through abi_stable's
//! `extern "C"` vtable, where a panic ends the whole process. `Guarded<S>`
//! implements each host-api service trait for any `S` implementing it, and
//! runs every call through [`Guarded::call`]: a panic becomes an `internal`
//! `PluginError` (logged at error level), or, for the methods that return no
//! `Result`, a safe fallback (progress and log lines are dropped; a cancel
//! flag that cannot be read answers "cancelled", so the plugin stops). The
//! services themselves are plain code with no `catch_unwind` of their own;
//! their `to_service` constructors wrap them here.

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, RErr, ROption, RResult, RStr, RString, RVec},
};
use bincio_plugin_kit::catch;
use host_api::{
    Cancel, CancelBox, Cancel_TO, ImportItem, ImportOutcome_NE, ImportSink, ImportSinkBox,
    ImportSink_TO, LogLevel, Logger, LoggerBox, Logger_TO, PendingRetry, PluginError, Progress,
    ProgressBox, Progress_TO, SecretStore, SecretStoreBox, SecretStore_TO,
};
use std::io::Write as _;

/// A host service whose every call runs inside the panic guard.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    /// Names the service in the error and the log line.
    service: &'static str,
}

impl<S: Clone + Send + Sync + 'static> Guarded<S> {
    pub fn new(service: &'static str, inner: S) -> Self {
        Self { inner, service }
    }

    /// Runs one call; a panic comes back as `on_panic(message)`.
    fn call<T>(&self, body: impl FnOnce(&S) -> T, on_panic: impl FnOnce(String) -> T) -> T {
        catch(|| body(&self.inner)).unwrap_or_else(on_panic)
    }

    /// [`Guarded::call`] for the methods that answer a `Result`.
    fn call_result<T>(
        &self,
        method: &'static str,
        body: impl FnOnce(&S) -> RResult<T, PluginError>,
    ) -> RResult<T, PluginError> {
        self.call(body, |message| RErr(self.panic_error(method, &message)))
    }

    /// [`Guarded::call`] for the methods with nothing to answer but a
    /// fallback; the panic is logged.
    fn call_or<T>(&self, method: &'static str, fallback: T, body: impl FnOnce(&S) -> T) -> T {
        self.call(body, |message| {
            self.panic_error(method, &message);
            fallback
        })
    }

    fn panic_error(&self, method: &str, message: &str) -> PluginError {
        let service = self.service;
        tracing::error!(
            service,
            method,
            "a host service panicked (a host bug): {message}"
        );
        PluginError::internal(format!(
            "the host hit an internal error (a bug) in its {service} service; see the host log"
        ))
        .with_detail(format!("{service}.{method} panicked: {message}"))
    }
}

impl<S: SecretStore + Clone + Send + Sync + 'static> Guarded<S> {
    pub fn secret_store(inner: S) -> SecretStoreBox {
        SecretStore_TO::from_ptr(RArc::new(Self::new("secret store", inner)), TD_Opaque)
    }
}

impl<S: SecretStore + Clone + Send + Sync + 'static> SecretStore for Guarded<S> {
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RString>, PluginError> {
        self.call_result("get", |s| s.get(key))
    }
    fn put(&self, key: RStr<'_>, value: RStr<'_>) -> RResult<(), PluginError> {
        self.call_result("put", |s| s.put(key, value))
    }
    fn delete(&self, key: RStr<'_>) -> RResult<(), PluginError> {
        self.call_result("delete", |s| s.delete(key))
    }
}

impl<S: ImportSink + Clone + Send + Sync + 'static> Guarded<S> {
    pub fn import_sink(inner: S) -> ImportSinkBox {
        ImportSink_TO::from_ptr(RArc::new(Self::new("import sink", inner)), TD_Opaque)
    }
}

impl<S: ImportSink + Clone + Send + Sync + 'static> ImportSink for Guarded<S> {
    fn contains(&self, external_id: RStr<'_>) -> RResult<bool, PluginError> {
        self.call_result("contains", |s| s.contains(external_id))
    }
    fn import(&self, item: ImportItem) -> RResult<ImportOutcome_NE, PluginError> {
        self.call_result("import", |s| s.import(item))
    }
    fn defer(&self, external_id: RStr<'_>, error: RStr<'_>) -> RResult<(), PluginError> {
        self.call_result("defer", |s| s.defer(external_id, error))
    }
    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError> {
        self.call_result("due_retries", |s| s.due_retries())
    }
    fn commit(&self, cursor: RStr<'_>) -> RResult<(), PluginError> {
        self.call_result("commit", |s| s.commit(cursor))
    }
}

impl<S: Progress + Clone + Send + Sync + 'static> Guarded<S> {
    pub fn progress(inner: S) -> ProgressBox {
        Progress_TO::from_ptr(RArc::new(Self::new("progress", inner)), TD_Opaque)
    }
}

impl<S: Progress + Clone + Send + Sync + 'static> Progress for Guarded<S> {
    fn set_total(&self, total: u64) {
        self.call_or("set_total", (), |s| s.set_total(total))
    }
    fn advance(&self, done: u64, message: RStr<'_>) {
        self.call_or("advance", (), |s| s.advance(done, message))
    }
}

impl<S: Cancel + Clone + Send + Sync + 'static> Guarded<S> {
    pub fn cancel(inner: S) -> CancelBox {
        Cancel_TO::from_ptr(RArc::new(Self::new("cancel", inner)), TD_Opaque)
    }
}

impl<S: Cancel + Clone + Send + Sync + 'static> Cancel for Guarded<S> {
    fn is_cancelled(&self) -> bool {
        // A flag that cannot be read stops the run rather than let it go on
        // unstoppable.
        self.call_or("is_cancelled", true, |s| s.is_cancelled())
    }
}

impl<S: Logger + Clone + Send + Sync + 'static> Guarded<S> {
    pub fn logger(inner: S) -> LoggerBox {
        Logger_TO::from_ptr(RArc::new(Self::new("logger", inner)), TD_Opaque)
    }

    /// The logger's own panics are not logged through tracing (whose
    /// subscriber may be what panicked): one line to stderr, the line lost.
    fn logger_panicked(&self, method: &str, message: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "host logger.{method} panicked (a host bug); a plugin log line was lost: {message}"
        );
    }
}

impl<S: Logger + Clone + Send + Sync + 'static> Logger for Guarded<S> {
    fn enabled(&self, level: LogLevel, target: RStr<'_>) -> bool {
        self.call(
            |s| s.enabled(level, target),
            |m| {
                self.logger_panicked("enabled", &m);
                false
            },
        )
    }
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        self.call(
            |s| s.log(level, target, message),
            |m| self.logger_panicked("log", &m),
        )
    }
}

#[cfg(test)]
mod tests {
    //! Each service, panicking, called through its vtable as a plugin calls
    //! it: without the wrapper abi_stable would abort this test process.
    use super::*;
    use host_api::ErrorKind;

    #[derive(Clone)]
    struct Panics;

    impl SecretStore for Panics {
        fn get(&self, _: RStr<'_>) -> RResult<ROption<RString>, PluginError> {
            panic!("get exploded")
        }
        fn put(&self, _: RStr<'_>, _: RStr<'_>) -> RResult<(), PluginError> {
            panic!("put exploded")
        }
        fn delete(&self, _: RStr<'_>) -> RResult<(), PluginError> {
            panic!("delete exploded")
        }
    }
    impl ImportSink for Panics {
        fn contains(&self, _: RStr<'_>) -> RResult<bool, PluginError> {
            panic!("contains exploded")
        }
        fn import(&self, _: ImportItem) -> RResult<ImportOutcome_NE, PluginError> {
            panic!("import exploded")
        }
        fn defer(&self, _: RStr<'_>, _: RStr<'_>) -> RResult<(), PluginError> {
            panic!("defer exploded")
        }
        fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError> {
            panic!("due_retries exploded")
        }
        fn commit(&self, _: RStr<'_>) -> RResult<(), PluginError> {
            panic!("commit exploded")
        }
    }
    impl Progress for Panics {
        fn set_total(&self, _: u64) {
            panic!("set_total exploded")
        }
        fn advance(&self, _: u64, _: RStr<'_>) {
            panic!("advance exploded")
        }
    }
    impl Cancel for Panics {
        fn is_cancelled(&self) -> bool {
            panic!("is_cancelled exploded")
        }
    }
    impl Logger for Panics {
        fn enabled(&self, _: LogLevel, _: RStr<'_>) -> bool {
            panic!("enabled exploded")
        }
        fn log(&self, _: LogLevel, _: RStr<'_>, _: RStr<'_>) {
            panic!("log exploded")
        }
    }

    fn internal<T: std::fmt::Debug>(result: RResult<T, PluginError>, method: &str) {
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::INTERNAL);
        assert!(
            error.detail.contains(&format!("{method} exploded")),
            "{}",
            error.detail
        );
    }

    #[test]
    fn every_panicking_service_method_answers_instead_of_unwinding() {
        let secrets = Guarded::secret_store(Panics);
        internal(secrets.get("k".into()), "get");
        internal(secrets.put("k".into(), "v".into()), "put");
        internal(secrets.delete("k".into()), "delete");

        let sink = Guarded::import_sink(Panics);
        internal(sink.contains("x".into()), "contains");
        let item = ImportItem {
            external_id: "x".into(),
            file_name: "x.fit".into(),
            bytes: RVec::new(),
        };
        internal(sink.import(item), "import");
        internal(sink.defer("x".into(), "e".into()), "defer");
        internal(sink.due_retries(), "due_retries");
        internal(sink.commit("c".into()), "commit");

        let progress = Guarded::progress(Panics);
        progress.set_total(3);
        progress.advance(1, "m".into());

        assert!(Guarded::cancel(Panics).is_cancelled(), "unreadable = stop");

        let logger = Guarded::logger(Panics);
        assert!(!logger.enabled(LogLevel::INFO, "t".into()));
        logger.log(LogLevel::INFO, "t".into(), "line".into());
    }
}
