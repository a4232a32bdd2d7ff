//! The clients: sign-in, connect, polling and event streams over loopback
//! (tokio + reqwest), timed per request; errors counted, never ignored.

use crate::measure::{latencies, Errors, Phase, PhaseResult};
use crate::server::{email, handle, ServerProcess, PASSWORD};
use crate::{Outcome, Sizes, PHASE_TIMEOUT};
use garmin_emulator::{synthetic_activities, Account, Emulator, EmulatorConfig};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The importers page: the status cards of a signed-in user.
const PAGE: &str = "/settings/importers";
const API: &str = "/api/garmin/status";
/// One request (headers and whole body) may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The most time between two reads of an event stream (its keep-alive
/// comes every 15 s).
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The emulator, one account per user: one old activity, so the first run
/// has something to import and a newest activity to walk down to later.
pub fn start_emulator(users: usize) -> Emulator {
    let old = time::OffsetDateTime::now_utc() - Duration::from_secs(10 * 86_400);
    let mut config = EmulatorConfig::empty();
    for i in 0..users {
        let first = synthetic_activities(1, old - Duration::from_secs(7 * i as u64), HOUR);
        config = config.with_account(Account::new(&email(i), PASSWORD).with_activities(first));
    }
    Emulator::start(config).expect("emulator starts")
}

const HOUR: Duration = Duration::from_secs(3600);

/// `count` activities newer than the account's first one, 10 minutes apart
/// (the host's start-time dedupe keeps them apart), within the look-back.
fn add_new_activities(emulator: &Emulator, users: usize, count: usize) {
    let newest = time::OffsetDateTime::now_utc() - HOUR;
    for i in 0..users {
        let start = newest - Duration::from_secs(7 * i as u64);
        for a in synthetic_activities(count, start, Duration::from_secs(600)) {
            emulator.add_activity(&email(i), a);
        }
    }
}

/// A signed-in client: its user, session cookie and CSRF token.
#[derive(Clone)]
struct Session {
    user: usize,
    cookie: String,
    csrf: String,
}

struct Ctx {
    http: reqwest::Client,
    /// Without a total timeout (a stream lasts the whole sync), with a
    /// timeout between reads instead.
    streams: reqwest::Client,
    base: String,
    errors: Errors,
}

impl Ctx {
    fn get(&self, s: &Session, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, format!("bincio_session={}", s.cookie))
    }

    fn post(&self, s: &Session, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, format!("bincio_session={}", s.cookie))
            .header("x-csrf-token", &s.csrf)
            .json(&body)
    }
}

/// Sends `request`; the status and the body, or why not.
async fn send(request: reqwest::RequestBuilder) -> Result<(u16, String), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// The whole measurement on a running server: setup, idle, busy.
pub async fn run(server: &ServerProcess, emulator: &Emulator, sizes: Sizes) -> Outcome {
    let ctx = Arc::new(Ctx {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("http client"),
        streams: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(REQUEST_TIMEOUT)
            .read_timeout(STREAM_READ_TIMEOUT)
            .build()
            .expect("stream client"),
        base: server.url.clone(),
        errors: Errors::default(),
    });
    let before_sign_in = server.rss_kib();
    server.reset_peak();
    let started = Instant::now();
    let sessions = bounded("sign-in", sign_in_all(&ctx, sizes)).await;
    println!(
        "{} clients signed in at once in {:.1} s: server peak RSS {} (before: {})",
        sessions.len(),
        started.elapsed().as_secs_f64(),
        crate::mib(server.peak_kib()),
        crate::mib(before_sign_in)
    );
    let first_of_user: Vec<Session> = (0..sizes.users)
        .map(|u| {
            sessions
                .iter()
                .find(|s| s.user == u)
                .expect("a session per user")
                .clone()
        })
        .collect();
    bounded("connect", async {
        for s in &first_of_user {
            connect(&ctx, s).await;
        }
        wait_for_first_runs(&ctx, &first_of_user).await;
    })
    .await;
    let (count, errors) = ctx.errors.take();
    assert!(count == 0, "{count} errors during setup: {errors:#?}");
    let at_rest_kib = server.rss_kib();

    let idle = phase(server, &ctx, &sessions, None, sizes, Phase::Idle).await;
    add_new_activities(emulator, sizes.users, sizes.new_activities);
    let busy = phase(
        server,
        &ctx,
        &sessions,
        Some(&first_of_user),
        sizes,
        Phase::Busy,
    )
    .await;
    Outcome {
        phases: vec![idle, busy],
        at_rest_kib,
        server_log_problems: Vec::new(),
    }
}

/// `work`, failing the bench if it takes longer than [`PHASE_TIMEOUT`].
async fn bounded<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PHASE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {PHASE_TIMEOUT:?}"))
}

/// Every client signs in through the JSON API, all at once.
async fn sign_in_all(ctx: &Arc<Ctx>, sizes: Sizes) -> Vec<Session> {
    let tasks: Vec<_> = (0..sizes.clients)
        .map(|c| {
            let ctx = ctx.clone();
            tokio::spawn(async move { sign_in(&ctx, c % sizes.users).await })
        })
        .collect();
    let mut sessions = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(s)) => sessions.push(s),
            Ok(Err(e)) => ctx.errors.add(format!("sign-in: {e}")),
            Err(e) => ctx.errors.add(format!("sign-in task: {e}")),
        }
    }
    sessions
}

async fn sign_in(ctx: &Ctx, user: usize) -> Result<Session, String> {
    let response = ctx
        .http
        .post(format!("{}/api/auth/login", ctx.base))
        .json(&json!({ "handle": handle(user), "password": PASSWORD }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.strip_prefix("bincio_session="))
        .map(str::to_string);
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    match (status, cookie, body["csrf_token"].as_str()) {
        (200, Some(cookie), Some(csrf)) => Ok(Session {
            user,
            cookie,
            csrf: csrf.to_string(),
        }),
        _ => Err(format!("status {status}: {body}")),
    }
}

/// Connects the user's Garmin account: the 409 with the disclaimer, then
/// the same request accepting its sha256.
async fn connect(ctx: &Ctx, s: &Session) {
    let body = json!({ "email": email(s.user), "password": PASSWORD });
    let first = send(ctx.post(s, "/api/garmin/connect", body.clone())).await;
    let sha = match &first {
        Ok((409, text)) => serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v["disclaimer"]["sha256"].as_str().map(str::to_string)),
        _ => None,
    };
    let Some(sha) = sha else {
        return ctx
            .errors
            .add(format!("connect, disclaimer step: {first:?}"));
    };
    let mut body = body;
    body["accept_disclaimer"] = Value::String(sha);
    match send(ctx.post(s, "/api/garmin/connect", body)).await {
        Ok((200, text)) if text.contains("\"connected\":true") => {}
        other => ctx.errors.add(format!("connect: {other:?}")),
    }
}

/// Waits until every user's first (scheduled) run has ended.
async fn wait_for_first_runs(ctx: &Ctx, users: &[Session]) {
    for s in users {
        loop {
            let status = send(ctx.get(s, API)).await;
            let ended = match &status {
                Ok((200, text)) => serde_json::from_str::<Value>(text)
                    .is_ok_and(|v| !v["last_sync"].is_null() && v["running"] == false),
                _ => {
                    ctx.errors.add(format!("status while waiting: {status:?}"));
                    return;
                }
            };
            if ended {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// How far the busy phase's syncs are: users whose run has ended, and when
/// the last one did.
struct SyncProgress {
    started: Instant,
    left: AtomicUsize,
    ended: Vec<AtomicBool>,
    last_end: Mutex<Duration>,
    imported: Mutex<u64>,
}

impl SyncProgress {
    fn new(users: usize) -> Self {
        Self {
            started: Instant::now(),
            left: AtomicUsize::new(users),
            ended: (0..users).map(|_| AtomicBool::new(false)).collect(),
            last_end: Mutex::default(),
            imported: Mutex::default(),
        }
    }

    fn running(&self) -> bool {
        self.left.load(Ordering::Relaxed) > 0
    }

    fn ended(&self, user: usize, imported: u64) {
        if !self.ended[user].swap(true, Ordering::Relaxed) {
            *self.imported.lock().unwrap_or_else(|p| p.into_inner()) += imported;
            *self.last_end.lock().unwrap_or_else(|p| p.into_inner()) = self.started.elapsed();
            self.left.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One phase: (busy: the syncs started and every stream opened) every
/// client polls; the peak RSS from the phase's start to its end.
async fn phase(
    server: &ServerProcess,
    ctx: &Arc<Ctx>,
    sessions: &[Session],
    start_syncs: Option<&[Session]>,
    sizes: Sizes,
    phase: Phase,
) -> PhaseResult {
    server.reset_peak();
    let progress = Arc::new(SyncProgress::new(sizes.users));
    let mut streams = Vec::new();
    if let Some(users) = start_syncs {
        for s in users {
            match send(ctx.post(s, "/api/garmin/sync", json!({}))).await {
                Ok((200, text)) if text.contains("\"started\":true") => {}
                other => ctx.errors.add(format!("sync start: {other:?}")),
            }
        }
        for s in sessions {
            let (ctx, s, progress) = (ctx.clone(), s.clone(), progress.clone());
            let expected = sizes.new_activities as u64;
            streams.push(tokio::spawn(async move {
                follow_stream(&ctx, &s, expected, &progress).await
            }));
        }
    } else {
        // Nothing runs: mark every "sync" ended so no poll counts as during one.
        for u in 0..sizes.users {
            progress.ended(u, 0);
        }
    }
    let started = Instant::now();
    let pollers: Vec<_> = sessions
        .iter()
        .map(|s| {
            let (ctx, s, progress) = (ctx.clone(), s.clone(), progress.clone());
            tokio::spawn(async move { poll(&ctx, &s, sizes.polls_per_client, &progress).await })
        })
        .collect();
    let (mut page, mut api, mut during) = (Vec::new(), Vec::new(), 0);
    for task in bounded("polling", futures_join(pollers)).await {
        match task {
            Ok(p) => {
                page.extend(p.page);
                api.extend(p.api);
                during += p.during_syncs;
            }
            Err(e) => ctx.errors.add(format!("poll task: {e}")),
        }
    }
    let polling = started.elapsed();
    let mut sse_events = 0;
    for task in bounded("event streams", futures_join(streams)).await {
        match task {
            Ok(n) => sse_events += n,
            Err(e) => ctx.errors.add(format!("stream task: {e}")),
        }
    }
    let peak_kib = server.peak_kib();
    let (error_count, errors) = ctx.errors.take();
    let syncs_secs = progress
        .last_end
        .lock()
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let imported = *progress.imported.lock().unwrap_or_else(|p| p.into_inner());
    PhaseResult {
        phase,
        page: latencies(page),
        api: latencies(api),
        polling,
        peak_kib,
        error_count,
        errors,
        sse_events,
        polls_during_syncs: during,
        syncs_secs,
        imported,
    }
}

async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<Result<T, String>> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.map_err(|e| e.to_string()));
    }
    out
}

struct Polled {
    page: Vec<Duration>,
    api: Vec<Duration>,
    during_syncs: usize,
}

/// `n` requests in turn to the page and the API, each timed to its last
/// body byte and checked.
async fn poll(ctx: &Ctx, s: &Session, n: usize, progress: &SyncProgress) -> Polled {
    let mut out = Polled {
        page: Vec::new(),
        api: Vec::new(),
        during_syncs: 0,
    };
    for k in 0..n {
        let path = if k % 2 == 0 { PAGE } else { API };
        if progress.running() {
            out.during_syncs += 1;
        }
        let started = Instant::now();
        let answer = send(ctx.get(s, path)).await;
        let took = started.elapsed();
        let ok = match &answer {
            Ok((200, body)) if path == PAGE => body.contains("</html>"),
            Ok((200, body)) => {
                serde_json::from_str::<Value>(body).is_ok_and(|v| v["connected"] == true)
            }
            _ => false,
        };
        if !ok {
            let shown =
                answer.map(|(status, body)| (status, body.chars().take(200).collect::<String>()));
            ctx.errors.add(format!("GET {path}: {shown:?}"));
            continue;
        }
        if path == PAGE {
            out.page.push(took);
        } else {
            out.api.push(took);
        }
    }
    out
}

/// Reads the user's sync stream to its final event; the number of events.
/// A stream that ends without `done`, or whose `done` is not the whole
/// sync, is an error.
async fn follow_stream(ctx: &Ctx, s: &Session, expected: u64, progress: &SyncProgress) -> usize {
    let request = ctx
        .streams
        .get(format!("{}/api/garmin/sync/stream", ctx.base))
        .header(COOKIE, format!("bincio_session={}", s.cookie));
    let mut response = match request.send().await {
        Ok(r) if r.status() == 200 => r,
        Ok(r) => {
            ctx.errors.add(format!("stream: status {}", r.status()));
            return 0;
        }
        Err(e) => {
            ctx.errors.add(format!("stream: {e}"));
            return 0;
        }
    };
    let (mut buffer, mut events) = (String::new(), 0);
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                ctx.errors.add(format!("stream read: {e}"));
                return events;
            }
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let Some(data) = line.trim_end().strip_prefix("data:") else {
                continue;
            };
            events += 1;
            let event: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
            match event["type"].as_str() {
                Some("done") => {
                    let imported = event["imported"].as_u64().unwrap_or(0);
                    if imported != expected || event["error_count"] != 0 {
                        ctx.errors
                            .add(format!("run of {}: {event}", handle(s.user)));
                    }
                    progress.ended(s.user, imported);
                    return events;
                }
                Some("error") => {
                    ctx.errors
                        .add(format!("run of {}: {event}", handle(s.user)));
                    progress.ended(s.user, 0);
                    return events;
                }
                Some(_) => {}
                None => ctx.errors.add(format!("stream event not JSON: {data}")),
            }
        }
    }
    ctx.errors
        .add(format!("stream of {} ended without done", handle(s.user)));
    events
}
