//! `Logger`: plugin log lines into the host's tracing, filtered by the
//! host's `RUST_LOG`, with every secret the host has seen scrubbed out.
//!
//! Plugins promise never to log secrets; the host does not rely on it. Every
//! value that passes through the secret store or the connect prompts is
//! registered in [`Redactions`] (JSON values leaf by leaf), and any log line
//! containing one is rewritten before it reaches a subscriber. The host
//! scrubs its own messages that carry a plugin's or a server's words (a
//! run's error) the same way.

use super::Guarded;
use abi_stable::std_types::RStr;
use aho_corasick::{AhoCorasick, MatchKind};
use host_api::{LogLevel, Logger, LoggerBox};
use std::sync::{Arc, RwLock};
use tracing::Level;
use zeroize::Zeroizing;

/// Values shorter than this are not scrubbed: redacting "1" or "on" would
/// mangle every line while protecting nothing.
const MIN_REDACTED_LEN: usize = 6;

/// Every secret the host has seen, and an Aho-Corasick automaton over them
/// that scrubs a line in one pass (leftmost-longest, so a token that
/// contains another secret is redacted whole).
///
/// A stored value that is JSON (a token blob) is registered whole *and* leaf
/// by leaf, so a bare access or refresh token echoed by a server is caught
/// too. A replaced value is forgotten with its leaves ([`Redactions::replace`]),
/// so rotated tokens do not pile up.
#[derive(Clone, Default)]
pub struct Redactions(Arc<RwLock<Inner>>);

#[derive(Default)]
struct Inner {
    secrets: Vec<Zeroizing<String>>,
    /// Built from `secrets` on the first scrub after a change.
    matcher: Option<AhoCorasick>,
}

impl Redactions {
    /// Registers `secret` and, when it is JSON, each string leaf in it.
    pub fn add(&self, secret: &str) {
        let values = leaves(secret);
        if values.is_empty() {
            return;
        }
        let mut inner = self.0.write().unwrap_or_else(|p| p.into_inner());
        let mut changed = false;
        for value in values {
            if !inner.secrets.iter().any(|s| s.as_str() == value.as_str()) {
                inner.secrets.push(value);
                changed = true;
            }
        }
        if changed {
            inner.matcher = None;
        }
    }

    /// Drops `secret` and its leaves (a value that was replaced).
    pub fn forget(&self, secret: &str) {
        let values = leaves(secret);
        let mut inner = self.0.write().unwrap_or_else(|p| p.into_inner());
        let before = inner.secrets.len();
        inner
            .secrets
            .retain(|s| !values.iter().any(|v| v.as_str() == s.as_str()));
        if inner.secrets.len() != before {
            inner.matcher = None;
        }
    }

    /// `old` was superseded by `new`: forget one, register the other.
    pub fn replace(&self, old: &str, new: &str) {
        self.forget(old);
        self.add(new);
    }

    /// How many values are registered (leaves counted one by one).
    pub fn len(&self) -> usize {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .secrets
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn scrub(&self, line: &str) -> String {
        {
            let inner = self.0.read().unwrap_or_else(|p| p.into_inner());
            if inner.secrets.is_empty() {
                return line.to_string();
            }
            if let Some(matcher) = &inner.matcher {
                return replace_all(matcher, line);
            }
        }
        let mut inner = self.0.write().unwrap_or_else(|p| p.into_inner());
        if inner.matcher.is_none() {
            inner.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(inner.secrets.iter().map(|s| s.as_bytes()))
                .ok();
        }
        match &inner.matcher {
            Some(matcher) => replace_all(matcher, line),
            // Building fails only past the automaton's size limits: scrub
            // the slow way rather than not at all.
            None => inner.secrets.iter().fold(line.to_string(), |out, s| {
                out.replace(s.as_str(), "[redacted]")
            }),
        }
    }
}

fn replace_all(matcher: &AhoCorasick, line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    matcher.replace_all_with(line, &mut out, |_, _, out| {
        out.push_str("[redacted]");
        true
    });
    out
}

/// The values of `secret` worth scrubbing: the whole (trimmed) value, and
/// every string leaf (at any depth) when it parses as JSON.
fn leaves(secret: &str) -> Vec<Zeroizing<String>> {
    let mut out = Vec::new();
    let whole = secret.trim();
    if whole.len() >= MIN_REDACTED_LEN {
        out.push(Zeroizing::new(whole.to_string()));
    }
    if whole.starts_with('{') || whole.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(whole) {
            collect_leaves(&value, &mut out);
        }
    }
    out
}

fn collect_leaves(value: &serde_json::Value, out: &mut Vec<Zeroizing<String>>) {
    match value {
        serde_json::Value::String(s) => {
            let s = s.trim();
            if s.len() >= MIN_REDACTED_LEN {
                out.push(Zeroizing::new(s.to_string()));
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_leaves(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_leaves(v, out)),
        _ => {}
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

    #[test]
    fn json_secrets_are_scrubbed_leaf_by_leaf_and_replaced_values_dropped() {
        let r = Redactions::default();
        let blob = r#"{"di":{"access_token":"eyJ-access-1","refresh_token":"refresh-aaaa"},"n":5}"#;
        r.add(blob);
        assert_eq!(r.len(), 3, "the blob and its two long string leaves");
        assert_eq!(
            r.scrub("bad: eyJ-access-1 / refresh-aaaa"),
            "bad: [redacted] / [redacted]"
        );
        let rotated = r#"{"di":{"access_token":"eyJ-access-2","refresh_token":"refresh-bbbb"}}"#;
        r.replace(blob, rotated);
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.scrub("eyJ-access-1"),
            "eyJ-access-1",
            "superseded: dropped"
        );
        assert_eq!(r.scrub("x eyJ-access-2 y"), "x [redacted] y");
    }

    #[test]
    fn the_longest_secret_wins_where_two_overlap() {
        let r = Redactions::default();
        r.add("secret");
        r.add("secret-and-more");
        assert_eq!(r.scrub("[secret-and-more]"), "[[redacted]]");
        assert_eq!(r.scrub("secret!"), "[redacted]!");
    }
}
