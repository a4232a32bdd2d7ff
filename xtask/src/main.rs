//! `cargo xtask`: the repo's set-up and its two entry points, for a fresh machine that has only
//! the Rust toolchain and Python 3.
//!
//! - `cargo xtask demo [ARGS]`: the system packages the build needs ([`setup::BUILD`]), then
//!   `cargo build` and `host-demo demo [ARGS]`.
//! - `cargo xtask test [ARGS]`: the same, plus Chromium and chromedriver for the browser suite
//!   ([`setup::BROWSER`]) and the Python virtualenv of the interop tests ([`venv`]), then `cargo test --workspace [ARGS]` with `BINCIO_PYTHON_VENV` pointing at it.
//! - `cargo xtask setup`: only the set-up.
//!
//! No dependencies: it must build before cmake and libclang are installed.

mod setup;
mod venv;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start it: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn demo(args: &[String]) -> Result<(), String> {
    setup::ensure(&[setup::BUILD])?;
    let mut build = cargo();
    build.arg("build");
    run(build, "cargo build")?;
    let mut host = Command::new(target_dir().join("debug").join("host-demo"));
    host.arg("demo").args(args).current_dir(workspace_root());
    run(host, "host-demo demo")
}

/// What `test` and `setup` need: the build, the interop virtualenv's Python, the browser.
const FOR_TESTS: &[&[setup::Requirement]] = &[setup::BUILD, setup::INTEROP, setup::BROWSER];

fn test(args: &[String]) -> Result<(), String> {
    setup::ensure(FOR_TESTS)?;
    let venv = venv::prepare(&target_dir())?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"])
        .args(args)
        .env(venv::ENV, &venv);
    run(cmd, "cargo test --workspace")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => ("", &[][..]),
    };
    let outcome = match command {
        "demo" => demo(rest),
        "test" => test(rest),
        "setup" => setup::ensure(FOR_TESTS).and_then(|()| venv::prepare(&target_dir()).map(|_| ())),
        _ => Err("usage: cargo xtask demo [ARGS] | test [ARGS] | setup".to_string()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
