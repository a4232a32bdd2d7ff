//! Starting and stopping the web server: it binds (port 0 works: tests ask
//! [`WebServer::addr`]), runs axum on its own runtime thread with the
//! router of every page and API route, and runs the scheduler on the same
//! host, its runs shown live. [`WebServer::stop`] asks running syncs to
//! stop after the item in hand, ends the event streams, lets requests in
//! flight finish, then waits for the syncs.

use super::config::{WebConfig, WebConfigError, MAX_HEADER_BYTES};
use super::error::WebError;
use super::live::{LiveRuns, LiveWatcher};
use super::state::{AppState, Shared};
use super::{api, pages};
use crate::host::Host;
use crate::scheduler::Scheduler;
use crate::services::CancelFlag;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum WebStartError {
    #[error(transparent)]
    Config(#[from] WebConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the server's threads: {0}")]
    Thread(std::io::Error),
}

pub struct WebServer {
    addr: SocketAddr,
    state: AppState,
    cancel: CancelFlag,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Binds `config.listen` and serves `host` until [`WebServer::stop`].
    pub fn start(host: Arc<Host>, config: WebConfig) -> Result<Self, WebStartError> {
        config.validate()?;
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| WebStartError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(WebStartError::Thread)?;
        listener
            .set_nonblocking(true)
            .map_err(WebStartError::Thread)?;
        let cancel = CancelFlag::new();
        let live = LiveRuns::new();
        let scheduler = Arc::new(
            Scheduler::new(host.clone(), cancel.clone())
                .with_watcher(Arc::new(LiveWatcher(live.clone()))),
        );
        let (stop, stopping) = watch::channel(false);
        let state = AppState::new(Shared {
            host,
            scheduler: scheduler.clone(),
            live,
            flows: Default::default(),
            limiter: super::auth::limiter::AttemptLimiter::new(
                config.attempts_per_ip,
                config.attempts_per_handle,
                i64::try_from(config.attempt_window.as_secs()).unwrap_or(i64::MAX),
            ),
            passwords: super::auth::password_gate::PasswordGate::new(
                config.password_checks_at_once,
            ),
            config: config.clone(),
            stopping: stopping.clone(),
        });
        let app = router(state.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("web")
            .enable_all()
            .build()
            .map_err(WebStartError::Thread)?;
        let mut until_stopped = stopping.clone();
        let server = std::thread::Builder::new()
            .name("web-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(target: "web", "cannot use the listening socket: {e}");
                            return;
                        }
                    };
                    let served = axum::serve(
                        listener,
                        app.into_make_service_with_connect_info::<SocketAddr>(),
                    )
                    .with_graceful_shutdown(async move {
                        let _ = until_stopped.wait_for(|stop| *stop).await;
                    })
                    .await;
                    if let Err(e) = served {
                        tracing::error!(target: "web", "the server stopped: {e}");
                    }
                });
            })
            .map_err(WebStartError::Thread)?;
        let ticker = match config.scheduler_poll {
            Some(poll) => Some(spawn_ticker(scheduler, cancel.clone(), poll)?),
            None => None,
        };
        tracing::info!(target: "web", %addr, "web server listening");
        Ok(Self {
            addr,
            state,
            cancel,
            stop,
            server: Some(server),
            ticker,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the handlers share (the host, the scheduler, the live runs).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops: syncs after their current item, streams, then the server.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.cancel.cancel();
        self.stop.send_replace(true);
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        self.state.scheduler.wait();
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The scheduler's loop: due runs start on their own threads.
fn spawn_ticker(
    scheduler: Arc<Scheduler>,
    cancel: CancelFlag,
    poll: std::time::Duration,
) -> Result<JoinHandle<()>, WebStartError> {
    std::thread::Builder::new()
        .name("web-scheduler".into())
        .spawn(move || {
            while !cancel.is_cancelled() {
                if let Err(e) = scheduler.tick() {
                    tracing::warn!(target: "web::scheduler", "scheduler tick failed: {e}");
                }
                scheduler.take_finished();
                std::thread::sleep(poll);
            }
        })
        .map_err(WebStartError::Thread)
}

/// Every route, with the header bound and the security headers.
pub fn router(state: AppState) -> Router {
    let max_upload = state.config.max_upload_bytes;
    Router::new()
        .merge(api::routes())
        .merge(pages::routes(max_upload))
        .fallback(|| async { WebError::NotFound("no such page".into()).page() })
        .layer(middleware::from_fn(guard))
        .with_state(state)
}

/// Refuses requests whose headers are too large with a clear page, and
/// adds the headers every answer carries.
async fn guard(request: Request, next: Next) -> Response {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let mut response = if header_bytes > MAX_HEADER_BYTES {
        let mut r = WebError::BadRequest(format!(
            "the request's headers are larger than this server accepts ({MAX_HEADER_BYTES} bytes); clear this site's cookies and try again"
        ))
        .page();
        *r.status_mut() = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        r
    } else {
        let is_asset = request.uri().path().starts_with("/assets/");
        let mut r = next.run(request).await;
        if !is_asset {
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        r
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
