//! `plugins enable` / `plugins disable`: edit plugin.toml in place.
//!
//! toml_edit keeps the user's comments, order and layout; only the one
//! `enabled` value changes. The file is replaced atomically so a crash never
//! leaves half a config.

use bincio_atomic_file::{write_atomic, AtomicFileError};
use std::path::Path;
use toml_edit::{value, DocumentMut};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("no [[plugins]] entry with id {id:?} in {path}")]
    Unknown { id: String, path: String },
    #[error("cannot write {path}: {}", .source.source)]
    Write {
        path: String,
        source: AtomicFileError,
    },
}

/// Sets `enabled` of plugin `id`; returns whether the file changed.
pub fn set_enabled(config_path: &Path, id: &str, enabled: bool) -> Result<bool, EditError> {
    let path = config_path.display().to_string();
    let text = std::fs::read_to_string(config_path).map_err(|source| EditError::Read {
        path: path.clone(),
        source,
    })?;
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| EditError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
    let entry = doc
        .get_mut("plugins")
        .and_then(|p| p.as_array_of_tables_mut())
        .and_then(|tables| {
            tables
                .iter_mut()
                .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
        })
        .ok_or_else(|| EditError::Unknown {
            id: id.into(),
            path: path.clone(),
        })?;
    if entry.get("enabled").and_then(|v| v.as_bool()) == Some(enabled) {
        return Ok(false);
    }
    match entry
        .get_mut("enabled")
        .and_then(|item| item.as_value_mut())
    {
        Some(existing) => {
            // Keep the comment and spacing around the old value.
            let decor = existing.decor().clone();
            *existing = toml_edit::Value::from(enabled);
            *existing.decor_mut() = decor;
        }
        None => {
            entry.insert("enabled", value(enabled));
        }
    }
    write_atomic(config_path, doc.to_string().as_bytes())
        .map_err(|source| EditError::Write { path, source })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# my plugins\n[[plugins]]\nid = \"a\"   # first\nlibrary = \"x\"\nenabled = false # off for now\n\n[[plugins]]\nid = \"b\"\nlibrary = \"y\"\n";

    #[test]
    fn enabling_changes_one_value_and_keeps_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.toml");
        std::fs::write(&path, FILE).unwrap();
        assert!(set_enabled(&path, "a", true).unwrap());
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            after,
            FILE.replace("enabled = false # off", "enabled = true # off")
        );
        assert!(
            !set_enabled(&path, "a", true).unwrap(),
            "second enable is a no-op"
        );
    }

    #[test]
    fn a_missing_key_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.toml");
        std::fs::write(&path, FILE).unwrap();
        set_enabled(&path, "b", true).unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.starts_with("# my plugins\n"));
        assert!(after.trim_end().ends_with("enabled = true"), "{after}");
    }

    #[test]
    fn an_unknown_id_is_an_error_and_the_file_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.toml");
        std::fs::write(&path, FILE).unwrap();
        assert!(matches!(
            set_enabled(&path, "zzz", true),
            Err(EditError::Unknown { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
    }
}
