//! The host's user-scoped operations (what the web server calls for a
//! signed-in user): a connection of another user is refused at the host
//! layer, whatever a handler checked, and nothing of it changes; a second
//! user signing in to the same service account gets a connection of their
//! own instead of taking over the first user's.

use bincio_state::{ConnectionId, ConnectionStatus, Role, SecretString, UserHandle};
use bincio_tests::harness::{TestHost, DEMO_EMAIL, PASSWORD, PLUGIN};
use garmin_emulator::EmulatorConfig;
use host_demo::host::{ConnectOutcome, HostError, SyncOptions};

fn bob(t: &TestHost) -> UserHandle {
    let bob = UserHandle::parse("bob").unwrap();
    t.host
        .db
        .create_user(&bob, "Bob", Role::User, None, t.host.now())
        .unwrap();
    t.host.accept_disclaimer_for(&bob, PLUGIN).unwrap();
    bob
}

fn inputs() -> Vec<(String, SecretString)> {
    vec![
        ("email".into(), SecretString::from(DEMO_EMAIL)),
        ("password".into(), SecretString::from(PASSWORD)),
    ]
}

fn refused<T: std::fmt::Debug>(result: Result<T, HostError>) {
    match result {
        Err(HostError::NotYourConnection { owner, .. }) => assert_eq!(owner, "me"),
        other => panic!("expected NotYourConnection, got {other:?}"),
    }
}

#[test]
fn another_users_connection_is_refused_by_every_operation() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let mine = t.connect_demo();
    let bob = bob(&t);
    let fields_before = t.host.vault.fields(&ConnectionId::new(&mine)).unwrap();
    assert!(!fields_before.is_empty());

    refused(
        t.host
            .sync_connection_for(&bob, &mine, SyncOptions::default()),
    );
    refused(t.host.disconnect_for(&bob, &mine));
    refused(
        t.host
            .continue_connect_for(&bob, &ConnectionId::new(&mine), "flow", vec![]),
    );
    refused(t.host.abandon_connect_for(&bob, &ConnectionId::new(&mine)));
    refused(t.host.owned_connection(&bob, &mine));

    // Nothing changed: no run, same secrets, still active, not in bob's status.
    let id = ConnectionId::new(&mine);
    assert!(t.host.db.last_run(&id).unwrap().is_none());
    assert_eq!(t.host.vault.fields(&id).unwrap(), fields_before);
    assert_eq!(
        t.host.db.connection(&id).unwrap().unwrap().status,
        ConnectionStatus::Active
    );
    assert!(t.host.status_of(&bob).unwrap().is_empty());
    assert_eq!(t.host.status_of(&t.host.user()).unwrap().len(), 1);
}

#[test]
fn the_same_account_for_a_second_user_is_a_connection_of_their_own() {
    let t = TestHost::start(EmulatorConfig::default_demo(), "");
    let mine = ConnectionId::new(t.connect_demo());
    let bob = bob(&t);
    let theirs = match t.host.begin_connect_for(&bob, PLUGIN, inputs()).unwrap() {
        ConnectOutcome::Connected { connection, .. } => connection,
        other => panic!("{other:?}"),
    };
    assert_ne!(theirs, mine, "bob must not take over me's connection");
    assert_eq!(t.host.db.connection_owner(&theirs).unwrap(), bob);
    assert_eq!(t.host.db.connection_owner(&mine).unwrap().as_str(), "me");
    assert!(!t.host.vault.fields(&mine).unwrap().is_empty());
    // Each user's reconnect of the same account still resumes their own.
    let again = match t.host.begin_connect_for(&bob, PLUGIN, inputs()).unwrap() {
        ConnectOutcome::Connected { connection, .. } => connection,
        other => panic!("{other:?}"),
    };
    assert_eq!(again, theirs);
}
