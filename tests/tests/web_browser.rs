//! The web settings page in a real browser: headless Chromium (Debian's, driven over WebDriver)
//! against the in-process server, the real Garmin plugin library and the emulator over loopback,
//! through a proxy that records every answer the browser got. A new user signs in, reads and
//! accepts the disclaimer, connects an MFA account typing the code, follows a long sync live
//! (reloading mid-run: the same run), sees the imported count, uploads a FIT file and a zip,
//! disconnects. Each page is screenshotted into target/screenshots/ (into docs/screenshots/,
//! which the README shows, with BINCIO_UPDATE_SCREENSHOTS=1); no answer, header or log line
//! holds the Garmin password, a token or the MFA code.

use bincio_state::{ConnectionId, ConnectionStatus, Role, UserHandle};
use bincio_tests::browser::proxy::RecordingProxy;
use bincio_tests::browser::{find_secrets, Browser, Secret, PAGE_WAIT, PHONE};
use bincio_tests::store_check::{check_store, shared_fixtures};
use bincio_tests::web_server::{stored_secrets, WebTest};
use garmin_emulator::{synthetic_activities, Account, EmulatorConfig, Fault, Target};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const HANDLE: &str = "ada";
const USER_PASSWORD: &str = "ada-browser-password-1";
const GARMIN_EMAIL: &str = "rider@example.com";
/// Distinctive, so the leak search cannot miss it inside other text.
const GARMIN_PASSWORD: &str = "Garmin-Pw-7q9XkLm2";
/// Not the emulator's default code: the test reads this one from the account it made.
const MFA_CODE: &str = "480217";
/// Enough activities, each download slowed, for a sync that lasts seconds: the page can be
/// watched and reloaded while it runs.
const ACTIVITIES: usize = 36;
const DOWNLOAD_DELAY: Duration = Duration::from_millis(350);
const PLUGIN: &str = "dev.bincio.garmin";

/// `target/screenshots/` on every run (look at them there); `docs/screenshots/`, the README's,
/// when `BINCIO_UPDATE_SCREENSHOTS=1`, so a test run does not leave the checkout modified.
fn screenshots() -> PathBuf {
    let root = bincio_tests::workspace_root();
    let dir = match std::env::var("BINCIO_UPDATE_SCREENSHOTS").as_deref() {
        Ok("1") => root.join("docs/screenshots"),
        _ => std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), PathBuf::from)
            .join("screenshots"),
    };
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

async fn shot(browser: &Browser, name: &str) {
    browser
        .screenshot(&screenshots().join(format!("{name}.png")))
        .await;
}

fn rider() -> Account {
    let newest = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    Account {
        display_name: "browser-rider".into(),
        ..Account::new(GARMIN_EMAIL, GARMIN_PASSWORD)
    }
    .with_mfa(MFA_CODE)
    .with_activities(synthetic_activities(
        ACTIVITIES,
        newest,
        Duration::from_secs(3 * 3600),
    ))
}

/// A zip like a Garmin export: one activity and one settings file (not an activity).
fn export_zip(dir: &Path) -> PathBuf {
    use std::io::Write;
    let fit = shared_fixtures().join("fit");
    let path = dir.join("garmin-export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("zip file"));
    for (entry, file) in [
        ("export/2013.fit", "2013-02-06-12-11-14.fit"),
        ("export/settings.fit", "Settings.fit"),
    ] {
        zip.start_file(entry, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        zip.write_all(&std::fs::read(fit.join(file)).expect("fixture"))
            .expect("zip write");
    }
    zip.finish().expect("zip written");
    path
}

/// The items of the live progress list, as the page shows them.
async fn progress_items(browser: &Browser) -> Vec<String> {
    let list = browser.by_id("progress-items-garmin").await;
    let mut out = Vec::new();
    for li in list
        .find_all(fantoccini::Locator::Css("li"))
        .await
        .expect("items")
    {
        out.push(li.text().await.unwrap_or_default());
    }
    out
}

#[test]
fn a_new_user_connects_with_mfa_follows_a_sync_uploads_and_disconnects_in_chromium() {
    let account = rider();
    let mfa_code = account.mfa_code.clone().expect("an MFA account");
    let t = WebTest::start(
        EmulatorConfig::empty().with_account(account),
        "max_downloads_per_run = 100\n",
        WebTest::config(),
    );
    t.add_user(HANDLE, USER_PASSWORD, Role::User);
    let proxy = RecordingProxy::start(&t.base).expect("the recording proxy starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let files = tempfile::tempdir().expect("a folder for the upload");
    let zip = export_zip(files.path());

    let mut secrets_seen = BTreeSet::new();
    runtime.block_on(async {
        let browser = Browser::start().await;
        let b = &browser;
        let base = proxy.url();

        // Signing in: a new user lands on the sign-in page.
        b.goto(&format!("{base}/settings/importers")).await;
        assert!(
            b.current_url().await.ends_with("/signin"),
            "sent to sign in"
        );
        assert_eq!(b.client.title().await.unwrap(), "Sign in · BincioActivity");
        shot(b, "01-sign-in").await;
        b.type_into("handle", HANDLE).await;
        b.type_into("password", USER_PASSWORD).await;
        b.click("signin-submit").await;
        assert_eq!(b.text("status-garmin").await, "Not connected.");
        assert!(b.current_url().await.ends_with("/settings/importers"));

        // The disclaimer, read and accepted.
        b.click("connect-garmin").await;
        let disclaimer = b.text("disclaimer").await;
        let descriptor = t.host.manager.loaded(PLUGIN).unwrap().1.descriptor.clone();
        assert!(
            disclaimer.contains(&descriptor.disclaimer.title),
            "{disclaimer}"
        );
        assert!(
            disclaimer.contains("Disconnect"),
            "it says how to leave: {disclaimer}"
        );
        shot(b, "02-disclaimer").await;
        b.click("accept-disclaimer").await;
        b.click("accept-submit").await;

        // The connect form from the plugin's fields; the password not echoed.
        assert_eq!(
            b.attr("field-password", "type").await.as_deref(),
            Some("password")
        );
        assert_eq!(
            b.attr("field-email", "type").await.as_deref(),
            Some("email")
        );
        let ada = UserHandle::parse(HANDLE).unwrap();
        assert_eq!(
            t.host.disclaimer_state_for(&ada, PLUGIN).unwrap(),
            host_demo::host::DisclaimerState::Accepted,
            "the acceptance is recorded"
        );
        let form = b.text("connect-form").await;
        assert!(
            form.contains("(instead of a password, optional)"),
            "one pair of brackets: {form}"
        );
        // A token file may stand in for the password, so the page requires
        // neither; the server says when both are missing.
        assert_eq!(b.attr("field-password", "required").await, None);
        assert!(b.attr("field-email", "required").await.is_some());
        assert!(form.contains("(or a token file below)"), "{form}");
        let connect_page = b.current_url().await;
        b.type_into("field-email", GARMIN_EMAIL).await;
        b.click("connect-submit").await;
        let refused = b.text("connect-error").await;
        assert!(refused.contains("password is required"), "{refused}");
        b.goto(&connect_page).await;
        b.type_into("field-email", GARMIN_EMAIL).await;
        b.type_into("field-password", GARMIN_PASSWORD).await;
        shot(b, "03-connect").await;
        b.click("connect-submit").await;

        // The MFA step on its own page: the code typed.
        b.by_id("mfa-form").await;
        assert_eq!(
            b.client.title().await.unwrap(),
            "Verification code · BincioActivity"
        );
        let pending: Vec<ConnectionStatus> = t
            .host
            .db
            .connections()
            .unwrap()
            .iter()
            .map(|c| c.status)
            .collect();
        assert_eq!(
            pending,
            vec![ConnectionStatus::Pending],
            "not connected before the code"
        );
        assert!(
            b.attr("field-mfa_code", "required").await.is_some(),
            "the step needs its code"
        );
        assert_eq!(
            b.text("mfa-form").await.lines().next(),
            Some("Garmin MFA code")
        );
        b.type_into("field-mfa_code", &mfa_code).await;
        shot(b, "04-mfa").await;
        b.click("mfa-submit").await;
        let notice = b.text("notice").await;
        assert!(notice.starts_with("Connected."), "{notice}");
        assert_eq!(b.text("account-garmin").await, "browser-rider");
        let id: ConnectionId = t.host.db.connections_of(&ada).unwrap()[0].id.clone();
        secrets_seen.extend(stored_secrets(&t.host));

        // A long sync, followed live; a reload mid-run shows the same run.
        t.emulator
            .set_fault(Fault::Delay(DOWNLOAD_DELAY).on(Target::Download(None)));
        b.click("sync-now-garmin").await;
        b.wait_for_text("count-imported-garmin", PAGE_WAIT, |n| {
            n.parse::<u64>().is_ok_and(|n| n >= 3)
        })
        .await;
        assert_eq!(b.text("run-state-garmin").await, "Sync running…");
        let before = progress_items(b).await;
        assert!(before.len() >= 3, "{before:?}");
        shot(b, "05-sync-running").await;
        b.client.refresh().await.expect("reload");
        assert_eq!(
            b.attr("card-garmin", "data-running").await.as_deref(),
            Some("true"),
            "the run goes on after the reload"
        );
        b.wait_for_text("count-imported-garmin", PAGE_WAIT, |n| {
            n.parse::<usize>().is_ok_and(|n| n > before.len())
        })
        .await;
        let after = progress_items(b).await;
        // Newest item first: what was shown before the reload is the tail after it.
        assert!(
            after.ends_with(&before),
            "the same run: {before:?} then {after:?}"
        );
        let done = b
            .wait_for_text("run-state-garmin", Duration::from_secs(120), |s| {
                s.starts_with("Sync finished")
            })
            .await;
        assert_eq!(done, "Sync finished.");
        assert_eq!(
            b.text("last-outcome-garmin").await,
            "succeeded",
            "the status follows the run's end"
        );
        let imported = b.text("count-imported-garmin").await;
        assert_eq!(imported, ACTIVITIES.to_string());
        assert_eq!(progress_items(b).await.len(), ACTIVITIES);
        let run = t.host.db.last_run(&id).unwrap().expect("a run");
        assert_eq!(run.counts.imported, ACTIVITIES as u64, "{run:?}");
        let store = t.data_dir().join(HANDLE);
        assert_eq!(
            check_store(&store).expect("a valid store").len(),
            ACTIVITIES
        );
        shot(b, "06-sync-done").await;
        let width = b
            .phone_screenshot(&screenshots().join("09-phone-importers.png"))
            .await;
        assert_eq!(
            width,
            u64::from(PHONE.0),
            "the page laid out at a phone's width"
        );
        secrets_seen.extend(stored_secrets(&t.host));

        // Uploads: a FIT file and a zip, each file's outcome on the page.
        b.click_link("Upload files").await;
        // chromedriver takes canonical paths only.
        let fit = shared_fixtures()
            .join("fit/Activity.fit")
            .canonicalize()
            .expect("the fixture");
        let zip = zip.canonicalize().expect("the zip");
        b.type_into(
            "upload-files",
            &format!("{}\n{}", fit.display(), zip.display()),
        )
        .await;
        b.click("upload-submit").await;
        let summary = b.text("upload-summary").await;
        assert_eq!(
            summary,
            "3 file(s): 2 imported, 0 already there, 1 rejected."
        );
        let results = b.text("upload-results").await;
        for name in [
            "Activity.fit",
            "garmin-export.zip/export/2013.fit",
            "garmin-export.zip/export/settings.fit",
        ] {
            assert!(results.contains(name), "{name} in {results}");
        }
        assert!(
            results.contains("not an activity"),
            "the rejection's reason: {results}"
        );
        let data_dir = t.data_dir().display().to_string();
        assert!(
            !results.contains(".uploads") && !results.contains(&data_dir),
            "no server path on the page: {results}"
        );
        shot(b, "07-upload-result").await;
        assert_eq!(check_store(&store).unwrap().len(), ACTIVITIES + 2);

        // Disconnect: the message, the credentials gone, the activities kept.
        b.click_link("Importers").await;
        b.click("disconnect-garmin").await;
        let notice = b.text("notice").await;
        assert!(
            notice.contains("Changing your Garmin password is the only way"),
            "{notice}"
        );
        assert_eq!(b.text("status-garmin").await, "Not connected.");
        shot(b, "08-disconnected").await;
        t.assert_disconnected(&id);
        assert_eq!(
            check_store(&store).unwrap().len(),
            ACTIVITIES + 2,
            "activities kept"
        );

        assert_the_search_sees_what_the_browser_got(b, &proxy, &id).await;
        browser.close().await;
    });

    // No secret in anything the browser got or the process logged.
    let mut secrets: Vec<Secret> = secrets_seen
        .into_iter()
        .filter(|s| s != GARMIN_EMAIL)
        .map(Secret::Exact)
        .collect();
    assert!(
        secrets.len() >= 3,
        "the vault held the password and the tokens: {} values",
        secrets.len()
    );
    secrets.push(Secret::Exact(GARMIN_PASSWORD.into()));
    secrets.push(Secret::Token(MFA_CODE.into()));
    let responses = proxy.responses();
    assert!(responses.len() > 20, "{} answers recorded", responses.len());
    let mut leaks = find_secrets("answer", &responses, &secrets);
    leaks.extend(find_secrets("log", &[bincio_tests::logs::text()], &secrets));
    assert!(
        leaks.is_empty(),
        "secrets reached the browser or a log:\n{}",
        leaks.join("\n")
    );
}

/// The search reads bodies, event streams, headers and log lines: values that are there by
/// design (the page's CSRF token, the session cookie, an event of the run, the connection in
/// the log) are each found by the same function the leak check uses.
async fn assert_the_search_sees_what_the_browser_got(
    b: &Browser,
    proxy: &RecordingProxy,
    connection: &ConnectionId,
) {
    let responses = proxy.responses();
    let csrf = b
        .client
        .find(fantoccini::Locator::Css("input[name=csrf]"))
        .await
        .expect("a form's CSRF field")
        .attr("value")
        .await
        .unwrap()
        .expect("a CSRF value");
    let cookie = b
        .client
        .get_named_cookie("bincio_session")
        .await
        .expect("the session cookie")
        .value()
        .to_string();
    let event = "\"type\":\"done\"".to_string();
    for (what, value) in [
        ("a page body", csrf),
        ("a Set-Cookie header", cookie),
        ("an event stream", event),
    ] {
        assert!(
            !find_secrets("answer", &responses, &[Secret::Exact(value)]).is_empty(),
            "the recording holds {what}"
        );
    }
    assert!(
        !find_secrets(
            "log",
            &[bincio_tests::logs::text()],
            &[Secret::Exact(connection.as_str().to_string())]
        )
        .is_empty(),
        "the log holds the connection's lines"
    );
}
