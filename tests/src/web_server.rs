//! The web suites' in-process server: the emulator, a data dir with a
//! plugin.toml pointing the real Garmin library at it, one host on a manual
//! clock and `WebServer` on 127.0.0.1:0; users made with a password; and a
//! client that keeps its session cookie and CSRF token by hand (so tests
//! see every Set-Cookie) and records every response's headers and body for
//! the secret-leak checks. Reused by the browser suite.

use crate::harness::{emulator_settings, PLUGIN};
use crate::{plugin_libraries, write_plugin_toml, Entry};
use bincio_state::{Role, SecretString, User};
use garmin_emulator::{Emulator, EmulatorConfig};
use host_demo::clock::ManualClock;
use host_demo::host::Host;
use host_demo::web::{WebConfig, WebServer};
use reqwest::blocking::{multipart, Client, RequestBuilder, Response};
use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct WebTest {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub host: Arc<Host>,
    pub server: Option<WebServer>,
    pub base: String,
    /// Every response the clients of this test received: headers and body.
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl WebTest {
    /// The emulator with `emulator`, the plugin with `extra_settings` (TOML
    /// lines), and a server with `web` (its `listen` is replaced by
    /// 127.0.0.1:0; the scheduler does not tick by itself unless
    /// `web.scheduler_poll` says so).
    pub fn start(emulator: EmulatorConfig, extra_settings: &str, web: WebConfig) -> Self {
        crate::logs::capture();
        let emulator = Emulator::start(emulator).expect("emulator starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let libs = plugin_libraries();
        let settings = emulator_settings(&emulator.base_url(), extra_settings);
        let config = write_plugin_toml(
            dir.path(),
            &[Entry {
                id: PLUGIN,
                library: &libs.garmin,
                enabled: true,
                settings: &settings,
            }],
        );
        let clock = ManualClock::new(time::OffsetDateTime::now_utc().unix_timestamp());
        let db = bincio_state::StateDb::open(&dir.path().join("state.sqlite3")).expect("db");
        let admin = host_demo::host::users::add_user(
            &db,
            "admin",
            Some("Admin"),
            Role::Admin,
            Some(&SecretString::from(ADMIN_PASSWORD)),
            host_demo::clock::Clock::now(&clock),
        )
        .expect("admin");
        drop((db, admin));
        let host = Arc::new(
            Host::open_with_clock(&config, dir.path(), "admin", Arc::new(clock.clone()))
                .expect("host opens"),
        );
        let web = WebConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            ..web
        };
        let server = WebServer::start(host.clone(), web).expect("server starts");
        let base = server.url();
        Self {
            emulator,
            dir,
            clock,
            host,
            server: Some(server),
            base,
            seen: Arc::default(),
        }
    }

    /// A config for tests: no scheduler ticking, defaults otherwise.
    pub fn config() -> WebConfig {
        WebConfig {
            scheduler_poll: None,
            ..WebConfig::default()
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A user with this password.
    pub fn add_user(&self, handle: &str, password: &str, role: Role) -> User {
        host_demo::host::users::add_user(
            &self.host.db,
            handle,
            None,
            role,
            Some(&SecretString::from(password)),
            self.host.now(),
        )
        .expect("user added")
    }

    /// A client of this server, not signed in.
    pub fn client(&self) -> WebClient {
        WebClient {
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
            base: self.base.clone(),
            cookie: None,
            csrf: None,
            seen: self.seen.clone(),
        }
    }

    /// Every file under the data dir (relative paths), for "nothing written
    /// outside the store".
    pub fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }

    /// The connection is disconnected: its credentials and tokens are gone from the vault.
    pub fn assert_disconnected(&self, id: &bincio_state::ConnectionId) {
        assert!(
            self.host.vault.fields(id).unwrap().is_empty(),
            "credentials and tokens gone"
        );
        assert_eq!(
            self.host.db.connection(id).unwrap().unwrap().status,
            bincio_state::ConnectionStatus::Disconnected
        );
    }

    /// Stops the server as Ctrl-C would.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

impl Drop for WebTest {
    fn drop(&mut self) {
        self.stop();
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
}

/// The admin every server starts with.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A client with its session cookie and CSRF token.
pub struct WebClient {
    pub http: Client,
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    seen: Arc<Mutex<Vec<String>>>,
}

/// A response read whole: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl WebClient {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn with_cookie(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.cookie {
            Some(c) => request.header(COOKIE, format!("bincio_session={c}")),
            None => request,
        }
    }

    /// Sends and reads the whole answer; remembers a new session cookie.
    pub fn send(&mut self, request: RequestBuilder) -> Answer {
        let response = self.with_cookie(request).send().expect("request sent");
        self.read(response)
    }

    fn read(&mut self, response: Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().unwrap_or_default();
        let answer = Answer {
            status,
            headers,
            body,
        };
        self.record(&answer);
        if let Some(cookie) = answer.set_cookie() {
            let value = cookie
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            self.cookie = (!value.is_empty()).then_some(value);
        }
        answer
    }

    fn record(&self, answer: &Answer) {
        let mut text = format!("{}\n", answer.status);
        for (name, value) in &answer.headers {
            text.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        text.push_str(&answer.body);
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(text);
    }

    pub fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(self.url(path));
        self.send(request)
    }

    /// A JSON POST with the CSRF header (when known).
    pub fn post_json(&mut self, path: &str, body: serde_json::Value) -> Answer {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        self.send(request)
    }

    /// A form POST with the CSRF field (when known).
    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(csrf) = &self.csrf {
            fields.push(("csrf".into(), csrf.clone()));
        }
        let request = self.http.post(self.url(path)).form(&fields);
        self.send(request)
    }

    /// A multipart POST: the CSRF field first, then `files` (name, bytes)
    /// under `files`, then the text `fields`.
    pub fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: Vec<(String, Vec<u8>)>,
    ) -> Answer {
        let mut form = multipart::Form::new();
        if let Some(csrf) = &self.csrf {
            form = form.text("csrf", csrf.clone());
        }
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (name, bytes) in files {
            form = form.part("files", multipart::Part::bytes(bytes).file_name(name));
        }
        let request = self.http.post(self.url(path)).multipart(form);
        self.send(request)
    }

    /// Signs in through the JSON API; keeps the cookie and the CSRF token.
    pub fn login(&mut self, handle: &str, password: &str) -> Answer {
        let answer = self.post_json(
            "/api/auth/login",
            serde_json::json!({ "handle": handle, "password": password }),
        );
        if answer.status == 200 {
            self.csrf = answer.json()["csrf_token"].as_str().map(str::to_string);
        }
        answer
    }

    /// Reads `/api/me`'s CSRF token into the client (after a form sign-in).
    pub fn fetch_csrf(&mut self) {
        let me = self.get("/api/me");
        assert_eq!(me.status, 200, "{}", me.body);
        self.csrf = me.json()["csrf_token"].as_str().map(str::to_string);
    }

    /// Opens an event stream and reads its `data:` events until one whose
    /// type is final (`done`, `error`) or the stream ends; `on_event` sees
    /// each as it comes.
    pub fn read_stream(
        &mut self,
        path: &str,
        mut on_event: impl FnMut(&serde_json::Value),
    ) -> Vec<serde_json::Value> {
        use std::io::BufRead;
        let response = self
            .with_cookie(self.http.get(self.url(path)))
            .send()
            .expect("stream opens");
        assert_eq!(response.status().as_u16(), 200, "stream status");
        let mut headers = String::new();
        for (name, value) in response.headers() {
            headers.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let mut events = Vec::new();
        let mut raw = headers;
        for line in std::io::BufReader::new(response).lines() {
            let Ok(line) = line else { break };
            raw.push_str(&line);
            raw.push('\n');
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let event: serde_json::Value =
                serde_json::from_str(data.trim()).expect("an event is JSON");
            on_event(&event);
            let last = matches!(event["type"].as_str(), Some("done" | "error"));
            events.push(event);
            if last {
                break;
            }
        }
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(raw);
        events
    }
}

/// Where `needle` appears in `haystack` as a whole token (not inside a
/// longer run of letters and digits): the MFA code `123456` inside an
/// activity id is not a leak.
pub fn contains_token(haystack: &str, needle: &str) -> bool {
    let bytes = haystack.as_bytes();
    haystack.match_indices(needle).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + needle.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

/// Every value the vault holds for any connection (credentials, tokens),
/// in clear, for leak checks.
pub fn stored_secrets(host: &Host) -> Vec<String> {
    let mut out = Vec::new();
    for c in host.db.connections().unwrap_or_default() {
        for field in host.vault.fields(&c.id).unwrap_or_default() {
            if let Ok(Some(v)) = host.vault.get(&c.id, &c.plugin_id, &field) {
                out.push(v.expose().to_string());
            }
        }
    }
    out
}
