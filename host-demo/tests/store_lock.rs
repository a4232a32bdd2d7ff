//! One writer per BAS store across processes: a `host-demo import` started
//! while another process holds the store waits for it, then completes.

mod import_support;

use import_support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

#[test]
fn a_second_writer_waits_for_the_first_and_then_imports() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ride.fit");
    std::fs::write(&file, fixture("1526615320.fit")).unwrap();

    let holder = host_demo::import::open_local(dir.path(), HANDLE).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_host-demo"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--handle", HANDLE, "import"])
        .arg(&file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let waiting = rx
        .iter()
        .find(|line| line.contains("another host-demo process is writing this store"));
    assert!(waiting.is_some(), "the second writer says it waits");
    assert!(
        child.try_wait().unwrap().is_none(),
        "and it is still waiting"
    );
    assert_eq!(holder.store().len(), 0);

    drop(holder);
    let status = child.wait().unwrap();
    assert!(status.success());
    let reopened = host_demo::import::open_local(dir.path(), HANDLE).unwrap();
    assert_eq!(reopened.store().len(), 1, "the waiting import completed");
}
