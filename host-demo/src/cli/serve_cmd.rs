//! `serve`: the web settings page and the scheduler in one process, on one
//! host, until Ctrl-C (running syncs stop after the item in hand and
//! commit). Listens on 127.0.0.1:8080 by default; put a reverse proxy in
//! front for TLS and pass its address with `--trusted-proxy`.

use host_demo::host::Host;
use host_demo::web::{WebConfig, WebServer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A reverse proxy whose X-Forwarded-Proto / X-Forwarded-For are
    /// believed (repeat for several); from anyone else they are ignored.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<IpAddr>,
    /// The most bytes one upload may carry.
    #[arg(long, default_value_t = host_demo::web::config::DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
}

impl ServeArgs {
    pub fn config(&self) -> WebConfig {
        WebConfig {
            listen: self.listen,
            trusted_proxies: self.trusted_proxies.clone(),
            max_upload_bytes: self.max_upload_bytes,
            ..WebConfig::default()
        }
    }
}

pub fn run(host: Host, args: &ServeArgs) -> anyhow::Result<()> {
    if !host
        .db
        .users()?
        .iter()
        .any(|u| u.has_password && !u.is_disabled())
    {
        println!(
            "Nobody can sign in yet: no user has a password. Add one with \
`host-demo users add NAME --admin` (or `users set-password NAME`)."
        );
    }
    let server = WebServer::start(Arc::new(host), args.config())?;
    println!(
        "Serving the settings page on {} (the scheduler runs too); Ctrl-C stops it.",
        server.url()
    );
    wait_for_ctrl_c();
    println!("Stopping: running syncs finish their current item...");
    server.stop();
    println!("Stopped; every committed import is stored.");
    Ok(())
}

/// Blocks until Ctrl-C (through `ctrlc`, as `sync` and `run`). Without the
/// handler (said in the log) it blocks for good, and Ctrl-C ends the process
/// as the default signal action does.
pub fn wait_for_ctrl_c() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = tx.send(());
    }) {
        tracing::warn!("Ctrl-C will stop the process at once: {e}");
        loop {
            std::thread::park();
        }
    }
    let _ = rx.recv();
}
