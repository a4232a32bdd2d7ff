//! The browser suite's harness: Debian's headless Chromium driven over WebDriver (fantoccini) by
//! a chromedriver this process starts on a free 127.0.0.1 port and kills on drop; full-page and
//! phone-width screenshots through Chromium's DevTools commands; a recording proxy between the
//! browser and the server ([`proxy`]); and the search of what the browser got for secrets
//! ([`find_secrets`]).
//!
//! Chromium or chromedriver missing is a failure naming `cargo xtask setup` (which installs
//! them), never a skip: a suite that passes without a browser proves nothing about one.

pub mod proxy;
mod secrets;

pub use secrets::{find_secrets, Secret};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variables that name another Chromium and chromedriver (the same ones `cargo xtask setup`
/// reads); without them, `chromium` and `chromedriver` on `PATH`.
pub const CHROMIUM_ENV: &str = "BINCIO_CHROMIUM";
pub const CHROMEDRIVER_ENV: &str = "BINCIO_CHROMEDRIVER";

/// A laptop's window.
pub const LAPTOP: (u32, u32) = (1280, 800);
/// A phone's viewport (CSS pixels), for the narrow screenshot.
pub const PHONE: (u32, u32) = (390, 844);

/// How long the harness waits for chromedriver, and a page for what it looks for.
const DRIVER_START: Duration = Duration::from_secs(30);
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// The flags every session starts Chromium with: headless, root-safe on a CI box, nothing
/// fetched from outside (no component updates, sync, or background requests).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
];

/// One headless Chromium and its chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_log: PathBuf,
    /// Chromium's fresh profile (`--user-data-dir`) and chromedriver's log.
    _profile: tempfile::TempDir,
}

/// The program `env` names, else `default` from `PATH`; a failure saying how to get it.
pub fn program(env: &str, default: &str, package: &str) -> PathBuf {
    let named = std::env::var_os(env).filter(|v| !v.is_empty());
    let found = match &named {
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(default))
                .find(|p| p.is_file())
        }),
    };
    let runs = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    match found {
        Some(path) if runs(&path) => path,
        _ => panic!(
            "the browser suite needs {default} ({}): run `cargo xtask setup`, which installs \
             Debian's {package} (or set {env} to another {default})",
            match &named {
                Some(p) => format!("{env}={} does not run", PathBuf::from(p).display()),
                None => format!("not found on PATH, and {env} is not set"),
            }
        ),
    }
}

impl Browser {
    /// Starts chromedriver and a Chromium session with a laptop's window. Panics (the test
    /// fails) when Chromium or chromedriver is missing or does not start.
    pub async fn start() -> Browser {
        let chromium = program(CHROMIUM_ENV, "chromium", "chromium");
        let chromedriver = program(CHROMEDRIVER_ENV, "chromedriver", "chromium-driver");
        let profile = tempfile::tempdir().expect("a profile folder");
        let driver_log = profile.path().join("chromedriver.log");
        let port = free_port();
        let driver = spawn_in_own_group(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", driver_log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let mut browser = BrowserStart {
            driver: Some(driver),
            log: driver_log.clone(),
        };
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            profile.path().join("chromium").display()
        ));
        args.push(format!("--window-size={},{}", LAPTOP.0, LAPTOP.1));
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + DRIVER_START;
        let client = loop {
            browser.check_alive();
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => panic!(
                    "no Chromium session through chromedriver on {url} within {DRIVER_START:?}: \
                     {e}\nchromedriver's log:\n{}",
                    browser.log_tail()
                ),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let driver = browser.driver.take().expect("the driver is still ours");
        Browser {
            client,
            driver,
            driver_log,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The element with this id, waiting for it to appear (after a click that navigates).
    pub async fn by_id(&self, id: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Id(id))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("#{id} on {}: {e}", self.current_url().await),
        }
    }

    /// The visible text of the element with this id.
    pub async fn text(&self, id: &str) -> String {
        self.by_id(id)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of #{id}: {e}"))
    }

    pub async fn click(&self, id: &str) {
        self.by_id(id)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click #{id}: {e}"));
    }

    /// Follows the link that reads `text`.
    pub async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("a link {text:?}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {text:?}: {e}"));
    }

    /// Types `text` into the field with this id, as a user would.
    pub async fn type_into(&self, id: &str, text: &str) {
        self.by_id(id)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
    }

    /// Waits until the element with this id shows a text `ready` accepts; answers it. Panics
    /// with the last text seen after `timeout`.
    pub async fn wait_for_text(
        &self,
        id: &str,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = match self.client.find(Locator::Id(id)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if ready(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "#{id} never got there in {timeout:?}; it shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of an attribute of the element with this id.
    pub async fn attr(&self, id: &str, name: &str) -> Option<String> {
        self.by_id(id)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("attribute {name} of #{id}: {e}"))
    }

    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("<no url: {e}>"))
    }

    /// The whole page (beyond the window's height) as a PNG at `path`.
    pub async fn screenshot(&self, path: &Path) {
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                serde_json::json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let data = shot["data"].as_str().expect("a screenshot's data");
        let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("a screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot folder");
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// The same at a phone's width and height (a mobile viewport), then back to the laptop.
    /// Answers the page's `innerWidth` while narrow, for the test to check.
    pub async fn phone_screenshot(&self, path: &Path) -> u64 {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({
                "width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 2, "mobile": true,
            }),
        )
        .await;
        let width = self
            .client
            .execute("return window.innerWidth;", vec![])
            .await
            .ok()
            .and_then(|w| w.as_u64())
            .unwrap_or_default();
        self.screenshot(path).await;
        self.cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await;
        width
    }

    /// A Chrome DevTools command through chromedriver's `goog/cdp/execute`.
    async fn cdp(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.to_string(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        drop(self);
    }

    /// The end of chromedriver's log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.driver_log)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// chromedriver while its first session is not made: killed if the start panics.
struct BrowserStart {
    driver: Option<Child>,
    log: PathBuf,
}

impl BrowserStart {
    fn check_alive(&mut self) {
        if let Some(Ok(Some(status))) = self.driver.as_mut().map(Child::try_wait) {
            panic!(
                "chromedriver exited ({status}) before a session started:\n{}",
                self.log_tail()
            );
        }
    }
    fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for BrowserStart {
    fn drop(&mut self) {
        if let Some(driver) = &mut self.driver {
            kill_group(driver);
        }
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

/// A port nobody listens on now (chromedriver binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// chromedriver in a process group of its own, so the Chromium it starts (and that browser's
/// helper processes) end with it.
fn spawn_in_own_group(command: &mut Command) -> std::io::Result<Child> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    command.spawn()
}

fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (hyper::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (hyper::Method::POST, Some(body.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_fails_naming_the_setup() {
        // A variable of this test's own, so no other test's lookup is disturbed.
        const ENV: &str = "BINCIO_TEST_BROWSER_THAT_IS_NOT_THERE";
        std::env::set_var(ENV, "/nonexistent/chromium");
        let failure = std::panic::catch_unwind(|| program(ENV, "chromium", "chromium"))
            .expect_err("a missing program fails");
        let message = failure
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("run `cargo xtask setup`"), "{message}");
        assert!(
            message.contains("/nonexistent/chromium does not run"),
            "{message}"
        );
    }
}
