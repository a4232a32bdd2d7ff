//! Replacing files atomically, so that a reader (or the next start after a crash or a power
//! cut) sees the old file or the new one, never a mix: the bytes go to a temp file beside the
//! destination, which is fsynced, renamed over the destination, and the directory fsynced.
//!
//! Files can be written as a group ([`commit_group`]): every temp file of the group is fsynced
//! (concurrently: the filesystem then commits them together) before any of them is renamed, and
//! they are renamed in the order given, so a caller can make one file (an index) visible only
//! after those it lists. Several groups ([`commit_groups`]) are fsynced together and renamed
//! group after group, each group's directories fsynced before the next is renamed: one round of
//! fsyncs for a batch of activity files and the index that lists them. A file that is replaced keeps its permissions (a private
//! `plugin.toml` stays private).
//!
//! The one writer of the host: the BAS store (`bincio-bas`), the host's configuration edits
//! (`host-demo`) and the vault's key file (`bincio-state`, for its durable rename) use it.

#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temp files end with this; their names start with a dot so no reader mistakes them.
const TEMP_SUFFIX: &str = ".tmp";
/// Most threads syncing one group at once.
const MAX_SYNC_THREADS: usize = 16;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A filesystem step that failed, with the file it was done on.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct AtomicFileError {
    /// What was being done ("writing", "syncing", "renaming into place", ...).
    pub action: &'static str,
    /// The file or directory concerned.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

impl AtomicFileError {
    fn new(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self {
            action,
            path: path.into(),
            source,
        }
    }
}

/// True for the names this crate gives its temp files (`.{name}.{pid}.{n}.tmp`).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// A file written to its temp name, not yet durable nor visible under its final name.
#[derive(Debug)]
pub struct PendingFile {
    temp: PathBuf,
    dest: PathBuf,
    file: File,
}

impl PendingFile {
    /// Writes `bytes` to a fresh temp file beside `dest` (with `dest`'s permissions, when it
    /// exists).
    pub fn write(dest: &Path, bytes: &[u8]) -> Result<PendingFile, AtomicFileError> {
        Self::write_with(dest, |mut file| file.write_all(bytes))
    }

    /// [`write`](Self::write) of what `contents` writes.
    pub fn write_contents(
        dest: &Path,
        contents: &dyn Contents,
    ) -> Result<PendingFile, AtomicFileError> {
        Self::write_with(dest, |mut file| contents.write_to(&mut file))
    }

    fn write_with(
        dest: &Path,
        write: impl FnOnce(&File) -> std::io::Result<()>,
    ) -> Result<PendingFile, AtomicFileError> {
        let dir = parent_dir(dest);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let serial = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(
            ".{name}.{}.{serial}{TEMP_SUFFIX}",
            std::process::id()
        ));
        let file = File::create(&temp).map_err(|e| AtomicFileError::new("creating", &temp, e))?;
        let written = keep_permissions(dest, &file).and_then(|()| write(&file));
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(AtomicFileError::new("writing", &temp, e));
        }
        Ok(PendingFile {
            temp,
            dest: dest.to_path_buf(),
            file,
        })
    }

    /// Where the file will be once committed.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Closes the (synced) temp file: its temp and destination paths.
    fn close(self) -> (PathBuf, PathBuf) {
        (self.temp, self.dest)
    }

    /// Removes the temp file (after a failure elsewhere in its group).
    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.temp);
    }
}

/// Gives the temp file the permissions of the file it replaces.
fn keep_permissions(dest: &Path, temp: &File) -> std::io::Result<()> {
    match fs::metadata(dest) {
        Ok(meta) => temp.set_permissions(meta.permissions()),
        Err(_) => Ok(()),
    }
}

/// Makes a group of pending files durable and visible: fsync all (concurrently), rename each in
/// order, then fsync each destination directory once. On error no temp file is left behind.
pub fn commit_group(files: Vec<PendingFile>) -> Result<(), AtomicFileError> {
    if files.is_empty() {
        return Ok(());
    }
    if let Err(error) = sync_all(&files) {
        files.into_iter().for_each(PendingFile::discard);
        return Err(error);
    }
    let mut synced = files.into_iter().map(PendingFile::close);
    publish(&mut synced)
}

/// What a file of a [`FileGroup`] holds: bytes, or anything that writes them (an index gathered
/// from pieces held elsewhere, so it need not be copied into one buffer first).
pub trait Contents: Send {
    /// Writes the whole contents to `out`.
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()>;
}

impl Contents for Vec<u8> {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(self)
    }
}

impl<C: Contents + ?Sized> Contents for Box<C> {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        (**self).write_to(out)
    }
}

/// Files to write as one group of [`commit_groups`]: each one's destination and contents.
pub type FileGroup<C = Vec<u8>> = Vec<(PathBuf, C)>;

/// Files held open at once by [`commit_groups`] while they wait for their fsync.
const OPEN_FILES: usize = 64;

/// Makes groups of files (destination, bytes) durable and visible, one group after another:
/// every file of every group is written to its temp file and fsynced first (all together, at
/// most [`OPEN_FILES`] open at once), then each group is renamed in order and its directories
/// fsynced before the next group is renamed. So a later group (an index) becomes visible only
/// once the files it lists are durable, while its own fsync ran beside theirs. On error no temp
/// file is left behind; groups renamed before it stay.
pub fn commit_groups<C: Contents>(groups: Vec<FileGroup<C>>) -> Result<(), AtomicFileError> {
    let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    let mut open: Vec<PendingFile> = Vec::with_capacity(OPEN_FILES);
    let mut synced: Vec<(PathBuf, PathBuf)> = Vec::new();
    let written = || -> Result<(), AtomicFileError> {
        for (dest, contents) in groups.into_iter().flatten() {
            open.push(PendingFile::write_contents(&dest, &contents)?);
            if open.len() == OPEN_FILES {
                sync_all(&open)?;
                synced.extend(open.drain(..).map(PendingFile::close));
            }
        }
        if !open.is_empty() {
            sync_all(&open)?;
        }
        synced.extend(open.drain(..).map(PendingFile::close));
        Ok(())
    };
    if let Err(error) = written() {
        open.into_iter().for_each(PendingFile::discard);
        synced.iter().for_each(|(temp, _)| {
            let _ = fs::remove_file(temp);
        });
        return Err(error);
    }
    let mut synced = synced.into_iter();
    for size in sizes {
        let result = publish(&mut synced.by_ref().take(size));
        if result.is_err() {
            synced.for_each(|(temp, _)| {
                let _ = fs::remove_file(temp);
            });
            return result;
        }
    }
    Ok(())
}

/// Renames synced temp files (temp, destination) in order, then fsyncs each destination
/// directory once. On a failed rename the temp files not yet renamed are removed.
fn publish(synced: &mut dyn Iterator<Item = (PathBuf, PathBuf)>) -> Result<(), AtomicFileError> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    while let Some((temp, dest)) = synced.next() {
        if let Err(e) = fs::rename(&temp, &dest) {
            let _ = fs::remove_file(&temp);
            synced.for_each(|(temp, _)| {
                let _ = fs::remove_file(temp);
            });
            return Err(AtomicFileError::new("renaming into place", &dest, e));
        }
        let dir = parent_dir(&dest).to_path_buf();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.iter().try_for_each(|dir| sync_dir(dir))
}

/// Replaces (or creates) one file atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), AtomicFileError> {
    commit_group(vec![PendingFile::write(dest, bytes)?])
}

/// Renames `from` over `to` and makes the rename durable (for a file written and synced
/// beforehand under a name of the caller's, such as a key waiting for a commit).
pub fn rename_durably(from: &Path, to: &Path) -> Result<(), AtomicFileError> {
    fs::rename(from, to).map_err(|e| AtomicFileError::new("renaming into place", to, e))?;
    sync_dir(parent_dir(to))
}

fn sync_all(files: &[PendingFile]) -> Result<(), AtomicFileError> {
    let sync = |pending: &PendingFile| {
        pending
            .file
            .sync_all()
            .map_err(|e| AtomicFileError::new("syncing", &pending.temp, e))
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
                Err(AtomicFileError::new(
                    "syncing",
                    PathBuf::new(),
                    std::io::Error::other("sync thread panicked"),
                ))
            })
        })
    })
}

/// The directory a file is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes creations and renames in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), AtomicFileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AtomicFileError::new("syncing directory", dir, e))
}

/// Deletes the temp files a crash left in `dir`; they are never referenced by anything.
pub fn remove_stale_temps(dir: &Path) -> Result<usize, AtomicFileError> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(AtomicFileError::new("listing", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| AtomicFileError::new("listing", dir, e))?;
        if entry.file_name().to_str().is_some_and(is_temp_name) {
            fs::remove_file(entry.path())
                .map_err(|e| AtomicFileError::new("removing", entry.path(), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests;
