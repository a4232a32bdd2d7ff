//! What can go wrong talking to Garmin, and how each case reaches the host.
//!
//! Inside the plugin every failure is a [`GarminError`], which keeps the
//! facts (which endpoint, which status); [`GarminError::into_plugin_error`]
//! turns it into the boundary's `PluginError`, whose kind tells the host how
//! to react and whose message tells the user what to do. No variant ever
//! holds a secret: details are statuses, endpoint names and page titles.

use host_api::PluginError;

/// The longest the plugin waits because a server said so (`Retry-After`): a day. Longer asks
/// are clamped, and `http` logs the clamp. Defined here, with the errors that carry such waits,
/// so that this module uses no other module of the crate.
pub const MAX_SERVER_WAIT_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GarminError {
    /// Garmin judged the email/password wrong (or the account locked by it).
    #[error("Garmin rejected the email or password ({detail})")]
    BadCredentials { detail: String },

    /// Garmin says the account is locked: only the user (via Garmin) can
    /// unlock it, and further attempts make it worse.
    #[error("the account is locked ({detail})")]
    AccountLocked { detail: String },

    /// Something only the user can clear: a CAPTCHA, a locked account, a
    /// Cloudflare challenge, an MFA code needed outside a connect flow.
    #[error("{message} ({detail})")]
    NeedsUser { message: String, detail: String },

    /// 427/429 (or a JSON body saying so). `retry_after` is what Garmin said,
    /// `fallback_secs` what to wait when it said nothing.
    #[error("Garmin rate-limited {endpoint} (retry after {retry_after:?} s)")]
    RateLimited {
        endpoint: String,
        retry_after: Option<u64>,
        fallback_secs: u64,
    },

    /// 5xx, a reset, a timeout, an HTML error page where JSON was expected:
    /// trying again later may work.
    #[error("{endpoint}: {detail}")]
    Transient { endpoint: String, detail: String },

    /// An answer that makes no sense (wrong JSON shape, an unknown status):
    /// trying again will not help until the plugin is updated.
    #[error("{endpoint}: {detail}")]
    Permanent { endpoint: String, detail: String },

    /// 404: the thing does not exist (a manual activity has no file).
    #[error("{endpoint}: not found")]
    NotFound { endpoint: String },

    /// The API refused the access token even after a refresh and a retry.
    #[error("{endpoint}: the access token was refused")]
    Unauthorized { endpoint: String },

    /// The DI refresh grant was refused (`invalid_grant`, 4xx): the tokens are
    /// dead and only a new login can bring new ones.
    #[error("the refresh token was refused ({detail})")]
    TokensDead { detail: String },

    /// A password login is needed but happened too recently.
    #[error("a password login is needed but the last one was {since_secs} s ago")]
    LoginBudget { since_secs: u64, wait_secs: u64 },

    #[error("cancelled")]
    Cancelled,

    /// A host service (secret store, sink) failed: passed on as it is.
    #[error("host service: {0}")]
    Host(PluginError),
}

/// How [`GarminError::challenge`] ends its detail, so the edge's refusals can be told apart.
const CHALLENGE_DETAIL: &str = "HTTP 403 challenge";

pub type Result<T, E = GarminError> = std::result::Result<T, E>;

impl GarminError {
    pub fn transient(endpoint: &str, detail: impl Into<String>) -> Self {
        Self::Transient {
            endpoint: endpoint.to_string(),
            detail: detail.into(),
        }
    }
    pub fn permanent(endpoint: &str, detail: impl Into<String>) -> Self {
        Self::Permanent {
            endpoint: endpoint.to_string(),
            detail: detail.into(),
        }
    }
    pub fn needs_user(message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::NeedsUser {
            message: message.into(),
            detail: detail.into(),
        }
    }
    pub fn rate_limited(endpoint: &str, retry_after: Option<u64>, fallback_secs: u64) -> Self {
        Self::RateLimited {
            endpoint: endpoint.to_string(),
            retry_after,
            fallback_secs,
        }
    }

    /// A Cloudflare challenge (403): a browser check this client cannot pass.
    pub fn challenge(endpoint: &str) -> Self {
        Self::needs_user(
            "Garmin's bot protection (Cloudflare) blocked the sign-in from this server's network. Try again later, or connect with a token file made on another machine.",
            format!("{endpoint}: {CHALLENGE_DETAIL}"),
        )
    }

    /// Whether this is what the edge answers a fingerprint it blocks (403
    /// challenge, 427/429): another browser profile may get through.
    pub fn is_blocked_at_edge(&self) -> bool {
        self.is_rate_limited()
            || matches!(self, Self::NeedsUser { detail, .. } if detail.ends_with(CHALLENGE_DETAIL))
    }

    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::RateLimited { .. })
    }

    /// The wait a rate limit asks for: Garmin's own, else the fallback.
    pub fn wait_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after,
                fallback_secs,
                ..
            } => Some(
                retry_after
                    .unwrap_or(*fallback_secs)
                    .min(MAX_SERVER_WAIT_SECS),
            ),
            Self::LoginBudget { wait_secs, .. } => Some(*wait_secs),
            _ => None,
        }
    }

    /// The boundary error, with a message a user can act on.
    pub fn into_plugin_error(self) -> PluginError {
        let detail = self.to_string();
        let error = match &self {
            Self::BadCredentials { .. } => PluginError::invalid_credentials(
                "Garmin Connect rejected the email or password. Check them (sign in on connect.garmin.com to be sure) and connect again.",
            ),
            Self::AccountLocked { .. } => PluginError::needs_user_action(
                "Garmin says this account is locked. Unlock it by signing in on connect.garmin.com (or through Garmin support), then connect again.",
            ),
            Self::NeedsUser { message, .. } => PluginError::needs_user_action(message.clone()),
            Self::RateLimited { endpoint, .. } => {
                let wait = self.wait_secs().unwrap_or(3600);
                PluginError::rate_limited(
                    format!(
                        "Garmin is limiting requests ({endpoint}). Wait {} before trying again; retrying sooner makes the block last longer.",
                        human_duration(wait)
                    ),
                    Some(wait),
                )
            }
            Self::Transient { endpoint, .. } => PluginError::transient(format!(
                "Garmin Connect did not answer properly ({endpoint}); it will be tried again later."
            )),
            Self::Permanent { endpoint, .. } => PluginError::permanent(format!(
                "Garmin Connect gave an answer this plugin does not understand ({endpoint}). Garmin may have changed its service; the plugin may need an update."
            )),
            Self::NotFound { endpoint } => PluginError::permanent(format!(
                "Garmin Connect has no such resource ({endpoint})."
            )),
            Self::Unauthorized { endpoint } => PluginError::needs_user_action(format!(
                "Garmin Connect refused this server's login tokens ({endpoint}) even after renewing them. Reconnect the account."
            )),
            Self::TokensDead { .. } => PluginError::needs_user_action(
                "Garmin's login tokens for this account have expired and no password is stored. Reconnect the account (with your password or a fresh token file).",
            ),
            Self::LoginBudget { wait_secs, .. } => {
                PluginError::rate_limited(
                    format!(
                        "Garmin's tokens need a new password login, but one was made recently; to avoid getting the account blocked the next one waits {}.",
                        human_duration(*wait_secs)
                    ),
                    Some(*wait_secs),
                )
            }
            Self::Cancelled => PluginError::cancelled(),
            Self::Host(error) => return error.clone(),
        };
        error.with_detail(detail)
    }
}

impl From<GarminError> for PluginError {
    fn from(error: GarminError) -> Self {
        error.into_plugin_error()
    }
}

/// "45 s", "12 min", "3 h 5 min": what a person reads in a message.
pub fn human_duration(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs.div_ceil(60))
    } else {
        let minutes = secs.div_ceil(60);
        match minutes % 60 {
            0 => format!("{} h", minutes / 60),
            m => format!("{} h {m} min", minutes / 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use host_api::ErrorKind;

    #[test]
    fn a_rate_limit_carries_garmins_wait_or_the_fallback() {
        let e = GarminError::rate_limited("login", Some(120), 3600).into_plugin_error();
        assert_eq!(e.kind, ErrorKind::RATE_LIMITED);
        assert_eq!(e.retry_after(), Some(120));
        assert!(e.user_message.contains("2 min"), "{}", e.user_message);
        let e = GarminError::rate_limited("login", None, 3600).into_plugin_error();
        assert_eq!(e.retry_after(), Some(3600));
        assert!(e.user_message.contains("1 h"), "{}", e.user_message);
    }

    #[test]
    fn each_case_gets_its_kind_and_names_the_endpoint() {
        let cases = [
            (
                GarminError::BadCredentials { detail: "x".into() },
                ErrorKind::INVALID_CREDENTIALS,
            ),
            (
                GarminError::needs_user("solve the CAPTCHA", "t"),
                ErrorKind::NEEDS_USER_ACTION,
            ),
            (
                GarminError::transient("activity list", "HTTP 502"),
                ErrorKind::TRANSIENT,
            ),
            (
                GarminError::permanent("socialProfile", "no profileId"),
                ErrorKind::PERMANENT,
            ),
            (
                GarminError::TokensDead {
                    detail: "invalid_grant".into(),
                },
                ErrorKind::NEEDS_USER_ACTION,
            ),
            (
                GarminError::LoginBudget {
                    since_secs: 60,
                    wait_secs: 600,
                },
                ErrorKind::RATE_LIMITED,
            ),
            (GarminError::Cancelled, ErrorKind::CANCELLED),
        ];
        for (error, kind) in cases {
            let message = error.to_string();
            let e = error.into_plugin_error();
            assert_eq!(e.kind, kind, "{message}");
            assert_eq!(e.detail.as_str(), message);
        }
        let e = GarminError::transient("activity list", "HTTP 502").into_plugin_error();
        assert!(e.user_message.contains("activity list"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(30), "30 s");
        assert_eq!(human_duration(61), "2 min");
        assert_eq!(human_duration(3600), "1 h");
        assert_eq!(human_duration(3900), "1 h 5 min");
    }
}
