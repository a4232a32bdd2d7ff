//! The edge's TLS: a CA and a `localhost` certificate made at start, a rustls server that offers
//! `h2` and `http/1.1` by ALPN, the ClientHello peeked off the socket before the handshake, and a
//! tap that keeps the first plaintext bytes of the connection for the HTTP/2 fingerprint.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How many plaintext bytes of a connection are kept for the HTTP/2 fingerprint.
pub const TAP_LIMIT: usize = 16 * 1024;
/// The largest ClientHello record the edge waits for (a TLS record's maximum).
const MAX_HELLO: usize = 5 + 16 * 1024;

/// Why the edge's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("making the edge's CA or certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("configuring the TLS server: {0}")]
    Server(#[from] rustls::Error),
}

/// The CA (PEM, for clients to trust) and the server configuration it signed.
pub struct EdgeTls {
    pub ca_pem: String,
    pub server: Arc<ServerConfig>,
}

impl EdgeTls {
    /// A fresh CA and a certificate for `localhost` and `127.0.0.1`, signed by it.
    pub fn generate() -> Result<EdgeTls, TlsSetupError> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "garmin-emulator edge test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;

        let mut leaf =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![
                    CertificateDer::from(leaf_cert.der().to_vec()),
                    CertificateDer::from(ca_cert.der().to_vec()),
                ],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(EdgeTls {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        })
    }
}

/// The first TLS record of `stream` (the ClientHello), read with `peek` so the handshake still
/// sees it. `None` when the client sends something else or nothing within `wait`.
pub async fn peek_client_hello(stream: &TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; MAX_HELLO];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let n = tokio::time::timeout_at(deadline, stream.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 || buf[0] != 0x16 {
            return None;
        }
        if let Some(len) = super::ja4::record_len(&buf[..n]) {
            if n >= len.min(MAX_HELLO) {
                buf.truncate(len.min(n));
                return Some(buf);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A stream that copies the first [`TAP_LIMIT`] bytes read through it into `tapped`.
pub struct Tap<S> {
    pub inner: S,
    pub tapped: Arc<Mutex<Vec<u8>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let fresh = &buf.filled()[before..];
            let mut tapped = self.tapped.lock().unwrap_or_else(|p| p.into_inner());
            let room = TAP_LIMIT.saturating_sub(tapped.len());
            tapped.extend_from_slice(&fresh[..fresh.len().min(room)]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
