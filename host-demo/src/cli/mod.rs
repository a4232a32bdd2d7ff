//! The commands, one module each; this file holds the argument grammar.

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
    }
}
