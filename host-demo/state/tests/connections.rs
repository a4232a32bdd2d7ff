//! Connections, migrations, retries, runs, cooldowns, disclaimers and the
//! scheduler state, against a real database file.

mod common;

use bincio_state::{
    retry_delay, Backoff, ConnectionId, ConnectionStatus, CooldownScope, Jitter, Role, RunCounts,
    RunError, RunFinish, RunOutcome, StateDb, StateError, UserHandle, RETRY_BACKOFF,
    SCHEMA_VERSION,
};
use common::{connection, sha, store, Fixture, GARMIN, NOW};

#[test]
fn connection_ids_count_up_per_plugin_and_are_never_reused() {
    let fx = Fixture::new();
    let db = fx.open();
    assert_eq!(connection(&db).as_str(), "garmin-1");
    let second = connection(&db);
    assert_eq!(second.as_str(), "garmin-2");
    assert_eq!(
        db.create_connection("dev.bincio.strava", NOW)
            .unwrap()
            .as_str(),
        "strava-1"
    );
    db.forget_connection(&second).unwrap();
    assert!(db.connection(&second).unwrap().is_none());
    assert_eq!(connection(&db).as_str(), "garmin-3");
    assert!(matches!(
        db.create_connection("...", NOW).unwrap_err(),
        StateError::InvalidPluginId { .. }
    ));
    let ids: Vec<String> = db
        .connections()
        .unwrap()
        .into_iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(ids, ["garmin-1", "strava-1", "garmin-3"]);
}

#[test]
fn connection_account_and_status_round_trip() {
    let (fx, db, id) = Fixture::with_connection();
    let fresh = db.connection(&id).unwrap().unwrap();
    assert_eq!(fresh.status, ConnectionStatus::Pending);
    assert_eq!(fresh.plugin_id, GARMIN);
    assert_eq!(fresh.created_at, NOW);
    db.set_connection_account(&id, "user-123", "Ada").unwrap();
    db.set_connection_status(&id, ConnectionStatus::NeedsUser, Some("MFA code needed"))
        .unwrap();
    drop(db);
    let db = fx.open();
    let stored = db.connection(&id).unwrap().unwrap();
    assert_eq!(stored.account_id.as_deref(), Some("user-123"));
    assert_eq!(stored.display_name.as_deref(), Some("Ada"));
    assert_eq!(stored.status, ConnectionStatus::NeedsUser);
    assert_eq!(stored.status_message.as_deref(), Some("MFA code needed"));
    let missing = ConnectionId::from("garmin-9");
    assert!(matches!(
        db.set_connection_status(&missing, ConnectionStatus::Active, None),
        Err(StateError::UnknownConnection { .. })
    ));
}

#[test]
fn delete_connection_data_keeps_ledger_and_history() {
    let (_fx, db, id, vault) = Fixture::with_vault();
    store(&vault, &id, "password", "pw");
    db.set_cooldown(&id, NOW + 600, "HTTP 429 at login")
        .unwrap();
    db.defer(&id, "1001", "HTTP 503", NOW).unwrap();
    db.set_cursor(&id, "c1").unwrap();
    db.set_schedule(&id, NOW + 3600, 0).unwrap();
    let run = db.start_run(&id, NOW).unwrap();
    db.record_ledger_entry(&bincio_state::LedgerEntry {
        source: GARMIN.to_owned(),
        external_id: Some("1000".to_owned()),
        connection_id: Some(id.clone()),
        content_sha256: sha(1),
        activity_id: Some("a1".to_owned()),
        outcome: bincio_state::LedgerOutcome::Imported,
        reason: None,
        at: NOW,
    })
    .unwrap();

    db.delete_connection_data(&id).unwrap();
    assert!(vault.get(&id, GARMIN, "password").unwrap().is_none());
    assert!(db.cooldown(&id, NOW).unwrap().is_none());
    assert!(db.pending_retries(&id).unwrap().is_empty());
    assert!(db.cursor(&id).unwrap().is_none());
    assert!(db.schedule(&id).unwrap().is_none());
    assert_eq!(db.ledger_count().unwrap(), 1);
    assert_eq!(db.last_run(&id).unwrap().unwrap().id, run);
    assert_eq!(
        db.connection(&id).unwrap().unwrap().status,
        ConnectionStatus::Disconnected
    );
}

#[test]
fn migrations_are_idempotent_on_reopen() {
    let fx = Fixture::new();
    let db = fx.open();
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    let id = connection(&db);
    drop(db);
    for _ in 0..3 {
        let db = fx.open();
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(db.connections().unwrap().len(), 1);
        assert!(db.connection(&id).unwrap().is_some());
    }
    let raw = fx.raw();
    let journal: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let fx = Fixture::new();
    drop(fx.open());
    fx.raw()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = StateDb::open(&fx.db_path()).unwrap_err();
    match &err {
        StateError::SchemaTooNew {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 1);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other}"),
    }
    assert!(err.to_string().contains("newer"));
    let version: i64 = fx
        .raw()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn another_sqlite_file_is_not_taken_for_a_state_db() {
    let fx = Fixture::new();
    let raw = fx.raw();
    raw.execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 3;")
        .unwrap();
    drop(raw);
    let err = StateDb::open(&fx.db_path()).unwrap_err();
    assert!(matches!(err, StateError::NotStateDb { .. }), "{err}");
}

#[test]
fn retry_backoff_grows_and_due_retries_respect_now() {
    let (_fx, db, id) = Fixture::with_connection();
    let backoff = RETRY_BACKOFF;
    let mut now = NOW;
    let mut previous_delay = 0;
    for attempt in 1..=6u32 {
        let state = db
            .defer(&id, "1001", &format!("HTTP 503 #{attempt}"), now)
            .unwrap();
        assert_eq!(state.attempts, attempt);
        assert_eq!(state.first_failed_at, NOW);
        let delay = state.next_attempt_at - now;
        let ceiling = backoff.ceiling_secs(attempt - 1);
        assert!(
            delay <= ceiling && delay as f64 >= ceiling as f64 * 0.8 - 1.0,
            "{delay}"
        );
        assert!(
            delay > previous_delay,
            "delay {delay} after {previous_delay}"
        );
        previous_delay = delay;

        assert!(db
            .due_retries(&id, state.next_attempt_at - 1)
            .unwrap()
            .is_empty());
        let due = db.due_retries(&id, state.next_attempt_at).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].last_error, format!("HTTP 503 #{attempt}"));
        now = state.next_attempt_at;
    }
    // The cap holds however many failures pile up.
    for _ in 0..30 {
        let state = db.defer(&id, "1001", "again", now).unwrap();
        assert!(state.next_attempt_at - now <= 24 * 3600);
    }
    assert_eq!(backoff.ceiling_secs(100), 24 * 3600);
    // Another item, deferred later, is due later and listed after.
    db.defer(&id, "1002", "timeout", now + 10).unwrap();
    let pending = db.pending_retries(&id).unwrap();
    assert_eq!(pending.len(), 2);
    db.clear_retry(&id, "1001").unwrap();
    assert_eq!(db.pending_retries(&id).unwrap()[0].external_id, "1002");
}

#[test]
fn backoff_without_jitter_doubles_up_to_the_cap() {
    let plain = Backoff {
        jitter: Jitter::NONE,
        ..RETRY_BACKOFF
    };
    let mut rng = rand::thread_rng();
    let delays: Vec<i64> = (1..=10).map(|n| retry_delay(&plain, n, &mut rng)).collect();
    assert_eq!(
        delays,
        [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 76800, 86400]
    );
}

#[test]
fn cooldown_survives_reopening_and_expires() {
    let (fx, db, id) = Fixture::with_connection();
    let account = CooldownScope::Account {
        plugin_id: GARMIN.to_owned(),
        account_key: "sha256:abc".to_owned(),
    };
    db.set_cooldown(&id, NOW + 3600, "HTTP 429 at login")
        .unwrap();
    db.set_cooldown(account.clone(), NOW + 60, "too many logins")
        .unwrap();
    drop(db);

    let db = fx.open();
    let active = db.cooldown(&id, NOW + 10).unwrap().unwrap();
    assert_eq!(active.until, NOW + 3600);
    assert_eq!(active.reason, "HTTP 429 at login");
    assert!(db.cooldown(&id, NOW + 3600).unwrap().is_none());
    assert!(db.cooldown(account.clone(), NOW + 59).unwrap().is_some());
    assert!(db.cooldown(account.clone(), NOW + 61).unwrap().is_none());
    db.clear_cooldown(&id).unwrap();
    assert!(db.cooldown(&id, NOW).unwrap().is_none());
}

#[test]
fn sync_runs_record_outcomes_newest_first() {
    let (_fx, db, id) = Fixture::with_connection();
    assert!(db.last_run(&id).unwrap().is_none());
    let first = db.start_run(&id, NOW).unwrap();
    db.finish_run(
        first,
        &RunFinish {
            finished_at: NOW + 30,
            outcome: RunOutcome::Succeeded,
            counts: RunCounts {
                imported: 3,
                duplicates: 1,
                rejected: 1,
                deferred: 2,
            },
            error: None,
        },
    )
    .unwrap();
    let second = db.start_run(&id, NOW + 3600).unwrap();
    db.finish_run(
        second,
        &RunFinish {
            finished_at: NOW + 3601,
            outcome: RunOutcome::Failed,
            counts: RunCounts::default(),
            error: Some(RunError {
                kind: "rate limited".to_owned(),
                message: "Garmin answered 429".to_owned(),
            }),
        },
    )
    .unwrap();
    let third = db.start_run(&id, NOW + 7200).unwrap();

    let runs = db.runs(&id, 10).unwrap();
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [third, second, first]
    );
    assert_eq!(runs[2].counts.imported, 3);
    assert_eq!(runs[2].counts.deferred, 2);
    assert_eq!(runs[1].error.as_ref().unwrap().kind, "rate limited");
    assert_eq!(runs[0].outcome, None);
    assert_eq!(db.runs(&id, 1).unwrap().len(), 1);

    assert_eq!(db.close_interrupted_runs(NOW + 9000).unwrap(), 1);
    let last = db.last_run(&id).unwrap().unwrap();
    assert_eq!(last.id, third);
    assert_eq!(last.outcome, Some(RunOutcome::Interrupted));
    assert!(matches!(
        db.finish_run(
            bincio_state::RunId(999),
            &RunFinish {
                finished_at: NOW,
                outcome: RunOutcome::Cancelled,
                counts: RunCounts::default(),
                error: None
            }
        ),
        Err(StateError::UnknownRun { id: 999 })
    ));
}

#[test]
fn disclaimer_acceptance_latest_wins() {
    let fx = Fixture::new();
    let db = fx.open();
    assert!(db.acceptance(GARMIN).unwrap().is_none());
    db.record_acceptance(GARMIN, "1", &sha(1), NOW).unwrap();
    db.record_acceptance(GARMIN, "2", &sha(2).to_uppercase(), NOW + 5)
        .unwrap();
    let latest = db.acceptance(GARMIN).unwrap().unwrap();
    assert_eq!(latest.version, "2");
    assert_eq!(latest.sha256, sha(2));
    assert!(latest.covers("2", &sha(2)));
    assert!(!latest.covers("2", &sha(3)));
    assert!(!latest.covers("1", &sha(1)));
    assert!(db.acceptance("dev.bincio.strava").unwrap().is_none());
    assert!(db.record_acceptance(GARMIN, "3", "nope", NOW).is_err());
}

#[test]
fn schedule_round_trips() {
    let (fx, db, id) = Fixture::with_connection();
    assert!(db.schedule(&id).unwrap().is_none());
    db.set_schedule(&id, NOW + 900, 0).unwrap();
    db.set_schedule(&id, NOW + 1800, 2).unwrap();
    drop(db);
    let db = fx.open();
    let stored = db.schedule(&id).unwrap().unwrap();
    assert_eq!(
        (stored.next_run_at, stored.consecutive_failures),
        (NOW + 1800, 2)
    );
    assert!(db
        .set_schedule(&ConnectionId::from("garmin-77"), NOW, 0)
        .is_err());
}

#[test]
fn due_connections_are_the_active_ones_scheduled_by_now_with_their_last_run() {
    let (_fx, db, _) = Fixture::with_connection();
    let ada = UserHandle::parse("ada").unwrap();
    let bob = UserHandle::parse("bob").unwrap();
    for user in [&ada, &bob] {
        db.create_user(user, "x", Role::User, None, NOW).unwrap();
    }
    // (owner, status, next run relative to NOW or never scheduled, run start times)
    let plan: [(&UserHandle, ConnectionStatus, Option<i64>, &[i64]); 8] = [
        (&ada, ConnectionStatus::Active, None, &[]),
        (
            &ada,
            ConnectionStatus::Active,
            Some(-60),
            &[NOW - 900, NOW - 300],
        ),
        (&ada, ConnectionStatus::Active, Some(0), &[NOW - 7200]),
        (&ada, ConnectionStatus::Active, Some(1), &[NOW - 100]),
        (&ada, ConnectionStatus::Paused, Some(-60), &[]),
        (&ada, ConnectionStatus::NeedsUser, None, &[]),
        (&bob, ConnectionStatus::Active, Some(-60), &[NOW - 50]),
        (&ada, ConnectionStatus::Disconnected, Some(-60), &[]),
    ];
    let mut ids = Vec::new();
    for (user, status, next, runs) in plan {
        let id = db.create_connection_for(user, GARMIN, NOW).unwrap();
        db.set_connection_status(&id, status, None).unwrap();
        if let Some(next) = next {
            db.set_schedule(&id, NOW + next, 0).unwrap();
        }
        for &at in runs {
            db.start_run(&id, at).unwrap();
        }
        ids.push(id);
    }
    db.disable_user(&bob, NOW).unwrap();

    let due = db.due_connections(NOW).unwrap();
    let got: Vec<(&str, Option<i64>)> = due
        .iter()
        .map(|d| (d.id.as_str(), d.last_run_started_at))
        .collect();
    let want = [
        (ids[0].as_str(), None),
        (ids[1].as_str(), Some(NOW - 300)),
        (ids[2].as_str(), Some(NOW - 7200)),
    ];
    assert_eq!(got, want);
    assert!(due.iter().all(|d| d.plugin_id == GARMIN));

    // The same answer as reading each connection in turn (the scheduler's old way).
    let disabled: Vec<UserHandle> = db
        .users()
        .unwrap()
        .into_iter()
        .filter(|u| u.is_disabled())
        .map(|u| u.handle)
        .collect();
    let one_by_one: Vec<(String, Option<i64>)> = db
        .connections()
        .unwrap()
        .into_iter()
        .filter(|c| c.status == ConnectionStatus::Active && !disabled.contains(&c.user))
        .filter(|c| {
            db.schedule(&c.id)
                .unwrap()
                .is_none_or(|s| s.next_run_at <= NOW)
        })
        .map(|c| {
            let last = db.last_run(&c.id).unwrap().map(|r| r.started_at);
            (c.id.to_string(), last)
        })
        .collect();
    let got: Vec<(String, Option<i64>)> = due
        .into_iter()
        .map(|d| (d.id.to_string(), d.last_run_started_at))
        .collect();
    assert_eq!(got, one_by_one);
    // Later, the one scheduled a second after NOW is due too.
    assert_eq!(db.due_connections(NOW + 1).unwrap().len(), 4);
}
