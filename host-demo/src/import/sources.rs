//! Finding the FIT files behind the paths given to `import`: plain files,
//! folders (walked recursively) and zip archives such as Garmin Connect's data
//! export, whose FIT files sit in nested folders and nested zips.
//!
//! Planning ([`plan`]) only lists what to open; reading ([`read_input`]) hands
//! the files over one at a time, so a multi-gigabyte export is never held in
//! memory at once: a nested zip is unpacked to an anonymous temporary file and
//! read from there. A file that cannot be read is reported and the rest goes on.
//!
//! Every read is bounded: a FIT file (on disk or in an archive) by
//! [`MAX_FIT_BYTES`], a nested archive by [`MAX_NESTED_ZIP_BYTES`], and an
//! archive entry also by [`MAX_UNPACK_RATIO`] times its packed size, checked
//! against the size the entry declares before reading and against the bytes it
//! actually unpacks to while reading (a zip bomb stops at the bound). Only
//! regular files are opened: a FIFO, a device or a socket is skipped with the
//! reason, never read (a FIFO would block the import, `/dev/zero` never ends).

use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;
use zip::ZipArchive;

/// How deep zips inside zips are opened (Garmin's export nests one level).
const MAX_ZIP_DEPTH: usize = 4;
/// The largest FIT file read, on disk or in an archive (the download cap).
pub const MAX_FIT_BYTES: u64 = 64 << 20;
/// The largest nested archive unpacked (to a temporary file, not memory).
pub const MAX_NESTED_ZIP_BYTES: u64 = 16 << 30;
/// An archive entry may unpack to at most this many times its packed size
/// (FIT files pack 2 to 10 times; a zip bomb a thousand times)...
pub const MAX_UNPACK_RATIO: u64 = 100;
/// ...or to this many bytes, whichever is larger (tiny entries pack badly).
const MIN_UNPACK_ALLOWANCE: u64 = 1 << 20;

/// Something to open: a file that should be FIT, or a zip archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Fit(PathBuf),
    Archive(PathBuf),
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::Fit(path) | Input::Archive(path) => path,
        }
    }
}

/// What reading an input produced.
#[derive(Debug)]
pub enum Found {
    /// A file to import; `name` says where it came from (`export.zip/a/b.fit`).
    File { name: String, bytes: Vec<u8> },
    /// A file or archive that could not be read; nothing of it was imported.
    Unreadable { name: String, reason: String },
    /// A nested archive was opened: this much more is coming (for progress).
    More(Amount),
}

/// How much there is to read: files, and their unpacked bytes (for an ETA).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount {
    pub files: u64,
    pub bytes: u64,
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, other: Self) {
        self.files += other.files;
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// A path given to `import` that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: no such file or folder")]
    Missing { path: PathBuf },
    #[error("cannot list folder {path}: {source}")]
    ListFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Lists the inputs behind `paths`, folders expanded (sorted by name, so runs
/// are repeatable). In folders only `.fit` and `.zip` files are taken (an
/// export holds plenty of JSON beside them); a file named explicitly is taken
/// whatever its name, and refused later if it is not FIT (or not a regular
/// file: reading says so).
pub fn plan(paths: &[PathBuf]) -> Result<Vec<Input>, SourceError> {
    let mut inputs = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|_| SourceError::Missing { path: path.clone() })?;
        if meta.is_dir() {
            walk(path, &mut inputs)?;
        } else if has_extension(path, "zip") {
            inputs.push(Input::Archive(path.clone()));
        } else {
            inputs.push(Input::Fit(path.clone()));
        }
    }
    Ok(inputs)
}

/// Walks `dir` depth first, each folder's entries in name order. Links to folders are not
/// followed (one could lead back up: a loop), links to files are taken like files.
fn walk(dir: &Path, inputs: &mut Vec<Input>) -> Result<(), SourceError> {
    let walker = WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1);
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_owned();
            SourceError::ListFolder {
                path,
                source: e.into(),
            }
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let path = entry.into_path();
        if path.is_symlink() && path.is_dir() {
            tracing::warn!(path = %path.display(), "symbolic link to a folder not followed");
            continue;
        }
        if has_extension(&path, "fit") {
            inputs.push(Input::Fit(path));
        } else if has_extension(&path, "zip") {
            inputs.push(Input::Archive(path));
        }
    }
    Ok(())
}

/// How much the inputs hold, as far as can be told without opening nested
/// archives (they announce themselves with [`Found::More`]): files, and bytes
/// on disk or as the archive entries declare them.
pub fn measure(inputs: &[Input]) -> Amount {
    let mut total = Amount::default();
    for input in inputs {
        total += match input {
            Input::Fit(path) => Amount {
                files: 1,
                bytes: regular_file_len(path).unwrap_or(0),
            },
            Input::Archive(path) => open_regular(path)
                .ok()
                .and_then(|(f, _)| ZipArchive::new(f).ok())
                .map(|mut zip| archive_members(&mut zip).0)
                .unwrap_or(Amount { files: 1, bytes: 0 }),
        };
    }
    total
}

/// How many files the inputs hold (see [`measure`]).
pub fn count_files(inputs: &[Input]) -> u64 {
    measure(inputs).files
}

/// Reads one input, handing each file found to `visit` in archive order. An
/// error returned by `visit` stops the reading and is returned.
pub fn read_input<E>(
    input: &Input,
    visit: &mut dyn FnMut(Found) -> Result<(), E>,
) -> Result<(), E> {
    let path = input.path();
    let name = path.display().to_string();
    let opened = open_regular(path);
    match (input, opened) {
        (_, Err(reason)) => visit(Found::Unreadable { name, reason }),
        (Input::Fit(_), Ok((file, len))) => match read_capped(file, len, MAX_FIT_BYTES) {
            Ok(bytes) => visit(Found::File { name, bytes }),
            Err(reason) => visit(Found::Unreadable { name, reason }),
        },
        (Input::Archive(_), Ok((file, _))) => read_archive(file, &name, 0, visit),
    }
}

/// Opens `path` for reading if it is a regular file (following links), with
/// its length; otherwise says what it is. Checked before opening, so a FIFO is
/// never opened (that would block until someone writes to it).
fn open_regular(path: &Path) -> Result<(File, u64), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{}: skipped", not_regular(&meta)));
    }
    let file = File::open(path).map_err(|e| format!("cannot open the file: {e}"))?;
    // The path may have been swapped since: check what was actually opened.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{}: skipped", not_regular(&meta)));
    }
    Ok((file, meta.len()))
}

fn regular_file_len(path: &Path) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// What a file that is not a regular file is, in words.
fn not_regular(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe), not a regular file";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device, not a regular file";
        }
        if kind.is_socket() {
            return "a socket, not a regular file";
        }
    }
    if meta.is_dir() {
        "a folder, not a file"
    } else {
        "not a regular file"
    }
}

/// Reads at most `cap` bytes of `reader`, which claims to hold `declared`;
/// refuses (with the reason) anything claiming or turning out to be larger.
fn read_capped(reader: impl Read, declared: u64, cap: u64) -> Result<Vec<u8>, String> {
    if declared > cap {
        return Err(format!(
            "{declared} bytes, more than the {} MiB a file may have: not read",
            cap >> 20
        ));
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    reader
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!(
            "more than the {} MiB a file may have (it grew while read): not read",
            cap >> 20
        ));
    }
    Ok(bytes)
}

fn read_archive<R: Read + Seek, E>(
    reader: R,
    name: &str,
    depth: usize,
    visit: &mut dyn FnMut(Found) -> Result<(), E>,
) -> Result<(), E> {
    let mut zip = match ZipArchive::new(reader) {
        Ok(zip) => zip,
        Err(e) => {
            return visit(Found::Unreadable {
                name: name.to_owned(),
                reason: format!("not a readable zip archive: {e}"),
            })
        }
    };
    let (amount, members) = archive_members(&mut zip);
    if depth > 0 {
        visit(Found::More(amount))?;
    }
    for (index, is_zip) in members {
        if is_zip && depth + 1 >= MAX_ZIP_DEPTH {
            let member_name = zip.name_for_index(index).unwrap_or("?").to_owned();
            visit(Found::Unreadable {
                name: format!("{name}/{member_name}"),
                reason: format!("zip nested more than {MAX_ZIP_DEPTH} levels deep: not opened"),
            })?;
            continue;
        }
        let cap = if is_zip {
            MAX_NESTED_ZIP_BYTES
        } else {
            MAX_FIT_BYTES
        };
        let member = match read_member(&mut zip, index, cap, is_zip) {
            Ok(member) => member,
            Err((member_name, reason)) => {
                visit(Found::Unreadable {
                    name: format!("{name}/{member_name}"),
                    reason,
                })?;
                continue;
            }
        };
        match member {
            Member::Fit {
                name: member_name,
                bytes,
            } => visit(Found::File {
                name: format!("{name}/{member_name}"),
                bytes,
            })?,
            Member::Zip {
                name: member_name,
                file,
            } => read_archive(file, &format!("{name}/{member_name}"), depth + 1, visit)?,
        }
    }
    Ok(())
}

/// An archive's FIT members and nested zips, in archive order (`true` for a
/// zip), and how much its FIT members hold.
fn archive_members<R: Read + Seek>(zip: &mut ZipArchive<R>) -> (Amount, Vec<(usize, bool)>) {
    let mut amount = Amount::default();
    let mut members = Vec::new();
    for index in 0..zip.len() {
        let Some(name) = zip.name_for_index(index) else {
            continue;
        };
        let base = name.rsplit('/').next().unwrap_or(name);
        // macOS adds `__MACOSX/._name.fit` resource forks: not FIT files.
        if name.ends_with('/') || base.starts_with("._") || name.starts_with("__MACOSX/") {
            continue;
        }
        let lower = base.to_ascii_lowercase();
        if lower.ends_with(".fit") {
            members.push((index, false));
            amount.files += 1;
            let size = zip.by_index_raw(index).map_or(0, |m| m.size());
            amount.bytes = amount.bytes.saturating_add(size.min(MAX_FIT_BYTES));
        } else if lower.ends_with(".zip") {
            members.push((index, true));
        }
    }
    (amount, members)
}

/// An archive entry read: a FIT file in memory, or a nested zip unpacked to
/// an anonymous temporary file.
enum Member {
    Fit { name: String, bytes: Vec<u8> },
    Zip { name: String, file: File },
}

fn read_member<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    cap: u64,
    is_zip: bool,
) -> Result<Member, (String, String)> {
    let unknown = || format!("entry #{index}");
    let member = zip
        .by_index(index)
        .map_err(|e| (unknown(), format!("cannot open the archive entry: {e}")))?;
    let name = member.name().to_owned();
    let packed = member.compressed_size();
    let allowed = cap.min(
        packed
            .saturating_mul(MAX_UNPACK_RATIO)
            .max(MIN_UNPACK_ALLOWANCE),
    );
    let declared = member.size();
    let refuse = |what: String| {
        let reason = format!(
            "{what}: more than the {allowed} allowed for an entry of {packed} packed bytes \
             (at most {} MiB and {MAX_UNPACK_RATIO} times its packed size), not unpacked",
            cap >> 20
        );
        (name.clone(), reason)
    };
    if declared > allowed {
        return Err(refuse(format!("declares {declared} bytes")));
    }
    let unpack_err = |e: std::io::Error| {
        (
            name.clone(),
            format!("cannot unpack the archive entry: {e}"),
        )
    };
    // One byte past the bound tells a bomb (or a lying size) from a file at it.
    let mut limited = member.take(allowed + 1);
    if is_zip {
        let mut file = tempfile::tempfile().map_err(unpack_err)?;
        let copied = std::io::copy(&mut limited, &mut file).map_err(unpack_err)?;
        if copied > allowed {
            return Err(refuse("unpacks to more bytes".to_owned()));
        }
        file.rewind().map_err(unpack_err)?;
        return Ok(Member::Zip { name, file });
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    limited.read_to_end(&mut bytes).map_err(unpack_err)?;
    if bytes.len() as u64 > allowed {
        return Err(refuse("unpacks to more bytes".to_owned()));
    }
    Ok(Member::Fit { name, bytes })
}

fn has_extension(path: &Path, wanted: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
