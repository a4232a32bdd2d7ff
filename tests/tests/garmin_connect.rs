//! Issue 4, end to end: the real Garmin plugin library loaded by the real
//! host, logging in to the emulator over loopback.

use bincio_state::{ConnectionId, SecretString};
use bincio_tests::harness::{TestHost, DEMO_EMAIL, MFA_EMAIL, PASSWORD, PLUGIN};
use garmin_emulator::{Account, EmulatorConfig, Fault, Target};
use host_api::ErrorKind;
use host_demo::host::{ConnectOutcome, HostError};
use std::time::Duration;

fn plugin_error(result: Result<ConnectOutcome, HostError>) -> host_api::PluginError {
    match result {
        Err(HostError::PluginCall(e)) => e,
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

/// The values that must never be logged or stored in clear.
fn stored_tokens(t: &TestHost, connection: &str) -> String {
    t.host
        .vault
        .get(&ConnectionId::new(connection), PLUGIN, "tokens")
        .unwrap()
        .expect("tokens stored")
        .expose()
        .to_string()
}

fn token_values(tokens_json: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(tokens_json).expect("tokens are JSON");
    let mut out = Vec::new();
    // Token values only: the client id beside them is public.
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        if let serde_json::Value::Object(m) = v {
            for (key, value) in m {
                match value {
                    serde_json::Value::String(s)
                        if key.contains("token") && !key.contains("client") =>
                    {
                        out.push(s.clone())
                    }
                    other => walk(other, out),
                }
            }
        }
    }
    walk(&value, &mut out);
    assert!(
        !out.is_empty(),
        "no token strings found in {} bytes",
        tokens_json.len()
    );
    out
}

fn assert_nowhere_in_clear(t: &TestHost, secrets: &[String]) {
    let logs = bincio_tests::logs::text();
    assert!(!logs.is_empty(), "the log capture saw nothing");
    let db = std::fs::read(t.state_db_path()).unwrap();
    let wal = std::fs::read(t.data_dir().join("state.sqlite3-wal")).unwrap_or_default();
    for secret in secrets {
        if let Some(line) = logs.lines().find(|l| l.contains(secret.as_str())) {
            let shown: String = line
                .replace(secret.as_str(), "<SECRET>")
                .chars()
                .take(300)
                .collect();
            panic!("a secret appears in the TRACE logs: {shown}");
        }
        for bytes in [&db, &wal] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a secret appears in clear in the state database"
            );
        }
    }
}

#[test]
fn connect_without_mfa_stores_encrypted_credentials_and_tokens() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let connection = t.connect_demo();
    let stats = t.emulator.stats();
    assert_eq!(stats.logins, 1, "one credential POST");
    let record = t
        .host
        .db
        .connection(&ConnectionId::new(&connection))
        .unwrap()
        .unwrap();
    assert_eq!(record.display_name.as_deref(), Some("demo-runner"));
    assert_eq!(record.account_id.as_deref(), Some("81234567"));
    let tokens = stored_tokens(&t, &connection);
    let mut secrets = token_values(&tokens);
    secrets.push(PASSWORD.to_string());
    assert_nowhere_in_clear(&t, &secrets);
}

const OTP_EMAIL: &str = "otp@example.com";
const OTP_CODE: &str = "947203";

#[test]
fn the_default_mfa_account_connects_with_its_code() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let (connection, flow_id) = match t.connect(MFA_EMAIL, PASSWORD).unwrap() {
        ConnectOutcome::NeedInput {
            connection,
            flow_id,
            ..
        } => (connection, flow_id),
        other => panic!("MFA account should ask for a code, got {other:?}"),
    };
    let code = vec![("mfa_code".to_string(), SecretString::new("123456".into()))];
    match t
        .host
        .continue_connect(&connection, &flow_id, code)
        .unwrap()
    {
        ConnectOutcome::Connected { display_name, .. } => assert_eq!(display_name, "mfa-rider"),
        other => panic!("the right code should connect, got {other:?}"),
    }
}

#[test]
fn connect_with_mfa_takes_a_wrong_code_then_the_right_one() {
    // A code that occurs in no id, so the log scan below means something.
    let otp_account = Account::new(OTP_EMAIL, PASSWORD).with_mfa(OTP_CODE);
    let t = TestHost::start(EmulatorConfig::default_demo().with_account(otp_account), "");
    let (connection, flow_id, fields) = match t.connect(OTP_EMAIL, PASSWORD).unwrap() {
        ConnectOutcome::NeedInput {
            connection,
            flow_id,
            fields,
            ..
        } => (connection, flow_id, fields),
        other => panic!("MFA account should ask for a code, got {other:?}"),
    };
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].key, "mfa_code");
    assert!(fields[0].kind.is_secret() && !fields[0].persist);

    let wrong = vec![("mfa_code".to_string(), SecretString::new("000000".into()))];
    let (flow_id, errors) = match t
        .host
        .continue_connect(&connection, &flow_id, wrong)
        .unwrap()
    {
        ConnectOutcome::NeedInput {
            flow_id, errors, ..
        } => (flow_id, errors),
        other => panic!("a wrong code should ask again, got {other:?}"),
    };
    assert!(
        errors.iter().any(|(key, _)| key == "mfa_code"),
        "{errors:?}"
    );

    let right = vec![("mfa_code".to_string(), SecretString::new(OTP_CODE.into()))];
    match t
        .host
        .continue_connect(&connection, &flow_id, right)
        .unwrap()
    {
        ConnectOutcome::Connected { .. } => {}
        other => panic!("the right code should connect, got {other:?}"),
    }
    assert_eq!(
        t.emulator.stats().logins,
        1,
        "MFA does not repeat the credential POST"
    );
    assert_nowhere_in_clear(&t, &[OTP_CODE.to_string(), PASSWORD.to_string()]);
}

#[test]
fn a_wrong_password_is_invalid_credentials_without_a_retry_loop() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let error = plugin_error(t.connect(DEMO_EMAIL, "not-the-password"));
    assert_eq!(error.kind, ErrorKind::INVALID_CREDENTIALS, "{error}");
    assert_eq!(t.emulator.stats().logins, 1, "exactly one credential POST");
    assert!(
        t.host.db.connections().unwrap().is_empty(),
        "no half-made connection stays"
    );
}

#[test]
fn a_429_at_login_starts_a_cooldown_that_survives_a_restart() {
    let mut t = TestHost::start(EmulatorConfig::default_demo(), "");
    t.emulator.set_fault(
        Fault::TooManyRequests {
            status: 429,
            retry_after: Some(900),
            json: false,
        }
        .on(Target::Login),
    );
    let error = plugin_error(t.connect(DEMO_EMAIL, PASSWORD));
    assert_eq!(error.kind, ErrorKind::RATE_LIMITED, "{error}");
    assert_eq!(error.retry_after(), Some(900));
    assert!(
        error.user_message.contains("15 min") || error.user_message.contains("900"),
        "says how long: {}",
        error.user_message
    );
    let logins = t.emulator.stats().logins;

    t.restart();
    match t.connect(DEMO_EMAIL, PASSWORD) {
        Err(HostError::CoolingDown { minutes, .. }) => {
            assert!((14..=15).contains(&minutes), "{minutes}")
        }
        other => panic!("the cooldown must hold after a restart, got {other:?}"),
    }
    assert_eq!(
        t.emulator.stats().logins,
        logins,
        "no login during the cooldown"
    );

    t.emulator.clear_faults();
    t.clock.advance(901);
    assert!(matches!(
        t.connect(DEMO_EMAIL, PASSWORD),
        Ok(ConnectOutcome::Connected { .. })
    ));
}

#[test]
fn an_expired_access_token_is_refreshed_silently_and_rotation_stores_the_newest() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "max_downloads_per_run = 1");
    let connection = t.connect_demo();
    let first = stored_tokens(&t, &connection);
    for round in 1..=2 {
        t.emulator.advance_clock(Duration::from_secs(25 * 3600));
        let report = t.sync(&connection);
        assert!(report.result.is_ok(), "round {round}: {:?}", report.result);
        let stats = t.emulator.stats();
        assert_eq!(stats.logins, 1, "round {round}: no password login");
        assert!(stats.refreshes >= round, "round {round}: refreshed");
    }
    // The emulator rotates refresh tokens: the second refresh only works if
    // the first one's new token was stored.
    let last = stored_tokens(&t, &connection);
    assert_ne!(first, last);
}

#[test]
fn a_dead_refresh_token_leads_to_exactly_one_password_login() {
    let t = TestHost::start(
        EmulatorConfig::default_demo(),
        "password_login_min_interval_hours = 0\nmax_downloads_per_run = 1",
    );
    let connection = t.connect_demo();
    t.emulator.revoke_refresh_tokens(DEMO_EMAIL);
    t.emulator.advance_clock(Duration::from_secs(25 * 3600));
    let report = t.sync(&connection);
    assert!(report.result.is_ok(), "{:?}", report.result);
    assert_eq!(
        t.emulator.stats().logins,
        2,
        "connect + exactly one re-login"
    );
}

#[test]
fn a_needed_relogin_inside_the_password_login_window_waits() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "max_downloads_per_run = 1");
    let connection = t.connect_demo();
    t.emulator.revoke_refresh_tokens(DEMO_EMAIL);
    t.emulator.advance_clock(Duration::from_secs(25 * 3600));
    let report = t.sync(&connection);
    let error = report
        .result
        .expect_err("a second password login within 6 h is refused");
    assert_eq!(error.kind, ErrorKind::RATE_LIMITED, "{error}");
    assert_eq!(t.emulator.stats().logins, 1, "no second login");
}

#[test]
fn a_token_file_from_the_python_client_connects_without_a_password() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let grant = t
        .emulator
        .mint_tokens(DEMO_EMAIL, garmin_emulator::DI_CLIENT_IDS[0]);
    let file = serde_json::json!({
        "di_token": grant.access_token,
        "di_refresh_token": grant.refresh_token,
        "di_client_id": grant.client_id,
    })
    .to_string();
    let outcome = t
        .host
        .begin_connect(
            PLUGIN,
            vec![("garmin_tokens".into(), SecretString::new(file))],
        )
        .unwrap();
    let connection = match outcome {
        ConnectOutcome::Connected {
            connection,
            display_name,
            ..
        } => {
            assert_eq!(display_name, "demo-runner");
            connection
        }
        other => panic!("token file should connect, got {other:?}"),
    };
    assert_eq!(t.emulator.stats().logins, 0, "no password login");
    let stored = t.host.vault.fields(&connection).unwrap();
    assert!(
        !stored.iter().any(|f| f == "password"),
        "no password stored: {stored:?}"
    );
    let report = t.sync(connection.as_str());
    assert!(report.result.is_ok(), "{:?}", report.result);
    assert_nowhere_in_clear(&t, &[grant.access_token, grant.refresh_token]);
}

#[test]
fn a_changed_or_unaccepted_disclaimer_blocks_connect() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    t.host
        .db
        .record_acceptance(
            PLUGIN,
            "0",
            &"0".repeat(64),
            host_demo::clock::Clock::now(&t.clock),
        )
        .unwrap();
    match t.connect(DEMO_EMAIL, PASSWORD) {
        Err(HostError::DisclaimerNotAccepted { changed: true, .. }) => {}
        other => panic!("an old acceptance must not count, got {other:?}"),
    }
    assert_eq!(t.emulator.stats().total, 0, "nothing reached the service");
}

#[test]
fn a_changed_disclaimer_blocks_sync_until_accepted_again() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "max_downloads_per_run = 1");
    let connection = t.connect_demo();
    // The user's latest acceptance is of another text: as if the plugin's
    // disclaimer changed after they accepted.
    let later = host_demo::clock::Clock::now(&t.clock) + 1;
    t.host
        .db
        .record_acceptance(PLUGIN, "1", &"a".repeat(64), later)
        .unwrap();
    let before = t.emulator.stats().total;
    match t.host.sync_connection(&connection, Default::default()) {
        Err(HostError::DisclaimerNotAccepted { changed: true, .. }) => {}
        other => panic!("sync must wait for the new disclaimer, got {other:?}"),
    }
    assert_eq!(
        t.emulator.stats().total,
        before,
        "nothing reached the service"
    );
    let status = t.host.status().unwrap();
    assert!(
        status[0]
            .attention
            .as_deref()
            .unwrap()
            .contains("disclaimer"),
        "{:?}",
        status[0].attention
    );

    t.clock.advance(10);
    t.host.accept_disclaimer(PLUGIN).unwrap();
    assert!(t.sync(&connection).result.is_ok());
}
