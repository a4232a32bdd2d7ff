//! The emulator's life: dropping the handle stops the server, it runs inside another tokio
//! runtime, and the binary prints its address first and honours its flags.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use garmin_emulator::{Account, Emulator, EmulatorConfig};
use serde_json::Value;

#[test]
fn dropping_the_handle_stops_the_server() {
    let emu = Emulator::start(EmulatorConfig::empty()).unwrap();
    let base = emu.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(
        client()
            .get(format!("{base}/sso/embed"))
            .send()
            .unwrap()
            .status(),
        200
    );
    drop(emu);
    let fresh = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(
        fresh.get(format!("{base}/sso/embed")).send().is_err(),
        "server still answers after drop"
    );
}

#[test]
fn runs_and_stops_inside_another_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let emu = Emulator::start(
            EmulatorConfig::empty().with_account(Account::new("a@example.com", "pw")),
        )
        .unwrap();
        let token = emu.mint_tokens("a@example.com", FIRST_CLIENT).access_token;
        let base = emu.base_url();
        let status = tokio::task::spawn_blocking(move || profile_status(&base, &token))
            .await
            .unwrap();
        assert_eq!(status, 200);
        drop(emu);
    });
}

#[test]
fn native_headers_are_required_by_default() {
    // By default, so that every plugin suite shows the plugin sends them.
    let config = EmulatorConfig::empty().with_account(Account::new("a@example.com", "pw"));
    assert!(config.require_native_headers);
    let emu = Emulator::start(config).unwrap();
    let token = emu.mint_tokens("a@example.com", FIRST_CLIENT).access_token;
    assert_eq!(profile_status(&emu.base_url(), &token), 200);
    let plain = client()
        .get(format!(
            "{}/userprofile-service/socialProfile",
            emu.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(plain.status(), 403);
}

/// Kills the child on drop (a process this test started).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_binary(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_garmin-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start garmin-emulator");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_string();
    (running, base)
}

fn demo_count(base: &str, email: &str, password: &str) -> u64 {
    let (_, body) = mobile_login(&client(), base, email, password);
    let ticket = body["serviceTicketId"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    let tokens: Value = exchange(base, ticket, IOS_SERVICE, FIRST_CLIENT)
        .json()
        .unwrap();
    let count: Value = api_get(
        base,
        "/activitylist-service/activities/count",
        tokens["access_token"].as_str().unwrap(),
    )
    .json()
    .unwrap();
    count["totalCount"].as_u64().unwrap()
}

#[test]
fn binary_prints_its_address_first_and_serves_the_demo_accounts() {
    let (_child, base) = spawn_binary(&["--port", "0", "--synthetic", "2"]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let plain = Emulator::start(EmulatorConfig::default_demo()).unwrap();
    let samples = plain.activities("demo@example.com").len() as u64;
    assert_eq!(
        demo_count(&base, "demo@example.com", "demo-password"),
        samples + 2
    );
}

#[test]
fn binary_reads_an_accounts_file_and_a_fixtures_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("accounts.toml");
    std::fs::write(
        &file,
        "[[account]]\nemail = \"t@example.com\"\npassword = \"secret\"\nsynthetic = 3\n",
    )
    .unwrap();
    let empty_fixtures = tempfile::tempdir().unwrap();
    let args = [
        "--port",
        "0",
        "--accounts",
        file.to_str().unwrap(),
        "--fixtures",
        empty_fixtures.path().to_str().unwrap(),
    ];
    let (_child, base) = spawn_binary(&args);
    // No FIT files in the fixtures folder: 8 synthesized stand-ins + 3 synthetic.
    assert_eq!(demo_count(&base, "t@example.com", "secret"), 11);
    let (status, _) = mobile_login(&client(), &base, "demo@example.com", "demo-password");
    assert_eq!(status, 401, "demo accounts are replaced by the file's");
}
