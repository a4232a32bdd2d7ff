//! Asking the user for field values, by the field's kind: secrets and
//! one-time codes without echo; plain fields with echo. Without a terminal,
//! values come from standard input lines, and a missing one is an error
//! that says which flag supplies it.

use anyhow::{bail, Context};
use bincio_state::SecretString;
use host_demo::plugins::Field;
use std::io::{BufRead, Write};

/// The next line of standard input, without its line ending.
pub fn next_line() -> anyhow::Result<Option<String>> {
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line)?;
    Ok((n > 0).then(|| line.trim_end_matches(['\r', '\n']).to_string()))
}

pub struct Prompter {
    interactive: bool,
}

impl Prompter {
    pub fn new(interactive: bool) -> Self {
        Self { interactive }
    }

    pub fn line(&mut self, prompt: &str) -> anyhow::Result<String> {
        if !self.interactive {
            bail!("no terminal to ask on; pass --accept-disclaimer (after reading `plugins info`) and the fields as flags");
        }
        print!("{prompt}");
        std::io::stdout().flush()?;
        Ok(next_line()?.unwrap_or_default())
    }

    pub fn stdin_line(&mut self, key: &str) -> anyhow::Result<SecretString> {
        let line = next_line()?
            .with_context(|| format!("standard input ended before a line for {key}"))?;
        Ok(SecretString::new(line))
    }

    pub fn field(&mut self, field: &Field) -> anyhow::Result<SecretString> {
        let label = if field.help.is_empty() {
            format!("{}: ", field.label)
        } else {
            format!("{} ({}): ", field.label, field.help)
        };
        if !self.interactive {
            // Scripts: the next standard input line, if there is one.
            return match next_line()? {
                Some(line) => Ok(SecretString::new(line)),
                None => bail!(
                    "{} is needed: pass it with --stdin {} (or --set/--file), or run in a terminal",
                    field.label,
                    field.key
                ),
            };
        }
        let value = if field.kind.is_secret() {
            rpassword::prompt_password(label)?
        } else {
            print!("{label}");
            std::io::stdout().flush()?;
            next_line()?.unwrap_or_default()
        };
        if value.trim().is_empty() && field.required {
            bail!("{} is required", field.label);
        }
        Ok(SecretString::new(value))
    }
}
