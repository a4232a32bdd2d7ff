//! A release build finds its own plugin: the repository's plugin.toml names
//! the bare library file, which the host looks for beside plugin.toml and
//! then beside its own executable. Here a copy of the host binary and the
//! Garmin plugin sit together in one folder (as `target/release/` holds
//! them), and plugin.toml sits in another, naming the file only.

use bincio_tests::{plugin_libraries, workspace_root};
use std::process::Command;

#[test]
fn a_host_finds_the_plugin_beside_its_own_executable() {
    let libs = plugin_libraries();
    let release = tempfile::tempdir().unwrap();
    let host = release.path().join("host-demo");
    std::fs::copy(&libs.host_demo, &host).unwrap();
    let library_name = libs.garmin.file_name().unwrap();
    std::fs::copy(&libs.garmin, release.path().join(library_name)).unwrap();

    // The repository's own plugin.toml, unchanged, in a checkout of its own.
    let checkout = tempfile::tempdir().unwrap();
    let config = checkout.path().join("plugin.toml");
    std::fs::copy(workspace_root().join("plugin.toml"), &config).unwrap();

    let output = Command::new(&host)
        .arg("--config")
        .arg(&config)
        .args(["plugins", "list"])
        .env_remove("RUST_LOG")
        .output()
        .expect("the copied host runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("dev.bincio.garmin"))
        .unwrap_or_else(|| panic!("no garmin line:\n{stdout}"));
    assert!(
        line.contains("Garmin Connect"),
        "loaded from beside the host: {line}"
    );
    assert!(!line.contains("does not exist"), "{line}");

    // Without the library beside it, the error names both places tried.
    std::fs::remove_file(release.path().join(library_name)).unwrap();
    let output = Command::new(&host)
        .arg("--config")
        .arg(&config)
        .args(["plugins", "list"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        all.contains(&checkout.path().display().to_string())
            && all.contains(&release.path().display().to_string()),
        "the places tried are named:\n{all}"
    );
}
