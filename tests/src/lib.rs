//! Support for the end-to-end suites in `tests/tests/`: building the real
//! plugin libraries and laying out a host (plugin.toml, data dir) for a test.
//!
//! The suites load the real `cdylib`s through the host's real loader, so the
//! libraries are built with cargo first, once per test process.

pub mod browser;
pub mod harness;
pub mod logs;
pub mod multi_user;
pub mod store_check;
pub mod web_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The plugin libraries the suites load.
#[derive(Debug, Clone)]
pub struct PluginLibraries {
    pub garmin: PathBuf,
    pub faulty: PathBuf,
    pub hostile: PathBuf,
    pub panics_in_descriptor: PathBuf,
    pub incompatible: PathBuf,
    pub not_a_plugin: PathBuf,
    /// The host binary.
    pub host_demo: PathBuf,
}

const PACKAGES: [&str; 7] = [
    "host-demo",
    "plugin-garmin",
    "test-plugin-faulty",
    "test-plugin-hostile",
    "test-plugin-panics-in-descriptor",
    "test-plugin-incompatible",
    "test-plugin-not-a-plugin",
];

/// Runs `cargo ARGS` in the workspace (the cargo that runs the tests, else the one on PATH);
/// panics with cargo's output, naming `what`, if it fails. Every test and bench that needs a
/// build of another package goes through here.
pub fn cargo_build(args: &[&std::ffi::OsStr], what: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building {what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds every plugin library (debug profile, the workspace's target dir)
/// and returns their paths. Panics with cargo's output if the build fails.
pub fn plugin_libraries() -> &'static PluginLibraries {
    static LIBS: OnceLock<PluginLibraries> = OnceLock::new();
    LIBS.get_or_init(|| {
        let mut args = vec!["build"];
        for package in PACKAGES {
            args.extend(["-p", package]);
        }
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        cargo_build(&args, "the plugin libraries");
        let dir = target_dir().join("debug");
        let lib = |name: &str| {
            dir.join(format!(
                "{}{name}{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            ))
        };
        PluginLibraries {
            garmin: lib("plugin_garmin"),
            faulty: lib("test_plugin_faulty"),
            hostile: lib("test_plugin_hostile"),
            panics_in_descriptor: lib("test_plugin_panics_in_descriptor"),
            incompatible: lib("test_plugin_incompatible"),
            not_a_plugin: lib("test_plugin_not_a_plugin"),
            host_demo: dir.join(format!("host-demo{}", std::env::consts::EXE_SUFFIX)),
        }
    })
}

/// Builds the frozen API-level-1 plugin (`tests/plugins/frozen-v1`, a
/// workspace of its own with its own lock file) into `target/frozen-v1/` and
/// returns its library. Panics with cargo's output if the build fails.
pub fn frozen_v1_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let manifest = workspace_root().join("tests/plugins/frozen-v1/Cargo.toml");
        let target = target_dir().join("frozen-v1");
        let args = ["build", "--locked", "--manifest-path"].map(std::ffi::OsStr::new);
        let paths = [
            manifest.as_os_str(),
            "--target-dir".as_ref(),
            target.as_os_str(),
        ];
        cargo_build(&[&args[..], &paths[..]].concat(), "the frozen plugin");
        target.join("debug").join(format!(
            "{}test_plugin_frozen_v1{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The `[plugins.request_budget]` table that turns a plugin's host-wide
/// request budget off: the suites talk to an emulator, not a shared Garmin,
/// and only the multi-user suite tests the budget. Goes after the settings.
pub const NO_BUDGET: &str = "\n[plugins.request_budget]\nenabled = false\n";

/// One `[[plugins]]` entry of a test's plugin.toml.
pub struct Entry<'a> {
    pub id: &'a str,
    pub library: &'a Path,
    pub enabled: bool,
    /// Extra TOML lines for the entry's `[plugins.settings]` table.
    pub settings: &'a str,
}

/// Writes a plugin.toml with these entries into `dir` and returns its path.
pub fn write_plugin_toml(dir: &Path, entries: &[Entry<'_>]) -> PathBuf {
    let mut text = String::from("# written by a test\n");
    for e in entries {
        text.push_str(&format!(
            "\n[[plugins]]\nid = {:?}\nlibrary = {:?}\nenabled = {}\n",
            e.id,
            e.library.display().to_string(),
            e.enabled
        ));
        if !e.settings.is_empty() {
            text.push_str("[plugins.settings]\n");
            text.push_str(e.settings);
            text.push('\n');
        }
    }
    let path = dir.join("plugin.toml");
    std::fs::write(&path, text).expect("write plugin.toml");
    path
}
