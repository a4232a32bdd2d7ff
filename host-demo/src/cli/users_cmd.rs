//! `users`: add, list, set a password, disable and remove the server's
//! users. Passwords come from a prompt without echo (asked twice) or one
//! line of standard input (`--password-stdin`), never from the command line.

use super::create_data_dir;
use super::prompt::next_line;
use anyhow::{bail, Context};
use bincio_state::StateDb;
use bincio_state::{Role, SecretString};
use clap::Subcommand;
use host_demo::clock::{Clock, SystemClock};
use host_demo::host::format_time;
use host_demo::host::users::{add_user, disable_user, remove_user, set_user_password};
use std::io::IsTerminal;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user (handle: lowercase letters, digits, '-', '_').
    Add {
        handle: String,
        /// The name shown for the user (default: the handle).
        #[arg(long)]
        display_name: Option<String>,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from one line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Add the user without a password (no web sign-in until one is set).
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
    },
    /// Every user with role, state and connections.
    List,
    /// Set a user's password.
    SetPassword {
        handle: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: no sign-in, no scheduled syncs; data stays.
    Disable { handle: String },
    /// Remove a user with their connections and stored secrets. Their
    /// activities stay unless --delete-activities.
    Remove {
        handle: String,
        #[arg(long)]
        delete_activities: bool,
    },
}

fn password(from_stdin: bool) -> anyhow::Result<SecretString> {
    let password = if from_stdin {
        SecretString::new(next_line()?.context("standard input ended before the password line")?)
    } else {
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for the password on; pass --password-stdin and write it as one line of standard input");
        }
        let first = SecretString::new(rpassword::prompt_password("Password: ")?);
        let again = SecretString::new(rpassword::prompt_password("Password again: ")?);
        if first.expose() != again.expose() {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    };
    if password.is_empty() {
        bail!("the password is empty; nothing was changed");
    }
    Ok(password)
}

/// `legacy_owner` (from `--user`) receives a version-1 database's rows if
/// this is its first open by a multi-user host.
pub fn run(
    data_dir: &Path,
    legacy_owner: Option<&str>,
    command: UsersCommand,
) -> anyhow::Result<()> {
    create_data_dir(data_dir)?;
    let db = StateDb::open_as(
        &data_dir.join("state.sqlite3"),
        legacy_owner.unwrap_or(bincio_state::DEFAULT_HANDLE),
    )?;
    let now = SystemClock.now();
    match command {
        UsersCommand::Add {
            handle,
            display_name,
            admin,
            password_stdin,
            no_password,
        } => {
            let password = if no_password {
                None
            } else {
                Some(password(password_stdin)?)
            };
            let role = if admin { Role::Admin } else { Role::User };
            let user = add_user(
                &db,
                &handle,
                display_name.as_deref(),
                role,
                password.as_ref(),
                now,
            )?;
            println!("Added user {} ({}).", user.handle, user.role.as_str());
        }
        UsersCommand::List => {
            let connections = db.connections()?;
            println!(
                "{:<20}  {:<6}  {:<8}  {:>11}  name",
                "handle", "role", "state", "connections"
            );
            for user in db.users()? {
                let count = connections.iter().filter(|c| c.user == user.handle).count();
                let state = match user.disabled_at {
                    Some(at) => format!("disabled since {}", format_time(at)),
                    None if user.has_password => "active".into(),
                    None => "active (no password)".into(),
                };
                println!(
                    "{:<20}  {:<6}  {:<8}  {:>11}  {}",
                    user.handle,
                    user.role.as_str(),
                    state,
                    count,
                    user.display_name
                );
            }
        }
        UsersCommand::SetPassword {
            handle,
            password_stdin,
        } => {
            set_user_password(&db, &handle, &password(password_stdin)?)?;
            println!("Password of {handle} changed.");
        }
        UsersCommand::Disable { handle } => {
            disable_user(&db, &handle, now)?;
            println!("User {handle} disabled: no sign-in and no scheduled syncs; data kept.");
        }
        UsersCommand::Remove {
            handle,
            delete_activities,
        } => {
            let removed = remove_user(&db, data_dir, &handle, delete_activities)?;
            println!(
                "Removed user {handle}: {} connection(s) and their stored credentials and tokens deleted.",
                removed.connections.len()
            );
            match removed.deleted_store {
                Some(dir) => println!("Deleted the activities in {}.", dir.display()),
                None => println!(
                    "Their activities stay in {}.",
                    data_dir.join(&handle).display()
                ),
            }
        }
    }
    Ok(())
}
