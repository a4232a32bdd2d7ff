//! The host's own ground (issue 11, points 8, 10, 11): private permissions
//! for the data dir and the state database, a foreign SQLite file refused
//! untouched, a failed run's record saying what it committed, a hostile
//! `--handle` refused before any file is touched, and a `library` that is a
//! directory or a device named as such.

use bincio_state::ConnectionId;
use bincio_tests::harness::{TestHost, PASSWORD, PLUGIN};
use bincio_tests::{logs, plugin_libraries, write_plugin_toml, Entry};
use garmin_emulator::{synthetic_activities, Account, EmulatorConfig, Fault, Target};
use host_demo::host::Host;
use host_demo::plugins::PluginManager;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use time::OffsetDateTime;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn empty_config(dir: &Path) -> std::path::PathBuf {
    write_plugin_toml(dir, &[])
}

#[test]
fn the_data_dir_and_the_state_database_are_private_from_creation() {
    logs::capture();
    let root = tempfile::tempdir().unwrap();
    let config = empty_config(root.path());
    let data = root.path().join("fresh/data");
    let _host = Host::open(&config, &data, "me").unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("state.sqlite3")), 0o600);
    for sidecar in ["state.sqlite3-wal", "state.sqlite3-shm"] {
        let path = data.join(sidecar);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{sidecar}");
        }
    }

    // An existing, looser directory and database are tightened, with a warning.
    let loose = root.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(Host::open(&config, &loose, "me").unwrap());
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        loose.join("state.sqlite3"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let before = logs::text().len();
    let _host = Host::open(&config, &loose, "me").unwrap();
    assert_eq!(mode(&loose), 0o700);
    assert_eq!(mode(&loose.join("state.sqlite3")), 0o600);
    let log = &logs::text()[before..];
    assert!(
        log.contains("WARN") && log.contains("tightened to 700"),
        "{log}"
    );
    assert!(log.contains("tightened to 600"), "{log}");
}

#[test]
fn a_foreign_sqlite_file_is_refused_untouched_and_said_once() {
    let root = tempfile::tempdir().unwrap();
    let config = empty_config(root.path());
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db_path = data.join("state.sqlite3");
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine');")
            .unwrap();
    }
    let error = Host::open(&config, &data, "me").err().expect("refused");
    let text = error.to_string();
    assert!(
        text.contains("not a BincioActivity state database"),
        "{text}"
    );
    assert!(text.contains("notes"), "{text}");
    let db = rusqlite::Connection::open(&db_path).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, vec!["notes".to_string()], "nothing of ours written");
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 0);

    let output = Command::new(&plugin_libraries().host_demo)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .arg("status")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        all.matches("not a BincioActivity state database").count(),
        1,
        "{all}"
    );
    assert!(!all.contains("CREATE TABLE"), "{all}");
}

#[test]
fn a_failed_run_records_what_it_committed() {
    let email = "many@example.com";
    let activities = synthetic_activities(
        6,
        OffsetDateTime::now_utc() - Duration::from_secs(3600),
        Duration::from_secs(6 * 3600),
    );
    let mut ids: Vec<(OffsetDateTime, u64)> = activities.iter().map(|a| (a.start, a.id)).collect();
    ids.sort();
    ids.reverse();
    let t = TestHost::start(
        EmulatorConfig::empty()
            .with_account(Account::new(email, PASSWORD).with_activities(activities)),
        "",
    );
    let connection = match t.connect(email, PASSWORD).unwrap() {
        host_demo::host::ConnectOutcome::Connected { connection, .. } => connection,
        other => panic!("{other:?}"),
    };
    // The third newest download hits dead tokens that cannot be refreshed:
    // the run fails after committing the two before it.
    t.emulator
        .set_fault(Fault::TokenNotActive.on(Target::Download(Some(ids[2].1))));
    t.emulator
        .set_fault(Fault::InvalidGrant.on(Target::Refresh));
    t.emulator
        .set_fault(Fault::InvalidCredentials.on(Target::Login));
    let report = t.sync(connection.as_str());
    assert!(report.result.is_err(), "{:?}", report.result);
    let ledger = t
        .host
        .db
        .ledger_entries(PLUGIN)
        .unwrap()
        .into_iter()
        .filter(|e| e.connection_id.as_ref() == Some(&connection))
        .count() as u64;
    assert!(ledger >= 1, "something was committed before the failure");
    let run = t
        .host
        .db
        .last_run(&ConnectionId::new(connection.as_str()))
        .unwrap()
        .unwrap();
    assert_eq!(run.counts.imported, ledger, "{run:?}");
}

#[test]
fn a_hostile_handle_is_refused_before_any_file_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let config = empty_config(root.path());
    let data = root.path().join("a/data");
    for command in [&["status"][..], &["activities"], &["import", "nothing.fit"]] {
        let output = Command::new(&plugin_libraries().host_demo)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--handle", "x/../../victim"])
            .args(command)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{command:?}");
        assert!(stderr.contains("not a BincioActivity handle"), "{stderr}");
        let mut found = Vec::new();
        for entry in walk(root.path()) {
            found.push(entry);
        }
        assert_eq!(
            found,
            vec![config.clone()],
            "{command:?}: nothing but plugin.toml exists"
        );
    }
    for bad in ["", "Me", "me/x", "..", "me\n", &"a".repeat(65)] {
        assert!(host_demo::host::validate_handle(bad).is_err(), "{bad:?}");
    }
    for good in ["me", "anna-2", "x_y"] {
        host_demo::host::validate_handle(good).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push(path.clone());
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_library_that_is_a_directory_or_a_device_is_named_as_such() {
    let root = tempfile::tempdir().unwrap();
    for (library, needle) in [
        (root.path().to_path_buf(), "is a directory"),
        (Path::new("/dev/zero").to_path_buf(), "not a regular file"),
        (root.path().join("missing.so"), "does not exist"),
    ] {
        let config = write_plugin_toml(
            root.path(),
            &[Entry {
                id: PLUGIN,
                library: &library,
                enabled: true,
                settings: "",
            }],
        );
        let manager = PluginManager::load(&config).unwrap();
        let label = manager.entries[0].status.label();
        assert!(label.contains(needle), "{library:?}: {label}");
    }
}
