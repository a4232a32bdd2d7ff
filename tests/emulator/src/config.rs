//! What an emulator starts with: accounts, their activities, and the protocol knobs (accepted DI
//! client ids, token lifetimes, refresh-token rotation, how strict the SSO is).

use std::time::Duration;

use crate::activity::Activity;
use crate::fixtures::sample_activities;

/// The SSO client id / service URL of the iOS app (mobile JSON flow).
pub const IOS_CLIENT_ID: &str = "GCM_IOS_DARK";
pub const IOS_SERVICE_URL: &str = "https://mobile.integration.garmin.com/gcm/ios";
/// The Android app's SSO client id / service URL.
pub const ANDROID_CLIENT_ID: &str = "GCM_ANDROID_DARK";
pub const ANDROID_SERVICE_URL: &str = "https://mobile.integration.garmin.com/gcm/android";
/// The web portal's SSO client id / service URL.
pub const PORTAL_CLIENT_ID: &str = "GarminConnect";
pub const PORTAL_SERVICE_URL: &str = "https://connect.garmin.com/app";
/// The DI grant type of the ticket exchange.
pub const DI_TICKET_GRANT: &str =
    "https://connectapi.garmin.com/di-oauth2-service/oauth/grant/service_ticket";
/// The DI client ids, in the order clients try them.
pub const DI_CLIENT_IDS: [&str; 4] = [
    "GARMIN_CONNECT_MOBILE_ANDROID_DI_2025Q2",
    "GARMIN_CONNECT_MOBILE_ANDROID_DI_2024Q4",
    "GARMIN_CONNECT_MOBILE_ANDROID_DI",
    "GARMIN_CONNECT_MOBILE_IOS_DI",
];
/// The MFA code of the default MFA account, and of accounts a `Fault::MfaRequired` forces into MFA.
pub const DEFAULT_MFA_CODE: &str = "123456";

/// One Garmin account.
#[derive(Clone, PartialEq)]
pub struct Account {
    pub email: String,
    pub password: String,
    /// `Some(code)` = MFA on: every credential login asks for this code.
    pub mfa_code: Option<String>,
    pub display_name: String,
    pub profile_id: u64,
    pub activities: Vec<Activity>,
}

impl std::fmt::Debug for Account {
    /// Password and MFA code are not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("mfa", &self.mfa_code.is_some())
            .field("display_name", &self.display_name)
            .field("profile_id", &self.profile_id)
            .field("activities", &self.activities)
            .finish()
    }
}

impl Account {
    /// An account without MFA and without activities.
    pub fn new(email: &str, password: &str) -> Account {
        let profile_id = 80_000_000
            + email
                .bytes()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
                % 10_000_000;
        Account {
            email: email.to_string(),
            password: password.to_string(),
            mfa_code: None,
            display_name: email.split('@').next().unwrap_or(email).to_string(),
            profile_id,
            activities: Vec::new(),
        }
    }

    pub fn with_mfa(mut self, code: &str) -> Account {
        self.mfa_code = Some(code.to_string());
        self
    }

    pub fn with_activities(mut self, activities: Vec<Activity>) -> Account {
        self.activities.extend(activities);
        self
    }
}

/// Everything an [`crate::Emulator`] starts from.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub accounts: Vec<Account>,
    /// DI client ids the token endpoint accepts (others get 401 `invalid_client`), so a client's
    /// fall-through over the id list is exercised. Default: all four.
    pub accepted_client_ids: Vec<String>,
    /// Refresh issues a new refresh token and retires the old one (default true). When false the
    /// same refresh token comes back and stays valid.
    pub rotate_refresh_tokens: bool,
    /// Lifetime of access tokens (JWT `exp - iat`, `expires_in`). Default 24 h.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (`refresh_token_expires_in`). Default 30 days.
    pub refresh_token_ttl: Duration,
    /// Lifetime of a service ticket. Default 5 minutes.
    pub ticket_ttl: Duration,
    /// A JSON credential POST without the sign-in page's `SESSION` cookie, or whose `Referer` is
    /// not that page, gets 429 (as Garmin does). Default true.
    pub require_sign_in_cookies: bool,
    /// API calls must carry the app's `User-Agent` / `X-Garmin-User-Agent` headers, else 403.
    /// Default true.
    pub require_native_headers: bool,
    /// Every SSO step needs a User-Agent (else 403), and the JSON credential and MFA POSTs the
    /// SSO's `Origin` (403), `Content-Type: application/json` (415) and the `locale` query (400);
    /// the credential POST's `Referer` must be the whole sign-in page URL. Default true.
    pub require_browser_headers: bool,
    /// A DI ticket exchange that fails (wrong client id excepted) burns the ticket. Default false.
    pub burn_ticket_on_failure: bool,
    /// Serve HTTPS + HTTP/2 behind a Cloudflare-like edge that blocks non-browser TLS on the
    /// SSO and DI paths (see [`crate::edge`]). Default off (plain HTTP).
    pub edge: Option<crate::edge::EdgeConfig>,
    /// The most entries one list page holds whatever `limit` asks (Garmin caps it on some
    /// endpoints). Default 100.
    pub list_page_cap: usize,
    /// How the MFA code reaches the user, as the SSO writes it (`mfaLastMethodUsed`, the widget's
    /// `mfaMethod`). Default `email`; Garmin's spelling of it is not fixed, so tests also use
    /// `EMAIL` to show a client compares it case-insensitively. With `email` or `sms` the widget
    /// sends the code only once a client asked for it (`/sso/verifyMFA/mfaCode`).
    pub mfa_method: String,
    /// `garmin.com`, or `garmin.cn` for an emulator of Garmin's China site: the SSO then serves
    /// only the `.cn` service URLs (a `.com` one gets the 400 of an unknown service) and the
    /// API expects the `.cn` web Origin. Default `garmin.com`.
    pub domain: String,
    /// Redeeming a service ticket at its service URL sets the `JWT_WEB` cookie (default true;
    /// false answers the redirect without it, as a client must survive).
    pub issue_web_cookie: bool,
}

impl EmulatorConfig {
    /// Two accounts with the sample activities: `demo@example.com` / `demo-password` (no MFA) and
    /// `mfa@example.com` / `demo-password` (MFA code `123456`).
    pub fn default_demo() -> Self {
        let demo = Account {
            display_name: "demo-runner".to_string(),
            profile_id: 81_234_567,
            ..Account::new("demo@example.com", "demo-password")
        }
        .with_activities(sample_activities(10_000_000_000));
        let mfa = Account {
            display_name: "mfa-rider".to_string(),
            profile_id: 82_345_678,
            ..Account::new("mfa@example.com", "demo-password")
        }
        .with_mfa(DEFAULT_MFA_CODE)
        .with_activities(sample_activities(20_000_000_000));
        Self::empty().with_account(demo).with_account(mfa)
    }

    /// No accounts; default knobs.
    pub fn empty() -> Self {
        EmulatorConfig {
            accounts: Vec::new(),
            accepted_client_ids: DI_CLIENT_IDS.iter().map(|s| s.to_string()).collect(),
            rotate_refresh_tokens: true,
            access_token_ttl: Duration::from_secs(24 * 3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            ticket_ttl: Duration::from_secs(300),
            require_sign_in_cookies: true,
            require_native_headers: true,
            require_browser_headers: true,
            burn_ticket_on_failure: false,
            edge: None,
            list_page_cap: 100,
            mfa_method: "email".to_string(),
            domain: "garmin.com".to_string(),
            issue_web_cookie: true,
        }
    }

    pub fn with_account(mut self, account: Account) -> Self {
        self.accounts.push(account);
        self
    }

    /// Behind the edge, with the fixture's browser fingerprints.
    pub fn with_edge(mut self) -> Self {
        self.edge = Some(crate::edge::EdgeConfig::default());
        self
    }

    /// Garmin's China site (`garmin.cn`).
    pub fn with_china_domain(mut self) -> Self {
        self.domain = "garmin.cn".to_string();
        self
    }

    /// Accept only these DI client ids (none: every ticket exchange is refused, and a client
    /// must fall back to `JWT_WEB`).
    pub fn with_accepted_client_ids(mut self, ids: &[&str]) -> Self {
        self.accepted_client_ids = ids.iter().map(|s| s.to_string()).collect();
        self
    }
}
