//! Keeping a connection signed in: the stored tokens, refreshed 15 minutes
//! before they expire or after a 401, each rotated pair saved at once; and
//! when the refresh token is dead, one password login with the stored
//! password, at most once per `password_login_min_interval_hours`.

use crate::clock::Clock;
use crate::di_token::{self, Ticket};
use crate::errors::{GarminError, Result};
use crate::login::{self, Step};
use crate::settings::Settings;
use crate::tokens::{keys, Tokens, Vault};
use reqwest::Client;
use std::sync::Arc;

pub type CancelFn = Arc<dyn Fn() -> bool + Send + Sync>;

/// Everything a signed-in call needs; one per host call.
pub struct Session {
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub vault: Vault,
    pub client: Client,
    pub cancelled: CancelFn,
    tokens: Tokens,
    /// Serialises refreshes of one connection across concurrent host calls:
    /// with rotating refresh tokens, two refreshes of the same token would
    /// kill one another.
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
    /// Whether dead tokens may be replaced by a password login (not while
    /// validating an imported token file).
    relogin: bool,
}

/// The tokens stored for a connection; a connection without tokens needs its user.
pub fn stored_tokens(vault: &Vault) -> Result<Tokens> {
    vault.tokens()?.ok_or_else(|| {
        GarminError::needs_user(
            "This Garmin connection holds no login tokens. Connect the account again.",
            "no tokens stored",
        )
    })
}

impl Session {
    /// Every secret this session can name (`in_use`, its tokens, the stored
    /// email and password), to scrub from a server's answer before it is
    /// quoted in an error.
    pub fn secrets_to_scrub(&self, in_use: &str) -> Vec<String> {
        let mut known = vec![in_use.to_string(), self.tokens.di_token.clone()];
        known.extend(self.tokens.di_refresh_token.clone());
        for key in [keys::PASSWORD, keys::EMAIL] {
            if let Ok(Some(value)) = self.vault.get(key) {
                known.push(value);
            }
        }
        known
    }

    pub fn new(
        settings: Arc<Settings>,
        clock: Clock,
        vault: Vault,
        client: Client,
        cancelled: CancelFn,
        tokens: Tokens,
        refresh_lock: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        Self {
            settings,
            clock,
            vault,
            client,
            cancelled,
            tokens,
            refresh_lock,
            relogin: true,
        }
    }

    /// This session never falls back to a password login.
    pub fn without_relogin(mut self) -> Self {
        self.relogin = false;
        self
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The access token to send now, refreshed first when it expires within
    /// 15 minutes.
    pub async fn access_token(&mut self) -> Result<String> {
        if self.tokens.expires_soon(self.clock.now()) {
            tracing::debug!(target: "garmin::auth", "access token expires soon; refreshing");
            let stale = self.tokens.di_token.clone();
            self.renew(&stale).await?;
        }
        Ok(self.tokens.di_token.clone())
    }

    /// Replaces `stale` (refused by the API or about to expire): refresh, or
    /// when the refresh token is dead, one password login.
    pub async fn renew(&mut self, stale: &str) -> Result<()> {
        let lock = self.refresh_lock.clone();
        let _guard = lock.lock().await;
        // Another call of the same connection may have renewed meanwhile.
        if let Some(stored) = self.vault.tokens()? {
            if stored.di_token != stale {
                tracing::debug!(target: "garmin::auth", "tokens were renewed by another call");
                self.tokens = stored;
                return Ok(());
            }
        }
        match di_token::refresh(&self.client, &self.settings, &self.clock, &self.tokens).await {
            Ok(fresh) => {
                self.vault.save_tokens(&fresh)?;
                self.tokens = fresh;
                Ok(())
            }
            Err(GarminError::TokensDead { detail }) if self.relogin => {
                tracing::warn!(target: "garmin::auth", "refresh refused ({detail}); the tokens are dead");
                self.relogin(detail).await
            }
            Err(e) => Err(e),
        }
    }

    /// One password login with the stored credentials, inside the budget.
    async fn relogin(&mut self, why: String) -> Result<()> {
        let email = self.vault.get(keys::EMAIL)?;
        let password = self.vault.get(keys::PASSWORD)?;
        let (Some(email), Some(password)) = (email, password) else {
            return Err(GarminError::TokensDead { detail: why });
        };
        check_login_budget(&self.vault, &self.settings, &self.clock)?;
        self.vault.record_password_login(self.clock.now())?;
        let cancelled = self.cancelled.clone();
        let step =
            login::password_login(&self.settings, &self.clock, &*cancelled, &email, &password)
                .await?;
        match step {
            Step::Ticket(ticket) => {
                let fresh = tokens_for_ticket(&self.client, &self.settings, &self.clock, &ticket).await?;
                self.vault.save_tokens(&fresh)?;
                self.tokens = fresh;
                tracing::info!(target: "garmin::auth", "signed in again with the stored password");
                Ok(())
            }
            Step::Mfa(_) => Err(GarminError::needs_user(
                "Garmin asks for an MFA code to sign in again. Reconnect the account and enter the code Garmin sends you.",
                "MFA required at re-login",
            )),
        }
    }
}

/// Refuses a password login when the last one is more recent than
/// `password_login_min_interval_hours`.
pub fn check_login_budget(vault: &Vault, settings: &Settings, clock: &Clock) -> Result<()> {
    let interval = i64::from(settings.password_login_min_interval_hours) * 3600;
    if let Some(last) = vault.last_password_login()? {
        let since = clock.now().saturating_sub(last);
        if since >= 0 && since < interval {
            return Err(GarminError::LoginBudget {
                since_secs: since as u64,
                wait_secs: (interval - since) as u64,
            });
        }
    }
    Ok(())
}

/// Exchanges a fresh login's ticket for tokens.
pub async fn tokens_for_ticket(
    client: &Client,
    settings: &Settings,
    clock: &Clock,
    ticket: &Ticket,
) -> Result<Tokens> {
    di_token::exchange_ticket(client, settings, clock, ticket).await
}
