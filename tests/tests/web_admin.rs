//! The admin pages: the plugin manager edits plugin.toml keeping its
//! comments and says a restart is needed; an invite link makes one user
//! once; disabling a user ends their sessions, removing them keeps their
//! activities; the scheduler view lists every connection.

use bincio_state::{Role, UserHandle};
use bincio_tests::web_server::{WebTest, ADMIN_PASSWORD};
use garmin_emulator::EmulatorConfig;

#[test]
fn the_admin_manages_plugins_invites_and_users() {
    let t = WebTest::start(EmulatorConfig::default_demo(), "", WebTest::config());
    t.add_user("bob", "bob-password-1", Role::User);
    let mut admin = t.client();
    assert_eq!(admin.login("admin", ADMIN_PASSWORD).status, 200);
    let page = admin.get("/admin");
    assert_eq!(page.status, 200, "{}", page.body);
    for id in [
        "admin-plugins",
        "admin-users",
        "invite-form",
        "admin-scheduler",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(page.body.contains("dev.bincio.garmin"));
    assert!(
        page.body.contains("id=\"info-garmin\""),
        "plugin info shown"
    );
    let sha = &t
        .host
        .manager
        .loaded("dev.bincio.garmin")
        .unwrap()
        .1
        .descriptor
        .disclaimer
        .sha256;
    assert!(page.body.contains(sha.as_str()));

    // Disable: plugin.toml edited, its comment kept, a restart announced.
    let toml = &t.host.manager.config_path;
    let before = std::fs::read_to_string(toml).unwrap();
    assert!(before.starts_with("# written by a test"));
    let done = admin.post_form("/admin/plugins/dev.bincio.garmin/disable", &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    let after = std::fs::read_to_string(toml).unwrap();
    assert!(
        after.starts_with("# written by a test") && after.contains("enabled = false"),
        "{after}"
    );
    assert!(admin
        .get(&done.location())
        .body
        .contains("restart the server"));
    assert_eq!(
        admin.post_form("/admin/plugins/no.such/enable", &[]).status,
        404
    );
    admin.post_form("/admin/plugins/dev.bincio.garmin/enable", &[]);
    assert!(std::fs::read_to_string(toml)
        .unwrap()
        .contains("enabled = true"));

    // An invite link: one user, once.
    let made = admin.post_form("/admin/invites", &[("role", "user")]);
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.location().is_empty(), "the link is not put in a URL");
    let token = made
        .body
        .split("/invite/")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 64, "{token}");
    let mut guest = t.client();
    let form = guest.get(&format!("/invite/{token}"));
    for id in ["invite-form", "new-handle", "new-password", "invite-submit"] {
        assert!(form.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let short = guest.post_form(
        &format!("/invite/{token}"),
        &[("handle", "cleo"), ("password", "short")],
    );
    assert!(short.body.contains("at least 10 characters"));
    let joined = guest.post_form(
        &format!("/invite/{token}"),
        &[("handle", "cleo"), ("password", "cleo-password-1")],
    );
    assert_eq!(
        (joined.status, joined.location().as_str()),
        (303, "/signin")
    );
    assert_eq!(guest.login("cleo", "cleo-password-1").status, 200);
    let again = t.client().post_form(
        &format!("/invite/{token}"),
        &[("handle", "dan"), ("password", "dan-password-1")],
    );
    assert_eq!(again.status, 404, "used once");
    assert!(t
        .host
        .db
        .user(&UserHandle::parse("dan").unwrap())
        .unwrap()
        .is_none());

    // Disable bob: his session ends; remove cleo: gone, her store kept.
    let mut bob = t.client();
    bob.login("bob", "bob-password-1");
    assert_eq!(admin.post_form("/admin/users/bob/disable", &[]).status, 303);
    assert_eq!(bob.get("/api/me").status, 401);
    let fit =
        std::fs::read(bincio_tests::workspace_root().join("../shared/fixtures/fit/Activity.fit"))
            .unwrap();
    guest.post_multipart("/api/upload", &[], vec![("Activity.fit".into(), fit)]);
    assert_eq!(admin.post_form("/admin/users/cleo/remove", &[]).status, 303);
    assert!(t
        .host
        .db
        .user(&UserHandle::parse("cleo").unwrap())
        .unwrap()
        .is_none());
    assert_eq!(guest.get("/api/me").status, 401);
    assert!(
        t.data_dir().join("cleo/index.json").exists(),
        "activities kept"
    );
    assert_eq!(
        admin.post_form("/admin/users/admin/remove", &[]).status,
        400,
        "not oneself"
    );
}
