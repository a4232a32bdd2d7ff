//! The edge mode: the emulator behind a Cloudflare-like front. HTTPS only (a CA made at start),
//! HTTP/2 by ALPN, each connection's JA4 (from the ClientHello peeked before the handshake) and
//! HTTP/2 fingerprint recorded in the stats, and on the SSO and DI paths a client whose JA4 is not
//! a browser's gets a 403 challenge page, or 429 once that fingerprint has been turned away
//! [`EdgeConfig::bot_429_after`] times. connectapi stays lenient, as the reference client assumes.
//!
//! "A browser's" is data: the JA4s curl_cffi produces for its `safari_ios`, `safari`, `chrome`
//! and `chrome120` profiles (`fingerprints/curl_cffi.json`, made by
//! `tests/python/make_fingerprints.py`).

pub mod h2fp;
pub mod ja4;
pub mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::faults::RequestKind;
use crate::responses::{cloudflare_challenge, html};
use crate::state::Shared;

/// The curl_cffi fingerprint fixture, compiled in.
pub const FIXTURE: &str = include_str!("../../fingerprints/curl_cffi.json");

/// One browser profile of the fixture.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BrowserFingerprint {
    /// curl_cffi's `impersonate` name.
    pub impersonate: String,
    pub ja4: String,
    /// The raw ClientHello record, hex.
    pub client_hello: String,
}

#[derive(Deserialize)]
struct Fixture {
    profiles: Vec<BrowserFingerprint>,
}

/// The browser fingerprints of the fixture.
pub fn browser_fingerprints() -> Vec<BrowserFingerprint> {
    serde_json::from_str::<Fixture>(FIXTURE)
        .expect("fingerprints/curl_cffi.json is valid (checked by a test)")
        .profiles
}

/// How the edge tells browsers from bots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// JA4s let through to the SSO and DI paths.
    pub browser_ja4s: Vec<String>,
    /// After this many challenges of one fingerprint, it gets 429 instead of 403.
    pub bot_429_after: u32,
}

impl Default for EdgeConfig {
    /// The fixture's browsers; a bot gets 429 from its fourth blocked request on.
    fn default() -> Self {
        let mut browser_ja4s: Vec<String> =
            browser_fingerprints().into_iter().map(|f| f.ja4).collect();
        browser_ja4s.sort();
        browser_ja4s.dedup();
        EdgeConfig {
            browser_ja4s,
            bot_429_after: 3,
        }
    }
}

/// What the edge saw of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeConnection {
    /// `None` when the first bytes were not a ClientHello.
    pub ja4: Option<String>,
    pub server_name: Option<String>,
    /// The ALPN protocol agreed (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The HTTP/2 fingerprint, once the connection's first request arrived over h2.
    pub http2: Option<String>,
    /// Paths of the requests this connection carried (no query).
    pub paths: Vec<String>,
}

/// The connection a request came over, as a request extension.
#[derive(Clone)]
pub struct ConnInfo {
    index: usize,
    ja4: Option<String>,
    h2: bool,
    tapped: Arc<Mutex<Vec<u8>>>,
    fingerprinted: Arc<OnceLock<()>>,
}

/// Serves `app` over TLS on `listener` until the future is dropped.
pub async fn serve(listener: TcpListener, app: Router, shared: Arc<Shared>, tls: tls::EdgeTls) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server);
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let (app, shared, acceptor) = (app.clone(), shared.clone(), acceptor.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            connection(stream, app, shared, acceptor).await;
        });
    }
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    let hello = tls::peek_client_hello(&stream, Duration::from_secs(10))
        .await
        .and_then(|bytes| ja4::parse_client_hello(&bytes).ok());
    let Ok(tls_stream) = acceptor.accept(stream).await else {
        record_connection(&shared, &hello, None);
        return;
    };
    let alpn = tls_stream
        .get_ref()
        .1
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let h2 = alpn.as_deref() == Some("h2");
    let index = record_connection(&shared, &hello, alpn);
    let info = ConnInfo {
        index,
        ja4: hello.as_ref().map(ja4::ClientHello::ja4),
        h2,
        tapped: Arc::new(Mutex::new(Vec::new())),
        fingerprinted: Arc::new(OnceLock::new()),
    };
    let io = TokioIo::new(tls::Tap {
        inner: tls_stream,
        tapped: info.tapped.clone(),
    });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        let mut app = app.clone();
        async move { app.call(req).await }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let _ = builder.serve_connection(io, service).await;
}

fn record_connection(
    shared: &Shared,
    hello: &Option<ja4::ClientHello>,
    alpn: Option<String>,
) -> usize {
    let mut state = shared.lock();
    state.stats.edge_connections.push(EdgeConnection {
        ja4: hello.as_ref().map(ja4::ClientHello::ja4),
        server_name: hello.as_ref().and_then(|h| h.server_name.clone()),
        alpn,
        http2: None,
        paths: Vec::new(),
    });
    state.stats.edge_connections.len() - 1
}

/// The edge's verdict on a request: records the connection's HTTP/2 fingerprint and the path,
/// and on the SSO and DI paths answers a non-browser with a challenge (or 429).
pub fn check(
    shared: &Shared,
    conn: Option<&ConnInfo>,
    kind: RequestKind,
    path: &str,
) -> Option<Response> {
    let edge = shared.knobs.edge.as_ref()?;
    let conn = conn?;
    let http2 = if conn.h2 && conn.fingerprinted.set(()).is_ok() {
        let tapped = conn.tapped.lock().unwrap_or_else(|p| p.into_inner());
        h2fp::fingerprint(&tapped)
    } else {
        None
    };
    let mut state = shared.lock();
    if let Some(entry) = state.stats.edge_connections.get_mut(conn.index) {
        entry.paths.push(path.to_string());
        if http2.is_some() {
            entry.http2 = http2;
        }
    }
    let guarded = kind.is_sso()
        || matches!(
            kind,
            RequestKind::Token | RequestKind::Refresh | RequestKind::ServiceTicket
        );
    let browser = conn
        .ja4
        .as_ref()
        .is_some_and(|j| edge.browser_ja4s.iter().any(|b| b == j));
    if !guarded || browser {
        return None;
    }
    let key = conn.ja4.clone().unwrap_or_default();
    let seen = state.edge_blocks.entry(key).or_insert(0);
    *seen += 1;
    if *seen > edge.bot_429_after {
        state.stats.edge_rate_limited += 1;
        let mut resp = html(
            StatusCode::TOO_MANY_REQUESTS,
            "Access denied | sso.garmin.com used Cloudflare to restrict access",
            "<p>Error 1015: You are being rate limited.</p>",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
        return Some(resp);
    }
    state.stats.edge_challenges += 1;
    Some(cloudflare_challenge())
}

/// The address clients use: `localhost`, so that they send SNI as they would to Garmin.
pub fn base_url(addr: SocketAddr) -> String {
    format!("https://localhost:{}", addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_holds_the_four_curl_cffi_profiles_and_their_ja4_is_ours() {
        let profiles = browser_fingerprints();
        let names: Vec<&str> = profiles.iter().map(|p| p.impersonate.as_str()).collect();
        for wanted in ["safari_ios", "safari", "chrome", "chrome120"] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
        for p in &profiles {
            let bytes: Vec<u8> = (0..p.client_hello.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&p.client_hello[i..i + 2], 16).unwrap())
                .collect();
            let hello = ja4::parse_client_hello(&bytes).unwrap();
            assert_eq!(
                hello.ja4(),
                p.ja4,
                "{}: our JA4 differs from the script's",
                p.impersonate
            );
        }
        // Safari iOS's, as measured in research/browser-tls.md, is among them.
        assert!(profiles
            .iter()
            .any(|p| p.ja4 == "t13d2013h2_a09f3c656075_7f0f34a4126d"));
    }
}
