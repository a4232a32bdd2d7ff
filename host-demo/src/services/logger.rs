//! `Logger`: plugin log lines into the host's tracing, filtered by the
//! host's `RUST_LOG`, with every secret the host has seen scrubbed out.
//!
//! Plugins promise never to log secrets; the host does not rely on it. Every
//! value that passes through the secret store or the connect prompts is
//! registered in [`Redactions`], and any log line containing one is
//! rewritten before it reaches a subscriber.

use super::Guarded;
use abi_stable::std_types::RStr;
use host_api::{LogLevel, Logger, LoggerBox};
use std::sync::{Arc, RwLock};
use tracing::Level;
use zeroize::Zeroizing;

/// Values shorter than this are not scrubbed: redacting "1" or "on" would
/// mangle every line while protecting nothing.
const MIN_REDACTED_LEN: usize = 6;

#[derive(Clone, Default)]
pub struct Redactions(Arc<RwLock<Vec<Zeroizing<String>>>>);

impl Redactions {
    pub fn add(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_REDACTED_LEN {
            return;
        }
        let mut list = self.0.write().unwrap_or_else(|p| p.into_inner());
        if !list.iter().any(|s| s.as_str() == secret) {
            list.push(Zeroizing::new(secret.to_string()));
        }
    }

    pub fn scrub(&self, line: &str) -> String {
        let list = self.0.read().unwrap_or_else(|p| p.into_inner());
        let mut out = line.to_string();
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

#[derive(Clone)]
pub struct HostLogger {
    plugin_id: Arc<str>,
    redactions: Redactions,
}

impl HostLogger {
    pub fn new(plugin_id: &str, redactions: Redactions) -> Self {
        Self {
            plugin_id: plugin_id.into(),
            redactions,
        }
    }
    pub fn to_service(&self) -> LoggerBox {
        Guarded::logger(self.clone())
    }
}

fn level(level: LogLevel) -> Level {
    match level {
        LogLevel::ERROR => Level::ERROR,
        LogLevel::WARN => Level::WARN,
        LogLevel::INFO => Level::INFO,
        LogLevel::DEBUG => Level::DEBUG,
        _ => Level::TRACE,
    }
}

impl Logger for HostLogger {
    fn enabled(&self, level_: LogLevel, _target: RStr<'_>) -> bool {
        match level(level_) {
            Level::ERROR => tracing::enabled!(target: "plugin", Level::ERROR),
            Level::WARN => tracing::enabled!(target: "plugin", Level::WARN),
            Level::INFO => tracing::enabled!(target: "plugin", Level::INFO),
            Level::DEBUG => tracing::enabled!(target: "plugin", Level::DEBUG),
            _ => tracing::enabled!(target: "plugin", Level::TRACE),
        }
    }

    fn log(&self, level_: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        let message = self.redactions.scrub(message.as_str());
        let plugin = &*self.plugin_id;
        let target = target.as_str();
        match level(level_) {
            Level::ERROR => tracing::error!(target: "plugin", plugin, from = target, "{message}"),
            Level::WARN => tracing::warn!(target: "plugin", plugin, from = target, "{message}"),
            Level::INFO => tracing::info!(target: "plugin", plugin, from = target, "{message}"),
            Level::DEBUG => tracing::debug!(target: "plugin", plugin, from = target, "{message}"),
            _ => tracing::trace!(target: "plugin", plugin, from = target, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed_and_short_values_ignored() {
        let r = Redactions::default();
        r.add("hunter2-password");
        r.add("abc");
        assert_eq!(
            r.scrub("login with hunter2-password for abc"),
            "login with [redacted] for abc"
        );
    }
}
