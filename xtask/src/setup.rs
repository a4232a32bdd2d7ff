//! What a fresh machine needs beyond the Rust toolchain and Python 3, how to tell whether it is
//! there, and installing it (apt-get, when root on Debian) or saying exactly what to run.
//!
//! Each need is a [`Requirement`]; the lists ([`BUILD`], [`INTEROP`], [`BROWSER`]) are what a
//! command asks for. Another list is one more `const` and one more argument to [`ensure`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One thing the build or the tests need from the system.
pub struct Requirement {
    /// What it is, for messages.
    pub what: &'static str,
    /// Why the repo needs it.
    pub why: &'static str,
    /// Whether this machine has it.
    pub present: fn(&dyn Probe) -> bool,
    /// The Debian packages that provide it.
    pub debian: &'static [&'static str],
    /// The hint for other systems.
    pub elsewhere: &'static str,
}

/// The build: wreq's TLS is BoringSSL, built from source with cmake, its bindings made by
/// bindgen, which loads libclang.
pub const BUILD: &[Requirement] = &[
    Requirement {
        what: "a C and C++ compiler",
        why: "BoringSSL (wreq's TLS) and SQLite are compiled from source",
        present: |p| p.runs("cc", &["--version"]) && p.runs("c++", &["--version"]),
        debian: &["build-essential"],
        elsewhere: "install gcc and g++ (or clang)",
    },
    Requirement {
        what: "cmake",
        why: "BoringSSL (wreq's TLS, for a browser's TLS fingerprint) builds with cmake",
        present: |p| p.runs("cmake", &["--version"]),
        debian: &["cmake"],
        elsewhere: "install cmake (dnf install cmake / brew install cmake)",
    },
    Requirement {
        what: "libclang",
        why: "bindgen loads libclang to make BoringSSL's Rust bindings",
        present: has_libclang,
        debian: &["libclang-dev"],
        elsewhere:
            "install libclang (dnf install clang-devel / brew install llvm), or set LIBCLANG_PATH",
    },
];

/// The Python interop tests: a virtualenv of Python 3.
pub const INTEROP: &[Requirement] = &[Requirement {
    what: "Python 3 with venv and pip",
    why: "the interop tests run garminconnect 0.3.20 and curl_cffi in a virtualenv",
    present: |p| p.runs("python3", &["-c", "import venv, ensurepip"]),
    debian: &["python3-venv"],
    elsewhere: "install Python 3 with its venv module",
}];

/// The variables that name another Chromium and chromedriver than the ones on `PATH` (Debian's
/// `/usr/bin/chromium` and `/usr/bin/chromedriver`); the browser suite reads the same ones.
pub const CHROMIUM_ENV: &str = "BINCIO_CHROMIUM";
pub const CHROMEDRIVER_ENV: &str = "BINCIO_CHROMEDRIVER";

/// The browser suite (`tests/tests/web_browser.rs`): headless Chromium driven through
/// chromedriver. Debian packages both from the same Chromium build, so their versions match.
pub const BROWSER: &[Requirement] = &[
    Requirement {
        what: "Chromium",
        why: "the browser suite drives the web settings page in headless Chromium",
        present: |p| runs_program(p, CHROMIUM_ENV, "chromium"),
        debian: &["chromium"],
        elsewhere: "install Chromium, or set BINCIO_CHROMIUM to a Chromium or Chrome binary",
    },
    Requirement {
        what: "chromedriver",
        why: "the browser suite talks WebDriver to Chromium through chromedriver",
        present: |p| runs_program(p, CHROMEDRIVER_ENV, "chromedriver"),
        debian: &["chromium-driver"],
        elsewhere:
            "install the chromedriver of your Chromium's version, or set BINCIO_CHROMEDRIVER to it",
    },
];

/// Whether the program `env` names (else `default`, looked up on `PATH`) answers `--version`.
fn runs_program(probe: &dyn Probe, env: &str, default: &str) -> bool {
    let program = probe.env(env).unwrap_or_else(|| default.to_string());
    probe.runs(&program, &["--version"])
}

/// What the detection looks at: commands, files, the environment.
pub trait Probe {
    /// Whether `program args` runs and succeeds.
    fn runs(&self, program: &str, args: &[&str]) -> bool;
    /// The file names in `dir` (empty when it does not exist).
    fn files(&self, dir: &Path) -> Vec<String>;
    /// The directories under `dir`.
    fn dirs(&self, dir: &Path) -> Vec<PathBuf>;
    fn env(&self, key: &str) -> Option<String>;
}

/// The real machine.
pub struct System;

impl Probe for System {
    fn runs(&self, program: &str, args: &[&str]) -> bool {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
    fn files(&self, dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn dirs(&self, dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn env(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

/// Whether `name` is the libclang library bindgen loads (`libclang.so`, `libclang.so.1`,
/// `libclang-14.so.1`, `libclang.dylib`), not `libclang-cpp` or a static archive.
pub fn is_libclang(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("libclang") else {
        return false;
    };
    let versioned = rest
        .strip_prefix('-')
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    (rest.starts_with(".so") || rest.starts_with(".dylib") || versioned)
        && (rest.contains(".so") || rest.contains(".dylib"))
}

/// Where bindgen (clang-sys) looks for libclang: `LIBCLANG_PATH`, `llvm-config --libdir`, and the
/// usual library folders (Debian's multiarch and `/usr/lib/llvm-*/lib`).
fn has_libclang(probe: &dyn Probe) -> bool {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(path) = probe.env("LIBCLANG_PATH") {
        dirs.push(PathBuf::from(path));
    }
    for base in [
        "/usr/lib",
        "/usr/local/lib",
        "/usr/lib64",
        "/opt/homebrew/opt/llvm/lib",
    ] {
        dirs.push(PathBuf::from(base));
    }
    for multiarch in ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"] {
        dirs.push(PathBuf::from(multiarch));
    }
    for llvm in probe.dirs(Path::new("/usr/lib")) {
        if llvm
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("llvm"))
        {
            dirs.push(llvm.join("lib"));
        }
    }
    dirs.iter()
        .any(|dir| probe.files(dir).iter().any(|f| is_libclang(f)))
}

/// The requirements of `lists` this machine lacks.
pub fn missing<'a>(probe: &dyn Probe, lists: &[&'a [Requirement]]) -> Vec<&'a Requirement> {
    lists
        .iter()
        .flat_map(|list| list.iter())
        .filter(|r| !(r.present)(probe))
        .collect()
}

/// The apt-get command line that installs `missing`.
pub fn apt_packages(missing: &[&Requirement]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = missing
        .iter()
        .flat_map(|r| r.debian.iter().copied())
        .collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn is_debian() -> bool {
    Path::new("/etc/debian_version").exists() && System.runs("apt-get", &["--version"])
}

/// Makes sure every requirement of `lists` is there: installs what is missing with apt-get when
/// running as root on Debian; otherwise says exactly what to run and fails.
pub fn ensure(lists: &[&[Requirement]]) -> Result<(), String> {
    let lacking = missing(&System, lists);
    if lacking.is_empty() {
        return Ok(());
    }
    for r in &lacking {
        eprintln!("xtask: missing {} ({})", r.what, r.why);
    }
    let packages = apt_packages(&lacking);
    if is_debian() {
        if !is_root() {
            return Err(format!(
                "run this, then the same cargo xtask command again:\n    sudo apt-get update && sudo apt-get install -y {}",
                packages.join(" ")
            ));
        }
        eprintln!("xtask: apt-get install -y {}", packages.join(" "));
        let updated = System.runs("apt-get", &["update", "-qq"]);
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend(packages.iter().copied());
        let status = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if !status.success() {
            return Err(format!(
                "apt-get install {} failed ({status}{})",
                packages.join(" "),
                if updated {
                    ""
                } else {
                    "; apt-get update failed too"
                }
            ));
        }
        // The downloaded packages are not needed once installed, and CI disks are small.
        System.runs("apt-get", &["clean"]);
        let still = missing(&System, lists);
        if !still.is_empty() {
            let names: Vec<&str> = still.iter().map(|r| r.what).collect();
            return Err(format!("still missing after apt-get: {}", names.join(", ")));
        }
        return Ok(());
    }
    let hints: Vec<String> = lacking
        .iter()
        .map(|r| format!("    {}: {}", r.what, r.elsewhere))
        .collect();
    Err(format!(
        "install these, then run the same cargo xtask command again:\n{}",
        hints.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A machine described by the commands that work and the files it has.
    #[derive(Default)]
    struct Fake {
        commands: Vec<&'static str>,
        files: HashMap<PathBuf, Vec<String>>,
        env: HashMap<&'static str, String>,
    }

    impl Probe for Fake {
        fn runs(&self, program: &str, _args: &[&str]) -> bool {
            self.commands.contains(&program)
        }
        fn files(&self, dir: &Path) -> Vec<String> {
            self.files.get(dir).cloned().unwrap_or_default()
        }
        fn dirs(&self, dir: &Path) -> Vec<PathBuf> {
            self.files
                .keys()
                .filter_map(|p| {
                    p.parent()
                        .filter(|parent| parent.parent() == Some(dir))
                        .map(Path::to_path_buf)
                })
                .collect()
        }
        fn env(&self, key: &str) -> Option<String> {
            self.env.get(key).cloned()
        }
    }

    fn names(missing: &[&Requirement]) -> Vec<&'static str> {
        missing.iter().map(|r| r.what).collect()
    }

    #[test]
    fn a_bare_machine_lacks_cmake_and_libclang_and_gets_the_debian_packages() {
        // The state this repo met: compilers, but no cmake and only libclang-cpp.
        let mut fake = Fake {
            commands: vec!["cc", "c++", "python3"],
            ..Fake::default()
        };
        fake.files.insert(
            PathBuf::from("/usr/lib/x86_64-linux-gnu"),
            vec!["libclang-cpp.so.14".into(), "libc.so.6".into()],
        );
        let lacking = missing(&fake, &[BUILD, INTEROP]);
        assert_eq!(names(&lacking), vec!["cmake", "libclang"]);
        assert_eq!(apt_packages(&lacking), vec!["cmake", "libclang-dev"]);
    }

    #[test]
    fn libclang_is_found_where_bindgen_looks() {
        let base = Fake {
            commands: vec!["cc", "c++", "cmake"],
            ..Fake::default()
        };
        let mut debian = base;
        debian.files.insert(
            PathBuf::from("/usr/lib/llvm-14/lib"),
            vec!["libclang-14.so.1".into()],
        );
        assert!(missing(&debian, &[BUILD]).is_empty());

        let mut custom = Fake {
            commands: vec!["cc", "c++", "cmake"],
            ..Fake::default()
        };
        custom.env.insert("LIBCLANG_PATH", "/opt/clang/lib".into());
        custom
            .files
            .insert(PathBuf::from("/opt/clang/lib"), vec!["libclang.so".into()]);
        assert!(missing(&custom, &[BUILD]).is_empty());
    }

    #[test]
    fn only_the_real_libclang_counts() {
        for yes in [
            "libclang.so",
            "libclang.so.1",
            "libclang-14.so.1",
            "libclang-18.so.18",
            "libclang.dylib",
        ] {
            assert!(is_libclang(yes), "{yes}");
        }
        for no in [
            "libclang-cpp.so.14",
            "libclang.a",
            "libclangBasic.a",
            "libc.so.6",
            "libclang-cpp.so",
        ] {
            assert!(!is_libclang(no), "{no}");
        }
    }

    #[test]
    fn the_browser_list_wants_debians_chromium_and_its_driver() {
        let bare = Fake {
            commands: vec!["cc", "c++", "cmake", "python3"],
            ..Fake::default()
        };
        let lacking = missing(&bare, &[BROWSER]);
        assert_eq!(names(&lacking), vec!["Chromium", "chromedriver"]);
        assert_eq!(apt_packages(&lacking), vec!["chromium", "chromium-driver"]);

        let installed = Fake {
            commands: vec!["chromium", "chromedriver"],
            ..Fake::default()
        };
        assert!(missing(&installed, &[BROWSER]).is_empty());
    }

    #[test]
    fn the_browser_paths_can_be_overridden() {
        let mut elsewhere = Fake {
            commands: vec!["/opt/chrome/chrome", "/opt/chrome/chromedriver"],
            ..Fake::default()
        };
        // Named by the variables, the programs on PATH are not needed...
        elsewhere
            .env
            .insert(CHROMIUM_ENV, "/opt/chrome/chrome".into());
        elsewhere
            .env
            .insert(CHROMEDRIVER_ENV, "/opt/chrome/chromedriver".into());
        assert!(missing(&elsewhere, &[BROWSER]).is_empty());
        // ...and a variable naming nothing that runs is missing, even with one on PATH.
        elsewhere.commands = vec!["chromium", "/opt/chrome/chromedriver"];
        assert_eq!(names(&missing(&elsewhere, &[BROWSER])), vec!["Chromium"]);
    }

    #[test]
    fn the_interop_list_needs_python_venv() {
        let fake = Fake {
            commands: vec!["cc", "c++", "cmake"],
            ..Fake::default()
        };
        assert_eq!(
            names(&missing(&fake, &[INTEROP])),
            vec!["Python 3 with venv and pip"]
        );
        assert_eq!(
            apt_packages(&missing(&fake, &[INTEROP])),
            vec!["python3-venv"]
        );
    }
}
