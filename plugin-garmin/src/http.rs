//! HTTP plumbing shared by login and sync: the two kinds of client, the
//! pauses (anti-WAF pauses, request pacing, backoff), `Retry-After`, and
//! turning transport failures into [`GarminError`]s.

use crate::clock::Clock;
use crate::errors::{GarminError, Result};
use crate::identity;
use crate::settings::Settings;
use host_api::RequestGateBox;
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, Response, StatusCode};
use std::time::Duration;

/// A client for one login: its own cookie jar (the SSO session cookies), so
/// a pending MFA flow keeps exactly the cookies its login set.
pub fn login_client(settings: &Settings) -> Result<Client> {
    Client::builder()
        .cookie_store(true)
        .timeout(settings.request_timeout())
        .connect_timeout(settings.request_timeout())
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .map_err(|e| GarminError::transient("HTTP client", e.to_string()))
}

/// The client for diauth and connectapi: no cookies (auth travels in
/// headers only), the native app's headers on every request.
pub fn api_client(settings: &Settings) -> Result<Client> {
    Client::builder()
        .timeout(settings.request_timeout())
        .connect_timeout(settings.request_timeout())
        .default_headers(identity::native_headers())
        .pool_max_idle_per_host(4)
        .build()
        .map_err(|e| GarminError::transient("HTTP client", e.to_string()))
}

/// `base` scaled by a random factor in `[low, high)`.
pub fn jittered(base: Duration, low: f64, high: f64) -> Duration {
    if base.is_zero() || high <= low {
        return base.mul_f64(low.max(0.0));
    }
    base.mul_f64(rand::thread_rng().gen_range(low..high))
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
    let exp = settings
        .backoff_base()
        .saturating_mul(1u32 << attempt.min(16));
    jittered(exp.min(settings.backoff_max()), 0.5, 1.0)
}

/// `Retry-After` in seconds: either delta-seconds or an HTTP date (relative
/// to `now`, unix seconds). Garbage is ignored.
pub fn retry_after_secs(headers: &HeaderMap, now: i64) -> Option<u64> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = time::PrimitiveDateTime::parse(value, &format).ok()?;
    let at = date.assume_utc().unix_timestamp();
    Some(at.saturating_sub(now).max(0) as u64)
}

/// Whether `status` says "too many requests" (Garmin also uses 427).
pub fn is_rate_limit(status: StatusCode) -> bool {
    status.as_u16() == 429 || status.as_u16() == 427
}

/// The rate-limit error of `response`, if it says "too many requests": Garmin's
/// `Retry-After` (relative to `now`, unix seconds), else `fallback_secs`.
pub fn rate_limit_error(
    response: &Response,
    endpoint: &str,
    now: i64,
    fallback_secs: u64,
) -> Option<GarminError> {
    is_rate_limit(response.status()).then(|| {
        let wait = retry_after_secs(response.headers(), now);
        GarminError::rate_limited(endpoint, wait, fallback_secs)
    })
}

/// Refuses a login-side `response` that says "too many requests", waiting
/// Garmin's `Retry-After` or else `login_rate_limit_wait_secs`.
pub fn check_login_rate_limit(
    response: &Response,
    endpoint: &str,
    settings: &Settings,
    clock: &Clock,
) -> Result<()> {
    let now = clock.now();
    match rate_limit_error(response, endpoint, now, settings.login_rate_limit_wait_secs) {
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

/// Reads a whole body, refusing more than `limit` bytes.
pub async fn read_body(endpoint: &str, mut response: Response, limit: usize) -> Result<Vec<u8>> {
    let mut body =
        Vec::with_capacity(response.content_length().unwrap_or(0).min(limit as u64) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(endpoint, e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(GarminError::permanent(
                endpoint,
                format!("the answer is larger than {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first characters of a body, for a log line about an odd answer. Only
/// for bodies that cannot hold a secret (SSO pages, API errors).
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Waits for a slot of the host's plugin-wide request budget (shared by every
/// account on the server) before one request; cancellable while waiting. A
/// slot further away than `max_inline_wait_secs` ends the call as rate
/// limited, so the host reschedules the run instead of a thread sleeping.
pub async fn await_budget(
    gate: Option<&RequestGateBox>,
    settings: &Settings,
    cancelled: &crate::auth::CancelFn,
) -> Result<()> {
    let Some(gate) = gate else {
        return Ok(());
    };
    let max_wait_ms = settings.max_inline_wait_secs.saturating_mul(1000);
    let slot = gate
        .reserve(max_wait_ms)
        .into_result()
        .map_err(|e| GarminError::transient("request budget", e.user_message.to_string()))?;
    if !slot.granted {
        let secs = slot.wait_ms.div_ceil(1000);
        return Err(GarminError::rate_limited(
            "request budget",
            Some(secs),
            secs,
        ));
    }
    let mut left = Duration::from_millis(slot.wait_ms);
    while !left.is_zero() {
        if cancelled() {
            return Err(GarminError::Cancelled);
        }
        let step = left.min(Duration::from_millis(200));
        tokio::time::sleep(step).await;
        left -= step;
    }
    Ok(())
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
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after_secs(&h, 0), None);
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
