//! `import PATH...`: local FIT files, folders and zip archives into the store.

use std::path::{Path, PathBuf};

pub fn run(_data_dir: &Path, _handle: &str, _paths: &[PathBuf]) -> anyhow::Result<()> {
    anyhow::bail!("import is not wired up yet")
}
