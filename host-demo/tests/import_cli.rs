//! `host-demo import` and `host-demo activities` as a user runs them: folders,
//! a Garmin-style zip export with nested folders and zips, the summary and its
//! rejections, the exit code, and real failures.

mod import_support;

use import_support::odd_fit::with_odd_field_size;
use import_support::*;
use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Output};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const BIN: &str = env!("CARGO_BIN_EXE_host-demo");

fn host_demo(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--handle")
        .arg(HANDLE)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("host-demo runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `(imported, salvaged, duplicate, rejected)` from the summary line.
fn summary_counts(text: &str) -> [u64; 4] {
    let line = text
        .lines()
        .find(|l| l.contains(" imported, "))
        .unwrap_or_else(|| panic!("no summary line in:\n{text}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    // "{total} file(s): {imported} imported, {salvaged} salvaged, ..."
    [numbers[1], numbers[2], numbers[3], numbers[4]]
}

fn zip_bytes(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn a_folder_import_reports_each_rejection_and_exits_zero() {
    let rows = fixture_table();
    let data = tempfile::tempdir().unwrap();
    let output = host_demo(data.path(), &["import", FIXTURES]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let [imported, salvaged, duplicate, rejected] = summary_counts(&text);
    assert_eq!(
        imported + salvaged + duplicate + rejected,
        rows.len() as u64,
        "{text}"
    );
    for row in rows.iter().filter(|r| !r.is_activity()) {
        let line = text
            .lines()
            .find(|l| l.contains(&row.file))
            .unwrap_or_else(|| panic!("{} not named in:\n{text}", row.file));
        assert!(
            line.contains("not an activity") && line.contains(&row.file_type),
            "{line}"
        );
    }
    assert_eq!(
        rejected as usize,
        rows.iter().filter(|r| !r.is_activity()).count()
    );

    // `activities` lists what the store holds, newest first, with a count.
    let stored = check_store(&data.path().join(HANDLE), &schema());
    assert_eq!(stored.len() as u64, imported + salvaged);
    let listing = host_demo(data.path(), &["activities"]);
    assert!(listing.status.success());
    let listing = stdout(&listing);
    let rows_listed: Vec<&str> = listing
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows_listed.len(), stored.len(), "{listing}");
    let ids: Vec<&str> = rows_listed
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    for id in &ids {
        assert!(stored.contains(*id), "{id} listed but not stored");
    }
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a)); // ids are UTC start times
    assert_eq!(ids, newest_first, "newest first");
    assert!(
        listing.contains(&format!("{} activities", stored.len())),
        "{listing}"
    );
}

#[test]
fn a_garmin_style_zip_export_imports_like_the_folder() {
    let rows = fixture_table();
    let (first_half, second_half) = rows.split_at(rows.len() / 2);
    // Garmin's export: FIT files inside a zip inside nested folders of the
    // outer zip, beside plenty of JSON; plus macOS resource forks.
    let inner = zip_bytes(
        &second_half
            .iter()
            .map(|r| (r.file.as_str(), fixture(&r.file)))
            .collect::<Vec<_>>(),
    );
    let mut outer: Vec<(String, Vec<u8>)> = first_half
        .iter()
        .map(|r| {
            (
                format!("DI_CONNECT/DI-Connect-Fitness/{}", r.file),
                fixture(&r.file),
            )
        })
        .collect();
    outer.push((
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip".into(),
        inner,
    ));
    outer.push((
        "DI_CONNECT/DI-Connect-User/user_profile.json".into(),
        b"{}".to_vec(),
    ));
    outer.push((
        "__MACOSX/DI_CONNECT/._Activity.fit".into(),
        b"resource fork".to_vec(),
    ));
    let outer: Vec<(&str, Vec<u8>)> = outer.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let exports = tempfile::tempdir().unwrap();
    let export = exports.path().join("garmin-export.zip");
    fs::write(&export, zip_bytes(&outer)).unwrap();

    let from_zip = tempfile::tempdir().unwrap();
    let output = host_demo(from_zip.path(), &["import", export.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let counts = summary_counts(&text);
    assert_eq!(
        counts.iter().sum::<u64>(),
        rows.len() as u64,
        "every FIT file, no junk: {text}"
    );

    let from_folder = tempfile::tempdir().unwrap();
    assert!(host_demo(from_folder.path(), &["import", FIXTURES])
        .status
        .success());
    let validator = schema();
    assert_eq!(
        check_store(&from_zip.path().join(HANDLE), &validator),
        check_store(&from_folder.path().join(HANDLE), &validator),
        "the zip holds the same activities as the folder"
    );
    assert!(
        text.contains("garmin-export.zip/DI_CONNECT/"),
        "rejections name the entry: {text}"
    );
}

#[test]
fn unreadable_inputs_are_reported_and_the_run_goes_on() {
    let inputs = tempfile::tempdir().unwrap();
    fs::write(
        inputs.path().join("broken.zip"),
        b"PK\x03\x04 this is not a zip",
    )
    .unwrap();
    fs::write(inputs.path().join("notes.fit"), b"just text, not FIT").unwrap();
    fs::write(inputs.path().join("ride.fit"), fixture("1526615320.fit")).unwrap();
    fs::write(
        inputs.path().join("readme.txt"),
        b"ignored: not .fit or .zip",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let output = host_demo(data.path(), &["import", inputs.path().to_str().unwrap()]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert_eq!(summary_counts(&text), [1, 0, 0, 2], "{text}");
    assert!(
        text.contains("broken.zip: not a readable zip archive"),
        "{text}"
    );
    assert!(text.contains("notes.fit: not a FIT file"), "{text}");
}

#[test]
fn real_failures_exit_non_zero_and_say_why() {
    let scratch = tempfile::tempdir().unwrap();
    // The data folder is a file: nothing can be stored.
    let not_a_folder = scratch.path().join("data");
    fs::write(&not_a_folder, b"a file").unwrap();
    let output = host_demo(&not_a_folder, &["import", FIXTURES]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(not_a_folder.to_str().unwrap()), "{stderr}");

    // A path that does not exist is refused before anything is imported.
    let data = scratch.path().join("fresh");
    let missing = scratch.path().join("no-such-export.zip");
    let output = host_demo(&data, &["import", FIXTURES, missing.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-such-export.zip: no such file or folder"),
        "{stderr}"
    );
    assert!(
        !data.join(HANDLE).join("index.json").exists(),
        "nothing imported"
    );
}

/// Issue 11: a FIFO named `x.fit` blocked `import` forever, `/dev/zero` grew until memory ran
/// out, a 1 MiB zip bomb took a GiB. Each is now skipped with its reason and the rest imported.
#[cfg(unix)]
#[test]
fn fifos_devices_and_zip_bombs_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("in");
    fs::create_dir_all(&folder).unwrap();
    let status = Command::new("mkfifo")
        .arg(folder.join("x.fit"))
        .status()
        .unwrap();
    assert!(status.success());
    fs::write(folder.join("ride.fit"), fixture("Activity.fit")).unwrap();
    let mut bomb = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    bomb.start_file("bomb.fit", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        bomb.write_all(&zeros).unwrap();
    }
    fs::write(folder.join("bomb.zip"), bomb.finish().unwrap().into_inner()).unwrap();
    let data = dir.path().join("data");
    // `timeout` ends a regression that blocks, so the test fails instead of hanging.
    let output = Command::new("timeout")
        .arg("120")
        .arg(BIN)
        .arg("--data-dir")
        .arg(&data)
        .args(["--handle", HANDLE, "import"])
        .arg(&folder)
        .arg("/dev/zero")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary_counts(&text), [1, 0, 0, 3], "{text}");
    assert!(
        text.contains("x.fit: a FIFO (named pipe), not a regular file: skipped"),
        "{text}"
    );
    assert!(
        text.contains("/dev/zero: a device, not a regular file: skipped"),
        "{text}"
    );
    assert!(
        text.contains("bomb.zip/bomb.fit: declares 104857600 bytes"),
        "{text}"
    );
}

/// fitparser 0.11 prints `ERROR: field size ...` to stderr for a field whose size is not a
/// multiple of its base type's; the decoder hands it the field already typed as bytes, so
/// nothing reaches stderr, the finding goes to the log (`RUST_LOG`), and the file imports
/// cleanly (its CRC, checked by the decoder itself then, is right).
#[test]
fn odd_field_sizes_reach_the_log_not_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("odd");
    fs::create_dir(&files).unwrap();
    for name in [
        "garmin-fenix-5-run.fit",
        "Edge810-Vector-2013-08-16-15-35-10.fit",
    ] {
        fs::write(files.join(name), with_odd_field_size(&fixture(name))).unwrap();
    }
    let data = dir.path().join("data");
    let output = host_demo(&data, &["import", files.to_str().unwrap()]);
    let (text, errors) = (stdout(&output), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}\n{errors}");
    assert!(!errors.contains("ERROR"), "stderr: {errors}");
    assert!(!errors.contains("not a multiple"), "stderr: {errors}");
    let [imported, salvaged, duplicate, rejected] = summary_counts(&text);
    assert_eq!(
        [imported, salvaged, duplicate, rejected],
        [2, 0, 0, 0],
        "{text}"
    );
    assert!(!text.contains("CRC"), "{text}");

    let logged = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path().join("logged"))
        .args(["import", files.to_str().unwrap()])
        .env("RUST_LOG", "bas::decode=debug")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&logged.stderr);
    assert!(logged.status.success(), "{log}");
    assert!(
        log.contains("field size is not a multiple of its base type's: read as bytes"),
        "{log}"
    );
    assert!(!log.contains("ERROR: field size"), "{log}");
}

/// The summary says which files were kept as duplicates, and of what: an activity this run
/// imported (named by its file) or one already in the store.
#[test]
fn the_summary_names_each_duplicate_and_what_it_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("export");
    fs::create_dir_all(files.join("b")).unwrap();
    let run = fixture("garmin-fenix-5-run.fit");
    fs::write(files.join("a.fit"), &run).unwrap();
    fs::write(files.join("b/copy.fit"), &run).unwrap();
    let data = dir.path().join("data");
    let output = host_demo(&data, &["import", files.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert_eq!(summary_counts(&text), [1, 0, 1, 0], "{text}");
    let id = text
        .lines()
        .find_map(|l| l.split(" same file content as ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no duplicate line in:\n{text}"))
        .to_owned();
    let copy = files.join("b/copy.fit");
    let original = files.join("a.fit");
    let expected = format!(
        "  {}: same file content as {id} (imported from {} in this run)",
        copy.display(),
        original.display()
    );
    assert!(text.contains("kept as duplicates"), "{text}");
    assert!(
        text.lines().any(|l| l == expected),
        "{expected:?} not in:\n{text}"
    );

    let again = dir.path().join("again.fit");
    fs::write(&again, &run).unwrap();
    let output = host_demo(&data, &["import", again.to_str().unwrap()]);
    let text = stdout(&output);
    let expected = format!(
        "  {}: same file content as {id} (already in the store)",
        again.display()
    );
    assert!(
        text.lines().any(|l| l == expected),
        "{expected:?} not in:\n{text}"
    );
}
