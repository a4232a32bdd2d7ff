//! Tests of the atomic writer: groups land whole and leave no temp file, rewrites replace,
//! stale temps are swept, permissions are kept, failures leave nothing behind.

use super::*;
use std::os::unix::fs::PermissionsExt;

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
        .map(|i| PendingFile::write(&dir.path().join(format!("f{i:02}")), &[i as u8; 10]).unwrap())
        .collect();
    assert!(names(dir.path()).iter().all(|n| is_temp_name(n)));
    assert_eq!(files[3].dest(), dir.path().join("f03"));
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
    assert_eq!(remove_stale_temps(&dir.path().join("missing")).unwrap(), 0);
}

#[test]
fn a_replaced_file_keeps_its_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("plugin.toml");
    fs::write(&private, b"old").unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).unwrap();
    write_atomic(&private, b"new").unwrap();
    assert_eq!(fs::read(&private).unwrap(), b"new");
    let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let open = dir.path().join("public.json");
    fs::write(&open, b"old").unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
    write_atomic(&open, b"new").unwrap();
    assert_eq!(
        fs::metadata(&open).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[test]
fn a_failed_rename_discards_the_rest_of_the_group() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be replaced by a file: the second rename fails.
    fs::create_dir(dir.path().join("b")).unwrap();
    fs::write(dir.path().join("b/inside"), b"x").unwrap();
    let group = ["a", "b", "c"]
        .iter()
        .map(|n| PendingFile::write(&dir.path().join(n), n.as_bytes()).unwrap())
        .collect();
    let error = commit_group(group).unwrap_err();
    assert_eq!(error.action, "renaming into place");
    assert_eq!(error.path, dir.path().join("b"));
    assert!(error.to_string().contains("renaming into place"), "{error}");
    assert_eq!(names(dir.path()), vec!["a".to_string(), "b".to_string()]);
}

#[test]
fn a_durable_rename_moves_the_file_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let next = dir.path().join("master.key.next");
    let key = dir.path().join("master.key");
    fs::write(&next, b"k2").unwrap();
    rename_durably(&next, &key).unwrap();
    assert_eq!(fs::read(&key).unwrap(), b"k2");
    assert!(!next.exists());
    let error = rename_durably(&next, &key).unwrap_err();
    assert_eq!(error.path, key);
    assert_eq!(parent_dir(Path::new("bare")), Path::new("."));
}

#[test]
fn groups_land_in_order_with_more_files_than_are_held_open() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let first: Vec<(PathBuf, Vec<u8>)> = (0..OPEN_FILES + 5)
        .map(|i| (sub.join(format!("a{i:03}")), vec![i as u8; 3]))
        .collect();
    let index = vec![(dir.path().join("index"), b"lists a*".to_vec())];
    commit_groups(vec![first, index]).unwrap();
    assert_eq!(names(&sub).len(), OPEN_FILES + 5);
    assert!(names(&sub).iter().all(|n| !is_temp_name(n)));
    assert_eq!(fs::read(sub.join("a066")).unwrap(), vec![66u8; 3]);
    assert_eq!(names(dir.path()), ["index", "sub"]);
}

#[test]
fn a_failed_group_leaves_no_temp_and_keeps_the_groups_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").join("f");
    let groups = vec![
        vec![(dir.path().join("a"), b"a".to_vec())],
        vec![(missing, b"b".to_vec())],
    ];
    let error = commit_groups(groups).unwrap_err();
    assert_eq!(error.action, "creating");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));

    // A rename that fails (the destination is a non-empty directory) after the first group
    // landed: the first group stays, no temp file is left.
    let busy = dir.path().join("busy");
    fs::create_dir_all(busy.join("inside")).unwrap();
    let groups = vec![
        vec![(dir.path().join("a"), b"a".to_vec())],
        vec![
            (busy.clone(), b"b".to_vec()),
            (dir.path().join("c"), b"c".to_vec()),
        ],
    ];
    let error = commit_groups(groups).unwrap_err();
    assert_eq!(error.action, "renaming into place");
    assert_eq!(names(dir.path()), ["a", "busy"]);
}
