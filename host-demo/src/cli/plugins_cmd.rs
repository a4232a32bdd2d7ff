//! `plugins list | info | enable | disable`.

use super::PluginsCommand;
use host_demo::plugins::{edit, Field, PluginManager, PluginStatus};
use std::path::Path;

pub fn run(config: &Path, command: PluginsCommand) -> anyhow::Result<()> {
    match command {
        PluginsCommand::List => list(config),
        PluginsCommand::Info { id } => info(config, &id),
        PluginsCommand::Enable { id } => toggle(config, &id, true),
        PluginsCommand::Disable { id } => toggle(config, &id, false),
    }
}

fn list(config: &Path) -> anyhow::Result<()> {
    let manager = PluginManager::load(config)?;
    println!(
        "{:<24} {:<18} {:<9} {:<8} status",
        "id", "name", "version", "enabled"
    );
    for entry in &manager.entries {
        let (name, version) = match &entry.status {
            PluginStatus::Loaded(p) => (p.descriptor.name.clone(), p.descriptor.version.clone()),
            _ => ("-".into(), "-".into()),
        };
        println!(
            "{:<24} {:<18} {:<9} {:<8} {}",
            entry.config.id,
            name,
            version,
            if entry.config.enabled { "yes" } else { "no" },
            entry.status.label()
        );
    }
    for error in &manager.config_errors {
        println!("error: {error}");
    }
    Ok(())
}

fn info(config: &Path, id: &str) -> anyhow::Result<()> {
    let manager = PluginManager::load(config)?;
    let entry = manager.entry(id)?;
    let plugin = manager.inspect(id)?;
    let d = &plugin.descriptor;
    println!(
        "{} ({}) version {}, API level {}",
        d.name, d.id, d.version, d.api_level
    );
    println!("library: {}", plugin.library.display());
    println!(
        "enabled: {}",
        if entry.config.enabled { "yes" } else { "no" }
    );
    println!("capabilities: {}", d.capabilities.join(", "));
    println!(
        "sync interval: default {} min, minimum {} min",
        d.default_interval.as_secs() / 60,
        d.min_interval.as_secs() / 60
    );
    println!("\ncredential fields:");
    for field in &d.credential_fields {
        print_field(field);
    }
    println!("\nsettings (default, then the value in plugin.toml if set):");
    for field in &d.settings_fields {
        let configured = entry
            .config
            .settings
            .get(&field.key)
            .map(|v| format!(" -> {v}"))
            .unwrap_or_default();
        println!(
            "  {:<36} {:<8} default {}{}",
            field.key,
            field.kind.name(),
            field.default_value.as_deref().unwrap_or("-"),
            configured
        );
    }
    println!(
        "\ndisclaimer version {} (sha256 {}):\n",
        d.disclaimer.version, d.disclaimer.sha256
    );
    println!("{}", d.disclaimer.markdown);
    Ok(())
}

fn print_field(field: &Field) {
    let mut flags = vec![field.kind.name()];
    if field.required {
        flags.push("required");
    }
    flags.push(if field.persist {
        "stored encrypted"
    } else {
        "never stored"
    });
    println!("  {:<16} {} [{}]", field.key, field.label, flags.join(", "));
    if !field.help.is_empty() {
        println!("  {:<16} {}", "", field.help);
    }
}

fn toggle(config: &Path, id: &str, enabled: bool) -> anyhow::Result<()> {
    let changed = edit::set_enabled(config, id, enabled)?;
    let word = if enabled { "enabled" } else { "disabled" };
    if changed {
        println!("{id} {word} in {}", config.display());
    } else {
        println!("{id} was already {word}");
    }
    if enabled {
        let manager = PluginManager::load(config)?;
        if let PluginStatus::Failed(e) = &manager.entry(id)?.status {
            println!("warning: it does not load: {e}");
        }
    }
    Ok(())
}
