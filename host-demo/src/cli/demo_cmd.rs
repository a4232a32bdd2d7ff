//! `demo`: the whole job on an embedded default. Starts the built-in Garmin
//! Connect emulator on 127.0.0.1 (no real Garmin host is ever contacted),
//! writes a plugin.toml pointing the Garmin plugin at it, enables the
//! plugin, connects the demo account, syncs until the history is in, and
//! shows the BAS store it wrote. With `--serve`, it starts the web page
//! instead, with a demo user, and runs until Ctrl-C.

use super::activities_cmd;
use anyhow::{bail, Context};
use bincio_state::SecretString;
use garmin_emulator::{Emulator, EmulatorConfig};
use host_demo::host::{ConnectOutcome, Host, SyncOptions};
use host_demo::plugins::{edit, HostConfig};
use std::path::{Path, PathBuf};

const DEMO_EMAIL: &str = "demo@example.com";
const DEMO_PASSWORD: &str = "demo-password";
const PLUGIN_ID: &str = "dev.bincio.garmin";

/// `demo --serve`: the emulator and the web page with a demo user, until
/// Ctrl-C; the user connects the emulator's accounts through the page.
pub fn serve(config: &Path, data_dir: &Path, handle: &str) -> anyhow::Result<()> {
    let (emulator, demo_config) = prepare(config, data_dir)?;
    let password = host_demo::web::auth::random_token()[..16].to_string();
    let db = bincio_state::StateDb::open(&data_dir.join("state.sqlite3"))?;
    host_demo::host::users::add_user(
        &db,
        handle,
        None,
        bincio_state::Role::Admin,
        Some(&SecretString::new(password.clone())),
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    drop(db);
    let host = Host::open(&demo_config, data_dir, handle)?;
    let listen = host_demo::web::WebConfig::default().listen;
    let config = |listen| host_demo::web::WebConfig {
        listen,
        ..host_demo::web::WebConfig::default()
    };
    let host = std::sync::Arc::new(host);
    let server = match host_demo::web::WebServer::start(host.clone(), config(listen)) {
        Ok(server) => server,
        // 8080 taken: any free port.
        Err(_) => host_demo::web::WebServer::start(host, config("127.0.0.1:0".parse()?))?,
    };
    println!("3. The settings page: {}/signin", server.url());
    println!("   Sign in as {handle} with the password {password} (made for this demo).");
    // The emulator's account passwords are not printed (as in `demo`):
    // tests/emulator/README.md lists them.
    println!(
        "   Connect Garmin with the emulator's {DEMO_EMAIL}, or mfa@example.com for the MFA step \
(their password and code: tests/emulator/README.md, \"Accounts and activities\")."
    );
    println!("   Ctrl-C stops the server and the emulator.");
    super::serve_cmd::wait_for_ctrl_c();
    server.stop();
    drop(emulator);
    println!("Stopped.");
    Ok(())
}

pub fn run(config: &Path, data_dir: &Path, handle: &str) -> anyhow::Result<()> {
    let (emulator, demo_config) = prepare(config, data_dir)?;
    run_on(emulator, &demo_config, data_dir, handle)
}

/// Steps 1 and 2: a fresh demo data dir, the emulator, and a plugin.toml
/// pointing the Garmin plugin at it.
fn prepare(config: &Path, data_dir: &Path) -> anyhow::Result<(Emulator, PathBuf)> {
    let library = garmin_library(config)?;
    if data_dir.exists() {
        // Only ever remove a directory this command made.
        if !data_dir.join(".bincio-demo").is_file() {
            bail!(
                "{} exists and was not made by `demo`; pass another --data-dir",
                data_dir.display()
            );
        }
        std::fs::remove_dir_all(data_dir)
            .with_context(|| format!("cannot clear {}", data_dir.display()))?;
    }
    bincio_state::private_fs::private_dir(data_dir)?;
    std::fs::write(data_dir.join(".bincio-demo"), "made by `host-demo demo`\n")?;

    let emulator = Emulator::start(EmulatorConfig::default_demo())
        .context("cannot start the Garmin Connect emulator")?;
    let url = emulator.base_url();
    println!("1. Garmin Connect emulator listening on {url} (loopback only; no real Garmin host is contacted).");

    let demo_config = data_dir.join("plugin.toml");
    std::fs::write(&demo_config, demo_plugin_toml(&library, &url))?;
    edit::set_enabled(&demo_config, PLUGIN_ID, true)?;
    println!(
        "2. Wrote {} pointing {PLUGIN_ID} at the emulator, and enabled it.",
        demo_config.display()
    );
    Ok((emulator, demo_config))
}

fn run_on(
    emulator: Emulator,
    demo_config: &Path,
    data_dir: &Path,
    handle: &str,
) -> anyhow::Result<()> {
    let host = Host::open(demo_config, data_dir, handle)?;
    let (_, plugin) = host.manager.loaded(PLUGIN_ID)?;
    let disclaimer = plugin.descriptor.disclaimer.clone();
    println!(
        "3. The plugin's disclaimer (version {}): \"{}\". With a real account you must read and accept it \
(`host-demo connect {PLUGIN_ID}` shows it in full); for the emulator's demo account it is accepted on your behalf.",
        disclaimer.version, disclaimer.title
    );
    host.accept_disclaimer(PLUGIN_ID)?;

    let inputs = vec![
        ("email".to_string(), SecretString::new(DEMO_EMAIL.into())),
        (
            "password".to_string(),
            SecretString::new(DEMO_PASSWORD.into()),
        ),
    ];
    let connection = match host.begin_connect(PLUGIN_ID, inputs)? {
        ConnectOutcome::Connected {
            connection,
            display_name,
            ..
        } => {
            println!("4. Connected {DEMO_EMAIL} ({display_name}) as {connection}; the password and tokens are stored encrypted in {}.", data_dir.join("state.sqlite3").display());
            connection
        }
        ConnectOutcome::NeedInput { .. } => bail!("the demo account unexpectedly asked for MFA"),
    };

    for round in 1..=20 {
        let report = host.sync_connection(connection.as_str(), SyncOptions::default())?;
        let summary = report
            .result
            .map_err(|e| anyhow::anyhow!("sync failed: {e}"))?;
        println!(
            "5. Sync run {round}: {} listed, {} imported, {} already there, {} rejected, {} left for later.",
            summary.listed,
            summary.imported,
            summary.already_there,
            summary.rejected.len(),
            summary.deferred
        );
        for r in summary.rejected.iter() {
            println!("     rejected {}: {}", r.external_id, r.reason);
        }
        if !summary.has_more {
            break;
        }
    }
    let stats = emulator.stats();
    println!(
        "   The emulator saw {} login(s), {} list request(s) and {} download(s).",
        stats.logins, stats.list_requests, stats.downloads
    );

    let store = data_dir.join(handle);
    println!("6. The BAS store at {}:", store.display());
    activities_cmd::run(data_dir, handle)?;
    println!(
        "\nFiles: {}/index.json and {}/activities/{{id}}.json + .geojson. \
Run `host-demo --data-dir {} status` to see the connection.",
        store.display(),
        store.display(),
        data_dir.display()
    );
    Ok(())
}

fn demo_plugin_toml(library: &Path, url: &str) -> String {
    format!(
        "# Written by `host-demo demo`: the Garmin plugin pointed at the built-in emulator.\n\
[[plugins]]\n\
id = \"{PLUGIN_ID}\"\n\
library = {library:?}\n\
enabled = false\n\
\n\
[plugins.settings]\n\
sso_base_url = \"{url}\"\n\
connectapi_base_url = \"{url}\"\n\
diauth_base_url = \"{url}\"\n\
web_service_base_url = \"{url}\"\n\
# The emulator needs no anti-WAF pauses or pacing.\n\
login_pause_ms = 0\n\
request_pacing_ms = 0\n\
max_downloads_per_run = 50\n\
\n\
# The emulator is no shared Garmin: no host-wide request budget.\n\
[plugins.request_budget]\n\
enabled = false\n",
        library = library.display().to_string()
    )
}

/// The Garmin plugin library: beside this executable (where cargo puts
/// both), else where plugin.toml says.
fn garmin_library(config: &Path) -> anyhow::Result<PathBuf> {
    let name = format!(
        "{}plugin_garmin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)));
    if let Some(path) = beside_exe.filter(|p| p.is_file()) {
        return Ok(path.canonicalize()?);
    }
    if let Ok(host_config) = HostConfig::load(config) {
        if let Some(entry) = host_config.plugin(PLUGIN_ID) {
            if entry.library.is_file() {
                return Ok(entry.library.canonicalize()?);
            }
        }
    }
    bail!("the Garmin plugin library ({name}) is not built; run `cargo build` first")
}
