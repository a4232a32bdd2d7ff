//! Owner-only permissions for what holds secrets: the data directory (0700)
//! and the state database (0600), set when they are created (not after, so
//! there is no window in which they are readable by others) and tightened,
//! with a warning, when an existing one is looser.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700, or tightens an
/// existing one that group or others can enter.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
    }
    tighten(dir, DIR_MODE, "data directory")
}

/// Creates `path` empty with mode 0600 if it is missing, or tightens an
/// existing one that group or others can read.
pub fn private_file(path: &Path) -> io::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            tighten(path, FILE_MODE, "state database")
        }
        Err(e) => Err(e),
    }
}

fn tighten(path: &Path, mode: u32, what: &str) -> io::Result<()> {
    let found = fs::metadata(path)?.permissions().mode() & 0o777;
    if found & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            "the {what} was mode {found:03o}, readable by group or others; tightened to {mode:03o}"
        );
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}
