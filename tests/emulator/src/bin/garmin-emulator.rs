//! `garmin-emulator`: runs the Garmin Connect emulator on 127.0.0.1 until killed. Its first
//! stdout line is `listening on http://127.0.0.1:PORT` (with `--edge`: `https://localhost:PORT`,
//! then `edge CA: PATH`).

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use garmin_emulator::accounts_file::{add_synthetic, load_accounts};
use garmin_emulator::{Emulator, EmulatorConfig};

/// A Garmin Connect emulator (SSO, DI OAuth, connectapi) on 127.0.0.1; never talks to Garmin.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// JSON or TOML file describing the accounts (default: the two demo accounts).
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Add N synthetic activities to each account.
    #[arg(long, default_value_t = 0)]
    synthetic: usize,
    /// Folder of FIT fixtures for the sample activities (sets BINCIO_FIXTURES).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Serve HTTPS + HTTP/2 behind a Cloudflare-like edge that refuses non-browser TLS
    /// fingerprints on the SSO and DI paths (base `https://localhost:PORT`).
    #[arg(long)]
    edge: bool,
    /// Edge mode: where to write the CA certificate (PEM) clients must trust
    /// (default: `garmin-emulator-ca-PORT.pem` in the temp folder).
    #[arg(long, requires = "edge")]
    ca_out: Option<PathBuf>,
    /// Emulate Garmin's China site (`garmin.cn`): only the `.cn` service URLs are served.
    #[arg(long)]
    china: bool,
    /// Refuse every DI client id, so that clients must use the `JWT_WEB` cookie fallback.
    #[arg(long)]
    refuse_di: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.fixtures {
        anyhow::ensure!(dir.is_dir(), "--fixtures {} is not a folder", dir.display());
        // Read once, before any thread starts, by the sample loader.
        std::env::set_var("BINCIO_FIXTURES", dir);
    }
    let mut config = match &args.accounts {
        Some(path) => {
            let accounts = load_accounts(path)?;
            accounts
                .into_iter()
                .fold(EmulatorConfig::empty(), EmulatorConfig::with_account)
        }
        None => EmulatorConfig::default_demo(),
    };
    if args.edge {
        config = config.with_edge();
    }
    if args.china {
        config = config.with_china_domain();
    }
    if args.refuse_di {
        config = config.with_accepted_client_ids(&[]);
    }
    for account in &mut config.accounts {
        add_synthetic(account, args.synthetic);
    }
    let summary: Vec<String> = config
        .accounts
        .iter()
        .map(|a| {
            format!(
                "{} ({} activities{})",
                a.email,
                a.activities.len(),
                if a.mfa_code.is_some() { ", MFA" } else { "" }
            )
        })
        .collect();
    let emulator = Emulator::start_on_port(config, args.port)
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", emulator.base_url())?;
    if let Some(pem) = emulator.ca_pem() {
        let port = emulator
            .base_url()
            .rsplit(':')
            .next()
            .unwrap_or("0")
            .to_string();
        let path = args
            .ca_out
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("garmin-emulator-ca-{port}.pem")));
        std::fs::write(&path, pem)
            .with_context(|| format!("cannot write the edge CA to {}", path.display()))?;
        writeln!(out, "edge CA: {}", path.display())?;
    }
    out.flush()?;
    drop(out);
    eprintln!("garmin-emulator: accounts: {}", summary.join(", "));
    emulator.wait();
    Ok(())
}
