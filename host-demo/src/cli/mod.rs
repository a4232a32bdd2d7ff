//! The commands, one module each; this file holds the argument grammar.

mod activities_cmd;
mod connect_cmd;
#[cfg(feature = "demo")]
mod demo_cmd;
mod disconnect_cmd;
mod import_cmd;
pub mod logging;
mod plugins_cmd;
mod prompt;
mod run_cmd;
mod secrets_cmd;
mod status_cmd;
mod sync_cmd;

use clap::{Parser, Subcommand};
use host_demo::host::Host;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "host-demo",
    version,
    about = "BincioActivity host: importer plugins, sync, and the BAS store"
)]
pub struct Args {
    /// The plugin configuration.
    #[arg(
        long,
        global = true,
        default_value = "./plugin.toml",
        env = "BINCIO_CONFIG"
    )]
    pub config: PathBuf,
    /// Where the state database, the master key and the BAS store live.
    /// [default: ./bincio-data, or ./bincio-demo for `demo`]
    #[arg(long, global = true, env = "BINCIO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The BincioActivity user whose BAS store activities go into
    /// (`{data-dir}/{handle}/`).
    #[arg(long, global = true, default_value = "me", env = "BINCIO_HANDLE")]
    pub handle: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect, enable or disable importer plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Import FIT files, folders (recursively) and .zip archives such as
    /// Garmin Connect's data export: no credentials needed.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// What the BAS store holds.
    Activities,
    /// Read and accept a plugin's disclaimer, then connect an account.
    Connect(connect_cmd::ConnectArgs),
    /// Sync now: one connection (garmin-1), all of a plugin's, or all.
    Sync {
        /// A connection id or a plugin id; all connections when absent.
        id: Option<String>,
        /// Download at most this many activities in this run.
        #[arg(long)]
        max_downloads: Option<u32>,
    },
    /// Each connection: account, last and next run, what needs attention.
    Status,
    /// Delete a connection's stored credentials and tokens; keep its activities.
    Disconnect { connection: String },
    /// Run the scheduler: every connected account syncs on its interval
    /// until Ctrl-C.
    Run,
    /// The whole job on the built-in Garmin emulator: enable the plugin,
    /// connect the demo account, sync, and show the BAS store (in
    /// ./bincio-demo unless --data-dir is given). Built with the default
    /// `demo` feature only.
    #[cfg(feature = "demo")]
    Demo,
    /// Manage the encrypted secret vault.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every stored secret under a new master key, in one transaction.
    RotateKey {
        /// The new key (base64 of 64 bytes); required when the current key
        /// comes from BINCIO_MASTER_KEY, generated otherwise.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Every plugin in plugin.toml with its load status.
    List,
    /// A plugin's credential fields, settings, capabilities and disclaimer.
    Info { id: String },
    /// Enable a plugin (edits plugin.toml, keeping its comments).
    Enable { id: String },
    /// Disable a plugin; its data stays, it is no longer loaded or synced.
    Disable { id: String },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        config,
        data_dir,
        handle,
        command,
    } = args;
    #[cfg(feature = "demo")]
    let is_demo = matches!(command, Command::Demo);
    #[cfg(not(feature = "demo"))]
    let is_demo = false;
    let default_dir = if is_demo {
        "./bincio-demo"
    } else {
        "./bincio-data"
    };
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(default_dir));
    // Before any command touches a file: the handle names a directory.
    host_demo::host::validate_handle(&handle)?;
    let open_host = || -> anyhow::Result<Host> { Ok(Host::open(&config, &data_dir, &handle)?) };
    match command {
        Command::Plugins { command } => plugins_cmd::run(&config, command),
        Command::Import { paths } => import_cmd::run(&data_dir, &handle, &paths),
        Command::Activities => activities_cmd::run(&data_dir, &handle),
        Command::Secrets {
            command: SecretsCommand::RotateKey { new_key_file },
        } => secrets_cmd::rotate_key(&data_dir, new_key_file.as_deref()),
        Command::Connect(connect) => connect_cmd::run(&open_host()?, connect),
        Command::Sync { id, max_downloads } => {
            sync_cmd::run(&open_host()?, id.as_deref(), max_downloads)
        }
        Command::Run => run_cmd::run(open_host()?),
        #[cfg(feature = "demo")]
        Command::Demo => demo_cmd::run(&config, &data_dir, &handle),
        Command::Status => status_cmd::run(&open_host()?),
        Command::Disconnect { connection } => disconnect_cmd::run(&open_host()?, &connection),
    }
}
