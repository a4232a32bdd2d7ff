//! The one error type that crosses the boundary, in both directions.
//!
//! The host reacts by [`ErrorKind`]: it retries transient errors with backoff,
//! waits out rate limits, pauses a connection that needs its user, and stops
//! retrying permanent ones. `user_message` is shown to the user as is and must
//! never contain a secret; `detail` goes to the logs.

use abi_stable::{
    std_types::{ROption, RString},
    StableAbi,
};
use std::fmt;

/// A `repr(transparent)` integer, so kinds can be added later; a host treats
/// an unknown kind as [`ErrorKind::PERMANENT`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ErrorKind(pub u8);

impl ErrorKind {
    /// The service rejected the credentials: ask the user again.
    pub const INVALID_CREDENTIALS: Self = Self(1);
    /// MFA, CAPTCHA, a locked account, a disclaimer to accept: pause and show.
    pub const NEEDS_USER_ACTION: Self = Self(2);
    /// Wait `retry_after_secs` (or back off) before the next attempt.
    pub const RATE_LIMITED: Self = Self(3);
    /// Network trouble, 5xx: retry later with backoff.
    pub const TRANSIENT: Self = Self(4);
    /// Retrying will not help until something changes.
    pub const PERMANENT: Self = Self(5);
    /// The host asked to stop.
    pub const CANCELLED: Self = Self(6);
    /// The plugin does not implement this operation.
    pub const UNSUPPORTED: Self = Self(7);
    /// A bug: includes panics caught at the boundary.
    pub const INTERNAL: Self = Self(8);

    /// A short name for messages; unknown kinds read as "permanent".
    pub fn name(self) -> &'static str {
        match self {
            Self::INVALID_CREDENTIALS => "invalid credentials",
            Self::NEEDS_USER_ACTION => "needs user action",
            Self::RATE_LIMITED => "rate limited",
            Self::TRANSIENT => "transient",
            Self::PERMANENT => "permanent",
            Self::CANCELLED => "cancelled",
            Self::UNSUPPORTED => "unsupported",
            Self::INTERNAL => "internal",
            _ => "permanent",
        }
    }
}

/// A failure, with how the host should react and what to tell the user.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginError {
    /// How the host reacts (retry, wait, pause, give up).
    pub kind: ErrorKind,
    /// Safe to show to the user; says what to do.
    pub user_message: RString,
    /// For the logs; never a secret either.
    pub detail: RString,
    /// For rate limits: how long to wait before trying again.
    pub retry_after_secs: ROption<u64>,
}

impl PluginError {
    /// An error of `kind` with a message for the user.
    pub fn new(kind: ErrorKind, user_message: impl Into<String>) -> Self {
        Self {
            kind,
            user_message: RString::from(user_message.into()),
            detail: RString::new(),
            retry_after_secs: ROption::RNone,
        }
    }
    /// Adds a detail for the logs.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = RString::from(detail.into());
        self
    }
    /// Sets how many seconds to wait before trying again.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = ROption::RSome(secs);
        self
    }
    /// [`ErrorKind::INVALID_CREDENTIALS`].
    pub fn invalid_credentials(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::INVALID_CREDENTIALS, msg)
    }
    /// [`ErrorKind::NEEDS_USER_ACTION`].
    pub fn needs_user_action(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::NEEDS_USER_ACTION, msg)
    }
    /// [`ErrorKind::RATE_LIMITED`], with the wait the service asked for if any.
    pub fn rate_limited(msg: impl Into<String>, retry_after_secs: Option<u64>) -> Self {
        let e = Self::new(ErrorKind::RATE_LIMITED, msg);
        match retry_after_secs {
            Some(s) => e.with_retry_after(s),
            None => e,
        }
    }
    /// [`ErrorKind::TRANSIENT`].
    pub fn transient(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::TRANSIENT, msg)
    }
    /// [`ErrorKind::PERMANENT`].
    pub fn permanent(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::PERMANENT, msg)
    }
    /// [`ErrorKind::CANCELLED`].
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::CANCELLED, "cancelled")
    }
    /// [`ErrorKind::UNSUPPORTED`].
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::UNSUPPORTED, msg)
    }
    /// [`ErrorKind::INTERNAL`].
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::INTERNAL, msg)
    }
    /// The wait before the next attempt, in seconds, when one was given.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after_secs.into_option()
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.user_message)?;
        if let ROption::RSome(secs) = self.retry_after_secs {
            write!(f, " (retry after {secs} s)")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}
