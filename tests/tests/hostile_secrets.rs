//! Secrets under attack (issue 11, points 5 and 9): a server that echoes the
//! password and the tokens in a 400 gets none of them into a log line or the
//! run's error; a stored ciphertext that was tampered with (a flipped bit,
//! one copied from another connection, an edited key version) is an
//! integrity failure, logged at error level without the value, and pauses
//! the connection as needing its user.

use bincio_state::{ConnectionId, ConnectionStatus, SecretString};
use bincio_tests::harness::{TestHost, PASSWORD, PLUGIN};
use bincio_tests::logs;
use garmin_emulator::{EmulatorConfig, Fault, Target};
use host_api::ErrorKind;
use host_demo::clock::Clock;
use host_demo::scheduler::Scheduler;
use host_demo::services::CancelFlag;

fn state(t: &TestHost) -> rusqlite::Connection {
    rusqlite::Connection::open(t.state_db_path()).expect("open the state database")
}

/// Every string leaf of a JSON value at least `min` long.
fn leaves(value: &serde_json::Value, min: usize, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if s.len() >= min => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| leaves(v, min, out)),
        serde_json::Value::Object(m) => m.values().for_each(|v| leaves(v, min, out)),
        _ => {}
    }
}

#[test]
fn a_server_echoing_the_password_and_tokens_gets_none_of_them_logged() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let connection = t.connect_demo();
    let id = ConnectionId::new(&connection);
    let tokens = t
        .host
        .vault
        .get(&id, PLUGIN, "tokens")
        .unwrap()
        .expect("the login stored tokens");
    let mut secrets = Vec::new();
    leaves(
        &serde_json::from_str(tokens.expose()).expect("the token blob is JSON"),
        16,
        &mut secrets,
    );
    assert!(secrets.len() >= 2, "an access and a refresh token at least");
    secrets.push(PASSWORD.to_string());

    // A fresh host (a restart) has read no secret yet when the server echoes.
    let mut t = t;
    t.restart();
    let before = logs::text().len();
    let body = format!(
        "{{\"error\":\"bad request\",\"you_sent\":{{\"password\":{PASSWORD:?},\"tokens\":{:?}}}}}",
        secrets[..secrets.len() - 1].join(" ")
    );
    t.emulator
        .set_fault(Fault::StatusWithBody(400, body).on(Target::List));
    let report = t.sync(&connection);
    let error = report.result.expect_err("a 400 fails the run");
    let log = &logs::text()[before..];
    let run_error = format!("{} {}", error.user_message, error.detail);
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret was logged:\n{log}"
        );
        assert!(
            !run_error.contains(secret.as_str()),
            "a secret is in the run's error: {run_error}"
        );
    }
    let stored: String = state(&t)
        .query_row(
            "SELECT COALESCE(error_message, '') FROM sync_runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    for secret in &secrets {
        assert!(!stored.contains(secret.as_str()), "stored: {stored}");
    }
}

#[test]
fn a_tampered_secret_is_an_integrity_failure_that_pauses_the_connection() {
    for case in [
        "flipped bit",
        "copied from another connection",
        "edited key version",
    ] {
        let t = TestHost::start(EmulatorConfig::default_demo(), "");
        let connection = t.connect_demo();
        let other = t.host.db.create_connection(PLUGIN, t.clock.now()).unwrap();
        t.host
            .vault
            .put(
                &other,
                PLUGIN,
                "tokens",
                &SecretString::new("another connection's token blob".into()),
            )
            .unwrap();
        let db = state(&t);
        match case {
            "flipped bit" => {
                let rows: Vec<(String, Vec<u8>)> = db
                    .prepare("SELECT field, sealed FROM secrets WHERE connection_id = ?1")
                    .unwrap()
                    .query_map([&connection], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                for (field, mut sealed) in rows {
                    let at = sealed.len() / 2;
                    sealed[at] ^= 0x10;
                    db.execute(
                        "UPDATE secrets SET sealed = ?1 WHERE connection_id = ?2 AND field = ?3",
                        rusqlite::params![sealed, connection, field],
                    )
                    .unwrap();
                }
            }
            "copied from another connection" => {
                db.execute(
                    "UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE connection_id = ?2 AND field = 'tokens')
                     WHERE connection_id = ?1 AND field = 'tokens'",
                    rusqlite::params![connection, other.as_str()],
                )
                .unwrap();
            }
            _ => {
                db.execute(
                    "UPDATE secrets SET key_version = key_version + 1 WHERE connection_id = ?1",
                    [&connection],
                )
                .unwrap();
            }
        }
        drop(db);
        let before = logs::text().len();
        let report = t.sync(&connection);
        let error = report.result.expect_err("a tampered secret fails the run");
        assert_eq!(
            error.kind,
            ErrorKind::NEEDS_USER_ACTION,
            "{case}: {error:?}"
        );
        assert!(
            error.user_message.contains("integrity"),
            "{case}: {error:?}"
        );

        let id = ConnectionId::new(&connection);
        let stored = t.host.db.connection(&id).unwrap().unwrap();
        assert_eq!(stored.status, ConnectionStatus::NeedsUser, "{case}");
        let scheduler = Scheduler::new(t.host.clone(), CancelFlag::new());
        assert!(!scheduler.due().unwrap().contains(&id), "{case}: not due");

        let log = &logs::text()[before..];
        assert!(
            log.lines().any(|l| l.contains("ERROR")
                && l.contains("integrity failure")
                && l.contains(&connection)),
            "{case}: logged at error level:\n{log}"
        );
        assert!(!log.contains(PASSWORD), "{case}: the value is not logged");
        assert!(!log.contains("another connection's token blob"), "{case}");
    }
}
