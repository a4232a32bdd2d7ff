//! Finding the FIT files behind the paths given to `import`: plain files,
//! folders (walked recursively) and zip archives such as Garmin Connect's data
//! export, whose FIT files sit in nested folders and nested zips.
//!
//! Planning ([`plan`]) only lists what to open; reading ([`read_input`]) hands
//! the files over one at a time, so a multi-gigabyte export is never held in
//! memory at once. A file that cannot be read is reported and the rest goes on.

use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use zip::ZipArchive;

/// How deep zips inside zips are opened (Garmin's export nests one level).
const MAX_ZIP_DEPTH: usize = 4;

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
    /// A nested archive was opened: this many more files are coming (for progress).
    More(u64),
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
/// whatever its name, and refused later if it is not FIT.
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

fn walk(dir: &Path, inputs: &mut Vec<Input>) -> Result<(), SourceError> {
    let list_err = |source| SourceError::ListFolder {
        path: dir.to_owned(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(list_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(list_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(list_err)?;
        if file_type.is_dir() {
            walk(&path, inputs)?;
            continue;
        }
        if file_type.is_symlink() && path.is_dir() {
            // A linked folder could lead back here; only real folders are walked.
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

/// How many files the inputs hold, as far as can be told without opening
/// nested archives (they announce themselves with [`Found::More`]).
pub fn count_files(inputs: &[Input]) -> u64 {
    inputs
        .iter()
        .map(|input| match input {
            Input::Fit(_) => 1,
            Input::Archive(path) => File::open(path)
                .ok()
                .and_then(|f| ZipArchive::new(f).ok())
                .map(|mut zip| archive_members(&mut zip).0.len() as u64)
                .unwrap_or(1),
        })
        .sum()
}

/// Reads one input, handing each file found to `visit` in archive order. An
/// error returned by `visit` stops the reading and is returned.
pub fn read_input<E>(
    input: &Input,
    visit: &mut dyn FnMut(Found) -> Result<(), E>,
) -> Result<(), E> {
    let path = input.path();
    let name = path.display().to_string();
    match input {
        Input::Fit(_) => match std::fs::read(path) {
            Ok(bytes) => visit(Found::File { name, bytes }),
            Err(e) => visit(Found::Unreadable {
                name,
                reason: format!("cannot read the file: {e}"),
            }),
        },
        Input::Archive(_) => match File::open(path) {
            Ok(file) => read_archive(file, &name, 0, visit),
            Err(e) => visit(Found::Unreadable {
                name,
                reason: format!("cannot open the archive: {e}"),
            }),
        },
    }
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
    let (fits, zips) = archive_members(&mut zip);
    if depth > 0 {
        visit(Found::More(fits.len() as u64))?;
    }
    let mut members: Vec<(usize, bool)> = fits.into_iter().map(|i| (i, false)).collect();
    members.extend(zips.into_iter().map(|i| (i, true)));
    members.sort_unstable();
    for (index, is_zip) in members {
        let (member_name, bytes) = match read_member(&mut zip, index) {
            Ok(member) => member,
            Err((member_name, reason)) => {
                visit(Found::Unreadable {
                    name: format!("{name}/{member_name}"),
                    reason,
                })?;
                continue;
            }
        };
        let full_name = format!("{name}/{member_name}");
        if !is_zip {
            visit(Found::File {
                name: full_name,
                bytes,
            })?;
        } else if depth + 1 >= MAX_ZIP_DEPTH {
            visit(Found::Unreadable {
                name: full_name,
                reason: format!("zip nested more than {MAX_ZIP_DEPTH} levels deep: not opened"),
            })?;
        } else {
            read_archive(Cursor::new(bytes), &full_name, depth + 1, visit)?;
        }
    }
    Ok(())
}

/// The indexes of an archive's FIT members and of its nested zips.
fn archive_members<R: Read + Seek>(zip: &mut ZipArchive<R>) -> (Vec<usize>, Vec<usize>) {
    let mut fits = Vec::new();
    let mut zips = Vec::new();
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
            fits.push(index);
        } else if lower.ends_with(".zip") {
            zips.push(index);
        }
    }
    (fits, zips)
}

fn read_member<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
) -> Result<(String, Vec<u8>), (String, String)> {
    let unknown = || format!("entry #{index}");
    let mut member = zip
        .by_index(index)
        .map_err(|e| (unknown(), format!("cannot open the archive entry: {e}")))?;
    let name = member.name().to_owned();
    let mut bytes = Vec::with_capacity(member.size().min(64 << 20) as usize);
    member.read_to_end(&mut bytes).map_err(|e| {
        (
            name.clone(),
            format!("cannot unpack the archive entry: {e}"),
        )
    })?;
    Ok((name, bytes))
}

fn has_extension(path: &Path, wanted: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn read_all(input: &Input) -> Vec<String> {
        let mut seen = Vec::new();
        read_input(input, &mut |found| -> Result<(), ()> {
            seen.push(match found {
                Found::File { name, bytes } => format!("file {name} ({} bytes)", bytes.len()),
                Found::Unreadable { name, reason } => format!("unreadable {name}: {reason}"),
                Found::More(n) => format!("more {n}"),
            });
            Ok(())
        })
        .unwrap();
        seen
    }

    #[test]
    fn folders_are_walked_in_name_order_taking_fit_and_zip_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/deeper")).unwrap();
        for name in [
            "b/deeper/z.FIT",
            "b/a.fit",
            "c.zip",
            "notes.json",
            "a.fit.bak",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let explicit = dir.path().join("notes.json");
        let inputs = plan(&[dir.path().to_owned(), explicit.clone()]).unwrap();
        assert_eq!(
            inputs,
            vec![
                Input::Fit(dir.path().join("b/a.fit")),
                Input::Fit(dir.path().join("b/deeper/z.FIT")),
                Input::Archive(dir.path().join("c.zip")),
                Input::Fit(explicit),
            ]
        );
        let missing = dir.path().join("nope");
        assert!(matches!(plan(&[missing]), Err(SourceError::Missing { .. })));
    }

    #[test]
    fn nested_zips_are_opened_and_junk_is_skipped() {
        let inner = zip_of(&[("inner/1.fit", b"one"), ("readme.txt", b"no")]);
        let outer = zip_of(&[
            ("a/2.fit", b"two!"),
            ("__MACOSX/a/._2.fit", b"fork"),
            ("a/._3.fit", b"fork"),
            ("a/parts.zip", &inner),
            ("a/profile.json", b"{}"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.zip");
        std::fs::write(&path, outer).unwrap();
        let name = path.display().to_string();
        assert_eq!(count_files(&[Input::Archive(path.clone())]), 1);
        assert_eq!(
            read_all(&Input::Archive(path)),
            vec![
                format!("file {name}/a/2.fit (4 bytes)"),
                "more 1".to_owned(),
                format!("file {name}/a/parts.zip/inner/1.fit (3 bytes)"),
            ]
        );
    }

    #[test]
    fn zip_nesting_is_bounded_and_broken_archives_reported() {
        let mut nested = zip_of(&[("deep.fit", b"deep")]);
        for _ in 0..MAX_ZIP_DEPTH {
            nested = zip_of(&[("more.zip", &nested)]);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("russian-doll.zip");
        std::fs::write(&path, nested).unwrap();
        let seen = read_all(&Input::Archive(path));
        assert!(
            seen.last().unwrap().contains("nested more than"),
            "{seen:?}"
        );
        assert!(!seen.iter().any(|s| s.contains("deep.fit")));

        let broken = dir.path().join("broken.zip");
        std::fs::write(&broken, b"PK but not really").unwrap();
        let seen = read_all(&Input::Archive(broken));
        assert!(seen[0].contains("not a readable zip archive"), "{seen:?}");
    }
}
