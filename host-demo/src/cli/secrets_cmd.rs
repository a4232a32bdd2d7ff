//! `secrets rotate-key`: re-encrypt every stored secret under a new master key.

use anyhow::{bail, Context};
use bincio_state::{MasterKey, StateDb, Vault, MASTER_KEY_ENV};
use std::path::Path;

pub fn rotate_key(data_dir: &Path, new_key_file: Option<&Path>) -> anyhow::Result<()> {
    let from_env = std::env::var_os(MASTER_KEY_ENV).is_some_and(|v| !v.is_empty());
    let new_key = match new_key_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            MasterKey::from_base64(text.trim())
                .map_err(|e| anyhow::anyhow!("{}: not a master key: {e}", path.display()))?
        }
        // A generated key that goes nowhere would lock every secret away.
        None if from_env => bail!(
            "the master key comes from {MASTER_KEY_ENV}, so the new one must come from you: \
write 64 random bytes as base64 to a private file (e.g. `head -c 64 /dev/urandom | base64 -w0 > new.key`) \
and pass --new-key-file new.key"
        ),
        None => MasterKey::generate(),
    };
    let db = StateDb::open(&data_dir.join("state.sqlite3"))?;
    let mut vault = Vault::open(data_dir, &db)?;
    let version = vault.rotate_key(new_key)?;
    println!("Every stored secret is now encrypted under key version {version}.");
    if from_env {
        println!("Set {MASTER_KEY_ENV} to the new key before the next start.");
    } else {
        println!(
            "The new key is in {}.",
            data_dir.join("master.key").display()
        );
    }
    Ok(())
}
