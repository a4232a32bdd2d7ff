//! The password login: the strategy chain of research §1.0, over the
//! browser's connection ([`crate::browser`]).
//!
//! Strategies run in the order of the `login_strategies` setting (default
//! mobile, widget, portal), each with a fresh cookie jar. Within a strategy,
//! a 403 challenge or a 427/429 tries the strategy's next browser profile on a
//! fresh connection (mobile: Safari iOS, Safari, Chrome), as the reference
//! rotates curl_cffi's. The chain stops at the first ticket, at an MFA
//! request, and at a verdict on the credentials (wrong password, locked
//! account: another strategy would only be another failed attempt on the
//! account). Everything else (429, Cloudflare, odd answers, network) falls
//! through to the next strategy.

use crate::browser;
use crate::clock::Clock;
use crate::errors::{GarminError, Result};
pub use crate::mfa::{SignedIn, Step};
use crate::settings::{Settings, Strategy};
use crate::sso_endpoints::JsonFlow;
use crate::sso_json;
use crate::sso_widget;

pub fn name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Mobile => "mobile",
        Strategy::Widget => "widget",
        Strategy::Portal => "portal",
    }
}

/// Runs the chain once, leaving out the strategies in `skip` (those whose
/// tokens the API refused). `cancelled` is polled between attempts. The
/// answer names the strategy that got there.
pub async fn password_login(
    settings: &Settings,
    clock: &Clock,
    cancelled: &(dyn Fn() -> bool + Sync),
    email: &str,
    password: &str,
    skip: &[Strategy],
) -> Result<(Strategy, Step)> {
    let strategies = settings
        .strategies()
        .map_err(|e| GarminError::permanent("settings", e.user_message.to_string()))?;
    let mut failures: Vec<GarminError> = Vec::new();
    for strategy in strategies.into_iter().filter(|s| !skip.contains(s)) {
        let profiles = browser::rotation(strategy);
        for (i, profile) in profiles.iter().enumerate() {
            if cancelled() {
                return Err(GarminError::Cancelled);
            }
            tracing::info!(target: "garmin::login", strategy = name(strategy), profile = profile.name(), "trying a password login");
            let outcome = attempt(settings, clock, strategy, *profile, email, password).await;
            match outcome {
                Ok(step) => {
                    tracing::info!(target: "garmin::login", strategy = name(strategy), "login answered: {step:?}");
                    return Ok((strategy, step));
                }
                Err(
                    e @ (GarminError::BadCredentials { .. }
                    | GarminError::AccountLocked { .. }
                    | GarminError::Host(_)),
                ) => {
                    tracing::warn!(target: "garmin::login", strategy = name(strategy), "login refused: {e}");
                    return Err(e);
                }
                Err(e) if e.is_blocked_at_edge() && i + 1 < profiles.len() => {
                    tracing::warn!(target: "garmin::login", strategy = name(strategy), profile = profile.name(), "blocked at the edge ({e}); trying the next browser profile");
                }
                Err(e) => {
                    tracing::warn!(target: "garmin::login", strategy = name(strategy), "login strategy failed: {e}");
                    failures.push(e);
                    break;
                }
            }
        }
    }
    Err(summarise(failures))
}

/// One strategy over one browser profile, on a fresh connection and cookie jar.
async fn attempt(
    settings: &Settings,
    clock: &Clock,
    strategy: Strategy,
    profile: browser::Profile,
    email: &str,
    password: &str,
) -> Result<Step> {
    let client = browser::login_client(settings, profile)?;
    match strategy {
        Strategy::Mobile => {
            sso_json::login(client, settings, clock, JsonFlow::Mobile, email, password).await
        }
        Strategy::Portal => {
            sso_json::login(client, settings, clock, JsonFlow::Portal, email, password).await
        }
        Strategy::Widget => sso_widget::login(client, settings, clock, email, password).await,
    }
}

/// The one error a failed chain reports: a rate limit when every strategy
/// was limited (with the longest wait), else what the user can act on
/// (challenge, CAPTCHA), else any rate limit, else the last failure.
fn summarise(failures: Vec<GarminError>) -> GarminError {
    let longest_limit = failures
        .iter()
        .filter(|e| e.is_rate_limited())
        .max_by_key(|e| e.wait_secs().unwrap_or(0))
        .cloned();
    if let Some(limit) = &longest_limit {
        if failures.iter().all(GarminError::is_rate_limited) {
            return limit.clone();
        }
    }
    if let Some(user) = failures
        .iter()
        .find(|e| matches!(e, GarminError::NeedsUser { .. }))
    {
        return user.clone();
    }
    longest_limit
        .or_else(|| failures.last().cloned())
        .unwrap_or_else(|| GarminError::permanent("login", "no login strategy is configured"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_rate_limited_reports_the_longest_wait() {
        let e = summarise(vec![
            GarminError::rate_limited("mobile login", Some(60), 3600),
            GarminError::rate_limited("widget login", None, 3600),
            GarminError::rate_limited("portal login", Some(120), 3600),
        ]);
        assert_eq!(e.wait_secs(), Some(3600));
    }

    #[test]
    fn a_challenge_wins_over_a_partial_rate_limit_and_a_transient_error() {
        let e = summarise(vec![
            GarminError::rate_limited("mobile login", Some(60), 3600),
            GarminError::needs_user("cloudflare", "403"),
            GarminError::transient("portal login", "HTTP 502"),
        ]);
        assert!(matches!(e, GarminError::NeedsUser { .. }));
        let e = summarise(vec![
            GarminError::rate_limited("mobile login", Some(60), 3600),
            GarminError::transient("portal login", "HTTP 502"),
        ]);
        assert!(e.is_rate_limited());
        let e = summarise(vec![
            GarminError::transient("a", "x"),
            GarminError::permanent("b", "y"),
        ]);
        assert!(matches!(e, GarminError::Permanent { .. }));
    }
}
