//! Atomic file writing: a temp file in the destination's directory, fsync, rename over the
//! destination, fsync of the directory. Files of one batch are written as a group whose fsyncs
//! run concurrently (the filesystem then commits them together) before any of them is renamed.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::StoreError;

/// Temp files end with this; their names start with a dot so no reader mistakes them.
const TEMP_SUFFIX: &str = ".tmp";
/// Most threads syncing one group at once.
const MAX_SYNC_THREADS: usize = 16;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// True for the names this module gives its temp files.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// A file written to its temp name, not yet durable nor visible under its final name.
pub(crate) struct PendingFile {
    temp: PathBuf,
    dest: PathBuf,
    file: File,
}

impl PendingFile {
    /// Writes `bytes` to a fresh temp file beside `dest`.
    pub(crate) fn write(dest: &Path, bytes: &[u8]) -> Result<PendingFile, StoreError> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(
            ".{name}.{}.{serial}{TEMP_SUFFIX}",
            std::process::id()
        ));
        let mut file = File::create(&temp).map_err(|e| StoreError::io("creating", &temp, e))?;
        if let Err(e) = file.write_all(bytes) {
            let _ = fs::remove_file(&temp);
            return Err(StoreError::io("writing", &temp, e));
        }
        Ok(PendingFile {
            temp,
            dest: dest.to_path_buf(),
            file,
        })
    }

    /// Removes the temp file (after a failure elsewhere in its group).
    pub(crate) fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.temp);
    }
}

/// Makes a group of pending files durable and visible: fsync all (concurrently), rename each in
/// order, then fsync each destination directory once. On error no temp file is left behind.
pub(crate) fn commit_group(files: Vec<PendingFile>) -> Result<(), StoreError> {
    if files.is_empty() {
        return Ok(());
    }
    if let Err(error) = sync_all(&files) {
        files.into_iter().for_each(PendingFile::discard);
        return Err(error);
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut files = files.into_iter();
    while let Some(pending) = files.next() {
        if let Err(e) = fs::rename(&pending.temp, &pending.dest) {
            let error = StoreError::io("renaming into place", &pending.dest, e);
            pending.discard();
            files.for_each(PendingFile::discard);
            return Err(error);
        }
        let dir = pending
            .dest
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.iter().try_for_each(|dir| sync_dir(dir))
}

/// Writes one file atomically.
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    commit_group(vec![PendingFile::write(dest, bytes)?])
}

fn sync_all(files: &[PendingFile]) -> Result<(), StoreError> {
    let sync = |pending: &PendingFile| {
        pending
            .file
            .sync_all()
            .map_err(|e| StoreError::io("syncing", &pending.temp, e))
    };
    if files.len() == 1 {
        return sync(&files[0]);
    }
    let chunk = files.len().div_ceil(MAX_SYNC_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|group| scope.spawn(move || group.iter().try_for_each(sync)))
            .collect();
        workers.into_iter().try_for_each(|worker| {
            worker.join().unwrap_or_else(|_| {
                Err(StoreError::io(
                    "syncing",
                    PathBuf::new(),
                    std::io::Error::other("sync thread panicked"),
                ))
            })
        })
    })
}

/// Makes renames in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("syncing directory", dir, e))
}

/// Deletes temp files a crash left in `dir`; they are never referenced by anything.
pub(crate) fn remove_stale_temps(dir: &Path) -> Result<usize, StoreError> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("listing", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("listing", dir, e))?;
        if entry.file_name().to_str().is_some_and(is_temp_name) {
            fs::remove_file(entry.path())
                .map_err(|e| StoreError::io("removing", entry.path(), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn group_lands_every_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PendingFile> = (0..20)
            .map(|i| {
                PendingFile::write(&dir.path().join(format!("f{i:02}")), &[i as u8; 10]).unwrap()
            })
            .collect();
        assert!(names(dir.path()).iter().all(|n| is_temp_name(n)));
        commit_group(files).unwrap();
        let names = names(dir.path());
        assert_eq!(names.len(), 20);
        assert!(names.iter().all(|n| !is_temp_name(n)), "{names:?}");
        assert_eq!(fs::read(dir.path().join("f07")).unwrap(), vec![7u8; 10]);
    }

    #[test]
    fn rewrite_replaces_content_and_stale_temps_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("index.json");
        write_atomic(&dest, b"one").unwrap();
        write_atomic(&dest, b"two").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        let stale = PendingFile::write(&dest, b"half").unwrap();
        drop(stale.file);
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert_eq!(names(dir.path()), vec!["index.json".to_string()]);
    }
}
