//! Garmin's DI tokens and everything the plugin keeps per connection in the
//! host's `SecretStore`.
//!
//! Keys (the values are encrypted by the host):
//! - `email`: the account's email, as given at connect.
//! - `password`: only when the user gave one; used for a re-login when the
//!   refresh token is dead.
//! - `tokens`: JSON in python-garminconnect's `garmin_tokens.json` shape,
//!   `{"di_token", "di_refresh_token", "di_client_id"}`, rewritten at once
//!   after every refresh (refresh tokens rotate).
//! - `last_password_login`: unix seconds of the last credential POST, for the
//!   password-login budget.
//! - `web_session`: a marker (no secret) of a connection signed in with the
//!   `JWT_WEB` cookie, which itself is kept in memory only.

use crate::errors::{GarminError, Result};
use crate::identity::DI_CLIENT_IDS;
use crate::jwt;
use abi_stable::std_types::{RResult, RStr};
use host_api::SecretStoreBox;
use serde::{Deserialize, Serialize};

pub mod keys {
    pub const EMAIL: &str = "email";
    pub const PASSWORD: &str = "password";
    pub const TOKENS: &str = "tokens";
    pub const LAST_PASSWORD_LOGIN: &str = "last_password_login";
    /// Set (to `JWT_WEB`) while the connection signs in with the web cookie, which is never
    /// stored: after a restart it tells a missing cookie from a connection never made.
    pub const WEB_SESSION: &str = "web_session";
    pub const ALL: [&str; 5] = [EMAIL, PASSWORD, TOKENS, LAST_PASSWORD_LOGIN, WEB_SESSION];
}

/// The DI token pair and the client id the refresh token is bound to.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Tokens {
    pub di_token: String,
    #[serde(default)]
    pub di_refresh_token: Option<String>,
    #[serde(default)]
    pub di_client_id: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("di_token", &"[redacted]")
            .field("has_refresh_token", &self.di_refresh_token.is_some())
            .field("di_client_id", &self.di_client_id)
            .finish()
    }
}

/// Why a token file was refused; names the problem, never echoes the content.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenFileError {
    #[error("the token file is not JSON ({0})")]
    NotJson(String),
    #[error("the token file has no di_token (is it python-garminconnect's garmin_tokens.json? Older oauth1/oauth2 files cannot be used)")]
    NoAccessToken,
}

impl Tokens {
    /// Parses the contents of python-garminconnect's `garmin_tokens.json`.
    pub fn from_file_text(text: &str) -> Result<Self, TokenFileError> {
        let value: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
            TokenFileError::NotJson(format!("line {}, column {}", e.line(), e.column()))
        })?;
        let string = |key: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let di_token = string("di_token").ok_or(TokenFileError::NoAccessToken)?;
        Ok(Self {
            di_token,
            di_refresh_token: string("di_refresh_token"),
            di_client_id: string("di_client_id"),
        })
    }

    /// The client id for refreshing: the stored one, else the token's
    /// `client_id` claim, else the first known id.
    pub fn client_id(&self) -> String {
        self.di_client_id
            .clone()
            .or_else(|| jwt::claims(&self.di_token).and_then(|c| c.client_id))
            .unwrap_or_else(|| DI_CLIENT_IDS[0].to_string())
    }

    pub fn expires_soon(&self, now: i64) -> bool {
        jwt::expires_soon(&self.di_token, now)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain strings serialise")
    }
}

/// The connection's secret store, with the plugin's keys.
#[derive(Clone)]
pub struct Vault {
    store: SecretStoreBox,
}

impl Vault {
    pub fn new(store: SecretStoreBox) -> Self {
        Self { store }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>> {
        match self.store.get(RStr::from(key)) {
            RResult::ROk(value) => Ok(value.into_option().map(|v| v.into_string())),
            RResult::RErr(e) => Err(GarminError::Host(e)),
        }
    }

    pub fn put(&self, key: &str, value: &str) -> Result<()> {
        match self.store.put(RStr::from(key), RStr::from(value)) {
            RResult::ROk(()) => Ok(()),
            RResult::RErr(e) => Err(GarminError::Host(e)),
        }
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(RStr::from(key)) {
            RResult::ROk(()) => Ok(()),
            RResult::RErr(e) => Err(GarminError::Host(e)),
        }
    }

    /// The stored tokens; an unreadable value counts as none (a new login or
    /// token import replaces it).
    pub fn tokens(&self) -> Result<Option<Tokens>> {
        Ok(self.get(keys::TOKENS)?.and_then(|text| {
            let parsed = Tokens::from_file_text(&text);
            if let Err(e) = &parsed {
                tracing::warn!(target: "garmin::tokens", "stored tokens are unreadable: {e}");
            }
            parsed.ok()
        }))
    }

    /// Stores `tokens` durably before returning: a rotated refresh token is
    /// never lost.
    pub fn save_tokens(&self, tokens: &Tokens) -> Result<()> {
        self.put(keys::TOKENS, &tokens.to_json())
    }

    pub fn last_password_login(&self) -> Result<Option<i64>> {
        Ok(self
            .get(keys::LAST_PASSWORD_LOGIN)?
            .and_then(|v| v.trim().parse().ok()))
    }

    pub fn record_password_login(&self, now: i64) -> Result<()> {
        self.put(keys::LAST_PASSWORD_LOGIN, &now.to_string())
    }

    /// Deletes every key the plugin writes.
    pub fn forget_all(&self) -> Result<()> {
        for key in keys::ALL {
            self.delete(key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_python_garminconnects_token_file() {
        let text = r#"{"di_token": "a.b.c", "di_refresh_token": "r1", "di_client_id": "GARMIN_CONNECT_MOBILE_ANDROID_DI"}"#;
        let t = Tokens::from_file_text(text).unwrap();
        assert_eq!(t.di_token, "a.b.c");
        assert_eq!(t.di_refresh_token.as_deref(), Some("r1"));
        assert_eq!(t.client_id(), "GARMIN_CONNECT_MOBILE_ANDROID_DI");
        assert_eq!(Tokens::from_file_text(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn a_bad_token_file_is_named_without_echoing_it() {
        let e = Tokens::from_file_text("{\"di_token\": \"secret-value\"").unwrap_err();
        assert!(matches!(e, TokenFileError::NotJson(_)));
        assert!(!e.to_string().contains("secret-value"));
        let e = Tokens::from_file_text(r#"{"oauth_token": "x"}"#).unwrap_err();
        assert_eq!(e, TokenFileError::NoAccessToken);
        assert_eq!(
            Tokens::from_file_text(r#"{"di_token": "  "}"#).unwrap_err(),
            TokenFileError::NoAccessToken
        );
    }

    #[test]
    fn the_client_id_falls_back_to_the_jwt_claim_then_the_first_id() {
        let token = jwt::make_token("RS256", &json!({"client_id": "FROM_JWT", "exp": 5}));
        let t = Tokens {
            di_token: token,
            di_refresh_token: None,
            di_client_id: None,
        };
        assert_eq!(t.client_id(), "FROM_JWT");
        let t = Tokens {
            di_token: "opaque".into(),
            di_refresh_token: None,
            di_client_id: None,
        };
        assert_eq!(t.client_id(), DI_CLIENT_IDS[0]);
    }

    #[test]
    fn debug_never_shows_a_token() {
        let t = Tokens {
            di_token: "tok-123".into(),
            di_refresh_token: Some("ref-456".into()),
            di_client_id: None,
        };
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("tok-123") && !shown.contains("ref-456"),
            "{shown}"
        );
    }
}
