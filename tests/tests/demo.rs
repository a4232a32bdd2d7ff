//! The README's first command: `host-demo demo` on a fresh directory starts
//! the emulator, connects the demo account, syncs and writes a valid BAS
//! store.

use bincio_tests::plugin_libraries;
use bincio_tests::store_check::check_store;
use std::process::Command;

#[test]
fn the_demo_runs_from_an_empty_directory_and_writes_a_valid_store() {
    let host_demo = &plugin_libraries().host_demo;
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(host_demo)
        .arg("demo")
        .current_dir(dir.path())
        .output()
        .expect("host-demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("listening on http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("Connected demo@example.com"), "{stdout}");
    let ids = check_store(&dir.path().join("bincio-demo/me"))
        .unwrap_or_else(|p| panic!("store broken: {p:#?}"));
    assert!(
        ids.len() >= 10,
        "the demo account's sample activities: {}",
        ids.len()
    );
    assert!(
        !stdout.contains("demo-password"),
        "the password is never printed"
    );

    // Running it again starts over cleanly, in the directory it made.
    let again = Command::new(host_demo)
        .arg("demo")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn the_demo_refuses_to_wipe_a_directory_it_did_not_make() {
    let host_demo = &plugin_libraries().host_demo;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let output = Command::new(host_demo)
        .arg("demo")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("was not made by `demo`"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "keep me"
    );
}
