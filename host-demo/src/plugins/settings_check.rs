//! Checking a plugin's `[plugins.settings]` when `plugin.toml` is read,
//! against the settings the plugin declares in its descriptor: an unknown
//! key, a value of the wrong kind or out of range is refused with the key,
//! its line and what is allowed, instead of surfacing at the first sync as a
//! JSON error at "line 1 column N".
//!
//! Where the ranges come from (decided for issue 11): the ABI's `FieldSpec`
//! carries a kind but no range, and growing that `#[repr(C)]` struct would
//! break every built plugin. So the check has two layers, both at load time:
//!
//! 1. here, by kind: a `number` is a whole number in [`NUMBER_RANGE`]
//!    (0 ..= 4,294,967,295: no setting needs more, and no arithmetic on it
//!    can overflow a u64), a `bool` a boolean, a `url` an http(s) URL, text
//!    a string;
//! 2. the plugin's own, narrower ranges: the host creates each enabled
//!    plugin's importer when it opens (`Host::open`), and the plugin refuses
//!    settings it cannot use; `locate` ties its message to the line of the
//!    setting it names.

use super::config::{ConfigError, PluginConfig};
use super::descriptor::{Descriptor, Kind};
use std::ops::RangeInclusive;

/// What a `number` setting may hold unless the plugin says narrower.
pub const NUMBER_RANGE: RangeInclusive<i64> = 0..=u32::MAX as i64;

/// The longest URL or text setting accepted.
pub const MAX_TEXT_LEN: usize = 2048;

/// The first problem with `config`'s settings, as an error naming its line.
pub fn check(config: &PluginConfig, descriptor: &Descriptor) -> Result<(), ConfigError> {
    for (key, value) in &config.settings {
        let invalid = |message: String| ConfigError::Invalid {
            path: config.path.clone(),
            line: config
                .setting_lines
                .get(key)
                .copied()
                .unwrap_or(config.line),
            message: format!("plugin {}: setting `{key}`: {message}", config.id),
        };
        let Some(field) = descriptor.settings_fields.iter().find(|f| &f.key == key) else {
            let known: Vec<&str> = descriptor
                .settings_fields
                .iter()
                .map(|f| f.key.as_str())
                .collect();
            return Err(invalid(format!(
                "unknown setting; {} knows: {}",
                descriptor.name,
                known.join(", ")
            )));
        };
        check_value(field.kind, value).map_err(invalid)?;
    }
    Ok(())
}

fn check_value(kind: Kind, value: &toml::Value) -> Result<(), String> {
    match (kind, value) {
        (Kind::Number, toml::Value::Integer(n)) if NUMBER_RANGE.contains(n) => Ok(()),
        (Kind::Number, toml::Value::Integer(n)) => Err(format!(
            "must be between {} and {}, not {n}",
            NUMBER_RANGE.start(),
            NUMBER_RANGE.end()
        )),
        (Kind::Number, other) => Err(format!(
            "must be a whole number between {} and {}, not {}",
            NUMBER_RANGE.start(),
            NUMBER_RANGE.end(),
            other.type_str()
        )),
        (Kind::Bool, toml::Value::Boolean(_)) => Ok(()),
        (Kind::Bool, other) => Err(format!("must be true or false, not {}", other.type_str())),
        (_, toml::Value::String(s)) if s.len() > MAX_TEXT_LEN => Err(format!(
            "must be at most {MAX_TEXT_LEN} bytes long, not {}",
            s.len()
        )),
        (Kind::Url, toml::Value::String(s))
            if !(s.starts_with("http://") || s.starts_with("https://")) =>
        {
            Err(format!("must be an http:// or https:// URL, not {s:?}"))
        }
        (_, toml::Value::String(_)) => Ok(()),
        (kind, other) => Err(format!(
            "must be {} text, not {}",
            kind.name(),
            other.type_str()
        )),
    }
}

/// A plugin's refusal of its settings (at creation), tied to the line of the
/// setting it names: `plugin.toml:LINE: plugin ID: MESSAGE`. `None` when the
/// message names no setting of `config`.
pub fn locate(config: &PluginConfig, message: &str) -> Option<ConfigError> {
    let key = config
        .setting_lines
        .keys()
        .filter(|key| names(message, key))
        .max_by_key(|key| key.len())?;
    Some(ConfigError::Invalid {
        path: config.path.clone(),
        line: config.setting_lines[key],
        message: format!("plugin {}: setting `{key}`: {message}", config.id),
    })
}

/// Whether `message` names `key` as a word (not inside a longer key).
fn names(message: &str, key: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    message.match_indices(key).any(|(at, _)| {
        let before = message[..at].chars().next_back();
        let after = message[at + key.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::config::HostConfig;
    use crate::plugins::descriptor::{DisclaimerText, Field};
    use std::path::Path;
    use std::time::Duration;

    fn descriptor() -> Descriptor {
        let field = |key: &str, kind| Field {
            key: key.into(),
            label: key.into(),
            kind,
            required: false,
            help: String::new(),
            persist: false,
            default_value: None,
            identifies_account: false,
        };
        Descriptor {
            id: "a".into(),
            name: "A".into(),
            version: "1".into(),
            api_level: 1,
            capabilities: vec![],
            credential_fields: vec![],
            settings_fields: vec![
                field("max_download_mib", Kind::Number),
                field("max_download", Kind::Number),
                field("base_url", Kind::Url),
                field("verbose", Kind::Bool),
            ],
            disclaimer: DisclaimerText {
                version: 1,
                title: String::new(),
                markdown: String::new(),
                sha256: String::new(),
            },
            default_interval: Duration::from_secs(3600),
            min_interval: Duration::from_secs(3600),
        }
    }

    fn config(settings: &str) -> PluginConfig {
        let text =
            format!("[[plugins]]\nid = \"a\"\nlibrary = \"x\"\n[plugins.settings]\n{settings}\n");
        let mut config = HostConfig::parse(Path::new("/p/plugin.toml"), &text).unwrap();
        config.plugins.remove(0)
    }

    #[test]
    fn values_out_of_range_or_of_the_wrong_kind_name_key_line_and_range() {
        for (bad, needle) in [
            (
                format!("max_download_mib = {}", i64::MAX),
                "between 0 and 4294967295",
            ),
            ("max_download_mib = -1".into(), "between 0 and 4294967295"),
            ("max_download_mib = 1.5".into(), "whole number"),
            ("base_url = \"ftp://x\"".into(), "http:// or https://"),
            ("verbose = 1".into(), "true or false"),
            ("max_downlaod_mib = 1".into(), "unknown setting"),
        ] {
            let text = check(&config(&format!("\n{bad}")), &descriptor())
                .unwrap_err()
                .to_string();
            assert!(text.starts_with("/p/plugin.toml:6:"), "{text}");
            assert!(text.contains(needle), "{text}");
            assert!(text.contains(bad.split(' ').next().unwrap()), "{text}");
        }
        check(
            &config(
                "max_download_mib = 4294967295\nbase_url = \"http://127.0.0.1:1\"\nverbose = true",
            ),
            &descriptor(),
        )
        .unwrap();
    }

    #[test]
    fn a_plugin_refusal_is_tied_to_the_setting_it_names() {
        let c = config("max_download = 3\n\nmax_download_mib = 5000");
        let located = locate(&c, "max_download_mib must be between 1 and 1024, not 5000")
            .unwrap()
            .to_string();
        assert!(located.starts_with("/p/plugin.toml:7:"), "{located}");
        assert!(located.contains("setting `max_download_mib`"), "{located}");
        assert!(locate(&c, "something else went wrong").is_none());
    }
}
