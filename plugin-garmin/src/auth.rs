//! Keeping a connection signed in: the stored tokens, refreshed 15 minutes
//! before they expire or after a 401, each rotated pair saved at once; and
//! when the refresh token is dead, one password login with the stored
//! password, at most once per `password_login_min_interval_hours`. A
//! connection that diauth gives no tokens signs its calls with the `JWT_WEB`
//! cookie instead ([`crate::web_cookie`]), which only a new login renews.

use crate::browser;
use crate::clock::Clock;
use crate::di_token;
use crate::errors::{GarminError, Result};
use crate::login::{self, SignedIn, Step};
use crate::settings::Settings;
use crate::tokens::{keys, Tokens, Vault};
use crate::web_cookie::{self, WebCookie, WebCookies};
use reqwest::Client;
use std::sync::Arc;

pub type CancelFn = Arc<dyn Fn() -> bool + Send + Sync>;

/// What signs a connection's API calls.
#[derive(Clone, Debug, PartialEq)]
pub enum Credential {
    /// DI OAuth2 tokens: stored in the secret store, refreshed before they expire.
    Di(Tokens),
    /// The web app's `JWT_WEB` cookie, when diauth refused every client id: in memory only.
    Web(WebCookie),
}

impl Credential {
    /// The secret in it, to scrub from a server's answer.
    fn secret(&self) -> &str {
        match self {
            Self::Di(tokens) => &tokens.di_token,
            Self::Web(cookie) => cookie.value(),
        }
    }
}

/// Where a connection's credential is kept: DI tokens in the secret store, a `JWT_WEB` cookie
/// in memory (with a marker in the secret store, so that a restart signs in again).
#[derive(Clone)]
pub struct Keeper {
    pub connection_id: String,
    pub vault: Vault,
    pub web_cookies: Arc<WebCookies>,
}

impl Keeper {
    /// Keeps `credential` as the connection's one credential.
    pub fn keep(&self, credential: &Credential) -> Result<()> {
        match credential {
            Credential::Di(tokens) => {
                self.vault.save_tokens(tokens)?;
                self.vault.delete(keys::WEB_SESSION)?;
                self.web_cookies.forget(&self.connection_id);
            }
            Credential::Web(cookie) => {
                self.web_cookies.put(&self.connection_id, cookie.clone());
                self.vault.put(keys::WEB_SESSION, web_cookie::COOKIE)?;
                self.vault.delete(keys::TOKENS)?;
            }
        }
        Ok(())
    }

    /// The credential kept now: `None` for a `JWT_WEB` connection whose cookie is gone
    /// (the server restarted) and that has a password to sign in again with.
    pub fn kept(&self) -> Result<Option<Credential>> {
        if let Some(tokens) = self.vault.tokens()? {
            return Ok(Some(Credential::Di(tokens)));
        }
        if let Some(cookie) = self.web_cookies.get(&self.connection_id) {
            return Ok(Some(Credential::Web(cookie)));
        }
        if self.vault.get(keys::WEB_SESSION)?.is_some() && self.vault.get(keys::PASSWORD)?.is_some()
        {
            return Ok(None);
        }
        Err(GarminError::needs_user(
            "This Garmin connection holds no login tokens. Connect the account again.",
            "no tokens stored",
        ))
    }
}

/// Everything a signed-in call needs; one per host call.
pub struct Session {
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub vault: Vault,
    pub client: Client,
    pub di_client: browser::Client,
    pub cancelled: CancelFn,
    keeper: Keeper,
    /// `None` until a `JWT_WEB` connection has signed in again after a restart.
    credential: Option<Credential>,
    /// Serialises refreshes of one connection across concurrent host calls:
    /// with rotating refresh tokens, two refreshes of the same token would
    /// kill one another.
    refresh_lock: Arc<tokio::sync::Mutex<()>>,
    /// Whether dead tokens may be replaced by a password login (not while
    /// validating an imported token file).
    relogin: bool,
}

impl Session {
    /// Every secret this session can name (`in_use`, its credential, the stored
    /// email and password), to scrub from a server's answer before it is
    /// quoted in an error.
    pub fn secrets_to_scrub(&self, in_use: &Credential) -> Vec<String> {
        let mut known = vec![in_use.secret().to_string()];
        match &self.credential {
            Some(Credential::Di(tokens)) => {
                known.push(tokens.di_token.clone());
                known.extend(tokens.di_refresh_token.clone());
            }
            Some(Credential::Web(cookie)) => known.push(cookie.value().to_string()),
            None => {}
        }
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
        keeper: Keeper,
        (client, di_client): (Client, browser::Client),
        cancelled: CancelFn,
        credential: Option<Credential>,
        refresh_lock: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        Self {
            settings,
            clock,
            vault: keeper.vault.clone(),
            client,
            di_client,
            cancelled,
            keeper,
            credential,
            refresh_lock,
            relogin: true,
        }
    }

    /// This session never falls back to a password login.
    pub fn without_relogin(mut self) -> Self {
        self.relogin = false;
        self
    }

    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// The credential to send now: DI tokens refreshed first when they expire within 15
    /// minutes; a `JWT_WEB` cookie that is gone or past its `exp` replaced by a sign-in.
    pub async fn current(&mut self) -> Result<Credential> {
        let now = self.clock.now();
        match self.credential.clone() {
            None => {
                tracing::info!(target: "garmin::auth", "no JWT_WEB cookie in memory (the server restarted); signing in again");
                self.relogin_locked("the JWT_WEB cookie is gone".into())
                    .await?;
            }
            Some(stale) => {
                let due = match &stale {
                    Credential::Di(tokens) => tokens.expires_soon(now),
                    Credential::Web(cookie) => cookie.expired(now),
                };
                if due {
                    tracing::debug!(target: "garmin::auth", "the credential expires soon; renewing it");
                    self.renew(&stale).await?;
                }
            }
        }
        self.credential
            .clone()
            .ok_or_else(|| GarminError::permanent("sign-in", "no credential after signing in"))
    }

    /// Replaces `stale` (refused by the API or about to expire): refresh, or
    /// when the refresh token is dead (or the credential was a `JWT_WEB`
    /// cookie, which cannot be refreshed), one password login.
    pub async fn renew(&mut self, stale: &Credential) -> Result<()> {
        let lock = self.refresh_lock.clone();
        let _guard = lock.lock().await;
        // Another call of the same connection may have renewed meanwhile.
        if let Some(kept) = self.keeper.kept().ok().flatten() {
            if &kept != stale {
                tracing::debug!(target: "garmin::auth", "the credential was renewed by another call");
                self.credential = Some(kept);
                return Ok(());
            }
        }
        let tokens = match stale {
            Credential::Di(tokens) => tokens,
            Credential::Web(_) => {
                return self
                    .relogin("the API refused the JWT_WEB cookie".into())
                    .await
            }
        };
        match di_token::refresh(&self.di_client, &self.settings, &self.clock, tokens).await {
            Ok(fresh) => {
                let fresh = Credential::Di(fresh);
                self.keeper.keep(&fresh)?;
                self.credential = Some(fresh);
                Ok(())
            }
            Err(GarminError::TokensDead { detail }) if self.relogin => {
                tracing::warn!(target: "garmin::auth", "refresh refused ({detail}); the tokens are dead");
                self.relogin(detail).await
            }
            Err(e) => Err(e),
        }
    }

    /// The API refused tokens that refreshed fine ("Token is not active"): one
    /// fresh password login, within the budget, as the reference does. False
    /// when this session may not (token import) or cannot (no stored password).
    pub async fn relogin_after_refusal(&mut self) -> Result<bool> {
        if !self.relogin || self.vault.get(keys::PASSWORD)?.is_none() {
            return Ok(false);
        }
        tracing::warn!(target: "garmin::auth", "the API refuses the refreshed tokens; signing in again");
        self.relogin_locked("the API refused the tokens".into())
            .await?;
        Ok(true)
    }

    /// [`Self::relogin`] under the connection's lock; a sign-in another call of the same
    /// connection finished meanwhile is taken instead.
    async fn relogin_locked(&mut self, why: String) -> Result<()> {
        let lock = self.refresh_lock.clone();
        let _guard = lock.lock().await;
        if let Some(kept) = self.keeper.kept()? {
            if Some(&kept) != self.credential.as_ref() {
                self.credential = Some(kept);
                return Ok(());
            }
        }
        self.relogin(why).await
    }

    /// One password login with the stored credentials, inside the budget.
    async fn relogin(&mut self, why: String) -> Result<()> {
        let email = self.vault.get(keys::EMAIL)?;
        let password = self.vault.get(keys::PASSWORD)?;
        let (Some(email), Some(password), true) = (email, password, self.relogin) else {
            return Err(GarminError::TokensDead { detail: why });
        };
        check_login_budget(&self.vault, &self.settings, &self.clock)?;
        self.vault.record_password_login(self.clock.now())?;
        let cancelled = self.cancelled.clone();
        let (_, step) = login::password_login(
            &self.settings,
            &self.clock,
            &*cancelled,
            &email,
            &password,
            &[],
        )
        .await?;
        match step {
            Step::Ticket(signed_in) => {
                let fresh =
                    credential_for(&self.di_client, &self.settings, &self.clock, &signed_in)
                        .await?;
                self.keeper.keep(&fresh)?;
                self.credential = Some(fresh);
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

/// A fresh login's credential: DI tokens for its ticket, or, when diauth refuses every client
/// id (or cannot answer), the `JWT_WEB` cookie the ticket's service URL sets. A rate limit or
/// a challenge at diauth stays what it is (the reference falls back on those too; we wait them
/// out rather than spend the ticket on the web host while Garmin is pushing back).
pub async fn credential_for(
    di_client: &browser::Client,
    settings: &Settings,
    clock: &Clock,
    signed_in: &SignedIn,
) -> Result<Credential> {
    let refusal =
        match di_token::exchange_ticket(di_client, settings, clock, &signed_in.ticket).await {
            Ok(tokens) => return Ok(Credential::Di(tokens)),
            Err(e) if di_token::is_refusal(&e) => e,
            Err(e) => return Err(e),
        };
    tracing::warn!(target: "garmin::auth", "diauth gave no tokens ({refusal}); trying the JWT_WEB fallback");
    match web_cookie::redeem(&signed_in.session, settings, &signed_in.ticket).await {
        Ok(cookie) => Ok(Credential::Web(cookie)),
        Err(fallback) => Err(GarminError::permanent(
            web_cookie::ENDPOINT,
            format!("{fallback}; before it, {refusal}"),
        )),
    }
}
