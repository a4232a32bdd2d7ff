//! Connecting again (issue 11, point 7): an account that needs its user is
//! reconnected in place (same connection, secrets replaced, resumed), and
//! `--stdin password --stdin mfa_code` either connects or leaves nothing
//! stored. Through the real binary for the CLI half.

use bincio_state::{ConnectionId, ConnectionStatus};
use bincio_tests::harness::{TestHost, DEMO_EMAIL, MFA_EMAIL, PASSWORD, PLUGIN};
use bincio_tests::{plugin_libraries, write_plugin_toml, Entry};
use garmin_emulator::{Emulator, EmulatorConfig, Fault, Target};
use host_api::ErrorKind;
use host_demo::host::ConnectOutcome;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn an_account_that_needs_its_user_is_reconnected_in_place_and_resumed() {
    // No 6-hour wait between password logins: the refused one comes at once.
    let t = TestHost::start(
        EmulatorConfig::default_demo(),
        "password_login_min_interval_hours = 0",
    );
    let connection = t.connect_demo();
    let id = ConnectionId::new(&connection);
    let first = t.sync(&connection);
    assert!(first.result.is_ok(), "{:?}", first.result);
    let old_tokens = t.host.vault.get(&id, PLUGIN, "tokens").unwrap().unwrap();

    // Garmin kills the tokens and refuses the stored password.
    t.emulator.revoke_refresh_tokens(DEMO_EMAIL);
    t.emulator
        .set_fault(Fault::InvalidCredentials.on(Target::Login));
    t.emulator.set_fault(Fault::TokenNotActive.on(Target::Api));
    let report = t.sync(&connection);
    let error = report.result.expect_err("the login needs the user");
    assert!(
        [ErrorKind::INVALID_CREDENTIALS, ErrorKind::NEEDS_USER_ACTION].contains(&error.kind),
        "{error:?}"
    );
    let stored = t.host.db.connection(&id).unwrap().unwrap();
    assert_eq!(stored.status, ConnectionStatus::NeedsUser);

    // `status` says "connect again"; doing so works and keeps the connection.
    t.emulator.clear_faults();
    match t.connect(DEMO_EMAIL, PASSWORD).expect("reconnecting works") {
        ConnectOutcome::Connected {
            connection: again, ..
        } => assert_eq!(again, id),
        other => panic!("connected, got {other:?}"),
    }
    let connections: Vec<_> = t
        .host
        .db
        .connections()
        .unwrap()
        .into_iter()
        .filter(|c| c.status != ConnectionStatus::Disconnected)
        .collect();
    assert_eq!(
        connections.len(),
        1,
        "no second connection: {connections:?}"
    );
    assert_eq!(connections[0].status, ConnectionStatus::Active);
    assert_eq!(connections[0].status_message, None);
    let new_tokens = t.host.vault.get(&id, PLUGIN, "tokens").unwrap().unwrap();
    assert_ne!(new_tokens.expose(), old_tokens.expose(), "secrets replaced");
    let next = t.sync(&connection);
    assert!(next.result.is_ok(), "resumed: {:?}", next.result);
}

fn host_toml(dir: &Path, emulator: &Emulator) -> std::path::PathBuf {
    let url = emulator.base_url();
    let settings = format!(
        "sso_base_url = {url:?}\nconnectapi_base_url = {url:?}\ndiauth_base_url = {url:?}\nweb_service_base_url = {url:?}\nlogin_pause_ms = 0\nrequest_pacing_ms = 0"
    );
    write_plugin_toml(
        dir,
        &[Entry {
            id: PLUGIN,
            library: &plugin_libraries().garmin,
            enabled: true,
            settings: &settings,
        }],
    )
}

fn connect_with_stdin(dir: &Path, config: &Path, input: &str) -> std::process::Output {
    let mut child = Command::new(&plugin_libraries().host_demo)
        .args(["--config"])
        .arg(config)
        .args(["--data-dir"])
        .arg(dir.join("data"))
        .args([
            "connect",
            PLUGIN,
            "--accept-disclaimer",
            "--set",
            &format!("email={MFA_EMAIL}"),
            "--stdin",
            "password",
            "--stdin",
            "mfa_code",
        ])
        .env_remove("BINCIO_MASTER_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("host-demo runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stored_rows(dir: &Path, table: &str) -> i64 {
    let db = rusqlite::Connection::open(dir.join("data/state.sqlite3")).unwrap();
    db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_password_and_an_mfa_code_from_stdin_connect_or_leave_nothing_stored() {
    let emulator = Emulator::start(EmulatorConfig::default_demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = host_toml(dir.path(), &emulator);

    // Both lines up front: the code answers the plugin's question.
    let ok = connect_with_stdin(dir.path(), &config, &format!("{PASSWORD}\n123456\n"));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success() && stdout.contains("Connected"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(stored_rows(dir.path(), "connections"), 1);

    // A wrong code: it fails, and nothing of the attempt is left.
    let dir = tempfile::tempdir().unwrap();
    let config = host_toml(dir.path(), &emulator);
    emulator.set_fault(Fault::WrongMfaCode);
    let failed = connect_with_stdin(dir.path(), &config, &format!("{PASSWORD}\n000000\n"));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "{stderr}");
    assert_eq!(stored_rows(dir.path(), "connections"), 0, "{stderr}");
    assert_eq!(stored_rows(dir.path(), "secrets"), 0, "{stderr}");
    assert!(!stderr.contains(PASSWORD));
}
