//! Bad input on the web page: an oversized upload, a zip bomb, a zip entry
//! that climbs out of its folder, a file that is no FIT, malformed forms
//! and JSON, huge headers. Each gets a clear error page or JSON error (or
//! the file its rejection), and nothing is written outside the user's store
//! and the state database.

use bincio_state::Role;
use bincio_tests::web_server::{WebClient, WebTest};
use garmin_emulator::EmulatorConfig;
use host_demo::web::WebConfig;
use std::io::Write;
use std::path::PathBuf;

const PW: &str = "a-long-password";
const LIMIT: u64 = 256 * 1024;

fn server() -> (WebTest, WebClient) {
    let web = WebConfig {
        max_upload_bytes: LIMIT,
        ..WebTest::config()
    };
    let t = WebTest::start(EmulatorConfig::default_demo(), "", web);
    t.add_user("ada", PW, Role::User);
    let mut c = t.client();
    c.login("ada", PW);
    (t, c)
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

fn activity() -> Vec<u8> {
    std::fs::read(bincio_tests::workspace_root().join("../shared/fixtures/fit/Activity.fit"))
        .unwrap()
}

/// The files written since `before`, outside ada's store and the state db.
fn written_outside_the_store(t: &WebTest, before: &[PathBuf]) -> Vec<PathBuf> {
    t.files()
        .into_iter()
        .filter(|p| !before.contains(p))
        // The store, its one-writer lock file, the state database.
        .filter(|p| !p.starts_with("ada") && p != &PathBuf::from(".ada.lock"))
        .filter(|p| !p.to_string_lossy().starts_with("state.sqlite3"))
        .collect()
}

#[test]
fn an_oversized_upload_is_refused_whole() {
    let (t, mut c) = server();
    let before = t.files();
    let big = vec![7u8; (LIMIT as usize) * 3];
    let page = c.post_multipart("/upload", &[], vec![("big.fit".into(), big.clone())]);
    assert_eq!(page.status, 413, "{}", page.body);
    assert!(
        page.body
            .contains("larger than this server accepts (0 MiB)")
            || page.body.contains("larger than this server accepts"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"error-message\""));
    let api = c.post_multipart("/api/upload", &[], vec![("big.fit".into(), big)]);
    assert_eq!(api.status, 413);
    assert!(api.json()["error"]
        .as_str()
        .unwrap()
        .contains("nothing of it was imported"));
    assert!(
        written_outside_the_store(&t, &before).is_empty(),
        "{:?}",
        written_outside_the_store(&t, &before)
    );
    assert!(
        !t.data_dir().join("ada/index.json").exists(),
        "nothing imported"
    );
    // Just under the limit goes through (and is rejected as no FIT).
    let fits = c.post_multipart(
        "/api/upload",
        &[],
        vec![("small.fit".into(), vec![1u8; (LIMIT as usize) - 1024])],
    );
    assert_eq!(fits.status, 200, "{}", fits.body);
}

#[test]
fn bombs_traversal_and_non_fit_files_are_rejected_each_with_its_reason() {
    let (t, mut c) = server();
    let before = t.files();
    let bomb = zip_of(&[("bomb.fit", &vec![0u8; 20 << 20])]);
    assert!(
        bomb.len() < LIMIT as usize,
        "the bomb fits the upload limit: {}",
        bomb.len()
    );
    let climbing = zip_of(&[("../../../outside.fit", &activity())]);
    let answer = c.post_multipart(
        "/api/upload",
        &[],
        vec![
            ("bomb.zip".into(), bomb),
            ("climb.zip".into(), climbing),
            ("notes.txt".into(), b"not a FIT file at all".to_vec()),
            ("../../../escape.fit".into(), activity()),
        ],
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let files = answer.json()["files"].as_array().unwrap().clone();
    let find = |needle: &str| {
        files
            .iter()
            .find(|f| f["name"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {files:?}"))
            .clone()
    };
    let bomb = find("bomb");
    assert_eq!(bomb["outcome"], "rejected");
    assert!(
        bomb["detail"]
            .as_str()
            .unwrap()
            .contains("times its packed size"),
        "{bomb}"
    );
    let notes = find("notes.txt");
    assert_eq!(notes["outcome"], "rejected", "{notes}");
    // The climbing entry is read from the archive, never written by its name.
    let climbed = find("outside.fit");
    assert_eq!(climbed["outcome"], "imported", "{climbed}");
    let escape = find("escape.fit");
    assert_eq!(
        escape["name"], "escape.fit",
        "the upload's name is cut to its last part"
    );
    assert_eq!(escape["outcome"], "duplicate");
    assert!(
        written_outside_the_store(&t, &before).is_empty(),
        "{:?}",
        written_outside_the_store(&t, &before)
    );
    let root = t.data_dir().parent().unwrap();
    assert!(!root.join("outside.fit").exists() && !root.join("escape.fit").exists());
}

#[test]
fn malformed_forms_and_json_get_clear_errors() {
    let (t, mut c) = server();
    let before = t.files();
    let form = c
        .http
        .post(c.url("/signin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("handle=%%%");
    let answer = c.send(form);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("the sign-in form was malformed"),
        "{}",
        answer.body
    );

    let bad_json = c
        .http
        .post(c.url("/api/garmin/connect"))
        .header("content-type", "application/json")
        .header("x-csrf-token", c.csrf.clone().unwrap())
        .body("{\"email\": ");
    let answer = c.send(bad_json);
    assert_eq!(answer.status, 400);
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .contains("JSON body is not valid"));
    let login = c
        .http
        .post(c.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body("[1,2]");
    assert_eq!(c.send(login).status, 400);

    let broken = c
        .http
        .post(c.url("/upload"))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc");
    let answer = c.send(broken);
    assert!(
        matches!(answer.status, 400 | 403),
        "{}: {}",
        answer.status,
        answer.body
    );
    let no_boundary = c
        .http
        .post(c.url("/upload"))
        .header("content-type", "multipart/form-data")
        .body("x");
    let answer = c.send(no_boundary);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.body.contains("malformed"));
    assert!(written_outside_the_store(&t, &before).is_empty());
}

#[test]
fn huge_headers_are_refused_with_a_clear_answer() {
    let (_t, mut c) = server();
    let big = c
        .http
        .get(c.url("/settings/importers"))
        .header("x-filler", "a".repeat(20 * 1024));
    let answer = c.send(big);
    assert_eq!(answer.status, 431, "{}", answer.body);
    assert!(answer
        .body
        .contains("headers are larger than this server accepts"));
    // Far beyond: the HTTP layer refuses before any handler runs.
    let huge = c
        .http
        .get(c.url("/api/me"))
        .header("x-filler", "a".repeat(2 * 1024 * 1024));
    match huge.send() {
        Ok(r) => assert!(
            r.status().as_u16() == 431 || r.status().is_client_error(),
            "{}",
            r.status()
        ),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
    assert_eq!(c.get("/api/me").status, 200, "the server goes on");
}

#[test]
fn an_upload_holds_at_most_max_files() {
    let (t, mut c) = server();
    let before = t.files();
    let max = host_demo::web::upload::MAX_FILES;
    let many = |n: usize| {
        (0..n)
            .map(|i| (format!("{i}.fit"), vec![1u8; 8]))
            .collect::<Vec<_>>()
    };
    let refused = c.post_multipart("/api/upload", &[], many(max + 1));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("at most 1000 files"));
    assert!(written_outside_the_store(&t, &before).is_empty());
    let taken = c.post_multipart("/api/upload", &[], many(max));
    assert_eq!(taken.status, 200, "{}", taken.body);
    assert_eq!(taken.json()["files"].as_array().unwrap().len(), max);
}
