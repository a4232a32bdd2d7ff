//! Web sessions and invites (schema 3): found by the hash only while live,
//! gone at sign-out, with a disabled or removed user, and purged once
//! expired; an invite works once, before its expiry.

mod common;

use bincio_state::{NewSession, Role, StateDb, StateError, UserHandle};
use common::{Fixture, NOW};

fn user(db: &StateDb, name: &str) -> UserHandle {
    let handle = UserHandle::parse(name).unwrap();
    db.create_user(&handle, name, Role::User, None, NOW)
        .unwrap();
    handle
}

fn session(db: &StateDb, id: &str, user: &UserHandle, expires_at: i64) {
    db.create_session(&NewSession {
        id_sha256: id,
        user,
        csrf_token: "csrf",
        now: NOW,
        expires_at,
    })
    .unwrap();
}

#[test]
fn a_session_lives_until_it_expires_or_is_deleted() {
    let fx = Fixture::new();
    let db = fx.open();
    let ada = user(&db, "ada");
    session(&db, "h1", &ada, NOW + 100);
    let live = db.live_session("h1", NOW + 10).unwrap().unwrap();
    assert_eq!(
        (live.user.as_str(), live.csrf_token.as_str()),
        ("ada", "csrf")
    );
    assert_eq!(live.created_at, NOW);
    let seen = |at| db.live_session("h1", at).unwrap().unwrap().last_seen_at;
    assert_eq!(
        seen(NOW + 59),
        NOW,
        "a use within a minute of the last is not written"
    );
    assert_eq!(
        seen(NOW + 61),
        NOW,
        "the previous use is reported, then moved on"
    );
    assert_eq!(seen(NOW + 62), NOW + 61);
    assert!(
        db.live_session("h1", NOW + 100).unwrap().is_none(),
        "expired"
    );
    assert!(db.live_session("other", NOW).unwrap().is_none());
    assert!(db.delete_session("h1").unwrap());
    assert!(db.live_session("h1", NOW).unwrap().is_none());
    assert!(!db.delete_session("h1").unwrap());
}

#[test]
fn expired_sessions_are_purged_when_a_new_one_is_made() {
    let fx = Fixture::new();
    let db = fx.open();
    let ada = user(&db, "ada");
    session(&db, "old", &ada, NOW + 1);
    session(&db, "live", &ada, NOW + 1000);
    assert_eq!(db.session_count().unwrap(), 2);
    db.create_session(&NewSession {
        id_sha256: "new",
        user: &ada,
        csrf_token: "c",
        now: NOW + 5,
        expires_at: NOW + 1000,
    })
    .unwrap();
    assert_eq!(db.session_count().unwrap(), 2, "old purged, new added");
}

#[test]
fn disabling_or_removing_a_user_ends_their_sessions() {
    let fx = Fixture::new();
    let db = fx.open();
    let ada = user(&db, "ada");
    let bob = user(&db, "bob");
    session(&db, "a", &ada, NOW + 100);
    session(&db, "b", &bob, NOW + 100);
    db.disable_user(&ada, NOW).unwrap();
    assert!(db.live_session("a", NOW).unwrap().is_none());
    db.remove_user(&bob).unwrap();
    assert!(db.live_session("b", NOW).unwrap().is_none());
    assert_eq!(db.session_count().unwrap(), 1, "bob's row went with him");
    assert_eq!(db.delete_sessions_of(&ada).unwrap(), 1);
    assert_eq!(db.session_count().unwrap(), 0);
}

#[test]
fn an_invite_creates_one_user_once_before_it_expires() {
    let fx = Fixture::new();
    let db = fx.open();
    let admin = user(&db, "root");
    db.create_invite("t1", Role::User, &admin, NOW, NOW + 60)
        .unwrap();
    db.create_invite("t2", Role::Admin, &admin, NOW, NOW + 60)
        .unwrap();
    assert!(db.open_invite("t1", NOW).unwrap().is_some());
    assert!(db.open_invite("t1", NOW + 60).unwrap().is_none(), "expired");

    let cleo = UserHandle::parse("cleo").unwrap();
    assert!(matches!(
        db.accept_invite("t1", &cleo, "hash", NOW + 60),
        Err(StateError::InviteInvalid)
    ));
    assert!(
        db.user(&cleo).unwrap().is_none(),
        "an expired invite made nobody"
    );
    assert_eq!(
        db.accept_invite("t1", &cleo, "hash", NOW + 1).unwrap(),
        Role::User
    );
    assert!(db.user(&cleo).unwrap().unwrap().has_password);
    let dan = UserHandle::parse("dan").unwrap();
    assert!(
        matches!(
            db.accept_invite("t1", &dan, "hash", NOW + 2),
            Err(StateError::InviteInvalid)
        ),
        "used once"
    );
    assert!(matches!(
        db.accept_invite("t2", &cleo, "hash", NOW + 2),
        Err(StateError::UserExists { .. })
    ));
    assert!(
        db.open_invite("t2", NOW + 2).unwrap().is_some(),
        "a refused accept leaves it open"
    );
    let listed = db.invites().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed
            .iter()
            .find(|i| i.token_sha256 == "t1")
            .unwrap()
            .used_by
            .as_deref(),
        Some("cleo")
    );
}
