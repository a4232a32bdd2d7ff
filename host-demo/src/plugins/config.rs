//! `plugin.toml`: which plugins the host knows, where their libraries are,
//! whether they are enabled, how often they sync, and their settings.
//!
//! Parsing is strict: an unknown key or a wrong type is an error that names
//! the file and the line, because a typo silently ignored (`enabeld = false`)
//! would do the opposite of what the user asked. Every value has a range,
//! checked here when the file is read: the host's own keys against the
//! ranges below, each plugin setting (with the line kept for it) against the
//! plugin's descriptor when the plugin is loaded (see `settings_check`).

use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::Spanned;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}. Create it (see the README) or pass --config PATH")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}:{line}: plugin id {id:?} is already used at line {first_line}; each plugin needs its own id")]
    DuplicateId {
        path: PathBuf,
        id: String,
        line: usize,
        first_line: usize,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    plugins: Vec<RawPlugin>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    id: Spanned<String>,
    library: Spanned<String>,
    #[serde(default)]
    enabled: bool,
    interval_minutes: Option<Spanned<i64>>,
    request_budget: Option<Spanned<BudgetConfig>>,
    #[serde(default)]
    settings: std::collections::BTreeMap<String, Spanned<toml::Value>>,
}

/// `[plugins.request_budget]`: overrides the plugin's declared host-wide
/// request budget, or (`enabled = false`) turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// At most this many requests in any `window_secs` (all accounts).
    pub requests: Option<u32>,
    pub window_secs: Option<u32>,
    /// At most this many back to back; below `requests`.
    pub burst: Option<u32>,
}

fn yes() -> bool {
    true
}

impl BudgetConfig {
    fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("requests", self.requests),
            ("window_secs", self.window_secs),
            ("burst", self.burst),
        ] {
            if value == Some(0) {
                return Err(format!("`request_budget.{name}` must be at least 1"));
            }
        }
        if let (Some(requests), Some(burst)) = (self.requests, self.burst) {
            if requests > 1 && burst >= requests {
                return Err(format!(
                    "`request_budget.burst` ({burst}) must be below `requests` ({requests})"
                ));
            }
        }
        Ok(())
    }
}

/// The shortest and longest `interval_minutes` a user may set: a minute to
/// 31 days (the scheduler never goes below the plugin's own minimum).
pub const INTERVAL_MINUTES_RANGE: std::ops::RangeInclusive<i64> = 1..=44_640;

/// One `[[plugins]]` entry, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    pub id: String,
    /// The library to load: the first of [`Self::library_candidates`] that
    /// exists, else the first candidate (and loading says where it looked).
    pub library: PathBuf,
    /// Every place tried for `library`, in order (see [`library_candidates`]).
    pub library_candidates: Vec<PathBuf>,
    pub enabled: bool,
    /// The user's sync interval; the host never goes below the plugin's minimum.
    pub interval_minutes: Option<u64>,
    /// The operator's override of the plugin's request budget.
    pub request_budget: Option<BudgetConfig>,
    /// The `[plugins.settings]` table, handed to the plugin as JSON.
    pub settings: toml::Table,
    /// The 1-based line of each setting's value, for messages.
    pub setting_lines: std::collections::BTreeMap<String, usize>,
    /// 1-based line of the entry's `id`, for messages.
    pub line: usize,
    /// The file this entry was read from, for messages.
    pub path: PathBuf,
}

impl PluginConfig {
    pub fn settings_json(&self) -> String {
        serde_json::to_string(&self.settings).expect("a TOML table always converts to JSON")
    }
}

/// The whole file. Entries that fail validation are reported in `errors`
/// while the valid ones stay usable.
#[derive(Debug)]
pub struct HostConfig {
    pub path: PathBuf,
    pub plugins: Vec<PluginConfig>,
    pub errors: Vec<ConfigError>,
}

impl HostConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;

        let mut plugins: Vec<PluginConfig> = Vec::new();
        let mut errors = Vec::new();
        for entry in raw.plugins {
            let line = line_of(entry.id.span().start);
            let id = entry.id.get_ref().trim().to_string();
            if let Some(first) = plugins.iter().find(|p| p.id == id) {
                errors.push(ConfigError::DuplicateId {
                    path: path.to_path_buf(),
                    id,
                    line,
                    first_line: first.line,
                });
                continue;
            }
            if id.is_empty() {
                errors.push(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    message: "plugin id is empty".into(),
                });
                continue;
            }
            let library_text = entry.library.get_ref();
            if library_text.trim().is_empty() {
                errors.push(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: line_of(entry.library.span().start),
                    message: format!("plugin {id:?}: `library` is empty"),
                });
                continue;
            }
            if let Some(interval) = &entry.interval_minutes {
                let minutes = *interval.get_ref();
                if !INTERVAL_MINUTES_RANGE.contains(&minutes) {
                    errors.push(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        line: line_of(interval.span().start),
                        message: format!(
                            "plugin {id:?}: `interval_minutes` must be between {} and {} (31 days), not {minutes}",
                            INTERVAL_MINUTES_RANGE.start(),
                            INTERVAL_MINUTES_RANGE.end()
                        ),
                    });
                    continue;
                }
            }
            if let Some(budget) = &entry.request_budget {
                if let Err(message) = budget.get_ref().check() {
                    errors.push(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        line: line_of(budget.span().start),
                        message: format!("plugin {id:?}: {message}"),
                    });
                    continue;
                }
            }
            let library_candidates = library_candidates(
                &base,
                Path::new(&expand_library_name(library_text)),
                host_executable_dir().as_deref(),
            );
            let library = library_candidates
                .iter()
                .find(|p| p.is_file())
                .unwrap_or(&library_candidates[0])
                .clone();
            let setting_lines = entry
                .settings
                .iter()
                .map(|(key, value)| (key.clone(), line_of(value.span().start)))
                .collect();
            let settings = entry
                .settings
                .into_iter()
                .map(|(key, value)| (key, value.into_inner()))
                .collect();
            plugins.push(PluginConfig {
                id,
                library,
                library_candidates,
                enabled: entry.enabled,
                interval_minutes: entry
                    .interval_minutes
                    .map(|m| u64::try_from(m.into_inner()).unwrap_or(1)),
                request_budget: entry.request_budget.map(Spanned::into_inner),
                settings,
                setting_lines,
                line,
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            plugins,
            errors,
        })
    }

    pub fn plugin(&self, id: &str) -> Option<&PluginConfig> {
        self.plugins.iter().find(|p| p.id == id)
    }
}

/// Where a `library` value is looked for, in this order:
/// 1. an absolute path: there, and nowhere else;
/// 2. a relative path: against the directory of `plugin.toml` first,
/// 3. then against the directory of the running host executable.
///
/// So the repository's `plugin.toml`, which names the bare file
/// (`{dll_prefix}plugin_garmin{dll_suffix}`), finds `target/debug/...` for a
/// debug host and `target/release/...` for a release host: each its own build.
pub fn library_candidates(
    config_dir: &Path,
    library: &Path,
    executable_dir: Option<&Path>,
) -> Vec<PathBuf> {
    if library.is_absolute() {
        return vec![library.to_path_buf()];
    }
    let mut candidates = vec![config_dir.join(library)];
    candidates.extend(executable_dir.map(|dir| dir.join(library)));
    candidates
}

/// The directory of the running executable, when it can be found.
fn host_executable_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()?
        .parent()
        .map(Path::to_path_buf)
}

/// `{dll_prefix}` and `{dll_suffix}` let one plugin.toml name a library on
/// every platform (`libfoo.so`, `libfoo.dylib`, `foo.dll`).
fn expand_library_name(name: &str) -> String {
    name.replace("{dll_prefix}", std::env::consts::DLL_PREFIX)
        .replace("{dll_suffix}", std::env::consts::DLL_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HostConfig, ConfigError> {
        HostConfig::parse(Path::new("/etc/bincio/plugin.toml"), text)
    }

    #[test]
    fn a_request_budget_is_read_and_checked() {
        let config = parse(
            "[[plugins]]\nid = \"a\"\nlibrary = \"a\"\n[plugins.request_budget]\nrequests = 20\nwindow_secs = 2\nburst = 4\n",
        )
        .unwrap();
        let budget = config.plugins[0].request_budget.unwrap();
        assert_eq!(
            (
                budget.enabled,
                budget.requests,
                budget.window_secs,
                budget.burst
            ),
            (true, Some(20), Some(2), Some(4))
        );
        let off = parse(
            "[[plugins]]\nid = \"a\"\nlibrary = \"a\"\nrequest_budget = { enabled = false }\n",
        )
        .unwrap();
        assert!(!off.plugins[0].request_budget.unwrap().enabled);
        for (bad, says) in [
            ("requests = 0", "requests` must be at least 1"),
            ("requests = 5\nburst = 5", "must be below"),
            ("rate = 5", "unknown field"),
        ] {
            let text = format!(
                "[[plugins]]\nid = \"a\"\nlibrary = \"a\"\n[plugins.request_budget]\n{bad}\n"
            );
            let message = match parse(&text) {
                Ok(c) => c.errors[0].to_string(),
                Err(e) => e.to_string(),
            };
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn a_relative_library_is_tried_beside_the_file_then_beside_the_host() {
        let config_dir = tempfile::tempdir().unwrap();
        let exe_dir = tempfile::tempdir().unwrap();
        let name = Path::new("libx.so");
        let candidates = library_candidates(config_dir.path(), name, Some(exe_dir.path()));
        assert_eq!(
            candidates,
            [config_dir.path().join(name), exe_dir.path().join(name)]
        );
        let absolute = exe_dir.path().join("liby.so");
        assert_eq!(
            library_candidates(config_dir.path(), &absolute, Some(config_dir.path())),
            [absolute]
        );
    }

    #[test]
    fn a_library_only_beside_the_host_executable_is_found_there() {
        // The test binary is the "host executable" here: put a file beside it.
        let exe_dir = host_executable_dir().unwrap();
        let name = format!("bincio-config-test-{}.so", std::process::id());
        let beside = exe_dir.join(&name);
        std::fs::write(&beside, b"not a library").unwrap();
        let config_dir = tempfile::tempdir().unwrap();
        let text = format!("[[plugins]]\nid = \"a\"\nlibrary = {name:?}\n");
        let parsed = HostConfig::parse(&config_dir.path().join("plugin.toml"), &text);
        std::fs::remove_file(&beside).unwrap();
        let plugin = parsed.unwrap().plugins.remove(0);
        assert_eq!(plugin.library, beside);
        assert_eq!(plugin.library_candidates[0], config_dir.path().join(&name));

        // Present in both places: the one beside plugin.toml wins.
        std::fs::write(config_dir.path().join(&name), b"x").unwrap();
        let parsed = HostConfig::parse(&config_dir.path().join("plugin.toml"), &text).unwrap();
        assert_eq!(parsed.plugins[0].library, config_dir.path().join(&name));
    }

    #[test]
    fn a_valid_entry_resolves_its_library_next_to_the_file() {
        let config = parse(
            "[[plugins]]\nid = \"a\"\nlibrary = \"{dll_prefix}a{dll_suffix}\"\nenabled = true\n[plugins.settings]\nx = 1\n",
        )
        .unwrap();
        let plugin = &config.plugins[0];
        assert_eq!(plugin.line, 2);
        assert!(plugin.enabled);
        assert!(plugin.library.starts_with("/etc/bincio"));
        assert!(plugin
            .library
            .to_string_lossy()
            .ends_with(std::env::consts::DLL_SUFFIX));
        assert_eq!(plugin.settings_json(), r#"{"x":1}"#);
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let err = parse("[[plugins]]\nid = \"a\"\nlibrary = \"x\"\nenabeld = true\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 4"), "{text}");
        assert!(text.contains("enabeld"), "{text}");
        assert!(text.contains("plugin.toml"), "{text}");
    }

    #[test]
    fn a_wrong_type_names_its_line() {
        let err =
            parse("[[plugins]]\nid = \"a\"\nlibrary = \"x\"\n\nenabled = \"yes\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 5"), "{text}");
    }

    #[test]
    fn a_duplicate_id_is_reported_and_the_first_stays() {
        let config = parse(
            "[[plugins]]\nid = \"a\"\nlibrary = \"x\"\n\n[[plugins]]\nid = \"a\"\nlibrary = \"y\"\n",
        )
        .unwrap();
        assert_eq!(config.plugins.len(), 1);
        assert!(config.plugins[0].library.ends_with("x"));
        let text = config.errors[0].to_string();
        assert!(text.contains(":6:") && text.contains("line 2"), "{text}");
    }

    #[test]
    fn an_interval_out_of_range_is_refused_with_its_line_and_range() {
        for bad in ["0", "-5", "44641", &i64::MAX.to_string()] {
            let config = parse(&format!(
                "[[plugins]]\nid = \"a\"\nlibrary = \"x\"\ninterval_minutes = {bad}\n"
            ))
            .unwrap();
            assert!(config.plugins.is_empty());
            let text = config.errors[0].to_string();
            assert!(text.contains(":4:"), "{text}");
            assert!(text.contains("interval_minutes"), "{text}");
            assert!(text.contains("between 1 and 44640"), "{text}");
        }
        let config =
            parse("[[plugins]]\nid = \"a\"\nlibrary = \"x\"\ninterval_minutes = 44640\n").unwrap();
        assert_eq!(config.plugins[0].interval_minutes, Some(44_640));
    }

    #[test]
    fn each_setting_keeps_its_line() {
        let config = parse(
            "[[plugins]]\nid = \"a\"\nlibrary = \"x\"\n[plugins.settings]\nx = 1\n\ny = \"z\"\n",
        )
        .unwrap();
        let lines = &config.plugins[0].setting_lines;
        assert_eq!((lines["x"], lines["y"]), (5, 7));
    }
}
