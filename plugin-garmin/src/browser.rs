//! The browser's connection for Garmin's SSO and DI token steps: `wreq` (BoringSSL and its own
//! HTTP/2) with `wreq-util`'s browser profiles, so that the TLS ClientHello and the HTTP/2
//! connection look like Safari or Chrome to the Cloudflare edge in front of `sso.garmin.com` and
//! `diauth.garmin.com` (research/browser-tls.md). This is the only module that names wreq:
//! moving to another release is a change here.
//!
//! Every body read through it is capped ([`read_body`]); the SSO and DI answers are small.

use crate::errors::{GarminError, Result};
use crate::settings::{Settings, Strategy};
use futures_util::StreamExt;
use std::sync::OnceLock;
use wreq::tls::trust::{CertStore, Certificate};
use wreq_util::{Emulation, Platform};

pub use wreq::header;
pub use wreq::{Client, RequestBuilder, Response, StatusCode};

/// The largest SSO page or DI answer read (both are a few KiB).
pub const ANSWER_LIMIT: usize = 1 << 20;

/// A browser the connection impersonates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Safari on iOS 26 (curl_cffi's `safari_ios` JA4).
    SafariIos,
    /// Safari 26 on macOS.
    Safari,
    /// Chrome 131 (curl_cffi's `chrome120` JA4, Chrome's published one).
    Chrome,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Self::SafariIos => "safari_ios",
            Self::Safari => "safari",
            Self::Chrome => "chrome",
        }
    }

    fn emulation(self) -> Emulation {
        let (profile, platform) = match self {
            Self::SafariIos => (wreq_util::Profile::SafariIos26, Platform::IOS),
            Self::Safari => (wreq_util::Profile::Safari26, Platform::MacOS),
            Self::Chrome => (wreq_util::Profile::Chrome131, Platform::MacOS),
        };
        Emulation::builder()
            .profile(profile)
            .platform(platform)
            .build()
    }
}

/// The profiles a strategy tries, in order: on a 403 or 429 at the edge the next one gets a
/// fresh connection (the reference rotates curl_cffi's the same way; each lands in its own
/// Cloudflare bucket).
pub fn rotation(strategy: Strategy) -> &'static [Profile] {
    match strategy {
        Strategy::Mobile => &[Profile::SafariIos, Profile::Safari, Profile::Chrome],
        Strategy::Widget => &[Profile::Chrome],
        Strategy::Portal => &[Profile::Safari, Profile::SafariIos, Profile::Chrome],
    }
}

/// The certificate store: the Mozilla roots, plus the extra CA of the settings when there is one.
fn cert_store(settings: &Settings) -> Result<Option<CertStore>> {
    let Some(pem) = settings.extra_ca_pem()? else {
        return Ok(None);
    };
    let not_pem = |why: String| {
        GarminError::permanent(
            "settings",
            format!(
                "extra_ca_file {}: not a PEM certificate ({why})",
                settings.extra_ca_file
            ),
        )
    };
    let certs = Certificate::stack_from_pem(pem.as_bytes()).map_err(|e| not_pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(not_pem("no certificate in it".into()));
    }
    CertStore::builder()
        .add_der_certs(webpki_root_certs::TLS_SERVER_ROOT_CERTS)
        .add_stack_pem_certs(pem.as_bytes())
        .build()
        .map(Some)
        .map_err(|e| {
            GarminError::permanent(
                "settings",
                format!(
                    "extra_ca_file {}: not a PEM certificate ({e})",
                    settings.extra_ca_file
                ),
            )
        })
}

fn builder(settings: &Settings, profile: Profile) -> Result<wreq::ClientBuilder> {
    let mut builder = Client::builder()
        .emulation(profile.emulation())
        .timeout(settings.request_timeout())
        .connect_timeout(settings.request_timeout());
    if let Some(store) = cert_store(settings)? {
        builder = builder.tls_cert_store(store);
    }
    Ok(builder)
}

/// A client for one login attempt: its own cookie jar (the SSO session), redirects followed.
pub fn login_client(settings: &Settings, profile: Profile) -> Result<Client> {
    builder(settings, profile)?
        .cookie_store(true)
        .redirect(wreq::redirect::Policy::limited(10))
        .build()
        .map_err(|e| GarminError::transient("HTTP client", e.to_string()))
}

/// The client of the DI token endpoint (exchange and refresh): Chrome, as the reference uses,
/// no cookies; the native app's headers go on each request.
pub fn di_client(settings: &Settings) -> Result<Client> {
    static NOTE: OnceLock<()> = OnceLock::new();
    NOTE.get_or_init(|| tracing::debug!(target: "garmin::http", "DI client impersonates chrome"));
    builder(settings, Profile::Chrome)?
        .redirect(wreq::redirect::Policy::none())
        .build()
        .map_err(|e| GarminError::transient("HTTP client", e.to_string()))
}

/// A per-request policy that follows no redirect (the caller reads each hop).
pub fn no_redirects() -> wreq::redirect::Policy {
    wreq::redirect::Policy::none()
}

/// A transport failure as a transient error naming `endpoint` (never the URL: it may hold a
/// ticket).
pub fn transport_error(endpoint: &str, error: wreq::Error) -> GarminError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() || error.is_tls() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "network error"
    };
    GarminError::transient(endpoint, format!("{kind}: {}", error.without_uri()))
}

/// Reads a whole body, refusing more than `limit` bytes (checked as it arrives).
pub async fn read_body(endpoint: &str, response: Response, limit: usize) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large(endpoint, limit));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| transport_error(endpoint, e))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(endpoint, limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(endpoint: &str, limit: usize) -> GarminError {
    GarminError::permanent(endpoint, format!("the answer is larger than {limit} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_strategy_rotates_like_the_reference() {
        assert_eq!(
            rotation(Strategy::Mobile),
            &[Profile::SafariIos, Profile::Safari, Profile::Chrome]
        );
        assert_eq!(rotation(Strategy::Widget), &[Profile::Chrome]);
        assert_eq!(rotation(Strategy::Portal)[0], Profile::Safari);
    }

    #[test]
    fn a_bad_extra_ca_is_named() {
        let dir = std::env::temp_dir().join(format!("garmin-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("not-a-ca.pem");
        std::fs::write(&file, "hello").unwrap();
        let settings = Settings {
            extra_ca_file: file.display().to_string(),
            ..Settings::default()
        };
        let Err(e) = login_client(&settings, Profile::Chrome) else {
            panic!("a bad CA must be refused");
        };
        assert!(e.to_string().contains("extra_ca_file"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A local server answering every request with `size` bytes, chunked (no length given).
    async fn chunked_server(size: usize) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut request = vec![0u8; 8192];
                let _ = s.read(&mut request).await;
                let head =
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                let _ = s.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 32 * 1024];
                for _ in 0..size / chunk.len() {
                    let _ = s
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await;
                    let _ = s.write_all(&chunk).await;
                    let _ = s.write_all(b"\r\n").await;
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_as_they_arrive() {
        let addr = chunked_server(2 << 20).await;
        let client = login_client(&Settings::default(), Profile::Chrome).unwrap();
        let url = format!("http://{addr}/");
        let response = client.get(&url).send().await.unwrap();
        let e = read_body("DI token exchange", response, ANSWER_LIMIT)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("larger than 1048576 bytes"), "{e}");
        assert!(e.to_string().contains("DI token exchange"), "{e}");
        let response = client.get(&url).send().await.unwrap();
        let whole = read_body("x", response, 4 << 20).await.unwrap();
        assert_eq!(whole.len(), 2 << 20);
    }
}
