//! The web settings page end to end, over real HTTP on loopback against
//! the in-process server, the real Garmin plugin and the emulator: the
//! whole flow through the JSON API (sign-in, disclaimer 409 then accepted
//! by sha256, connect with MFA, status, a sync followed over SSE by two
//! clients, disconnect) and through the form posts (the same, then uploads
//! of a FIT file and a zip); no response, header or log line holds the
//! Garmin password, a token or the MFA code.

use bincio_state::{ConnectionId, Role};
use bincio_tests::harness::{MFA_EMAIL, PASSWORD};
use bincio_tests::web_server::{contains_token, stored_secrets, WebClient, WebTest};
use garmin_emulator::{EmulatorConfig, Fault, Target, DEFAULT_MFA_CODE};
use serde_json::json;
use std::time::Duration;

const USER_PASSWORD: &str = "ada-password-1";

fn fixture(name: &str) -> Vec<u8> {
    let path = bincio_tests::workspace_root()
        .join("../shared/fixtures/fit")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, bytes) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

/// Nothing the user must keep secret in any response or log line.
fn assert_no_leaks(t: &WebTest, extra: &[String]) {
    let mut secrets: Vec<String> = stored_secrets(&t.host)
        .into_iter()
        .filter(|s| s.len() >= 16)
        .collect();
    secrets.extend(extra.iter().cloned());
    secrets.push(PASSWORD.to_string());
    let seen = t.seen.lock().unwrap().clone();
    assert!(seen.len() > 5, "the client recorded responses");
    let logs = bincio_tests::logs::text();
    for secret in &secrets {
        for text in seen.iter().chain(std::iter::once(&logs)) {
            assert!(
                !text.contains(secret.as_str()),
                "a secret ({} chars) appears in a response or log: {}",
                secret.len(),
                text.replace(secret.as_str(), "<SECRET>")
                    .chars()
                    .take(400)
                    .collect::<String>()
            );
        }
    }
    for text in seen.iter().chain(std::iter::once(&logs)) {
        assert!(
            !contains_token(text, DEFAULT_MFA_CODE),
            "the MFA code appears: {}",
            text.chars().take(400).collect::<String>()
        );
    }
}

fn slow_downloads(t: &WebTest) {
    t.emulator
        .set_fault(Fault::Delay(Duration::from_millis(150)).on(Target::Download(None)));
}

#[test]
fn the_json_api_flow_from_sign_in_to_disconnect() {
    let t = WebTest::start(
        EmulatorConfig::default_demo(),
        "max_downloads_per_run = 8\n",
        WebTest::config(),
    );
    t.add_user("ada", USER_PASSWORD, Role::User);
    let mut c = t.client();

    let login = c.login("ada", USER_PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json()["ok"], true);
    assert_eq!(login.json()["handle"], "ada");
    assert_eq!(login.json()["display_name"], "ada");
    let cookie = login.set_cookie().unwrap();
    assert!(cookie.starts_with("bincio_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: not Secure");
    assert_eq!(c.get("/api/me").json()["handle"], "ada");

    // Not accepted yet: 409 with the disclaimer.
    let refused = c.post_json(
        "/api/garmin/connect",
        json!({"email": MFA_EMAIL, "password": PASSWORD}),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    let d = refused.json()["disclaimer"].clone();
    let sha = d["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert!(d["version"].as_u64().unwrap() >= 1);
    assert!(d["markdown"].as_str().unwrap().len() > 100);
    assert!(
        t.host.db.connections().unwrap().is_empty(),
        "nothing connected"
    );
    let wrong = c.post_json(
        "/api/garmin/connect",
        json!({"email": MFA_EMAIL, "password": PASSWORD, "accept_disclaimer": "0".repeat(64)}),
    );
    assert_eq!(wrong.status, 409);

    // Accepted with its sha256: the MFA step.
    let step = c.post_json(
        "/api/garmin/connect",
        json!({"email": MFA_EMAIL, "password": PASSWORD, "accept_disclaimer": sha}),
    );
    assert_eq!(step.status, 200, "{}", step.body);
    let step = step.json();
    assert_eq!(step["mfa_required"], true, "{step}");
    let flow = step["flow"].as_str().unwrap().to_string();
    let connected = c.post_json(
        "/api/garmin/connect",
        json!({"flow": flow, "mfa_code": DEFAULT_MFA_CODE}),
    );
    assert_eq!(connected.status, 200, "{}", connected.body);
    assert_eq!(connected.json()["connected"], true);
    let id = ConnectionId::new(connected.json()["connection"].as_str().unwrap());
    assert_eq!(t.host.db.connection_owner(&id).unwrap().as_str(), "ada");

    let status = c.get("/api/garmin/status").json();
    assert_eq!(status["connected"], true);
    assert_eq!(status["last_sync"], serde_json::Value::Null);

    // A sync, followed by two clients: the second joins mid-run and sees
    // the same run from its start.
    slow_downloads(&t);
    let started = c.post_json("/api/garmin/sync", json!({}));
    assert_eq!(started.json()["started"], true, "{}", started.body);
    assert_eq!(
        c.post_json("/api/garmin/sync", json!({})).json()["already_running"],
        true
    );
    let mut second = t.client();
    second.login("ada", USER_PASSWORD);
    let mut joined = None;
    let first = c.read_stream("/api/garmin/sync/stream", |event| {
        if event["type"] == "progress" && event["n"] == 2 && joined.is_none() {
            joined = Some(second.read_stream("/api/garmin/sync/stream", |_| {}));
        }
    });
    let joined = joined.expect("the second client joined mid-run");
    assert_eq!(first, joined, "both clients saw the same run");
    assert_eq!(first[0], json!({"type": "fetching"}));
    let done = first.last().unwrap();
    assert_eq!(done["type"], "done", "{done}");
    let progress: Vec<_> = first.iter().filter(|e| e["type"] == "progress").collect();
    let imported = progress
        .iter()
        .filter(|e| e["status"] == "imported")
        .count() as u64;
    assert_eq!(done["imported"].as_u64().unwrap(), imported);
    assert!(imported > 0 && imported <= 8, "{imported}");
    for p in &progress {
        for key in ["n", "total", "name", "status", "garmin_id"] {
            assert!(!p[key].is_null(), "{key} in {p}");
        }
    }
    let run = t.host.db.last_run(&id).unwrap().unwrap();
    assert_eq!(
        run.counts.imported, imported,
        "the stream's count is the stored run's"
    );
    // A stream after the run replays it whole.
    assert_eq!(c.read_stream("/api/garmin/sync/stream", |_| {}), first);
    assert!(c.get("/api/garmin/status").json()["last_sync"].is_string());

    let store = t.data_dir().join("ada/activities");
    let files_before = std::fs::read_dir(&store).unwrap().count();
    assert!(files_before > 0);
    let secrets = stored_secrets(&t.host);
    assert_no_leaks(&t, &[]);

    let gone = c.post_json("/api/garmin/disconnect", json!({}));
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert!(gone.json()["message"]
        .as_str()
        .unwrap()
        .contains("Changing your Garmin password"));
    t.assert_disconnected(&id);
    assert_eq!(
        std::fs::read_dir(&store).unwrap().count(),
        files_before,
        "activities kept"
    );
    assert_eq!(c.get("/api/garmin/status").json()["connected"], false);

    let out = c.post_json("/api/auth/logout", json!({}));
    assert_eq!(out.status, 200);
    assert_eq!(c.get("/api/me").status, 401);
    assert_no_leaks(
        &t,
        &secrets
            .into_iter()
            .filter(|s| s.len() >= 16)
            .collect::<Vec<_>>(),
    );
}

/// Signs in through the form; answers the client with its CSRF token.
fn form_sign_in(t: &WebTest, handle: &str, password: &str) -> WebClient {
    let mut c = t.client();
    let page = c.get("/signin");
    for id in ["signin-form", "handle", "password", "signin-submit"] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let signed = c.post_form("/signin", &[("handle", handle), ("password", password)]);
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location(), "/settings/importers");
    c.fetch_csrf();
    c
}

#[test]
fn the_pages_flow_connect_with_mfa_sync_upload_disconnect() {
    let t = WebTest::start(
        EmulatorConfig::default_demo(),
        "max_downloads_per_run = 5\n",
        WebTest::config(),
    );
    t.add_user("ada", USER_PASSWORD, Role::User);
    let mut c = form_sign_in(&t, "ada", USER_PASSWORD);
    let plugin = "dev.bincio.garmin";

    let list = c.get("/settings/importers");
    assert_eq!(list.status, 200);
    assert!(list.body.contains("id=\"connect-garmin\""), "{}", list.body);
    let connect = c.get(&format!("/settings/importers/{plugin}/connect"));
    for id in ["disclaimer", "accept-disclaimer", "accept-submit"] {
        assert!(connect.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let sha = t
        .host
        .manager
        .loaded(plugin)
        .unwrap()
        .1
        .descriptor
        .disclaimer
        .sha256
        .clone();
    let accepted = c.post_form(
        &format!("/settings/importers/{plugin}/accept"),
        &[("sha256", &sha), ("accept", "yes")],
    );
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let form = c.get(&format!("/settings/importers/{plugin}/connect"));
    for id in [
        "connect-form",
        "field-email",
        "field-password",
        "connect-submit",
    ] {
        assert!(
            form.body.contains(&format!("id=\"{id}\"")),
            "{id}: {}",
            form.body
        );
    }
    assert!(form.body.contains("type=\"password\""));

    // A wrong password: the plugin's own message, nothing kept.
    let wrong = c.post_multipart(
        &format!("/settings/importers/{plugin}/connect"),
        &[("email", MFA_EMAIL), ("password", "not-the-password")],
        vec![],
    );
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"connect-error\""));
    assert!(t.host.db.connections().unwrap().is_empty());

    let step = c.post_multipart(
        &format!("/settings/importers/{plugin}/connect"),
        &[("email", MFA_EMAIL), ("password", PASSWORD)],
        vec![],
    );
    assert_eq!(step.status, 303, "{}", step.body);
    let step_url = step.location();
    assert!(step_url.contains("/step?flow="), "{step_url}");
    let mfa = c.get(&step_url);
    for id in ["mfa-form", "field-mfa_code", "mfa-submit"] {
        assert!(
            mfa.body.contains(&format!("id=\"{id}\"")),
            "{id}: {}",
            mfa.body
        );
    }
    let flow = step_url.split("flow=").nth(1).unwrap().to_string();
    let done = c.post_form(
        &format!("/settings/importers/{plugin}/step"),
        &[("flow", &flow), ("mfa_code", DEFAULT_MFA_CODE)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/settings/importers?done=connected");
    let id = t
        .host
        .db
        .connections_of(&bincio_state::UserHandle::parse("ada").unwrap())
        .unwrap()[0]
        .id
        .clone();

    slow_downloads(&t);
    let sync = c.post_form(&format!("/settings/importers/{plugin}/sync"), &[]);
    assert_eq!(sync.status, 303, "{}", sync.body);
    // A reload mid-run shows the run going, with the stream to follow.
    let mid = c.get("/settings/importers");
    assert!(mid.body.contains("data-running=\"true\""), "{}", mid.body);
    for id in [
        "sync-now-garmin",
        "progress-garmin",
        "count-imported-garmin",
        "disconnect-garmin",
    ] {
        assert!(mid.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(mid.body.contains("aria-live=\"polite\""));
    let events = c.read_stream(&format!("/settings/importers/{plugin}/stream"), |_| {});
    let last = events.last().unwrap();
    assert_eq!(last["type"], "done", "{last}");
    let imported = last["imported"].as_u64().unwrap();
    assert!(imported > 0);
    let after = c.get("/settings/importers");
    assert!(
        after
            .body
            .contains(&format!("id=\"count-imported-garmin\">{imported}<")),
        "{}",
        after.body
    );

    // Uploads: a FIT file and a zip holding two (one not an activity).
    let upload_page = c.get("/upload");
    for id in ["upload-form", "upload-files", "upload-submit"] {
        assert!(upload_page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    let fit = fixture("Activity.fit");
    let zip = zip_of(&[
        ("export/2013.fit", &fixture("2013-02-06-12-11-14.fit")),
        ("export/settings.fit", &fixture("Settings.fit")),
    ]);
    let uploaded = c.post_multipart(
        "/upload",
        &[],
        vec![("Activity.fit".into(), fit), ("export.zip".into(), zip)],
    );
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    assert!(uploaded.body.contains("id=\"upload-results\""));
    assert!(uploaded.body.contains("Activity.fit"), "{}", uploaded.body);
    assert!(
        uploaded.body.contains("export.zip/export/2013.fit"),
        "{}",
        uploaded.body
    );
    assert!(
        uploaded
            .body
            .contains("3 file(s): 2 imported, 0 already there, 1 rejected."),
        "{}",
        uploaded.body
    );
    assert!(
        !t.data_dir()
            .join(".uploads")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "temporary files removed"
    );

    let gone = c.post_form(&format!("/settings/importers/{plugin}/disconnect"), &[]);
    assert_eq!(gone.status, 303, "{}", gone.body);
    let page = c.get(&gone.location());
    assert!(
        page.body.contains("Changing your Garmin password"),
        "{}",
        page.body
    );
    assert!(t.host.vault.fields(&id).unwrap().is_empty());
    assert_no_leaks(&t, &[]);

    let out = c.post_form("/signout", &[]);
    assert_eq!(out.status, 303);
    assert_eq!(
        c.get("/settings/importers").status,
        303,
        "signed out: back to sign-in"
    );
}
