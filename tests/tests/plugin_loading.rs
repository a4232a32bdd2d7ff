//! The real plugin libraries loaded through the host's real loader: the Garmin
//! plugin's descriptor, and every kind of broken plugin or config, each with
//! an error that names the plugin and the cause while the others stay usable.

use bincio_tests::{plugin_libraries, write_plugin_toml, Entry};
use host_demo::plugins::{LoadError, PluginManager, PluginStatus};
use std::path::Path;

fn entry<'a>(id: &'a str, library: &'a Path) -> Entry<'a> {
    Entry {
        id,
        library,
        enabled: true,
        settings: "",
    }
}

fn failure<'a>(manager: &'a PluginManager, id: &str) -> &'a LoadError {
    match &manager.entry(id).unwrap().status {
        PluginStatus::Failed(e) => e,
        other => panic!("{id} should have failed, is {other:?}"),
    }
}

fn assert_garmin_usable(manager: &PluginManager) {
    let (_, garmin) = manager
        .loaded("dev.bincio.garmin")
        .expect("garmin stays loaded");
    assert_eq!(garmin.descriptor.name, "Garmin Connect");
}

#[test]
fn the_garmin_plugin_loads_and_describes_itself() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(dir.path(), &[entry("dev.bincio.garmin", &libs.garmin)]);
    let manager = PluginManager::load(&config).unwrap();
    let (_, plugin) = manager.loaded("dev.bincio.garmin").unwrap();
    let d = &plugin.descriptor;
    assert_eq!(d.api_level, host_api::API_LEVEL);
    // Built by the kit at root layout level 2: it declares its request budget
    // and takes the host's gate at creation.
    assert_eq!(plugin.module.level(), 2);
    let budget = plugin
        .module
        .request_budget()
        .expect("level 2 has a budget")();
    assert_eq!(
        budget.into_option(),
        Some(host_api::RequestBudget::per_minute(30, 5))
    );
    assert!(plugin.module.create_with_services().is_some());
    let keys: Vec<&str> = d.credential_fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["email", "password", "mfa_code", "garmin_tokens"]);
    let password = d.credential_field("password").unwrap();
    assert!(password.kind.is_secret() && password.required && password.persist);
    let mfa = d.credential_field("mfa_code").unwrap();
    assert!(!mfa.persist && !mfa.required);
    for key in [
        "sso_base_url",
        "connectapi_base_url",
        "diauth_base_url",
        "web_service_base_url",
        "max_downloads_per_run",
        "lookback_days",
        "request_pacing_ms",
    ] {
        let field = d
            .settings_fields
            .iter()
            .find(|f| f.key == key)
            .unwrap_or_else(|| panic!("setting {key}"));
        assert!(field.default_value.is_some(), "{key} has a default");
    }
    assert!(d
        .disclaimer
        .markdown
        .contains("Change your Garmin Connect password"));
    assert_eq!(d.disclaimer.sha256.len(), 64);
    assert!(d.min_interval <= d.default_interval);
}

#[test]
fn two_plugins_from_one_interface_are_not_confused() {
    // abi_stable's load_from_file would hand the second the first's module.
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("dev.bincio.garmin", &libs.garmin),
            entry("test.faulty", &libs.faulty),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    assert_eq!(
        manager.loaded("test.faulty").unwrap().1.descriptor.name,
        "Faulty test plugin"
    );
    assert_garmin_usable(&manager);
}

#[test]
fn a_missing_library_is_named() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("libnothing.so");
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("dev.bincio.garmin", &libs.garmin),
            entry("test.missing", &missing),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    let text = failure(&manager, "test.missing").to_string();
    assert!(
        text.contains("test.missing")
            && text.contains("does not exist")
            && text.contains("libnothing.so"),
        "{text}"
    );
    assert_garmin_usable(&manager);
}

#[test]
fn a_shared_library_that_is_not_a_plugin_is_refused() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("test.not-a-plugin", &libs.not_a_plugin),
            entry("dev.bincio.garmin", &libs.garmin),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    let error = failure(&manager, "test.not-a-plugin");
    assert!(matches!(error, LoadError::NotAPlugin { .. }), "{error}");
    assert!(error.to_string().contains("test.not-a-plugin"));
    assert_garmin_usable(&manager);
}

#[test]
fn a_plugin_built_against_another_interface_is_refused() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("test.incompatible", &libs.incompatible),
            entry("dev.bincio.garmin", &libs.garmin),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    let error = failure(&manager, "test.incompatible");
    assert!(matches!(error, LoadError::Incompatible { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("test.incompatible") && text.contains("rebuild"),
        "{text}"
    );
    assert_garmin_usable(&manager);
}

#[test]
fn a_panicking_descriptor_is_an_error_not_a_crash() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("test.panics", &libs.panics_in_descriptor),
            entry("dev.bincio.garmin", &libs.garmin),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    let error = failure(&manager, "test.panics");
    match error {
        LoadError::Descriptor { error, .. } => {
            assert_eq!(error.kind, host_api::ErrorKind::INTERNAL);
            assert!(
                error.detail.contains("descriptor exploded on purpose"),
                "{}",
                error.detail
            );
        }
        other => panic!("unexpected {other}"),
    }
    assert_garmin_usable(&manager);
}

#[test]
fn a_descriptor_id_that_differs_from_plugin_toml_is_refused() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("dev.bincio.strava", &libs.garmin),
            entry("test.faulty", &libs.faulty),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    let text = failure(&manager, "dev.bincio.strava").to_string();
    assert!(
        text.contains("dev.bincio.strava") && text.contains("dev.bincio.garmin"),
        "{text}"
    );
    assert!(manager.loaded("test.faulty").is_ok());
}

#[test]
fn two_plugins_with_the_same_id_keep_the_first() {
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("dev.bincio.garmin", &libs.garmin),
            entry("dev.bincio.garmin", &libs.faulty),
        ],
    );
    let manager = PluginManager::load(&config).unwrap();
    assert_eq!(manager.entries.len(), 1);
    let text = manager.config_errors[0].to_string();
    assert!(
        text.contains("dev.bincio.garmin") && text.contains("already used"),
        "{text}"
    );
    assert_garmin_usable(&manager);
}

#[test]
fn plugin_toml_with_an_unknown_key_or_a_wrong_type_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin.toml");
    std::fs::write(
        &path,
        "[[plugins]]\nid = \"x\"\nlibrary = \"y\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let text = PluginManager::load(&path).err().unwrap().to_string();
    assert!(text.contains("line 4") && text.contains("colour"), "{text}");

    std::fs::write(
        &path,
        "[[plugins]]\nid = \"x\"\nlibrary = \"y\"\n\n\nenabled = 1\n",
    )
    .unwrap();
    let text = PluginManager::load(&path).err().unwrap().to_string();
    assert!(text.contains("line 6"), "{text}");
}

#[test]
fn a_plugin_that_panics_in_its_methods_gives_internal_errors_and_the_host_goes_on() {
    use host_demo::host::{Host, HostError, SyncOptions};
    let libs = plugin_libraries();
    let dir = tempfile::tempdir().unwrap();
    let config = write_plugin_toml(
        dir.path(),
        &[
            entry("test.faulty", &libs.faulty),
            entry("dev.bincio.garmin", &libs.garmin),
        ],
    );
    let host = Host::open(&config, dir.path(), "me").unwrap();
    host.accept_disclaimer("test.faulty").unwrap();

    match host.begin_connect("test.faulty", Vec::new()) {
        Err(HostError::PluginCall(e)) => {
            assert_eq!(e.kind, host_api::ErrorKind::INTERNAL);
            assert!(e.detail.contains("begin_connect exploded"), "{}", e.detail);
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
    assert!(
        host.db.connections().unwrap().is_empty(),
        "the failed connect left nothing"
    );

    // A connection made by hand, to reach sync and disconnect.
    let id = host.db.create_connection("test.faulty", 0).unwrap();
    host.db.set_connection_account(&id, "x", "x").unwrap();
    host.db
        .set_connection_status(&id, bincio_state::ConnectionStatus::Active, None)
        .unwrap();
    let report = host
        .sync_connection(id.as_str(), SyncOptions::default())
        .unwrap();
    let error = report.result.unwrap_err();
    assert_eq!(error.kind, host_api::ErrorKind::INTERNAL);
    assert!(error.detail.contains("sync exploded"), "{}", error.detail);
    let done = host.disconnect(id.as_str()).unwrap();
    assert!(done
        .plugin_warning
        .unwrap()
        .detail
        .contains("disconnect exploded"));

    // The other plugin is untouched: its instance is created and described.
    assert!(host.instance("dev.bincio.garmin").is_ok());
    assert_garmin_usable(&host.manager);
}
