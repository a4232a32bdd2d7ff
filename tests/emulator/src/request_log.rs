//! The timed request log and per-account rate limits, for multi-account
//! tests: every request with its arrival time (real milliseconds since the
//! epoch) and, for connectapi calls, the account its Bearer token belongs
//! to; and "answer this account's next N API requests with 429".

use std::collections::HashMap;

/// One request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Arrival, milliseconds since the Unix epoch (real time).
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    /// The account of the Bearer token, when the request carried a valid one.
    pub account: Option<String>,
    /// The status the emulator answered before the handler (429 for an
    /// account rate limit), if it did.
    pub rate_limited: bool,
}

/// The log and the pending per-account 429s.
#[derive(Debug, Default)]
pub struct RequestLog {
    pub entries: Vec<LoggedRequest>,
    /// email (lowercase) → (requests left to refuse, Retry-After seconds).
    pub account_limits: HashMap<String, (u32, u64)>,
}

impl RequestLog {
    /// Whether this account's request is to be refused, counting it.
    pub fn take_account_limit(&mut self, email: &str) -> Option<u64> {
        let key = email.to_ascii_lowercase();
        let (left, retry_after) = self.account_limits.get_mut(&key)?;
        if *left == 0 {
            return None;
        }
        *left -= 1;
        Some(*retry_after)
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
