//! The plugin's settings, from `plugin.toml` (`[plugins.settings]`), with
//! defaults. Every base URL is a setting, so the same code talks to Garmin
//! and to the emulator.

use host_api::{FieldKind, FieldSpec, PluginError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One way of signing in to Garmin's SSO, see `login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Mobile,
    Widget,
    Portal,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub sso_base_url: String,
    pub connectapi_base_url: String,
    pub diauth_base_url: String,
    /// Pause between the sign-in page and the credential POST, as Garmin's
    /// own apps do (its WAF flags instant logins). Zero in tests.
    pub login_pause_ms: u64,
    /// Pause between API requests during a sync (jittered ±25 %).
    pub request_pacing_ms: u64,
    pub max_downloads_per_run: u32,
    /// Every sync re-lists activities started within this many days, so a
    /// watch that uploads late is still caught.
    pub lookback_days: u32,
    pub page_size: u32,
    /// At most one password login per connection in this many hours.
    pub password_login_min_interval_hours: u32,
    pub request_timeout_secs: u64,
    /// The login strategies to try, in order, comma-separated: `mobile`
    /// (iOS JSON API), `widget` (SSO embed HTML form), `portal` (web JSON API).
    pub login_strategies: String,
    /// Tries of one request on 5xx and connection errors (within a run).
    pub retry_attempts: u32,
    /// Exponential backoff between those tries: base x 2^n, capped, jittered 50–100 %.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// A `Retry-After` up to this long on a 5xx is waited out inside the run;
    /// a longer one ends the attempt (the item is deferred).
    pub max_inline_wait_secs: u64,
    /// How long a pending MFA sign-in waits for its code.
    pub mfa_flow_timeout_secs: u64,
    /// Wait after a login 427/429 that came without `Retry-After`.
    pub login_rate_limit_wait_secs: u64,
    /// Wait after an API 429 that came without `Retry-After`.
    pub api_rate_limit_wait_secs: u64,
    /// Largest activity download accepted, in MiB.
    pub max_download_mib: u64,
    /// A PEM file of one or more extra CA certificates to trust (for the emulator's edge in
    /// tests, or a TLS-inspecting proxy); empty = only the usual roots.
    pub extra_ca_file: String,
    /// `garmin.com`, or `garmin.cn` for accounts on Garmin's China domain: every default base
    /// and service URL follows it (the DI grant type stays `.com`, as Garmin's clients send it).
    pub domain: String,
    /// List requests one run may make; 0 = derived from the download cap
    /// (see [`Settings::list_request_budget`]).
    pub max_list_requests_per_run: u32,
    /// Where the `JWT_WEB` fallback redeems a service ticket: empty = at the service URL
    /// itself (Garmin's web hosts); a base URL = the service URL's path under it (the emulator).
    pub web_service_base_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sso_base_url: "https://sso.garmin.com".into(),
            connectapi_base_url: "https://connectapi.garmin.com".into(),
            diauth_base_url: "https://diauth.garmin.com".into(),
            login_pause_ms: 3000,
            request_pacing_ms: 1000,
            max_downloads_per_run: 50,
            lookback_days: 14,
            page_size: 50,
            password_login_min_interval_hours: 6,
            request_timeout_secs: 30,
            login_strategies: "mobile,widget,portal".into(),
            retry_attempts: 3,
            backoff_base_ms: 1000,
            backoff_max_ms: 10_000,
            max_inline_wait_secs: 60,
            mfa_flow_timeout_secs: 600,
            login_rate_limit_wait_secs: 3600,
            api_rate_limit_wait_secs: 900,
            max_download_mib: 64,
            extra_ca_file: String::new(),
            domain: "garmin.com".into(),
            max_list_requests_per_run: 0,
            web_service_base_url: String::new(),
        }
    }
}

impl Settings {
    /// Parses the host's JSON; an unknown key or a wrong type is an error
    /// that names it.
    pub fn from_json(json: &str) -> Result<Self, PluginError> {
        let json = if json.trim().is_empty() { "{}" } else { json };
        let settings: Self = serde_json::from_str(json).map_err(|e| {
            PluginError::permanent(format!(
                "invalid Garmin plugin settings in plugin.toml: {e}"
            ))
        })?;
        let mut settings = settings;
        settings.strategies()?;
        settings.follow_domain()?;
        if !(1..=1000).contains(&settings.page_size) {
            return Err(PluginError::permanent(format!(
                "invalid Garmin plugin settings in plugin.toml: page_size must be between 1 and 1000 (Garmin's limit), not {}",
                settings.page_size
            )));
        }
        Ok(settings)
    }

    /// The login strategies in order; an unknown name is an error naming it.
    pub fn strategies(&self) -> Result<Vec<Strategy>, PluginError> {
        let names: Vec<&str> = self
            .login_strategies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if names.is_empty() {
            return Err(PluginError::permanent(
                "invalid Garmin plugin settings in plugin.toml: login_strategies names no strategy",
            ));
        }
        names
            .into_iter()
            .map(|name| match name {
                "mobile" => Ok(Strategy::Mobile),
                "widget" => Ok(Strategy::Widget),
                "portal" => Ok(Strategy::Portal),
                other => Err(PluginError::permanent(format!(
                    "invalid Garmin plugin settings in plugin.toml: login_strategies: unknown strategy {other:?} (known: mobile, widget, portal)"
                ))),
            })
            .collect()
    }

    /// Moves the default base URLs to the configured domain; an unknown domain is an error.
    fn follow_domain(&mut self) -> Result<(), PluginError> {
        match self.domain.as_str() {
            "garmin.com" => Ok(()),
            "garmin.cn" => {
                for url in [
                    &mut self.sso_base_url,
                    &mut self.connectapi_base_url,
                    &mut self.diauth_base_url,
                ] {
                    if url.starts_with("https://") && url.trim_end_matches('/').ends_with(".garmin.com") {
                        *url = format!("{}.garmin.cn", url.trim_end_matches('/').trim_end_matches(".garmin.com"));
                    }
                }
                Ok(())
            }
            other => Err(PluginError::permanent(format!(
                "invalid Garmin plugin settings in plugin.toml: domain must be garmin.com or garmin.cn, not {other:?}"
            ))),
        }
    }

    /// `url` (one of Garmin's `https://….garmin.com…` identities) on the configured domain.
    pub fn on_domain(&self, url: &str) -> String {
        if self.domain == "garmin.cn" {
            url.replacen(".garmin.com", ".garmin.cn", 1)
        } else {
            url.to_string()
        }
    }

    /// The extra CA's PEM text, when `extra_ca_file` is set; an unreadable file is an error
    /// naming it.
    pub fn extra_ca_pem(&self) -> crate::errors::Result<Option<String>> {
        if self.extra_ca_file.trim().is_empty() {
            return Ok(None);
        }
        std::fs::read_to_string(&self.extra_ca_file)
            .map(Some)
            .map_err(|e| {
                crate::errors::GarminError::permanent(
                    "settings",
                    format!("extra_ca_file {}: cannot read it ({e})", self.extra_ca_file),
                )
            })
    }

    /// The list requests a run may make: the setting, else enough pages for `cap` downloads
    /// four times over plus fifty (the look-back walk, already-known activities and the empty
    /// date windows of a sparse history cost requests too).
    pub fn list_request_budget(&self, cap: u32) -> u32 {
        if self.max_list_requests_per_run > 0 {
            return self.max_list_requests_per_run;
        }
        let pages = cap.div_ceil(self.page_size.max(1));
        pages.saturating_mul(4).saturating_add(50)
    }

    pub fn backoff_base(&self) -> Duration {
        Duration::from_millis(self.backoff_base_ms)
    }
    pub fn backoff_max(&self) -> Duration {
        Duration::from_millis(self.backoff_max_ms)
    }
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }
    pub fn max_download_bytes(&self) -> usize {
        (self.max_download_mib.max(1) as usize).saturating_mul(1 << 20)
    }
    /// The SSO base without a trailing slash (URLs are built by appending paths).
    pub fn sso(&self) -> &str {
        self.sso_base_url.trim_end_matches('/')
    }
    pub fn connectapi(&self) -> &str {
        self.connectapi_base_url.trim_end_matches('/')
    }
    pub fn diauth(&self) -> &str {
        self.diauth_base_url.trim_end_matches('/')
    }

    pub fn login_pause(&self) -> Duration {
        Duration::from_millis(self.login_pause_ms)
    }
    pub fn request_pacing(&self) -> Duration {
        Duration::from_millis(self.request_pacing_ms)
    }

    /// The settings as field specs with their defaults, for the host's
    /// `plugins info` and forms.
    pub fn fields() -> Vec<FieldSpec> {
        let d = Self::default();
        let url = |key: &str, label: &str, value: &str| {
            FieldSpec::new(key, label, FieldKind::URL).default_value(value)
        };
        let number = |key: &str, label: &str, value: String, help: &str| {
            FieldSpec::new(key, label, FieldKind::NUMBER)
                .default_value(&value)
                .help(help)
        };
        vec![
            url("sso_base_url", "Garmin SSO base URL", &d.sso_base_url),
            url(
                "connectapi_base_url",
                "Garmin Connect API base URL",
                &d.connectapi_base_url,
            ),
            url(
                "diauth_base_url",
                "Garmin DI OAuth base URL",
                &d.diauth_base_url,
            ),
            number(
                "login_pause_ms",
                "Pause inside a login (ms)",
                d.login_pause_ms.to_string(),
                "Between the sign-in page and the credential POST, as Garmin's apps do.",
            ),
            number(
                "request_pacing_ms",
                "Pause between requests (ms)",
                d.request_pacing_ms.to_string(),
                "Jittered by ±25 %.",
            ),
            number(
                "max_downloads_per_run",
                "Downloads per run",
                d.max_downloads_per_run.to_string(),
                "History is backfilled over several runs.",
            ),
            number(
                "lookback_days",
                "Look-back window (days)",
                d.lookback_days.to_string(),
                "Re-listed every run to catch late uploads.",
            ),
            number(
                "page_size",
                "Activities per list page",
                d.page_size.to_string(),
                "",
            ),
            number(
                "password_login_min_interval_hours",
                "Hours between password logins",
                d.password_login_min_interval_hours.to_string(),
                "Tokens are reused; a password login happens only when they are dead.",
            ),
            number(
                "request_timeout_secs",
                "Request timeout (s)",
                d.request_timeout_secs.to_string(),
                "",
            ),
            FieldSpec::new(
                "login_strategies",
                "Login strategies, in order",
                FieldKind::TEXT,
            )
            .default_value(&d.login_strategies)
            .help(
                "Comma-separated: mobile (iOS app API), widget (SSO embed form), portal (web API).",
            ),
            number(
                "retry_attempts",
                "Tries per request on 5xx or network errors",
                d.retry_attempts.to_string(),
                "",
            ),
            number(
                "backoff_base_ms",
                "Backoff base (ms)",
                d.backoff_base_ms.to_string(),
                "Doubled per try, jittered 50-100 %.",
            ),
            number(
                "backoff_max_ms",
                "Backoff cap (ms)",
                d.backoff_max_ms.to_string(),
                "",
            ),
            number(
                "max_inline_wait_secs",
                "Longest Retry-After waited inside a run (s)",
                d.max_inline_wait_secs.to_string(),
                "",
            ),
            number(
                "mfa_flow_timeout_secs",
                "Time to enter an MFA code (s)",
                d.mfa_flow_timeout_secs.to_string(),
                "",
            ),
            number(
                "login_rate_limit_wait_secs",
                "Wait after a login rate limit (s)",
                d.login_rate_limit_wait_secs.to_string(),
                "When Garmin sends no Retry-After.",
            ),
            number(
                "api_rate_limit_wait_secs",
                "Wait after an API rate limit (s)",
                d.api_rate_limit_wait_secs.to_string(),
                "When Garmin sends no Retry-After.",
            ),
            number(
                "max_download_mib",
                "Largest download (MiB)",
                d.max_download_mib.to_string(),
                "",
            ),
            FieldSpec::new(
                "extra_ca_file",
                "Extra CA certificates (PEM file)",
                FieldKind::TEXT,
            )
            .default_value(&d.extra_ca_file)
            .help(
                "Trusted besides the usual roots: a TLS-inspecting proxy's CA, or the emulator's.",
            ),
            FieldSpec::new("domain", "Garmin domain", FieldKind::TEXT)
                .default_value(&d.domain)
                .help("garmin.com, or garmin.cn for accounts on Garmin's China site."),
            number(
                "max_list_requests_per_run",
                "List requests per run",
                d.max_list_requests_per_run.to_string(),
                "0 = derived from the download cap.",
            ),
            FieldSpec::new(
                "web_service_base_url",
                "Where service tickets are redeemed (JWT_WEB fallback)",
                FieldKind::TEXT,
            )
            .default_value(&d.web_service_base_url)
            .help("Empty = Garmin's own service URLs; set only to point at the emulator."),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_is_missing() {
        let s = Settings::from_json(r#"{"lookback_days": 3}"#).unwrap();
        assert_eq!(s.lookback_days, 3);
        assert_eq!(s.sso_base_url, "https://sso.garmin.com");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let e = Settings::from_json(r#"{"lookbak_days": 3}"#).unwrap_err();
        assert!(
            e.user_message.contains("lookbak_days"),
            "{}",
            e.user_message
        );
    }

    #[test]
    fn strategies_parse_and_an_unknown_one_is_named() {
        let s = Settings::from_json(r#"{"login_strategies": "widget, portal"}"#).unwrap();
        assert_eq!(
            s.strategies().unwrap(),
            vec![Strategy::Widget, Strategy::Portal]
        );
        let e =
            Settings::from_json(r#"{"login_strategies": "mobile,carrier-pigeon"}"#).unwrap_err();
        assert!(
            e.user_message.contains("carrier-pigeon"),
            "{}",
            e.user_message
        );
    }

    #[test]
    fn page_size_stays_within_garmins_limit() {
        for bad in [0, 1001] {
            let e = Settings::from_json(&format!(r#"{{"page_size": {bad}}}"#)).unwrap_err();
            assert!(e.user_message.contains("page_size"), "{}", e.user_message);
        }
        assert_eq!(
            Settings::from_json(r#"{"page_size": 1000}"#)
                .unwrap()
                .page_size,
            1000
        );
    }

    #[test]
    fn the_china_domain_moves_every_default_url_and_an_unknown_domain_is_named() {
        let s = Settings::from_json(r#"{"domain": "garmin.cn"}"#).unwrap();
        assert_eq!(s.sso(), "https://sso.garmin.cn");
        assert_eq!(s.connectapi(), "https://connectapi.garmin.cn");
        assert_eq!(s.diauth(), "https://diauth.garmin.cn");
        assert_eq!(
            s.on_domain("https://mobile.integration.garmin.com/gcm/ios"),
            "https://mobile.integration.garmin.cn/gcm/ios"
        );
        let own =
            Settings::from_json(r#"{"domain": "garmin.cn", "sso_base_url": "http://127.0.0.1:1"}"#)
                .unwrap();
        assert_eq!(own.sso(), "http://127.0.0.1:1", "an explicit URL stays");
        let e = Settings::from_json(r#"{"domain": "garmin.org"}"#).unwrap_err();
        assert!(e.user_message.contains("garmin.org"), "{}", e.user_message);
    }

    #[test]
    fn the_list_budget_derives_from_the_cap_unless_set() {
        let s = Settings::default();
        assert_eq!(s.list_request_budget(50), 54);
        assert_eq!(s.list_request_budget(0), 50);
        let set = Settings {
            max_list_requests_per_run: 3,
            ..Settings::default()
        };
        assert_eq!(set.list_request_budget(1000), 3);
    }

    #[test]
    fn every_setting_has_a_field() {
        let keys: Vec<String> = Settings::fields()
            .iter()
            .map(|f| f.key.to_string())
            .collect();
        let all = serde_json::to_value(Settings::default()).unwrap();
        for key in all.as_object().unwrap().keys() {
            assert!(keys.contains(key), "setting {key} has no field");
        }
        assert_eq!(keys.len(), all.as_object().unwrap().len());
    }
}
