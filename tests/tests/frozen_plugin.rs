//! The frozen plugin: built against a snapshot of host-api as it was at API
//! level 1 (`tests/plugins/frozen-v1`, never edited), it must keep loading,
//! connecting and syncing through the real loader as host-api grows. It also
//! shows the generic host knows no Garmin: its account field is `account`,
//! not `email`, and cooldown messages name it.

use bincio_state::SecretString;
use bincio_tests::store_check::{check_store, shared_fixtures};
use bincio_tests::{frozen_v1_library, write_plugin_toml, Entry};
use host_demo::host::{ConnectOutcome, Host, HostError, SyncOptions};

const ID: &str = "test.frozen-v1";

fn open_host(dir: &std::path::Path) -> Host {
    let fit = shared_fixtures().join("fit/Activity.fit");
    let settings = format!("fit_file = {:?}", fit.display().to_string());
    let config = write_plugin_toml(
        dir,
        &[Entry {
            id: ID,
            library: frozen_v1_library(),
            enabled: true,
            settings: &settings,
        }],
    );
    let host = Host::open(&config, dir, "me").expect("host opens");
    host.accept_disclaimer(ID).expect("accept disclaimer");
    host
}

fn connect(host: &Host, account: &str) -> Result<ConnectOutcome, HostError> {
    host.begin_connect(
        ID,
        vec![
            ("account".into(), SecretString::new(account.into())),
            ("token".into(), SecretString::new("t0ken-value".into())),
        ],
    )
}

#[test]
fn the_frozen_api_level_1_plugin_loads_connects_and_syncs_into_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_host(dir.path());
    let (_, plugin) = host.manager.loaded(ID).expect("the frozen plugin loads");
    assert_eq!(plugin.descriptor.api_level, 1);
    // A host whose newest root is level 2 refuses it at that level and loads
    // it at level 1, driven without a request budget or instance services.
    assert_eq!(plugin.module.level(), 1);
    assert!(plugin.module.request_budget().is_none());
    assert!(plugin.module.create_with_services().is_none());
    assert_eq!(
        plugin.descriptor.account_field().map(|f| f.key.as_str()),
        Some("account")
    );

    let connection = match connect(&host, "alice").expect("connects") {
        ConnectOutcome::Connected {
            connection,
            account_id,
            ..
        } => {
            assert_eq!(account_id, "alice");
            connection
        }
        other => panic!("expected Connected, got {other:?}"),
    };

    // The token went into the vault through SecretStore; sync needs it.
    let report = host
        .sync_connection(connection.as_str(), SyncOptions::default())
        .expect("sync runs");
    let summary = report.result.expect("the sync succeeds");
    assert_eq!((summary.listed, summary.imported), (1, 1), "{summary:?}");
    let ids = check_store(&dir.path().join("me")).expect("a valid BAS store");
    assert_eq!(ids.len(), 1, "one activity stored: {ids:?}");

    // The ledger answers `contains` for the next run: held, not imported twice.
    let again = host
        .sync_connection(connection.as_str(), SyncOptions::default())
        .expect("sync runs")
        .result
        .expect("the second sync succeeds");
    assert_eq!((again.imported, again.already_there), (0, 1), "{again:?}");
}

#[test]
fn login_cooldowns_follow_the_field_the_plugin_marks_and_name_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_host(dir.path());
    // The frozen plugin answers a rate limit for accounts named slow-...
    match connect(&host, "slow-bob") {
        Err(HostError::PluginCall(e)) => assert_eq!(e.kind, host_api::ErrorKind::RATE_LIMITED),
        other => panic!("expected the rate limit, got {other:?}"),
    }
    let cooling = connect(&host, "Slow-Bob ").expect_err("the same account waits");
    assert!(
        matches!(cooling, HostError::CoolingDown { .. }),
        "{cooling:?}"
    );
    let message = cooling.to_string();
    assert!(
        message.contains("Frozen API level 1 plugin asked us to slow down"),
        "{message}"
    );
    assert!(!message.contains("Garmin"), "{message}");
    // Another account of the same plugin is not held back by bob's limit.
    assert!(
        matches!(
            connect(&host, "carol"),
            Ok(ConnectOutcome::Connected { .. })
        ),
        "a different account connects"
    );
}
