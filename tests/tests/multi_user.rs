//! Many users on one server, against the emulator serving many accounts:
//! every user's activities land in their own store exactly once; the
//! plugin-wide request budget holds across all accounts (no window above
//! it, bounded bursts) and a 429 to one account slows every account; a new
//! connection's first run is not queued behind others' backfills; one
//! user's broken store or cooldown never stops another's sync.

use bincio_state::StateDb;
use bincio_tests::multi_user::{email, handle, run_until_idle, Server};
use garmin_emulator::LoggedRequest;
use host_demo::clock::Clock;
use std::collections::BTreeSet;

#[test]
fn twenty_users_get_their_own_activities_exactly_once() {
    const USERS: usize = 20;
    let server = Server::start(
        USERS,
        200,
        "max_downloads_per_run = 100\n[plugins.request_budget]\nenabled = false",
    );
    for i in 0..USERS {
        server.add_and_connect(i);
    }
    let s = server.scheduler(8);
    let failures = run_until_idle(&server, &s, 10);
    eprintln!("transient failures, retried: {failures:?}");
    let mut all = BTreeSet::new();
    for i in 0..USERS {
        let ids = server.store_ids(i);
        assert_eq!(ids.len(), server.expected_count(i), "{}", handle(i));
        for id in &ids {
            assert!(all.insert(id.clone()), "{id} is in two stores");
        }
    }
    // Exactly once: one ledger row per activity, all imported.
    let db = StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    assert_eq!(db.ledger_count().unwrap(), (USERS * 200) as u64);
    // Each user's connection is theirs, and their runs are recorded.
    for c in db.connections().unwrap() {
        assert!(db.last_run(&c.id).unwrap().is_some());
        assert!(c.user.as_str().starts_with("user-"));
    }
}

/// API requests (those carrying an account's token) from `from` on.
fn api_requests(server: &Server, from: usize) -> Vec<LoggedRequest> {
    server.emulator.request_log()[from..]
        .iter()
        .filter(|r| r.account.is_some())
        .cloned()
        .collect()
}

#[test]
fn the_budget_holds_across_all_accounts_with_bounded_bursts() {
    const USERS: usize = 4;
    const REQUESTS: usize = 12;
    const WINDOW_MS: i64 = 4000;
    const BURST: usize = 3;
    let server = Server::start(
        USERS,
        8,
        &format!(
            "[plugins.request_budget]\nrequests = {REQUESTS}\nwindow_secs = {}\nburst = {BURST}",
            WINDOW_MS / 1000
        ),
    );
    for i in 0..USERS {
        server.add_and_connect(i);
    }
    let from = server.emulator.request_log().len();
    let s = server.scheduler(USERS);
    run_until_idle(&server, &s, 5);
    for i in 0..USERS {
        assert_eq!(server.store_ids(i).len(), 8, "{}", handle(i));
    }
    let log = api_requests(&server, from);
    let accounts: BTreeSet<_> = log.iter().filter_map(|r| r.account.clone()).collect();
    assert_eq!(accounts.len(), USERS, "every account was served");
    assert!(
        log.len() > 2 * REQUESTS,
        "enough requests to test: {}",
        log.len()
    );
    let times: Vec<i64> = log.iter().map(|r| r.at_ms).collect();
    for (k, t) in times.iter().enumerate() {
        let in_window = times[k..]
            .iter()
            .take_while(|u| **u < t + WINDOW_MS)
            .count();
        assert!(
            in_window <= REQUESTS,
            "{in_window} requests in the {WINDOW_MS} ms from {t}"
        );
        // A burst: requests closer together than a fifth of the spacing.
        let spacing = WINDOW_MS / (REQUESTS - BURST) as i64;
        let burst = times[k..]
            .iter()
            .take_while(|u| **u < t + spacing / 5)
            .count();
        assert!(burst <= BURST, "{burst} requests back to back at {t}");
    }
    // The budget was the limit: the whole took at least the paced time.
    let span = times.last().unwrap() - times[0];
    let paced = (times.len() - BURST) as i64 * (WINDOW_MS / (REQUESTS - BURST) as i64);
    assert!(
        span >= paced * 9 / 10,
        "{} requests in {span} ms",
        times.len()
    );
}

#[test]
fn a_429_to_one_account_slows_every_account() {
    const USERS: usize = 3;
    const RETRY_AFTER_MS: i64 = 3000;
    let server = Server::start(
        USERS,
        12,
        "[plugins.request_budget]\nrequests = 600\nwindow_secs = 60\nburst = 5",
    );
    for i in 0..USERS {
        server.add_and_connect(i);
    }
    let from = server.emulator.request_log().len();
    server
        .emulator
        .rate_limit_account(&email(0), 1, (RETRY_AFTER_MS / 1000) as u64);
    let s = server.scheduler(USERS);
    s.tick().unwrap();
    s.wait();
    let log = api_requests(&server, from);
    let limited = log
        .iter()
        .find(|r| r.rate_limited)
        .expect("the account got its 429");
    let t429 = limited.at_ms;
    let others: Vec<i64> = log
        .iter()
        .filter(|r| r.account.as_deref() != Some(email(0).as_str()))
        .map(|r| r.at_ms)
        .collect();
    // The host stored the plugin-wide cooldown when the plugin reported the
    // 429 (its end minus Retry-After is that moment). Slots reserved before
    // it (at most one queued per sync, 100 ms apart at this budget) may
    // still go out just after; then nothing from any account until its end.
    let db = StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    let until = db
        .budget_cooldown_until(bincio_tests::multi_user::PLUGIN, 0)
        .unwrap()
        .expect("a plugin-wide cooldown was stored");
    let stored_at = until - RETRY_AFTER_MS;
    assert!(stored_at >= t429, "the cooldown starts at the 429 or later");
    let during: Vec<i64> = others
        .iter()
        .copied()
        .filter(|t| *t > stored_at + 500 && *t < until - 100)
        .collect();
    assert!(
        during.is_empty(),
        "requests of other accounts during the cooldown (stored at {stored_at}, until {until}): {during:?}"
    );
    assert!(
        others.iter().any(|t| *t >= until - 100),
        "the others went on after the cooldown"
    );
    for i in 1..USERS {
        assert_eq!(server.store_ids(i).len(), 12, "{} finished", handle(i));
    }
}

#[test]
fn the_last_connected_users_first_run_comes_before_others_backfills() {
    let server = Server::start(5, 60, "max_downloads_per_run = 20");
    for i in 0..4 {
        server.add_and_connect(i);
    }
    let s = server.scheduler(2);
    // Round one: everyone's first run (the backfills go on after it).
    for _ in 0..2 {
        assert_eq!(s.tick().unwrap().len(), 2);
        s.wait();
    }
    s.take_finished();
    server.clock.advance(3601);
    let late = server.add_and_connect(4);
    // Everyone is due again; the new connection's first run goes first.
    let started = s.tick().unwrap();
    assert!(started.contains(&late), "started {started:?}, not {late}");
    s.wait();
    assert_eq!(server.store_ids(4).len(), 20, "its first run imported");
    // The backfills were not done yet: the newcomer did not wait for them.
    let backfilled: usize = (0..4).map(|i| server.store_ids(i).len()).sum();
    assert!(backfilled < 4 * 60, "{backfilled}");
}

#[test]
fn one_users_broken_store_or_cooldown_never_stops_another() {
    let server = Server::start(3, 5, "");
    for i in 0..3 {
        server.add_and_connect(i);
    }
    // user-01's store cannot be created; user-02 is cooling down.
    std::fs::write(server.data().join(handle(1)), b"not a directory").unwrap();
    let db = StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    let third = db
        .connections_of(&bincio_state::UserHandle::parse(&handle(2)).unwrap())
        .unwrap()[0]
        .id
        .clone();
    db.set_cooldown(third, server.clock.now() + 3600, "Too many requests")
        .unwrap();
    let s = server.scheduler(3);
    s.tick().unwrap();
    s.wait();
    let finished = s.take_finished();
    assert_eq!(finished.len(), 3);
    assert_eq!(server.store_ids(0).len(), 5, "user-00 synced regardless");
    let failed = finished
        .iter()
        .filter(|r| !matches!(&r.outcome, Ok(rep) if rep.result.is_ok()))
        .count();
    assert_eq!(failed, 2, "the broken store and the cooldown fail alone");
}

#[test]
fn sync_now_on_a_full_server_is_queued_and_started_in_turn() {
    use garmin_emulator::{Fault, Target};
    use host_demo::scheduler::RunNow;
    let server = Server::start(2, 10, "max_downloads_per_run = 10");
    let first = server.add_and_connect(0);
    let second = server.add_and_connect(1);
    let db = StateDb::open(&server.data().join("state.sqlite3")).unwrap();
    let later = server.clock.now() + 3600;
    db.set_schedule(&second, later, 0).unwrap();
    let s = server.scheduler(1);
    // The one slot is taken by a run that waits on a slow list.
    server
        .emulator
        .set_fault(Fault::Delay(std::time::Duration::from_millis(1500)).on(Target::List));
    assert_eq!(s.run_now(&first).unwrap(), RunNow::Started);
    assert_eq!(s.run_now(&second).unwrap(), RunNow::Queued, "one at a time");
    assert!(!s.is_running(&second));
    let queued = db.schedule(&second).unwrap().unwrap();
    assert!(
        queued.next_run_at <= server.clock.now(),
        "due now, not in an hour"
    );
    s.wait();
    server.emulator.clear_faults();
    assert_eq!(s.tick().unwrap(), vec![second.clone()], "started in turn");
    s.wait();
    assert_eq!(server.store_ids(1).len(), 10);
}
