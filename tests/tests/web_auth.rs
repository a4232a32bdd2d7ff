//! Who may do what on the web page: every endpoint as nobody is refused,
//! another user's connection, runs, stream and store are out of reach,
//! a state-changing request without the CSRF token is refused, the session
//! id changes at sign-in and dies at sign-out, and sign-in attempts are
//! limited per address and per handle with a clear message. Nothing a
//! refused request names changes.

use bincio_state::{ConnectionId, Role, SecretString, UserHandle};
use bincio_tests::harness::{DEMO_EMAIL, PASSWORD, PLUGIN};
use bincio_tests::web_server::{WebClient, WebTest};
use garmin_emulator::EmulatorConfig;
use host_demo::host::ConnectOutcome;
use host_demo::web::WebConfig;
use serde_json::json;

const PW: &str = "a-long-password";

/// Alice, connected to the demo account through the host, with a finished
/// run; bob, a second user, signed in.
fn two_users() -> (WebTest, ConnectionId, WebClient) {
    let t = WebTest::start(
        EmulatorConfig::default_demo(),
        "max_downloads_per_run = 3\n",
        WebTest::config(),
    );
    t.add_user("alice", PW, Role::User);
    t.add_user("bob", PW, Role::User);
    let alice = UserHandle::parse("alice").unwrap();
    t.host.accept_disclaimer_for(&alice, PLUGIN).unwrap();
    let id = match t
        .host
        .begin_connect_for(
            &alice,
            PLUGIN,
            vec![
                ("email".into(), SecretString::from(DEMO_EMAIL)),
                ("password".into(), SecretString::from(PASSWORD)),
            ],
        )
        .unwrap()
    {
        ConnectOutcome::Connected { connection, .. } => connection,
        other => panic!("{other:?}"),
    };
    let mut a = t.client();
    a.login("alice", PW);
    let started = a.post_json("/api/garmin/sync", json!({}));
    assert_eq!(started.json()["started"], true, "{}", started.body);
    a.read_stream("/api/garmin/sync/stream", |_| {});
    let mut bob = t.client();
    assert_eq!(bob.login("bob", PW).status, 200);
    (t, id, bob)
}

/// Every route: (method, path).
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/auth/logout"),
    ("GET", "/api/me"),
    ("GET", "/api/garmin/status"),
    ("POST", "/api/garmin/connect"),
    ("POST", "/api/garmin/disconnect"),
    ("POST", "/api/garmin/sync"),
    ("GET", "/api/garmin/sync/stream"),
    ("POST", "/api/upload"),
    ("GET", "/settings/importers"),
    ("GET", "/settings/importers/dev.bincio.garmin/connect"),
    ("POST", "/settings/importers/dev.bincio.garmin/connect"),
    ("POST", "/settings/importers/dev.bincio.garmin/accept"),
    ("GET", "/settings/importers/dev.bincio.garmin/step?flow=x"),
    ("POST", "/settings/importers/dev.bincio.garmin/step"),
    ("POST", "/settings/importers/dev.bincio.garmin/sync"),
    ("GET", "/settings/importers/dev.bincio.garmin/stream"),
    ("POST", "/settings/importers/dev.bincio.garmin/disconnect"),
    ("GET", "/upload"),
    ("POST", "/upload"),
    ("POST", "/signout"),
    ("GET", "/admin"),
    ("POST", "/admin/plugins/dev.bincio.garmin/disable"),
    ("POST", "/admin/invites"),
    ("POST", "/admin/users/alice/remove"),
    ("POST", "/admin/users/alice/disable"),
];

fn call(c: &mut WebClient, method: &str, path: &str) -> bincio_tests::web_server::Answer {
    let url = c.url(path);
    let request = match method {
        "GET" => c.http.get(url),
        _ => c
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("csrf=forged"),
    };
    c.send(request)
}

#[test]
fn every_endpoint_as_nobody_is_refused_and_changes_nothing() {
    let (t, id, _) = two_users();
    let secrets = t.host.vault.fields(&id).unwrap();
    let runs = t.host.db.runs(&id, 100).unwrap().len();
    let mut nobody = t.client();
    for (method, path) in ROUTES {
        let answer = call(&mut nobody, method, path);
        if path.starts_with("/api/") {
            assert_eq!(answer.status, 401, "{method} {path}: {}", answer.body);
            assert_eq!(answer.json()["ok"], false);
        } else if *path != "/signout" || answer.status != 303 {
            assert_eq!(
                (answer.status, answer.location().as_str()),
                (303, "/signin"),
                "{method} {path}"
            );
        }
    }
    // A forged or stale cookie is nobody too.
    nobody.cookie = Some("f".repeat(64));
    assert_eq!(nobody.get("/api/me").status, 401);
    assert_eq!(t.host.vault.fields(&id).unwrap(), secrets);
    assert_eq!(t.host.db.runs(&id, 100).unwrap().len(), runs);
    assert_eq!(t.host.db.users().unwrap().len(), 3);
    assert!(t.host.manager.config_path.exists());
    let toml = std::fs::read_to_string(&t.host.manager.config_path).unwrap();
    assert!(toml.contains("enabled = true"));
}

#[test]
fn another_users_connection_runs_stream_and_store_are_out_of_reach() {
    let (t, id, mut bob) = two_users();
    let secrets = t.host.vault.fields(&id).unwrap();
    assert!(!secrets.is_empty());
    let runs = t.host.db.runs(&id, 100).unwrap().len();

    let status = bob.get("/api/garmin/status").json();
    assert_eq!(status["connected"], false, "{status}");
    assert_eq!(status["connection"], serde_json::Value::Null);
    let stream = bob.read_stream("/api/garmin/sync/stream", |_| {});
    assert_eq!(
        stream,
        vec![json!({"type": "error", "message": "no Garmin account is connected"})]
    );
    assert_eq!(bob.post_json("/api/garmin/sync", json!({})).status, 409);
    let disconnect = bob.post_json("/api/garmin/disconnect", json!({}));
    assert_eq!(disconnect.json()["was_connected"], false);
    assert_eq!(
        bob.get("/settings/importers/dev.bincio.garmin/stream")
            .status,
        404
    );
    let page = bob.get("/settings/importers");
    assert!(!page.body.contains(id.as_str()) && page.body.contains("Not connected"));
    // Alice's connect step token means nothing to bob.
    let step = bob.post_json(
        "/api/garmin/connect",
        json!({"flow": "0".repeat(64), "mfa_code": "1"}),
    );
    assert_eq!(step.status, 400);
    // Admin pages are for admins.
    assert_eq!(bob.get("/admin").status, 403);
    bob.csrf.clone().unwrap();
    let remove = bob.post_form("/admin/users/alice/remove", &[]);
    assert_eq!(remove.status, 403);
    // Bob's upload lands in bob's store only.
    let fit =
        std::fs::read(bincio_tests::workspace_root().join("../shared/fixtures/fit/Activity.fit"))
            .unwrap();
    let up = bob.post_multipart("/api/upload", &[], vec![("Activity.fit".into(), fit)]);
    assert_eq!(up.status, 200, "{}", up.body);
    assert!(t.data_dir().join("bob/index.json").exists());
    let alice_index = std::fs::read_to_string(t.data_dir().join("alice/index.json")).unwrap();
    assert!(!alice_index.contains("Activity.fit"));

    assert_eq!(
        t.host.vault.fields(&id).unwrap(),
        secrets,
        "alice's secrets untouched"
    );
    assert_eq!(
        t.host.db.runs(&id, 100).unwrap().len(),
        runs,
        "no run started for alice"
    );
    assert!(t
        .host
        .db
        .user(&UserHandle::parse("alice").unwrap())
        .unwrap()
        .is_some());
}

#[test]
fn a_post_without_the_csrf_token_is_refused() {
    let (t, id, mut bob) = two_users();
    let mut alice = t.client();
    alice.login("alice", PW);
    let token = alice.csrf.take().unwrap();
    // JSON API: neither the header nor a JSON body: refused.
    for path in [
        "/api/garmin/sync",
        "/api/garmin/disconnect",
        "/api/auth/logout",
    ] {
        let form = alice
            .http
            .post(alice.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("a=b");
        let answer = alice.send(form);
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(answer.json()["error"].as_str().unwrap().contains("CSRF"));
        let wrong = alice
            .http
            .post(alice.url(path))
            .header("x-csrf-token", "nope");
        assert_eq!(alice.send(wrong).status, 403, "{path} wrong header");
    }
    // Pages: the form without its token.
    for path in [
        "/settings/importers/dev.bincio.garmin/sync",
        "/settings/importers/dev.bincio.garmin/disconnect",
        "/settings/importers/dev.bincio.garmin/accept",
        "/signout",
    ] {
        let answer = alice.post_form(path, &[("sha256", "x"), ("accept", "yes")]);
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(answer.body.contains("CSRF"));
    }
    let upload = alice.post_multipart("/upload", &[], vec![("a.fit".into(), b"x".to_vec())]);
    assert_eq!(upload.status, 403);
    // Another session's token is not this one's.
    let answer = alice.send(
        alice
            .http
            .post(alice.url("/api/garmin/disconnect"))
            .header("x-csrf-token", bob.csrf.clone().unwrap()),
    );
    assert_eq!(answer.status, 403);
    assert!(
        !t.host.vault.fields(&id).unwrap().is_empty(),
        "still connected"
    );
    assert_eq!(alice.get("/api/me").status, 200, "still signed in");
    // With its token it works.
    alice.csrf = Some(token);
    assert_eq!(alice.post_form("/signout", &[]).status, 303);
    assert_eq!(bob.get("/api/me").status, 200, "bob's session is his own");
}

#[test]
fn the_session_id_changes_at_sign_in_and_dies_at_sign_out() {
    let t = WebTest::start(EmulatorConfig::default_demo(), "", WebTest::config());
    t.add_user("ada", PW, Role::User);
    let mut c = t.client();
    c.login("ada", PW);
    let first = c.cookie.clone().unwrap();
    c.login("ada", PW);
    let second = c.cookie.clone().unwrap();
    assert_ne!(first, second, "a new id at every sign-in");
    let mut stale = t.client();
    stale.cookie = Some(first);
    assert_eq!(
        stale.get("/api/me").status,
        401,
        "the replaced session is gone"
    );
    // A copy of the cookie elsewhere dies with the sign-out.
    let mut copy = t.client();
    copy.cookie = Some(second.clone());
    assert_eq!(copy.get("/api/me").status, 200);
    let out = c.post_json("/api/auth/logout", json!({}));
    assert!(out.set_cookie().unwrap().contains("Max-Age=0"));
    assert_eq!(copy.get("/api/me").status, 401);
    assert_eq!(copy.get("/settings/importers").status, 303);
    // The database holds hashes only.
    let db = std::fs::read(t.data_dir().join("state.sqlite3")).unwrap();
    let wal = std::fs::read(t.data_dir().join("state.sqlite3-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(second.len()).any(|w| w == second.as_bytes()));
    }
    // A disabled user's sessions end.
    let mut again = t.client();
    again.login("ada", PW);
    host_demo::host::users::disable_user(&t.host.db, "ada", t.host.now()).unwrap();
    assert_eq!(again.get("/api/me").status, 401);
    assert_eq!(
        again.login("ada", PW).status,
        422,
        "a disabled user cannot sign in"
    );
}

/// Login CSRF: a sign-in form posted from another site gets no session, even
/// with the right password; the same form from the server's own page does.
#[test]
fn a_sign_in_form_posted_from_another_site_makes_no_session() {
    let t = WebTest::start(EmulatorConfig::default_demo(), "", WebTest::config());
    t.add_user("ada", PW, Role::User);
    let mut c = t.client();
    let fields = [("handle", "ada"), ("password", PW)];
    let forged = c.http.post(c.url("/signin")).form(&fields);
    let answer = c.send(forged.header("Origin", "https://evil.example"));
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.set_cookie().is_none(), "no session cookie");
    assert!(answer.body.contains("another site"), "{}", answer.body);
    let forged = c.http.post(c.url("/signin")).form(&fields);
    let answer = c.send(forged.header("Sec-Fetch-Site", "cross-site"));
    assert_eq!(answer.status, 403);
    assert!(answer.set_cookie().is_none());
    let own = c.url("/");
    let own_origin = own.trim_end_matches('/');
    let genuine = c.http.post(c.url("/signin")).form(&fields);
    let answer = c.send(genuine.header("Origin", own_origin));
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert!(answer
        .set_cookie()
        .is_some_and(|v| v.contains("bincio_session")));
}

fn from_ip(
    c: &mut WebClient,
    ip: &str,
    handle: &str,
    password: &str,
) -> bincio_tests::web_server::Answer {
    let request = c
        .http
        .post(c.url("/api/auth/login"))
        .header("x-forwarded-for", ip)
        .header("x-forwarded-proto", "https")
        .json(&json!({"handle": handle, "password": password}));
    c.send(request)
}

#[test]
fn sign_in_attempts_are_limited_per_address_and_per_handle() {
    let web = WebConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        attempts_per_ip: 4,
        attempts_per_handle: 3,
        ..WebTest::config()
    };
    let t = WebTest::start(EmulatorConfig::default_demo(), "", web);
    t.add_user("ada", PW, Role::User);
    t.add_user("bob", PW, Role::User);
    let mut c = t.client();
    // Through the trusted proxy over https: the cookie is Secure.
    let ok = from_ip(&mut c, "198.51.100.1", "bob", PW);
    assert!(ok.set_cookie().unwrap().contains("; Secure"));

    for i in 0..3 {
        let wrong = from_ip(&mut c, &format!("198.51.100.{}", 10 + i), "ada", "wrong");
        assert_eq!(wrong.status, 422);
        assert_eq!(wrong.json()["error"], "wrong handle or password");
    }
    let locked = from_ip(&mut c, "198.51.100.50", "ada", PW);
    assert_eq!(
        locked.status, 429,
        "even the right password, from a new address"
    );
    let message = locked.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("too many failed sign-ins from this account"),
        "{message}"
    );
    assert!(message.contains("try again in"), "{message}");
    assert!(locked.headers.get("retry-after").is_some());
    assert_eq!(
        from_ip(&mut c, "198.51.100.50", "bob", PW).status,
        200,
        "another handle signs in"
    );

    for handle in ["x1", "x2", "x3", "x4"] {
        assert_eq!(from_ip(&mut c, "203.0.113.7", handle, "wrong").status, 422);
    }
    let by_ip = from_ip(&mut c, "203.0.113.7", "bob", PW);
    assert_eq!(by_ip.status, 429);
    assert!(by_ip.json()["error"]
        .as_str()
        .unwrap()
        .contains("from this address"));
    assert_eq!(from_ip(&mut c, "203.0.113.8", "bob", PW).status, 200);

    // A client that is not the proxy cannot pick its address: the form page says why too.
    let page = c.post_form("/signin", &[("handle", "ada"), ("password", PW)]);
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("too many failed sign-ins"));
}

#[test]
fn a_burst_of_sign_ins_hashes_at_most_the_bound_at_once() {
    // Each argon2id check holds 19 MiB while it runs: 16 sign-ins at once
    // would hold 16 of them without the bound.
    let web = WebConfig {
        password_checks_at_once: 2,
        ..WebTest::config()
    };
    let t = WebTest::start(EmulatorConfig::default_demo(), "", web);
    t.add_user("ada", PW, Role::User);
    let barrier = std::sync::Barrier::new(16);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let signing: Vec<_> = (0..16)
            .map(|_| {
                let mut c = t.client();
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    c.login("ada", PW).status
                })
            })
            .collect();
        signing.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; 16], "every sign-in gets its turn");
    let gate = &t.server.as_ref().unwrap().state().passwords;
    assert!(gate.peak() >= 1 && gate.peak() <= 2, "peak {}", gate.peak());
}
