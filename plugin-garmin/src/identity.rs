//! Who the plugin says it is to Garmin: the client ids, service URLs and
//! user agents of Garmin's own apps (research/garmin-auth-2026.md, the
//! identity table). These are identities, not addresses: they stay the same
//! when the base URLs point at the emulator.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub const IOS_CLIENT_ID: &str = "GCM_IOS_DARK";
pub const IOS_SERVICE_URL: &str = "https://mobile.integration.garmin.com/gcm/ios";
pub const IOS_LOGIN_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

pub const PORTAL_CLIENT_ID: &str = "GarminConnect";
pub const PORTAL_SERVICE_URL: &str = "https://connect.garmin.com/app";
pub const DESKTOP_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

pub const API_UA: &str = "GCM-Android-5.23";
pub const X_GARMIN_UA: &str = "com.garmin.android.apps.connectmobile/5.23; ; Google/sdk_gphone64_arm64/google; Android/33; Dalvik/2.1.0";

/// The DI grant type for a service ticket: an identifier, always the `.com` URL.
pub const DI_TICKET_GRANT: &str =
    "https://connectapi.garmin.com/di-oauth2-service/oauth/grant/service_ticket";
/// Tried in this order with the same ticket.
pub const DI_CLIENT_IDS: [&str; 4] = [
    "GARMIN_CONNECT_MOBILE_ANDROID_DI_2025Q2",
    "GARMIN_CONNECT_MOBILE_ANDROID_DI_2024Q4",
    "GARMIN_CONNECT_MOBILE_ANDROID_DI",
    "GARMIN_CONNECT_MOBILE_IOS_DI",
];

pub const ACCEPT_HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
pub const ACCEPT_JSON_LOGIN: &str = "application/json, text/plain, */*";
pub const ACCEPT_LANGUAGE_VALUE: &str = "en-US,en;q=0.9";

/// The native Android app's headers, sent to connectapi and diauth.
pub fn native_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("user-agent", API_UA),
        ("x-garmin-user-agent", X_GARMIN_UA),
        ("x-garmin-paired-app-version", "10861"),
        ("x-garmin-client-platform", "Android"),
        ("x-app-ver", "10861"),
        ("x-lang", "en"),
        ("x-gcexperience", "GC5"),
        ("accept-language", ACCEPT_LANGUAGE_VALUE),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers
}
