//! What the server listens on, whom it trusts, and its bounds.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The default upload limit: a large Garmin data export fits.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 512 * 1024 * 1024;
/// The largest upload limit accepted (a mistyped config must not let one
/// request fill the disk).
pub const MAX_UPLOAD_LIMIT_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// How long a session lives without signing in again.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// The most header bytes a request may carry (all names and values).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Password hashes computed at once by default (each argon2id check holds
/// 19 MiB while it runs; see `auth::password_gate`).
pub const DEFAULT_PASSWORD_CHECKS_AT_ONCE: usize = 4;
/// The most a config may allow at once (about 1.2 GiB of argon2 memory).
pub const MAX_PASSWORD_CHECKS_AT_ONCE: usize = 64;

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// Reverse proxies whose `X-Forwarded-Proto` and `X-Forwarded-For` are
    /// believed; from anyone else those headers are ignored.
    pub trusted_proxies: Vec<IpAddr>,
    pub max_upload_bytes: u64,
    pub session_ttl: Duration,
    /// How often the scheduler looks for due runs; `None`: only "Sync now"
    /// starts runs (the tests drive it).
    pub scheduler_poll: Option<Duration>,
    /// Sign-in attempts allowed per client address and per handle within
    /// [`WebConfig::attempt_window`].
    pub attempts_per_ip: u32,
    pub attempts_per_handle: u32,
    pub attempt_window: Duration,
    /// Sign-ins (and new passwords) hashed at once; the rest wait.
    pub password_checks_at_once: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            session_ttl: DEFAULT_SESSION_TTL,
            scheduler_poll: Some(Duration::from_millis(500)),
            attempts_per_ip: 20,
            attempts_per_handle: 5,
            attempt_window: Duration::from_secs(15 * 60),
            password_checks_at_once: DEFAULT_PASSWORD_CHECKS_AT_ONCE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("the upload limit {0} bytes is above the most this server accepts ({MAX_UPLOAD_LIMIT_BYTES} bytes)")]
    UploadLimitTooLarge(u64),
    #[error("the upload limit must be at least 1 byte")]
    UploadLimitZero,
    #[error(
        "password checks at once must be between 1 and {MAX_PASSWORD_CHECKS_AT_ONCE}, not {0}"
    )]
    PasswordChecksOutOfRange(usize),
}

impl WebConfig {
    /// Refuses bounds outside what the server can honour.
    pub fn validate(&self) -> Result<(), WebConfigError> {
        if self.max_upload_bytes == 0 {
            return Err(WebConfigError::UploadLimitZero);
        }
        if self.max_upload_bytes > MAX_UPLOAD_LIMIT_BYTES {
            return Err(WebConfigError::UploadLimitTooLarge(self.max_upload_bytes));
        }
        if !(1..=MAX_PASSWORD_CHECKS_AT_ONCE).contains(&self.password_checks_at_once) {
            return Err(WebConfigError::PasswordChecksOutOfRange(
                self.password_checks_at_once,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_limit_is_bounded_both_ways() {
        let mut c = WebConfig::default();
        assert!(c.validate().is_ok());
        c.max_upload_bytes = MAX_UPLOAD_LIMIT_BYTES;
        assert!(c.validate().is_ok());
        c.max_upload_bytes = MAX_UPLOAD_LIMIT_BYTES + 1;
        assert!(matches!(
            c.validate(),
            Err(WebConfigError::UploadLimitTooLarge(_))
        ));
        c.max_upload_bytes = 0;
        assert!(matches!(c.validate(), Err(WebConfigError::UploadLimitZero)));
    }

    #[test]
    fn password_checks_at_once_are_bounded_both_ways() {
        let mut c = WebConfig::default();
        for ok in [1, MAX_PASSWORD_CHECKS_AT_ONCE] {
            c.password_checks_at_once = ok;
            assert!(c.validate().is_ok());
        }
        for bad in [0, MAX_PASSWORD_CHECKS_AT_ONCE + 1] {
            c.password_checks_at_once = bad;
            assert!(matches!(
                c.validate(),
                Err(WebConfigError::PasswordChecksOutOfRange(n)) if n == bad
            ));
        }
    }
}
