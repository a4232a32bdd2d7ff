//! Forwards the plugin's `tracing` events to the host's [`Logger`].
//!
//! A plugin library carries its own copy of tracing's globals, so events it
//! emits never reach the host's subscriber. [`HostLogLayer`] is a subscriber
//! layer that formats each event and hands it to the host; the
//! [`crate::PluginRuntime`] installs it around every call, scoped to the
//! calling thread, so two plugin instances with different loggers never mix.

use host_api::{LogLevel, LoggerBox};
use std::fmt::Write as _;
use tracing::{field::Field, Event, Level, Metadata, Subscriber};
use tracing_subscriber::{layer::Context, prelude::*, Layer, Registry};

pub struct HostLogLayer {
    logger: LoggerBox,
}

impl HostLogLayer {
    pub fn new(logger: LoggerBox) -> Self {
        Self { logger }
    }

    /// A complete subscriber that sends everything to `logger`.
    pub fn subscriber(logger: LoggerBox) -> impl Subscriber + Send + Sync {
        Registry::default().with(Self::new(logger))
    }
}

fn level(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::ERROR,
        Level::WARN => LogLevel::WARN,
        Level::INFO => LogLevel::INFO,
        Level::DEBUG => LogLevel::DEBUG,
        _ => LogLevel::TRACE,
    }
}

impl<S: Subscriber> Layer<S> for HostLogLayer {
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.logger
            .enabled(level(metadata.level()), metadata.target().into())
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = MessageVisitor::default();
        event.record(&mut message);
        let metadata = event.metadata();
        self.logger.log(
            level(metadata.level()),
            metadata.target().into(),
            message.0.as_str().into(),
        );
    }
}

/// Renders `message` first, then the other fields as `key=value`.
#[derive(Default)]
struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::{
        sabi_trait::TD_Opaque,
        std_types::{RArc, RStr},
    };
    use host_api::{Logger, Logger_TO};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<(LogLevel, String, String)>>>);

    impl Logger for Captured {
        fn enabled(&self, level: LogLevel, _target: RStr<'_>) -> bool {
            level <= LogLevel::DEBUG
        }
        fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
            self.0
                .lock()
                .unwrap()
                .push((level, target.to_string(), message.to_string()));
        }
    }

    #[test]
    fn events_reach_the_host_logger_with_their_fields_and_filtering() {
        let captured = Captured::default();
        let logger = Logger_TO::from_ptr(RArc::new(captured.clone()), TD_Opaque);
        tracing::subscriber::with_default(HostLogLayer::subscriber(logger), || {
            tracing::info!(target: "garmin", page = 3, "listed {} activities", 20);
            tracing::trace!("filtered out by the host");
        });
        let lines = captured.0.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].0, LogLevel::INFO);
        assert_eq!(lines[0].1, "garmin");
        assert_eq!(lines[0].2, "listed 20 activities page=3");
    }
}
