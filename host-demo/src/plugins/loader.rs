//! Loading one plugin library through abi_stable, with every check the
//! design asks for, and each failure turned into an error that names the
//! plugin and says what to do.
//!
//! We use `lib_header_from_path` + `init_root_module`, never
//! `RootModule::load_from_file`: the latter caches one module per interface
//! type, so a second plugin would silently get the first one's functions.
//! Libraries are never unloaded (abi_stable leaks them by design).

use super::{config::PluginConfig, descriptor::Descriptor};
use abi_stable::library::{lib_header_from_path, LibraryError};
use host_api::{PluginError, PluginRoot, API_LEVEL, MIN_API_LEVEL};
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("plugin {id}: library {path} does not exist (looked in: {}); build it (`cargo build`) or fix `library` in plugin.toml", tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Missing {
        id: String,
        path: PathBuf,
        /// Every place tried, in order.
        tried: Vec<PathBuf>,
    },
    #[error("plugin {id}: library {path} is {what}; point `library` in plugin.toml at the plugin's .so/.dylib/.dll file")]
    NotAFile {
        id: String,
        path: PathBuf,
        what: &'static str,
    },
    #[error("plugin {id}: {path} is not a BincioActivity plugin ({reason})")]
    NotAPlugin {
        id: String,
        path: PathBuf,
        reason: String,
    },
    #[error("plugin {id}: {path} was built against an incompatible plugin interface; rebuild it against this host's bincio-host-api ({reason})")]
    Incompatible {
        id: String,
        path: PathBuf,
        reason: String,
    },
    #[error("plugin {id}: {path} could not be opened: {reason}")]
    Open {
        id: String,
        path: PathBuf,
        reason: String,
    },
    #[error("plugin {id}: its descriptor failed: {error}")]
    Descriptor { id: String, error: PluginError },
    #[error("plugin.toml says {id:?} but the library at {path} says it is {actual:?}; fix the id in plugin.toml or point `library` at the right file")]
    IdMismatch {
        id: String,
        actual: String,
        path: PathBuf,
    },
    /// Its `[plugins.settings]` are refused (by kind and range, or by the
    /// plugin itself when the host created it); the message names the line.
    #[error("{message}")]
    Settings { id: String, message: String },
    #[error("plugin {id}: speaks API level {level}, this host supports {MIN_API_LEVEL}..={API_LEVEL}; update the {}", if *level > API_LEVEL { "host" } else { "plugin" })]
    ApiLevel { id: String, level: u32 },
}

/// A plugin whose library is loaded and whose descriptor passed the checks.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// The root module at the layout level the plugin was built against.
    pub module: PluginRoot,
    pub descriptor: Descriptor,
    pub library: PathBuf,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.descriptor.id)
            .field("library", &self.library)
            .finish()
    }
}

pub fn load(config: &PluginConfig) -> Result<LoadedPlugin, LoadError> {
    let id = config.id.clone();
    let path = config.library.clone();
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        Ok(meta) => {
            let what = if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file (a device, FIFO or socket)"
            };
            return Err(LoadError::NotAFile { id, path, what });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let tried = config.library_candidates.clone();
            return Err(LoadError::Missing { id, path, tried });
        }
        Err(e) => {
            return Err(LoadError::Open {
                id,
                path,
                reason: e.to_string(),
            })
        }
    }
    let module = lib_header_from_path(&path)
        .and_then(PluginRoot::load)
        .map_err(|e| classify(&id, &path, e))?;

    let descriptor = match module.descriptor()() {
        abi_stable::std_types::ROk(d) => Descriptor::from_abi(&d),
        abi_stable::std_types::RErr(error) => return Err(LoadError::Descriptor { id, error }),
    };
    if descriptor.id != id {
        return Err(LoadError::IdMismatch {
            id,
            actual: descriptor.id,
            path,
        });
    }
    if !(MIN_API_LEVEL..=API_LEVEL).contains(&descriptor.api_level) {
        return Err(LoadError::ApiLevel {
            id,
            level: descriptor.api_level,
        });
    }
    super::settings_check::check(config, &descriptor).map_err(|e| LoadError::Settings {
        id,
        message: e.to_string(),
    })?;
    Ok(LoadedPlugin {
        module,
        descriptor,
        library: path,
    })
}

fn classify(id: &str, path: &std::path::Path, error: LibraryError) -> LoadError {
    let id = id.to_string();
    let path = path.to_path_buf();
    let reason = first_lines(&error.to_string(), 6);
    match error {
        LibraryError::GetSymbolError { .. } => LoadError::NotAPlugin {
            id,
            path,
            reason: "it exports no abi_stable root module".into(),
        },
        LibraryError::InvalidAbiHeader(_)
        | LibraryError::InvalidCAbi { .. }
        | LibraryError::ParseVersionError(_)
        | LibraryError::IncompatibleVersionNumber { .. }
        | LibraryError::AbiInstability(_) => LoadError::Incompatible { id, path, reason },
        LibraryError::OpenError { .. } => LoadError::Open { id, path, reason },
        _ => LoadError::Open { id, path, reason },
    }
}

/// abi_stable's layout reports run to hundreds of lines; the user needs the
/// gist, the log gets the rest.
fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > n {
        tracing::debug!(target: "host::plugins", "full loader report:\n{text}");
        format!("{} [...]", lines[..n].join(" / "))
    } else {
        lines.join(" / ")
    }
}
