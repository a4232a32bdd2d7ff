//! What every call of one importer instance shares: the settings, the
//! clock, the API client and the DI client (their connection pools), the
//! host's request budget and one refresh lock per connection.

use crate::auth::{CancelFn, Credential, Keeper, Session};
use crate::browser;
use crate::budget::Budget;
use crate::clock::Clock;
use crate::errors::Result;
use crate::http;
use crate::settings::Settings;
use crate::tokens::Vault;
use crate::web_cookie::WebCookies;
use host_api::CancelBox;
use reqwest::Client;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct Shared {
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub client: Client,
    /// The browser-like client of the DI token endpoint.
    pub di_client: browser::Client,
    /// The host's plugin-wide request budget, asked before each connectapi
    /// request (never waits on a host that lends none).
    pub budget: Budget,
    /// The `JWT_WEB` cookies of connections diauth gives no tokens (memory only).
    pub web_cookies: Arc<WebCookies>,
    refresh_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Shared {
    pub fn new(settings: Settings, clock: Clock) -> Result<Self> {
        let client = http::api_client(&settings)?;
        let di_client = browser::di_client(&settings)?;
        Ok(Self {
            settings: Arc::new(settings),
            clock,
            client,
            di_client,
            budget: Budget::default(),
            web_cookies: Arc::default(),
            refresh_locks: Mutex::new(HashMap::new()),
        })
    }

    pub fn refresh_lock(&self, connection_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(connection_id.to_string()).or_default().clone()
    }

    pub fn forget(&self, connection_id: &str) {
        let mut locks = self.refresh_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.remove(connection_id);
        self.web_cookies.forget(connection_id);
    }

    /// Where `connection_id`'s credential is kept.
    pub fn keeper(&self, connection_id: &str, vault: Vault) -> Keeper {
        Keeper {
            connection_id: connection_id.to_string(),
            vault,
            web_cookies: self.web_cookies.clone(),
        }
    }

    /// The session of a connected account (its stored tokens).
    pub fn open_session(
        &self,
        connection_id: &str,
        vault: Vault,
        cancel: &CancelBox,
    ) -> Result<Session> {
        let keeper = self.keeper(connection_id, vault);
        let credential = keeper.kept()?;
        Ok(self.session_with(keeper, cancel, credential))
    }

    /// A session over `credential` (`None`: sign in at first use).
    pub fn session_with(
        &self,
        keeper: Keeper,
        cancel: &CancelBox,
        credential: Option<Credential>,
    ) -> Session {
        let lock = self.refresh_lock(&keeper.connection_id);
        Session::new(
            self.settings.clone(),
            self.clock.clone(),
            keeper,
            (self.client.clone(), self.di_client.clone()),
            cancel_fn(cancel),
            credential,
            lock,
        )
    }
}

pub fn cancel_fn(cancel: &CancelBox) -> CancelFn {
    let cancel = cancel.clone();
    Arc::new(move || cancel.is_cancelled())
}
