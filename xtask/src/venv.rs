//! The Python virtualenv of the interop tests: garminconnect 0.3.20 (the reference client) and
//! curl_cffi (its browser TLS), made once under the target folder and reused. The tests find it
//! through [`ENV`] (default: `target/interop-venv`) and never install anything themselves.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The variable that tells the tests where the virtualenv is.
pub const ENV: &str = "BINCIO_PYTHON_VENV";
/// What the virtualenv holds (curl_cffi pinned: the fingerprint fixture was made with it).
pub const PACKAGES: &[&str] = &["garminconnect==0.3.20", "curl_cffi==0.17.0"];
/// The check that the virtualenv is complete.
const READY: &str = "import importlib.metadata as m, curl_cffi, garminconnect; \
assert m.version('garminconnect') == '0.3.20' and m.version('curl_cffi') == '0.17.0'";

/// The virtualenv's python.
pub fn python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn ready(venv: &Path) -> bool {
    Command::new(python(venv))
        .args(["-c", READY])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The virtualenv (`$BINCIO_PYTHON_VENV`, else `TARGET/interop-venv`), created and filled when
/// it is not complete.
pub fn prepare(target: &Path) -> Result<PathBuf, String> {
    let venv = std::env::var_os(ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("interop-venv"));
    if ready(&venv) {
        return Ok(venv);
    }
    eprintln!("xtask: making the interop virtualenv at {}", venv.display());
    let python3 = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let made = Command::new(&python3)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("cannot run {python3} -m venv: {e}"))?;
    if !made.success() {
        return Err(format!(
            "{python3} -m venv {} failed ({made})",
            venv.display()
        ));
    }
    let installed = Command::new(python(&venv))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--ignore-requires-python",
        ])
        .args(PACKAGES)
        .status()
        .map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !installed.success() || !ready(&venv) {
        return Err(format!(
            "pip install {} into {} failed (network access to PyPI is needed once)",
            PACKAGES.join(" "),
            venv.display()
        ));
    }
    Ok(venv)
}
