//! `activities`: what the BAS store holds.

use std::path::Path;

pub fn run(_data_dir: &Path, _handle: &str) -> anyhow::Result<()> {
    anyhow::bail!("activities is not wired up yet")
}
