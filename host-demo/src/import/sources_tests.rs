//! Tests of `sources.rs`: folder walking, nested zips, and every bound (zip bombs declared
//! and lying, nested; files over the cap; devices and FIFOs skipped without blocking).
use super::*;
use std::io::{Cursor, Write};
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
            Found::More(n) => format!("more {}", n.files),
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

/// Links to folders are not followed, so a link back up (a loop) ends the walk instead of
/// circling; a link to a file is taken in its place in name order, and a folder's own
/// entries come where its name sorts (`a/` between `Z.fit` and `b.fit`, byte order).
#[cfg(unix)]
#[test]
fn links_to_folders_are_not_followed_and_links_to_files_are_taken() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("a/inner")).unwrap();
    for name in ["a/inner/2.fit", "a/1.fit", "b.fit", "Z.fit"] {
        std::fs::write(root.join(name), b"x").unwrap();
    }
    symlink(root, root.join("a/inner/loop")).unwrap();
    symlink(root.join("a"), root.join("c-link")).unwrap();
    symlink(root.join("b.fit"), root.join("d.fit")).unwrap();
    let inputs = plan(&[root.to_owned()]).unwrap();
    assert_eq!(
        inputs,
        vec![
            Input::Fit(root.join("Z.fit")),
            Input::Fit(root.join("a/1.fit")),
            Input::Fit(root.join("a/inner/2.fit")),
            Input::Fit(root.join("b.fit")),
            Input::Fit(root.join("d.fit")),
        ]
    );
    let unreadable = root.join("a/locked");
    std::fs::create_dir(&unreadable).unwrap();
    std::fs::set_permissions(
        &unreadable,
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    // Root reads every folder anyway; only an unprivileged user sees the listing fail.
    if std::fs::read_dir(&unreadable).is_err() {
        let err = plan(&[root.to_owned()]).unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
    }
    std::fs::set_permissions(
        &unreadable,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
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
        measure(&[Input::Archive(path.clone())]),
        Amount { files: 1, bytes: 4 }
    );
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

fn deflated_zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A zip whose one entry unpacks to far more than any bound: before the
/// caps, `read_to_end` took all of it into memory.
#[test]
fn a_zip_bomb_entry_is_refused_by_its_declared_size() {
    let zeros = vec![0u8; 80 << 20];
    let bomb = deflated_zip_of(&[("bomb.fit", &zeros)]);
    assert!(bomb.len() < 1 << 20, "{} packed bytes", bomb.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zip");
    std::fs::write(&path, &bomb).unwrap();
    let seen = read_all(&Input::Archive(path));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("unreadable"), "{seen:?}");
    assert!(seen[0].contains("declares 83886080 bytes"), "{seen:?}");
    assert!(seen[0].contains("not unpacked"), "{seen:?}");
}

/// The same bomb with its headers edited to declare a small size: the
/// bytes actually unpacked are counted and reading stops at the bound.
#[test]
fn a_zip_bomb_lying_about_its_size_stops_at_the_bound() {
    let zeros = vec![0u8; 8 << 20];
    let mut bomb = deflated_zip_of(&[("bomb.fit", &zeros)]);
    let declared = (zeros.len() as u32).to_le_bytes();
    let small = 1000u32.to_le_bytes();
    let mut patched = 0;
    for at in 0..bomb.len() - 4 {
        if bomb[at..at + 4] == declared {
            bomb[at..at + 4].copy_from_slice(&small);
            patched += 1;
        }
    }
    assert!(patched >= 2, "local and central headers patched: {patched}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("liar.zip");
    std::fs::write(&path, &bomb).unwrap();
    let seen = read_all(&Input::Archive(path));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("unreadable"), "{seen:?}");
    assert!(
        seen[0].contains("unpacks to more bytes") || seen[0].contains("cannot unpack"),
        "{seen:?}"
    );
}

/// A bomb one level down: the nested zip is bounded too (and unpacked to
/// a temporary file, not memory).
#[test]
fn a_nested_zip_bomb_is_refused() {
    let zeros = vec![0u8; 80 << 20];
    let bomb = deflated_zip_of(&[("bomb.fit", &zeros)]);
    let outer = deflated_zip_of(&[("a/ok.fit", b"fine"), ("a/inner.zip", &bomb)]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.zip");
    std::fs::write(&path, &outer).unwrap();
    let seen = read_all(&Input::Archive(path));
    assert!(seen[0].contains("ok.fit (4 bytes)"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.contains("inner.zip/bomb.fit") && s.contains("not unpacked")),
        "{seen:?}"
    );
}

#[test]
fn a_file_over_the_cap_is_not_read() {
    let err = read_capped(std::io::repeat(0), 0, 1 << 20).unwrap_err();
    assert!(err.contains("grew while read"), "{err}");
    let err = read_capped(std::io::empty(), (1 << 20) + 1, 1 << 20).unwrap_err();
    assert!(err.contains("1048577 bytes, more than the 1 MiB"), "{err}");
    assert_eq!(read_capped(&b"abc"[..], 3, 1 << 20).unwrap(), b"abc");
}

/// `import /dev/zero` read until memory ran out before.
#[cfg(unix)]
#[test]
fn a_device_is_skipped_not_read() {
    let seen = read_all(&Input::Fit(PathBuf::from("/dev/zero")));
    assert_eq!(
        seen,
        vec!["unreadable /dev/zero: a device, not a regular file: skipped".to_owned()]
    );
    assert_eq!(
        count_files(&[Input::Archive(PathBuf::from("/dev/zero"))]),
        1
    );
}

/// A FIFO named `x.fit` blocked the import forever before (opening it
/// waits for a writer): it is skipped with the reason, never opened.
#[cfg(unix)]
#[test]
fn a_fifo_is_skipped_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.fit");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let zip_fifo = dir.path().join("y.zip");
    assert!(std::process::Command::new("mkfifo")
        .arg(&zip_fifo)
        .status()
        .unwrap()
        .success());
    let inputs = plan(&[dir.path().to_owned()]).unwrap();
    assert_eq!(measure(&inputs).files, 2);
    // Reading on another thread, so a regression fails instead of hanging.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let seen: Vec<String> = inputs.iter().flat_map(read_all).collect();
        let _ = tx.send(seen);
    });
    let seen = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("reading a FIFO must not block");
    assert_eq!(seen.len(), 2, "{seen:?}");
    for line in &seen {
        assert!(
            line.contains("a FIFO (named pipe), not a regular file: skipped"),
            "{line}"
        );
    }
}
