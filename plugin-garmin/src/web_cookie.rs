//! The `JWT_WEB` fallback (research/garmin-auth-2026.md §3.4), for accounts whose service
//! tickets diauth will not exchange for DI tokens under any client id: the ticket is redeemed at
//! the service URL it was issued for, on the login's own browser connection, and the `JWT_WEB`
//! cookie that answer sets signs the API calls instead of a bearer token (with the web app's
//! `NK`, `Origin`, `Referer` and `DI-Backend` headers).
//!
//! As in the reference, the cookie lives in memory only ([`WebCookies`], one per connection):
//! it is never written to the secret store, and after a restart (or when the API refuses it) the
//! connection signs in again with the stored password, within the password-login budget.

use crate::browser::{self, header, Client};
use crate::di_token::Ticket;
use crate::errors::{GarminError, Result};
use crate::jwt;
use crate::settings::Settings;
use std::collections::HashMap;
use std::sync::Mutex;

/// The step named in every error of the fallback.
pub const ENDPOINT: &str = "JWT_WEB fallback (service ticket redeemed at its service URL)";
/// The cookie's name.
pub const COOKIE: &str = "JWT_WEB";
/// Redirects followed from the service URL before giving up on the cookie.
const MAX_REDIRECTS: usize = 5;
/// The most read of one page on the way (they are small landing pages).
const PAGE_LIMIT: usize = 1 << 20;

/// The web app's session cookie. `Debug` never shows it.
#[derive(Clone, PartialEq)]
pub struct WebCookie(String);

impl std::fmt::Debug for WebCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebCookie([redacted])")
    }
}

impl WebCookie {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn value(&self) -> &str {
        &self.0
    }

    /// Past its `exp` (a value that is not a JWT never expires by itself: only a 401 ends it).
    pub fn expired(&self, now: i64) -> bool {
        jwt::claims(&self.0)
            .and_then(|c| c.exp)
            .is_some_and(|exp| now >= exp)
    }
}

/// The cookies of one importer instance, by connection id.
#[derive(Default)]
pub struct WebCookies(Mutex<HashMap<String, WebCookie>>);

impl WebCookies {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, WebCookie>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn get(&self, connection_id: &str) -> Option<WebCookie> {
        self.lock().get(connection_id).cloned()
    }
    pub fn put(&self, connection_id: &str, cookie: WebCookie) {
        self.lock().insert(connection_id.to_string(), cookie);
    }
    pub fn forget(&self, connection_id: &str) {
        self.lock().remove(connection_id);
    }
}

/// Where the ticket is redeemed: the service URL itself, or its path under
/// `web_service_base_url` when that is set (the emulator stands in for Garmin's web hosts).
pub fn redeem_url(settings: &Settings, service_url: &str) -> Result<reqwest::Url> {
    let service = reqwest::Url::parse(service_url).map_err(|e| {
        GarminError::permanent(ENDPOINT, format!("the service URL does not parse ({e})"))
    })?;
    let base = settings.web_service_base_url.trim_end_matches('/');
    let mut url = if base.is_empty() {
        service
    } else {
        reqwest::Url::parse(&format!("{base}{}", service.path())).map_err(|e| {
            GarminError::permanent(
                "settings",
                format!("web_service_base_url {base:?} does not parse ({e})"),
            )
        })?
    };
    url.set_query(None);
    Ok(url)
}

/// `GET <service URL>?ticket=…` on the login's connection, following at most
/// [`MAX_REDIRECTS`] redirects on the same site, until an answer sets `JWT_WEB`.
pub async fn redeem(session: &Client, settings: &Settings, ticket: &Ticket) -> Result<WebCookie> {
    let mut url = redeem_url(settings, &ticket.service_url)?;
    url.query_pairs_mut().append_pair("ticket", &ticket.ticket);
    let site = url.host_str().unwrap_or_default().to_string();
    for _ in 0..=MAX_REDIRECTS {
        let response = session
            .get(url.as_str())
            .redirect(browser::no_redirects())
            .header(header::ACCEPT, crate::identity::ACCEPT_HTML)
            .send()
            .await
            .map_err(|e| browser::transport_error(ENDPOINT, e))?;
        let status = response.status();
        if let Some(cookie) = response
            .cookies()
            .find(|c| c.name() == COOKIE && !c.value().is_empty())
        {
            tracing::info!(target: "garmin::web", "service ticket redeemed for a JWT_WEB cookie");
            return Ok(WebCookie(cookie.value().to_string()));
        }
        if status.is_server_error() {
            return Err(GarminError::transient(
                ENDPOINT,
                format!("HTTP {}", status.as_u16()),
            ));
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let next = match location {
            Some(location) if status.is_redirection() => url.join(&location).ok(),
            _ => None,
        };
        match next {
            Some(next) if same_site(&site, next.host_str().unwrap_or_default(), settings) => {
                url = next;
            }
            Some(_) => {
                return Err(GarminError::permanent(
                    ENDPOINT,
                    "the service URL redirected off Garmin's site without setting JWT_WEB",
                ))
            }
            None => {
                // Drain (bounded) so the connection can be reused.
                let _ = browser::read_body(ENDPOINT, response, PAGE_LIMIT).await;
                return Err(GarminError::permanent(
                    ENDPOINT,
                    format!(
                        "HTTP {}: the answer set no {COOKIE} cookie (the ticket may be spent or not valid for this service)",
                        status.as_u16()
                    ),
                ));
            }
        }
    }
    Err(GarminError::permanent(
        ENDPOINT,
        format!("more than {MAX_REDIRECTS} redirects without a {COOKIE} cookie"),
    ))
}

/// A redirect stays on the site: the same host, or a host of Garmin's domain.
fn same_site(first: &str, next: &str, settings: &Settings) -> bool {
    next == first || next == settings.domain || next.ends_with(&format!(".{}", settings.domain))
}

/// The headers of an API call signed by the cookie, as the web app sends them (on the
/// configured domain).
pub fn api_headers(settings: &Settings, cookie: &WebCookie) -> reqwest::header::HeaderMap {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let mut headers = HeaderMap::new();
    let connect = settings.on_domain("https://connect.garmin.com");
    let backend = settings.on_domain("https://connectapi.garmin.com");
    let backend = backend.trim_start_matches("https://");
    for (name, value) in [
        ("nk", "NT".to_string()),
        ("origin", connect.clone()),
        ("referer", format!("{connect}/modern/")),
        ("di-backend", backend.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Ok(mut value) = HeaderValue::from_str(&format!("{COOKIE}={}", cookie.value())) {
        value.set_sensitive(true);
        headers.insert(reqwest::header::COOKIE, value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_never_shows_in_debug_and_goes_out_sensitive() {
        let cookie = WebCookie::new("eyJsecret".into());
        assert!(!format!("{cookie:?}").contains("eyJsecret"));
        let headers = api_headers(&Settings::default(), &cookie);
        assert_eq!(headers["cookie"], "JWT_WEB=eyJsecret");
        assert!(headers["cookie"].is_sensitive());
        assert_eq!(headers["nk"], "NT");
        assert_eq!(headers["origin"], "https://connect.garmin.com");
        assert_eq!(headers["referer"], "https://connect.garmin.com/modern/");
        assert_eq!(headers["di-backend"], "connectapi.garmin.com");
    }

    #[test]
    fn the_redeem_url_is_the_service_url_or_its_path_under_the_base() {
        let garmin = Settings::default();
        assert_eq!(
            redeem_url(&garmin, "https://connect.garmin.com/app")
                .unwrap()
                .as_str(),
            "https://connect.garmin.com/app"
        );
        let emulator = Settings {
            web_service_base_url: "http://127.0.0.1:9/".into(),
            ..Settings::default()
        };
        assert_eq!(
            redeem_url(&emulator, "https://mobile.integration.garmin.com/gcm/ios")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/gcm/ios"
        );
        let e = redeem_url(&garmin, "not a url").unwrap_err();
        assert!(e.to_string().contains("JWT_WEB"), "{e}");
    }

    #[test]
    fn redirects_stay_on_garmins_site() {
        let s = Settings::default();
        assert!(same_site("127.0.0.1", "127.0.0.1", &s));
        assert!(same_site(
            "mobile.integration.garmin.com",
            "connect.garmin.com",
            &s
        ));
        assert!(!same_site("connect.garmin.com", "evil.example", &s));
        assert!(!same_site(
            "connect.garmin.com",
            "garmin.com.evil.example",
            &s
        ));
    }

    #[test]
    fn a_cookie_expires_by_its_jwt_exp_only() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"HS256"}"#),
            b64(r#"{"exp":1000}"#)
        );
        assert!(!WebCookie::new(jwt.clone()).expired(999));
        assert!(WebCookie::new(jwt).expired(1000));
        assert!(!WebCookie::new("opaque".into()).expired(i64::MAX));
    }

    /// A local server answering every request with `head` (a status line and headers); the
    /// number of requests it got.
    async fn answering(
        head: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut request = vec![0u8; 8192];
                let _ = s.read(&mut request).await;
                let answer = format!("{head}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        (base, count)
    }

    fn ticket_at(base: &str) -> Ticket {
        Ticket {
            ticket: "ST-1-x-cas".into(),
            service_url: format!("{base}/app"),
        }
    }

    #[tokio::test]
    async fn redirects_are_followed_at_most_five_times_and_never_off_site() {
        let settings = Settings::default();
        let client = browser::login_client(&settings, browser::Profile::Chrome).unwrap();
        let (base, count) = answering("HTTP/1.1 302 Found\r\nlocation: /app/again").await;
        let e = redeem(&client, &settings, &ticket_at(&base))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("more than 5 redirects"), "{e}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 6);

        let (base, count) =
            answering("HTTP/1.1 302 Found\r\nlocation: https://evil.example/x").await;
        let e = redeem(&client, &settings, &ticket_at(&base))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("off Garmin's site"), "{e}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);

        let (base, _) = answering("HTTP/1.1 200 OK").await;
        let e = redeem(&client, &settings, &ticket_at(&base))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("set no JWT_WEB cookie"), "{e}");
        assert!(!e.to_string().contains("ST-1"), "the ticket stays out: {e}");

        let (base, _) = answering("HTTP/1.1 302 Found\r\nset-cookie: JWT_WEB=abc; Path=/").await;
        let cookie = redeem(&client, &settings, &ticket_at(&base)).await.unwrap();
        assert_eq!(cookie.value(), "abc");
    }
}
