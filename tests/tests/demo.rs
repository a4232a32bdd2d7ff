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

#[test]
fn demo_serve_prints_the_url_and_sign_in_serves_the_page_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let host_demo = &plugin_libraries().host_demo;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(host_demo)
        .args(["demo", "--serve"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("host-demo runs");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let (mut url, mut password) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.split("The settings page: ").nth(1) {
            url = Some(rest.trim_end_matches("/signin").to_string());
        }
        if let Some(rest) = line.split("with the password ").nth(1) {
            password = Some(rest.split_whitespace().next().unwrap().to_string());
        }
        if line.contains("Ctrl-C stops") {
            break;
        }
    }
    let (url, password) = (url.expect(&printed), password.expect(&printed));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        !printed.contains("demo-password"),
        "no emulator password printed: {printed}"
    );
    let client = reqwest::blocking::Client::new();
    let login = client
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"handle": "me", "password": password}))
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    let page = client
        .get(format!("{url}/signin"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("id=\"signin-form\""));

    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("Stopped.")), "{rest:?}");
}
