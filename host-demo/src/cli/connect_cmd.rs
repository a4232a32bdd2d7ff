//! `connect ID`: the disclaimer, the credential prompts built from the
//! plugin's field specs, the MFA step, then `check`.
//!
//! Secrets are never taken from the command line (it shows in `ps` and shell
//! history): they come from a prompt without echo, from standard input
//! (`--stdin KEY`, one line each, in order) or from a file (`--file KEY=PATH`).

use super::prompt::Prompter;
use anyhow::{bail, Context};
use bincio_state::SecretString;
use host_demo::host::{ConnectOutcome, DisclaimerState, Host};
use host_demo::plugins::{Field, Kind};
use std::io::IsTerminal;

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The plugin to connect an account of (e.g. dev.bincio.garmin).
    pub plugin: String,
    /// Accept the plugin's disclaimer without the prompt (for scripts; read
    /// it first with `plugins info ID`).
    #[arg(long)]
    pub accept_disclaimer: bool,
    /// A non-secret field, e.g. `--set email=me@example.com`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Read this field from a line of standard input (repeat for several,
    /// in order; a later MFA code is read from the next line).
    #[arg(long = "stdin", value_name = "KEY")]
    pub stdin: Vec<String>,
    /// Read this field from a file, e.g. `--file garmin_tokens=garmin_tokens.json`.
    #[arg(long = "file", value_name = "KEY=PATH")]
    pub file: Vec<String>,
}

pub fn run(host: &Host, args: ConnectArgs) -> anyhow::Result<()> {
    let (_, plugin) = host.manager.loaded(&args.plugin)?;
    let descriptor = plugin.descriptor.clone();
    let interactive = std::io::stdin().is_terminal() && args.stdin.is_empty();
    let mut prompter = Prompter::new(interactive);

    match host.disclaimer_state(&args.plugin)? {
        DisclaimerState::Accepted => {}
        state => {
            println!("{}\n", descriptor.disclaimer.markdown.trim_end());
            if state == DisclaimerState::Changed {
                println!("(This disclaimer changed since you last accepted it.)");
            }
            if !args.accept_disclaimer {
                let answer =
                    prompter.line("Type 'accept' to accept this disclaimer and go on: ")?;
                if answer.trim().to_lowercase() != "accept" {
                    bail!("the disclaimer was not accepted; nothing was connected or stored");
                }
            }
            host.accept_disclaimer(&args.plugin)?;
            println!(
                "Accepted disclaimer version {} (sha256 {}).",
                descriptor.disclaimer.version,
                &descriptor.disclaimer.sha256[..12]
            );
            if state == DisclaimerState::Changed {
                let existing = active_connections(host, &args.plugin)?;
                if !existing.is_empty() {
                    println!(
                        "Your connection(s) {} sync again; nothing else to enter.",
                        existing.join(", ")
                    );
                    return Ok(());
                }
            }
        }
    }

    let mut inputs = given_inputs(&args, &descriptor.credential_fields, &mut prompter)?;
    let token_given = descriptor
        .credential_fields
        .iter()
        .any(|f| f.kind == Kind::SecretFile && inputs.iter().any(|(k, _)| k == &f.key));
    for field in &descriptor.credential_fields {
        let given = inputs.iter().any(|(k, _)| k == &field.key);
        // A token file replaces the password: do not ask for secrets then.
        let needed = field.required && !(token_given && field.kind == Kind::Secret);
        if !given && needed {
            inputs.push((field.key.clone(), prompter.field(field)?));
        }
    }

    // One-time codes given up front (`--stdin mfa_code`) are not part of
    // the login: they answer the plugin's question when it asks.
    let (mut held, inputs): (Vec<_>, Vec<_>) = inputs.into_iter().partition(|(key, _)| {
        descriptor
            .credential_field(key)
            .is_some_and(|f| f.kind == Kind::OneTimeCode)
    });
    let outcome = host.begin_connect(&args.plugin, inputs)?;
    let pending = match &outcome {
        ConnectOutcome::NeedInput { connection, .. } => Some(connection.clone()),
        ConnectOutcome::Connected { .. } => None,
    };
    let finished = follow(host, outcome, &mut held, &mut prompter);
    if let (Err(_), Some(connection)) = (&finished, &pending) {
        // Whatever went wrong after the login started (a missing code, a
        // closed input), the half-made connection and its secrets go.
        host.abandon_connect(connection)?;
    }
    finished
}

/// Answers the plugin's questions until it is connected.
fn follow(
    host: &Host,
    mut outcome: ConnectOutcome,
    held: &mut Vec<(String, SecretString)>,
    prompter: &mut Prompter,
) -> anyhow::Result<()> {
    loop {
        match outcome {
            ConnectOutcome::Connected {
                connection,
                display_name,
                account_id,
            } => {
                println!("Connected {display_name} (account {account_id}) as {connection}.");
                println!("Run `host-demo sync {connection}` to sync now, or `host-demo run` to sync on schedule.");
                return Ok(());
            }
            ConnectOutcome::NeedInput {
                connection,
                flow_id,
                message,
                fields,
                errors,
            } => {
                if !message.is_empty() {
                    println!("{message}");
                }
                for (key, error) in &errors {
                    println!(
                        "{}{error}",
                        if key.is_empty() {
                            String::new()
                        } else {
                            format!("{key}: ")
                        }
                    );
                }
                let mut answers = Vec::new();
                for field in &fields {
                    let value = match held.iter().position(|(k, _)| k == &field.key) {
                        Some(at) => held.remove(at).1,
                        None => prompter.field(field)?,
                    };
                    answers.push((field.key.clone(), value));
                }
                outcome = host.continue_connect(&connection, &flow_id, answers)?;
            }
        }
    }
}

fn given_inputs(
    args: &ConnectArgs,
    fields: &[Field],
    prompter: &mut Prompter,
) -> anyhow::Result<Vec<(String, SecretString)>> {
    let field = |key: &str| {
        fields
            .iter()
            .find(|f| f.key == key)
            .with_context(|| format!("the plugin has no credential field {key:?}"))
    };
    let mut inputs = Vec::new();
    for pair in &args.set {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--set takes KEY=VALUE, got {pair:?}"))?;
        if field(key)?.kind.is_secret() {
            bail!("{key} is a secret: pass it with --stdin {key} or --file {key}=PATH, never on the command line");
        }
        inputs.push((key.to_string(), SecretString::new(value.to_string())));
    }
    for pair in &args.file {
        let (key, path) = pair
            .split_once('=')
            .with_context(|| format!("--file takes KEY=PATH, got {pair:?}"))?;
        field(key)?;
        let value = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        inputs.push((
            key.to_string(),
            SecretString::new(value.trim_end().to_string()),
        ));
    }
    for key in &args.stdin {
        field(key)?;
        inputs.push((key.clone(), prompter.stdin_line(key)?));
    }
    Ok(inputs)
}

fn active_connections(host: &Host, plugin: &str) -> anyhow::Result<Vec<String>> {
    Ok(host
        .db
        .connections()?
        .into_iter()
        .filter(|c| c.plugin_id == plugin && c.status == bincio_state::ConnectionStatus::Active)
        .map(|c| c.id.to_string())
        .collect())
}
