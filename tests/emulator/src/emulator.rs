//! The running emulator: a server on 127.0.0.1 on its own thread with its own tokio runtime (so
//! it works from sync tests and from inside another runtime), and the control API tests use to
//! steer it. Dropping the handle stops the server.

use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::activity::Activity;
use crate::config::{Account, EmulatorConfig};
use crate::di_oauth::{grant_tokens, TokenGrant};
use crate::edge::{self, tls::EdgeTls};
use crate::faults::FaultRule;
use crate::server::{router, DI_TOKEN_PATH};
use crate::state::{Shared, Stats};

/// A running emulator.
pub struct Emulator {
    shared: Arc<Shared>,
    ca_pem: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts on a free port of 127.0.0.1.
    pub fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        Self::start_on_port(config, 0)
    }

    /// Starts on 127.0.0.1:`port` (0 = any free port).
    pub fn start_on_port(config: EmulatorConfig, port: u16) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let edge_tls = match &config.edge {
            Some(_) => Some(EdgeTls::generate().map_err(std::io::Error::other)?),
            None => None,
        };
        let base_url = match &edge_tls {
            Some(_) => edge::base_url(listener.local_addr()?),
            None => format!("http://{}", listener.local_addr()?),
        };
        let ca_pem = edge_tls.as_ref().map(|t| t.ca_pem.clone());
        let shared = Arc::new(Shared::new(config, base_url));
        let serving = shared.clone();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<()>>();
        let app = router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("garmin-emulator".to_string())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    match edge_tls {
                        Some(tls) => tokio::select! {
                            _ = edge::serve(listener, app, serving, tls) => {}
                            _ = shutdown_rx => {}
                        },
                        None => tokio::select! {
                            result = axum::serve(listener, app) => {
                                if let Err(e) = result {
                                    eprintln!("garmin-emulator: server stopped: {e}");
                                }
                            }
                            _ = shutdown_rx => {}
                        },
                    }
                });
                // Dropping the runtime here cancels the connection tasks still open.
            })?;
        ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("emulator thread ended before it was ready"))??;
        Ok(Emulator {
            shared,
            ca_pem,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// Edge mode: the PEM of the CA made at start, which signed the server's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// `http://127.0.0.1:PORT` (edge mode: `https://localhost:PORT`): the base of the sso,
    /// connectapi and diauth paths alike.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The DI token endpoint's full URL (`{base}/di-oauth2-service/oauth/token`).
    pub fn di_token_url(&self) -> String {
        format!("{}{DI_TOKEN_PATH}", self.shared.base_url)
    }

    /// Switches a fault on (until [`Emulator::clear_faults`] or its count runs out). Rules are
    /// tried in the order they were set.
    pub fn set_fault(&self, fault: impl Into<FaultRule>) {
        self.shared.lock().faults.add(fault.into());
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Moves the virtual clock forward (token and ticket expiry read it).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The emulator's virtual "now".
    pub fn now(&self) -> OffsetDateTime {
        self.shared.clock.now()
    }

    /// Revokes every refresh token of `email` (refresh then answers 400 `invalid_grant`).
    pub fn revoke_refresh_tokens(&self, email: &str) {
        for grant in self.shared.lock().refresh_tokens.values_mut() {
            if grant.email.eq_ignore_ascii_case(email) {
                grant.revoked = true;
            }
        }
    }

    /// Adds (or replaces, by id) an activity of `email`. Panics if there is no such account.
    pub fn add_activity(&self, email: &str, a: Activity) {
        let mut state = self.shared.lock();
        let account = state
            .account_mut(email)
            .unwrap_or_else(|| panic!("emulator has no account {email}"));
        account.activities.retain(|x| x.id != a.id);
        account.activities.push(a);
    }

    /// Shows or hides activity `activity_id` of `email` (late upload). Panics if unknown.
    pub fn set_listed(&self, email: &str, activity_id: u64, listed: bool) {
        let mut state = self.shared.lock();
        let account = state
            .account_mut(email)
            .unwrap_or_else(|| panic!("emulator has no account {email}"));
        let activity = account
            .activities
            .iter_mut()
            .find(|a| a.id == activity_id)
            .unwrap_or_else(|| panic!("account {email} has no activity {activity_id}"));
        activity.listed = listed;
    }

    /// Adds an account while running.
    pub fn add_account(&self, account: Account) {
        self.shared.lock().accounts.push(account);
    }

    /// The activities of `email` as the emulator holds them now (empty for an unknown account).
    pub fn activities(&self, email: &str) -> Vec<Activity> {
        self.shared
            .lock()
            .account(email)
            .map(|a| a.activities.clone())
            .unwrap_or_default()
    }

    /// Issues tokens for `email` as a successful login would, without any request (for tests
    /// that start from a stored token). Panics if there is no such account.
    pub fn mint_tokens(&self, email: &str, client_id: &str) -> TokenGrant {
        let email = self
            .shared
            .lock()
            .account(email)
            .map(|a| a.email.clone())
            .unwrap_or_else(|| panic!("emulator has no account {email}"));
        grant_tokens(&self.shared, &email, client_id, None)
    }

    /// Every `JWT_WEB` cookie issued so far (for tests that look for it where it must not be).
    pub fn issued_web_cookies(&self) -> Vec<String> {
        self.shared.lock().web_cookies.keys().cloned().collect()
    }

    /// Request counts and the request log so far.
    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Zeroes the counts and empties the request log.
    /// Every request so far with its arrival time and account.
    pub fn request_log(&self) -> Vec<crate::request_log::LoggedRequest> {
        self.shared.lock().request_log.entries.clone()
    }

    /// Answers the next `times` connectapi requests of `email`'s tokens with
    /// 429 and `Retry-After: retry_after_secs` (other accounts are served).
    pub fn rate_limit_account(&self, email: &str, times: u32, retry_after_secs: u64) {
        self.shared
            .lock()
            .request_log
            .account_limits
            .insert(email.to_ascii_lowercase(), (times, retry_after_secs));
    }

    pub fn reset_stats(&self) {
        self.shared.lock().stats = Stats::default();
    }

    /// Blocks until the server thread ends (it does not on its own: for the binary).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
