//! A recording reverse proxy for the browser suite: the browser talks to it on 127.0.0.1 and it
//! forwards every request to the server, recording every response the browser got (status,
//! headers and the body as it streams, event streams included) so the leak check can search
//! exactly what reached the page. Runs on its own runtime thread; stops on drop.

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// One answer as the browser received it; the body grows while it streams.
#[derive(Default)]
struct Exchange {
    head: String,
    body: Vec<u8>,
}

type Recorded = Arc<Mutex<Vec<Arc<Mutex<Exchange>>>>>;

pub struct RecordingProxy {
    addr: SocketAddr,
    recorded: Recorded,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RecordingProxy {
    /// Listens on 127.0.0.1:0 and forwards to `upstream` (an `http://host:port` base).
    pub fn start(upstream: &str) -> std::io::Result<Self> {
        let upstream: Uri = upstream
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let recorded = Recorded::default();
        let (stop, stopping) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let shared = recorded.clone();
        let thread = std::thread::Builder::new()
            .name("recording-proxy".into())
            .spawn(move || {
                runtime.block_on(serve(listener, upstream, shared, stopping));
                // Streams still open (an event stream the page follows) end with the runtime.
                runtime.shutdown_background();
            })?;
        Ok(Self {
            addr,
            recorded,
            stop,
            thread: Some(thread),
        })
    }

    /// The base URL the browser opens.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every answer so far, each as its status line, headers, a blank line and its body (lossy
    /// UTF-8: the pages, JSON and event streams are text; images would be noise, not hidden).
    pub fn responses(&self) -> Vec<String> {
        let all = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .map(|exchange| {
                let e = exchange.lock().unwrap_or_else(|p| p.into_inner());
                format!("{}\n{}", e.head, String::from_utf8_lossy(&e.body))
            })
            .collect()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    upstream: Uri,
    recorded: Recorded,
    mut stopping: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let (client, upstream, recorded) = (client.clone(), upstream.clone(), recorded.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                forward(request, client.clone(), upstream.clone(), recorded.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type ProxyBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

async fn forward(
    mut request: Request<Incoming>,
    client: Client<HttpConnector, Incoming>,
    upstream: Uri,
    recorded: Recorded,
) -> Result<Response<ProxyBody>, Infallible> {
    let mut target = upstream.into_parts();
    target.path_and_query = request.uri().path_and_query().cloned();
    *request.uri_mut() = Uri::from_parts(target).expect("the upstream base plus a path");
    let response = match client.request(request).await {
        Ok(response) => response,
        Err(e) => {
            let body = format!("proxy: the server did not answer: {e}");
            let response = Response::builder()
                .status(502)
                .body(
                    http_body_util::Full::new(Bytes::from(body))
                        .map_err(|never| match never {})
                        .boxed(),
                )
                .expect("a plain 502");
            return Ok(response);
        }
    };
    let mut head = format!("{:?} {}\n", response.version(), response.status());
    for (name, value) in response.headers() {
        head.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    let exchange = Arc::new(Mutex::new(Exchange {
        head,
        body: Vec::new(),
    }));
    recorded
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(exchange.clone());
    let (parts, body) = response.into_parts();
    let body = body
        .map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                exchange
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .body
                    .extend_from_slice(data);
            }
            frame
        })
        .boxed();
    Ok(Response::from_parts(parts, body))
}
