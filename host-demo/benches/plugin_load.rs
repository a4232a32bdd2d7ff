//! Benchmark: loading the Garmin plugin through the host's loader and reading
//! its descriptor, against a bare `dlopen` of the same library.
//!
//! A library can be loaded only once per process (it is never unloaded), so
//! every sample is a fresh child process running this same binary in
//! `--child` mode, which times one load and prints nanoseconds. Reported:
//! the median of 20 samples per mode and the ratio between them.
//!
//! Run: `cargo build -p plugin-garmin --release && cargo bench -p host-demo --bench plugin_load`
//! (set BINCIO_PLUGIN_LIB to bench another build of the library).

use host_demo::plugins::{HostConfig, PluginManager};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const SAMPLES: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let mode = &args[pos + 1];
        let library = PathBuf::from(&args[pos + 2]);
        println!("{}", child(mode, &library));
        return;
    }
    let library = library_path();
    println!("library: {}", library.display());
    let host = median(&library, "host");
    let bare = median(&library, "dlopen");
    println!(
        "bare dlopen (baseline): median {:.3} ms over {SAMPLES} processes",
        bare / 1e6
    );
    println!(
        "host loader + checks + descriptor: median {:.3} ms over {SAMPLES} processes",
        host / 1e6
    );
    println!("ratio host/bare: {:.2}x", host / bare);
}

fn median(library: &Path, mode: &str) -> f64 {
    let exe = std::env::current_exe().expect("bench binary path");
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let out = Command::new(&exe)
                .args(["--child", mode])
                .arg(library)
                .output()
                .expect("child runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("child prints nanoseconds")
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (samples[SAMPLES / 2 - 1] + samples[SAMPLES / 2]) / 2.0
}

fn child(mode: &str, library: &Path) -> u128 {
    match mode {
        "dlopen" => {
            let start = Instant::now();
            // SAFETY: the library is our own plugin; its initialisers are benign.
            let lib = unsafe { libloading::Library::new(library) }.expect("dlopen");
            let elapsed = start.elapsed().as_nanos();
            std::mem::forget(lib);
            elapsed
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let config = dir.path().join("plugin.toml");
            std::fs::write(
                &config,
                format!(
                    "[[plugins]]\nid = \"dev.bincio.garmin\"\nlibrary = {:?}\nenabled = true\n",
                    library.display().to_string()
                ),
            )
            .expect("write config");
            HostConfig::load(&config).expect("config parses");
            let start = Instant::now();
            let manager = PluginManager::load(&config).expect("config");
            let (_, plugin) = manager.loaded("dev.bincio.garmin").expect("plugin loads");
            assert_eq!(plugin.descriptor.id, "dev.bincio.garmin");
            start.elapsed().as_nanos()
        }
    }
}

fn library_path() -> PathBuf {
    if let Some(path) = std::env::var_os("BINCIO_PLUGIN_LIB") {
        return PathBuf::from(path);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("target");
    let name = format!(
        "{}plugin_garmin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    ["release", "debug"]
        .iter()
        .map(|profile| root.join(profile).join(&name))
        .find(|p| p.is_file())
        .expect("build the plugin first: cargo build -p plugin-garmin --release")
}
