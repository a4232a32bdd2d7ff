//! The commands, one module each; this file holds the argument grammar.

mod activities_cmd;
mod allocator;
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
mod serve_cmd;
mod status_cmd;
mod sync_cmd;
mod users_cmd;

use bincio_state::{StateDb, DEFAULT_HANDLE};
use clap::{Parser, Subcommand};
use host_demo::clock::{Clock, SystemClock};
use host_demo::host::{resolve_user, Host};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// The BincioActivity user a per-user command acts for (their
    /// connections, acceptances and BAS store `{data-dir}/{handle}/`).
    /// Default: the server's only user (`me` on a new server); required when
    /// there are several.
    #[arg(
        long = "user",
        visible_alias = "handle",
        global = true,
        env = "BINCIO_HANDLE"
    )]
    pub user: Option<String>,
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
    /// Without --user on a server with several users: everyone's, by user.
    Status,
    /// Delete a connection's stored credentials and tokens; keep its activities.
    Disconnect { connection: String },
    /// Run the scheduler: every connected account syncs on its interval
    /// until Ctrl-C.
    Run,
    /// The web settings page (sign-in, importers, uploads, admin) and the
    /// scheduler, until Ctrl-C. Put a reverse proxy in front for TLS.
    Serve(serve_cmd::ServeArgs),
    /// The whole job on the built-in Garmin emulator: enable the plugin,
    /// connect the demo account, sync, and show the BAS store (in
    /// ./bincio-demo unless --data-dir is given). Built with the default
    /// `demo` feature only.
    #[cfg(feature = "demo")]
    Demo {
        /// Instead of syncing once: start the web settings page with a demo
        /// user (URL and sign-in printed) and keep running until Ctrl-C.
        #[arg(long)]
        serve: bool,
    },
    /// Manage the server's users.
    Users {
        #[command(subcommand)]
        command: users_cmd::UsersCommand,
    },
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
        user,
        command,
    } = args;
    #[cfg(feature = "demo")]
    let is_demo = matches!(command, Command::Demo { .. });
    #[cfg(not(feature = "demo"))]
    let is_demo = false;
    let default_dir = if is_demo {
        "./bincio-demo"
    } else {
        "./bincio-data"
    };
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(default_dir));
    // Before any command touches a file: the handle names a directory.
    if let Some(user) = &user {
        host_demo::host::validate_handle(user)?;
    }
    let open_host = || -> anyhow::Result<Host> {
        Ok(Host::open_for(
            &config,
            &data_dir,
            user.as_deref(),
            Arc::new(SystemClock),
        )?)
    };
    // The store commands need no plugins: the user is resolved on the
    // state database alone.
    let store_user = || -> anyhow::Result<String> {
        create_data_dir(&data_dir)?;
        let db = StateDb::open_as(
            &data_dir.join("state.sqlite3"),
            user.as_deref().unwrap_or(DEFAULT_HANDLE),
        )?;
        Ok(resolve_user(&db, user.as_deref(), SystemClock.now())?.to_string())
    };
    match command {
        Command::Plugins { command } => plugins_cmd::run(&config, command),
        Command::Import { paths } => import_cmd::run(&data_dir, &store_user()?, &paths),
        Command::Activities => activities_cmd::run(&data_dir, &store_user()?),
        Command::Users { command } => users_cmd::run(&data_dir, user.as_deref(), command),
        Command::Secrets {
            command: SecretsCommand::RotateKey { new_key_file },
        } => secrets_cmd::rotate_key(&data_dir, new_key_file.as_deref()),
        Command::Connect(connect) => connect_cmd::run(&open_host()?, connect),
        Command::Sync { id, max_downloads } => {
            sync_cmd::run(&open_host()?, id.as_deref(), max_downloads)
        }
        Command::Run => run_cmd::run(open_host()?),
        Command::Serve(serve) => {
            serve_cmd::run(admin_host(&config, &data_dir, user.as_deref())?, &serve)
        }
        #[cfg(feature = "demo")]
        Command::Demo { serve: false } => demo_cmd::run(
            &config,
            &data_dir,
            user.as_deref().unwrap_or(DEFAULT_HANDLE),
        ),
        #[cfg(feature = "demo")]
        Command::Demo { serve: true } => demo_cmd::serve(
            &config,
            &data_dir,
            user.as_deref().unwrap_or(DEFAULT_HANDLE),
        ),
        Command::Status if user.is_none() => {
            let host = admin_host(&config, &data_dir, None)?;
            if host.db.users()?.len() > 1 {
                status_cmd::run_all(&host)
            } else {
                status_cmd::run(&host)
            }
        }
        Command::Status => status_cmd::run(&open_host()?),
        Command::Disconnect { connection } => disconnect_cmd::run(&open_host()?, &connection),
    }
}

/// A host for the server-wide commands (`users`, `status` of everyone): as
/// `--user` when given, else as the only user, else as the first admin.
fn admin_host(config: &Path, data_dir: &Path, user: Option<&str>) -> anyhow::Result<Host> {
    if user.is_none() {
        create_data_dir(data_dir)?;
        let db = StateDb::open_as(&data_dir.join("state.sqlite3"), DEFAULT_HANDLE)?;
        let users = db.users()?;
        if users.len() > 1 {
            let admin = users
                .iter()
                .find(|u| u.role == bincio_state::Role::Admin && !u.is_disabled())
                .or_else(|| users.iter().find(|u| !u.is_disabled()))
                .unwrap_or(&users[0]);
            let handle = admin.handle.to_string();
            drop(db);
            return Ok(Host::open_for(
                config,
                data_dir,
                Some(&handle),
                Arc::new(SystemClock),
            )?);
        }
    }
    Ok(Host::open_for(
        config,
        data_dir,
        user,
        Arc::new(SystemClock),
    )?)
}

/// Creates the data directory, naming it when that fails.
pub(crate) fn create_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    bincio_state::private_fs::private_dir(data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the data directory {}: {e}",
            data_dir.display()
        )
    })
}
