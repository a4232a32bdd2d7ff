//! The commands, one module each; this file holds the argument grammar.

mod activities_cmd;
mod import_cmd;
pub mod logging;
mod plugins_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "host-demo", version, about = "BincioActivity host: importer plugins, sync, and the BAS store")]
pub struct Args {
    /// The plugin configuration.
    #[arg(long, global = true, default_value = "./plugin.toml", env = "BINCIO_CONFIG")]
    pub config: PathBuf,
    /// Where the state database, the master key and the BAS store live.
    #[arg(long, global = true, default_value = "./bincio-data", env = "BINCIO_DATA_DIR")]
    pub data_dir: PathBuf,
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
    match args.command {
        Command::Plugins { command } => plugins_cmd::run(&args.config, command),
        Command::Import { paths } => import_cmd::run(&args.data_dir, &args.handle, &paths),
        Command::Activities => activities_cmd::run(&args.data_dir, &args.handle),
    }
}
