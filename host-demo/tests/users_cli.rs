//! `host-demo users ...` and `--user` as an operator runs them: passwords
//! from standard input only, the default user rule, the admin status view,
//! and a removal that leaves no secret of the user in the database or WAL.

use bincio_state::{SecretString, StateDb, UserHandle, Vault};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_host-demo");
const GARMIN: &str = "dev.bincio.garmin";

/// Runs host-demo in `dir` (an empty plugin.toml there) with `stdin`.
fn host_demo(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let config = dir.join("plugin.toml");
    if !config.exists() {
        std::fs::write(&config, "# no plugins\n").unwrap();
    }
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("BINCIO_HANDLE")
        .env_remove("BINCIO_MASTER_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("host-demo runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(output: Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "failed: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

fn err(output: Output) -> String {
    assert!(!output.status.success(), "succeeded unexpectedly");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn db(dir: &Path) -> StateDb {
    StateDb::open(&dir.join("data/state.sqlite3")).unwrap()
}

#[test]
fn users_are_added_with_a_password_from_stdin_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(host_demo(
        d,
        &["users", "add", "ada", "--admin", "--password-stdin"],
        "s3cret-pass\n",
    ));
    assert!(out.contains("Added user ada (admin)"), "{out}");
    ok(host_demo(
        d,
        &["users", "add", "bob", "--password-stdin"],
        "bob-pass\n",
    ));
    // No terminal and no --password-stdin: a clear refusal, nothing added.
    let refused = err(host_demo(d, &["users", "add", "cy"], ""));
    assert!(refused.contains("--password-stdin"), "{refused}");
    let bad = err(host_demo(
        d,
        &["users", "add", "Not Valid", "--no-password"],
        "",
    ));
    assert!(bad.contains("is not valid"), "{bad}");
    let list = ok(host_demo(d, &["users", "list"], ""));
    assert!(list.contains("ada") && list.contains("admin"), "{list}");
    assert!(list.contains("bob") && !list.contains("cy "), "{list}");
    let db = db(d);
    let hash = db
        .password_hash(&UserHandle::parse("ada").unwrap())
        .unwrap()
        .unwrap();
    assert!(bincio_state::verify_password(
        &hash,
        &SecretString::from("s3cret-pass")
    ));
    drop(db);
    ok(host_demo(
        d,
        &["users", "set-password", "ada", "--password-stdin"],
        "new-pass\n",
    ));
    let db2 = self::db(d);
    let hash = db2
        .password_hash(&UserHandle::parse("ada").unwrap())
        .unwrap()
        .unwrap();
    assert!(bincio_state::verify_password(
        &hash,
        &SecretString::from("new-pass")
    ));
    // The password is never on disk in clear.
    let file = std::fs::read(d.join("data/state.sqlite3")).unwrap();
    assert!(!file.windows(8).any(|w| w == b"new-pass"));
    drop(db2);
    ok(host_demo(d, &["users", "disable", "bob"], ""));
    let list = ok(host_demo(d, &["users", "list"], ""));
    assert!(list.contains("disabled since"), "{list}");
    let refused = err(host_demo(d, &["--user", "bob", "activities"], ""));
    assert!(refused.contains("disabled"), "{refused}");
}

#[test]
fn a_command_without_user_takes_the_only_one_or_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A new server: `me`, as before users existed.
    let out = ok(host_demo(d, &["activities"], ""));
    assert!(out.contains("0 activities"), "{out}");
    assert!(d.join("data/me").is_dir());
    ok(host_demo(d, &["users", "add", "zoe", "--no-password"], ""));
    let refused = err(host_demo(d, &["activities"], ""));
    assert!(refused.contains("several users (me, zoe)"), "{refused}");
    assert!(refused.contains("--user"), "{refused}");
    // --handle stays as the alias of --user.
    ok(host_demo(d, &["--handle", "zoe", "activities"], ""));
    assert!(d.join("data/zoe").is_dir());
    let unknown = err(host_demo(d, &["--user", "nobody", "activities"], ""));
    assert!(
        unknown.contains("no user \"nobody\"") && unknown.contains("me, zoe"),
        "{unknown}"
    );
}

#[test]
fn status_without_user_on_a_multi_user_server_groups_connections_by_user() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(host_demo(
        d,
        &["users", "add", "ada", "--admin", "--no-password"],
        "",
    ));
    ok(host_demo(d, &["users", "add", "bob", "--no-password"], ""));
    let db = db(d);
    let ada = db
        .create_connection_for(&UserHandle::parse("ada").unwrap(), GARMIN, 1)
        .unwrap();
    let bob = db
        .create_connection_for(&UserHandle::parse("bob").unwrap(), GARMIN, 2)
        .unwrap();
    drop(db);
    let out = ok(host_demo(d, &["status"], ""));
    let ada_at = out.find("user ada:").expect(&out);
    let bob_at = out.find("user bob:").expect(&out);
    let ada_conn = out.find(ada.as_str()).unwrap();
    let bob_conn = out.find(bob.as_str()).unwrap();
    assert!(
        ada_at < ada_conn && ada_conn < bob_at && bob_at < bob_conn,
        "{out}"
    );
    // One user's view shows only theirs.
    let theirs = ok(host_demo(d, &["--user", "bob", "status"], ""));
    assert!(
        theirs.contains(bob.as_str()) && !theirs.contains(ada.as_str()),
        "{theirs}"
    );
    // Disconnecting another user's connection is refused.
    let refused = err(host_demo(
        d,
        &["--user", "bob", "disconnect", ada.as_str()],
        "",
    ));
    assert!(refused.contains("belongs to user ada"), "{refused}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn users_remove_deletes_their_secrets_from_the_db_file_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(host_demo(d, &["users", "add", "ada", "--no-password"], ""));
    ok(host_demo(d, &["users", "add", "bob", "--no-password"], ""));
    let plaintext = "bob-garmin-password-XYZ-123";
    let (sealed, kept) = {
        let db = db(d);
        let vault = Vault::open_with_env_key(&d.join("data"), &db, None).unwrap();
        let bob = db
            .create_connection_for(&UserHandle::parse("bob").unwrap(), GARMIN, 1)
            .unwrap();
        let ada = db
            .create_connection_for(&UserHandle::parse("ada").unwrap(), GARMIN, 1)
            .unwrap();
        vault
            .put(&bob, GARMIN, "password", &SecretString::from(plaintext))
            .unwrap();
        vault
            .put(&ada, GARMIN, "password", &SecretString::from("ada-stays"))
            .unwrap();
        let raw = rusqlite::Connection::open(d.join("data/state.sqlite3")).unwrap();
        let sealed: Vec<u8> = raw
            .query_row(
                "SELECT sealed FROM secrets WHERE connection_id = ?1",
                [bob.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        (sealed, ada)
    };
    std::fs::create_dir_all(d.join("data/bob/activities")).unwrap();
    let files = || {
        let mut bytes = std::fs::read(d.join("data/state.sqlite3")).unwrap();
        bytes.extend(std::fs::read(d.join("data/state.sqlite3-wal")).unwrap_or_default());
        bytes
    };
    let tail = &sealed[sealed.len() - 16..];
    assert!(
        contains(&files(), tail),
        "the ciphertext should be on disk before"
    );
    let out = ok(host_demo(d, &["users", "remove", "bob"], ""));
    assert!(out.contains("1 connection(s)"), "{out}");
    assert!(
        d.join("data/bob").is_dir(),
        "activities stay without --delete-activities"
    );
    let on_disk = files();
    assert!(!contains(&on_disk, plaintext.as_bytes()));
    assert!(!contains(&on_disk, &sealed));
    assert!(
        !contains(&on_disk, tail),
        "part of the ciphertext is still on disk"
    );
    // Ada's secret is intact.
    let db = db(d);
    let vault = Vault::open_with_env_key(&d.join("data"), &db, None).unwrap();
    assert_eq!(
        vault
            .get(&kept, GARMIN, "password")
            .unwrap()
            .unwrap()
            .expose(),
        "ada-stays"
    );
    drop((vault, db));
    ok(host_demo(d, &["users", "add", "cy", "--no-password"], ""));
    std::fs::create_dir_all(d.join("data/cy/activities")).unwrap();
    ok(host_demo(
        d,
        &["users", "remove", "cy", "--delete-activities"],
        "",
    ));
    assert!(!d.join("data/cy").exists());
}
