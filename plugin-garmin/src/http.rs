//! HTTP plumbing shared by login and sync: the connectapi client, the
//! pauses (anti-WAF pauses, request pacing, backoff), `Retry-After`, and
//! turning transport failures into [`GarminError`]s.

use crate::clock::Clock;
use crate::errors::{GarminError, Result, MAX_SERVER_WAIT_SECS};
use crate::identity;
use crate::settings::Settings;
use bincio_backoff::{Backoff, Jitter};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, Response, StatusCode};
use std::time::Duration;

/// The client for connectapi: no cookies (auth travels in headers only), the
/// native app's headers on every request, plain rustls (the reference calls the
/// API without impersonation; see the README). The SSO and DI steps use
/// [`crate::browser`].
pub fn api_client(settings: &Settings) -> Result<Client> {
    let mut builder = Client::builder();
    if let Some(pem) = settings.extra_ca_pem()? {
        for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
            GarminError::permanent(
                "settings",
                format!(
                    "extra_ca_file {}: not a PEM certificate ({e})",
                    settings.extra_ca_file
                ),
            )
        })? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .timeout(settings.request_timeout())
        .connect_timeout(settings.request_timeout())
        .default_headers(identity::native_headers())
        .pool_max_idle_per_host(4)
        .build()
        .map_err(|e| GarminError::transient("HTTP client", e.to_string()))
}

/// `base` scaled by a random factor in `[low, high]` (see [`Jitter::apply`]).
pub fn jittered(base: Duration, low: f64, high: f64) -> Duration {
    Jitter { low, high }.apply(base, &mut rand::thread_rng())
}

/// Sleeps unless `duration` is zero (tests run with every pause at zero).
pub async fn pause(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

/// The pause between two sync requests: the setting, ±25 %.
pub fn pacing(settings: &Settings) -> Duration {
    jittered(settings.request_pacing(), 0.75, 1.25)
}

/// Backoff before try `attempt + 1` (attempt 0 is the first retry):
/// min(cap, base x 2^attempt), times a random 0.5–1.0.
pub fn backoff(settings: &Settings, attempt: u32) -> Duration {
    let policy = Backoff {
        base: settings.backoff_base(),
        max: settings.backoff_max(),
        jitter: Jitter {
            low: 0.5,
            high: 1.0,
        },
    };
    policy.delay(attempt, &mut rand::thread_rng())
}

/// `Retry-After` in seconds: either delta-seconds or an HTTP date in any of
/// its three forms (relative to `now`, unix seconds), at most
/// [`MAX_SERVER_WAIT_SECS`]. Garbage (and a date outside 1970–9999) is
/// ignored.
pub fn retry_after_secs(headers: &HeaderMap, now: i64) -> Option<u64> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let asked = if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // Too many digits for u64 is still "a very long wait", not garbage.
        value.parse::<u64>().unwrap_or(u64::MAX)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        let at = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        let at = i64::try_from(at).unwrap_or(i64::MAX);
        u64::try_from(at.saturating_sub(now)).unwrap_or(0)
    };
    Some(clamp_server_wait(asked))
}

/// A wait a server asked for, at most [`MAX_SERVER_WAIT_SECS`]; a clamp is
/// logged with both values.
pub fn clamp_server_wait(asked_secs: u64) -> u64 {
    if asked_secs > MAX_SERVER_WAIT_SECS {
        tracing::warn!(
            target: "garmin::http",
            asked_secs,
            clamped_secs = MAX_SERVER_WAIT_SECS,
            "the server asked for a wait longer than a day; waiting a day"
        );
        return MAX_SERVER_WAIT_SECS;
    }
    asked_secs
}

/// Whether `status` says "too many requests" (Garmin also uses 427).
pub fn is_rate_limit(status: StatusCode) -> bool {
    status.as_u16() == 429 || status.as_u16() == 427
}

/// The rate-limit error of an answer (`status`, `headers`), if it says "too many
/// requests": Garmin's `Retry-After` (relative to `now`, unix seconds), else
/// `fallback_secs`. Works for both clients (reqwest and the browser's wreq share
/// the `http` types).
pub fn rate_limit_error(
    status: StatusCode,
    headers: &HeaderMap,
    endpoint: &str,
    now: i64,
    fallback_secs: u64,
) -> Option<GarminError> {
    is_rate_limit(status).then(|| {
        let wait = retry_after_secs(headers, now);
        GarminError::rate_limited(endpoint, wait, fallback_secs)
    })
}

/// Refuses a login-side answer that says "too many requests", waiting
/// Garmin's `Retry-After` or else `login_rate_limit_wait_secs`.
pub fn check_login_rate_limit(
    status: StatusCode,
    headers: &HeaderMap,
    endpoint: &str,
    settings: &Settings,
    clock: &Clock,
) -> Result<()> {
    let now = clock.now();
    match rate_limit_error(
        status,
        headers,
        endpoint,
        now,
        settings.login_rate_limit_wait_secs,
    ) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// A transport failure (connect, reset, timeout, broken body) as a transient
/// error naming `endpoint`. The URL is dropped: only the endpoint name is kept.
pub fn transport_error(endpoint: &str, error: reqwest::Error) -> GarminError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "network error"
    };
    GarminError::transient(endpoint, format!("{kind}: {}", error.without_url()))
}

/// A body being read from the network, refused as soon as it passes
/// `limit` bytes: the one cap every body the plugin reads goes through,
/// whatever client read it (feed it each chunk, then take the bytes).
pub struct CappedBody {
    endpoint: String,
    limit: usize,
    body: Vec<u8>,
}

impl CappedBody {
    /// Refuses at once a body whose declared length is over the limit.
    pub fn new(endpoint: &str, limit: usize, content_length: Option<u64>) -> Result<Self> {
        let body = Self {
            endpoint: endpoint.to_string(),
            limit,
            body: Vec::new(),
        };
        match content_length {
            Some(declared) if declared > limit as u64 => Err(body.too_large()),
            declared => Ok(Self {
                body: Vec::with_capacity(declared.unwrap_or(0) as usize),
                ..body
            }),
        }
    }

    /// Adds one chunk, or refuses the body if it passes the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        if self.body.len().saturating_add(chunk.len()) > self.limit {
            return Err(self.too_large());
        }
        self.body.extend_from_slice(chunk);
        Ok(())
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }

    fn too_large(&self) -> GarminError {
        tracing::warn!(target: "garmin::http", endpoint = %self.endpoint, limit = self.limit, "refused an answer larger than the cap");
        GarminError::permanent(
            &self.endpoint,
            format!(
                "the answer is larger than {} bytes, the most this plugin reads from {}; refused",
                self.limit, self.endpoint
            ),
        )
    }
}

/// Reads a whole body, refusing more than `limit` bytes (never holding more).
pub async fn read_body(endpoint: &str, mut response: Response, limit: usize) -> Result<Vec<u8>> {
    let mut body = CappedBody::new(endpoint, limit, response.content_length())?;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(endpoint, e))?
    {
        body.push(&chunk)?;
    }
    Ok(body.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_secs(&h, 0), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after_secs(&h, 0), Some(120));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Thu, 01 Jan 1970 00:10:00 GMT"),
        );
        assert_eq!(retry_after_secs(&h, 60), Some(540));
        assert_eq!(retry_after_secs(&h, 6000), Some(0));
        // RFC 9110's obsolete forms, which a recipient must read too.
        for obsolete in [
            "Thursday, 01-Jan-70 00:10:00 GMT",
            "Thu Jan  1 00:10:00 1970",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(obsolete));
            assert_eq!(retry_after_secs(&h, 60), Some(540), "{obsolete}");
        }
        for garbage in ["soon", "Fri, 01 Jan 1970 00:10:00 GMT", "-5", "12.5"] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(garbage));
            assert_eq!(retry_after_secs(&h, 0), None, "{garbage}");
        }
    }

    #[test]
    fn absurd_retry_afters_are_clamped_to_a_day() {
        let mut h = HeaderMap::new();
        for value in [
            "18446744073709551615",
            "9223372036854775807",
            "99999999999",
            "999999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(
                retry_after_secs(&h, 0),
                Some(MAX_SERVER_WAIT_SECS),
                "{value}"
            );
        }
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        assert_eq!(retry_after_secs(&h, i64::MAX), Some(0));
        // Outside what an HTTP date can say: ignored, not a panic.
        for outside in [
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "Sat, 01 Jan 10000 00:00:00 GMT",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(outside));
            assert_eq!(retry_after_secs(&h, 0), None, "{outside}");
        }
        h.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(retry_after_secs(&h, 0), Some(86400));
    }

    #[test]
    fn absurd_durations_saturate_instead_of_panicking() {
        // A factor below 1 legitimately shortens it; at or above 1 it saturates.
        assert!(jittered(Duration::MAX, 0.75, 1.25) >= Duration::MAX.mul_f64(0.74));
        assert_eq!(jittered(Duration::MAX, 1.0, 1.25), Duration::MAX);
        assert_eq!(jittered(Duration::MAX, 2.0, 2.0), Duration::MAX);
        assert_eq!(
            jittered(Duration::from_secs(4), f64::NAN, 1.0),
            Duration::ZERO
        );
        let settings = Settings {
            request_pacing_ms: u64::MAX,
            backoff_base_ms: u64::MAX,
            backoff_max_ms: u64::MAX,
            ..Settings::default()
        };
        assert!(pacing(&settings) >= Duration::from_secs(u64::MAX / 1000 / 2));
        assert!(backoff(&settings, u32::MAX) > Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_within_its_jitter_and_cap() {
        let settings = Settings {
            backoff_base_ms: 1000,
            backoff_max_ms: 3000,
            ..Settings::default()
        };
        for _ in 0..50 {
            let first = backoff(&settings, 0);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_millis(1000));
            let second = backoff(&settings, 1);
            assert!(second >= Duration::from_millis(1000) && second <= Duration::from_millis(2000));
            let capped = backoff(&settings, 10);
            assert!(capped >= Duration::from_millis(1500) && capped <= Duration::from_millis(3000));
        }
        let zero = Settings {
            backoff_base_ms: 0,
            ..Settings::default()
        };
        assert_eq!(backoff(&zero, 3), Duration::ZERO);
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..50 {
            let d = jittered(Duration::from_secs(3), 2.0 / 3.0, 5.0 / 3.0);
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_secs(5),
                "{d:?}"
            );
        }
    }
}
