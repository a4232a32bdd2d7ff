//! The emulator's memory: accounts, SSO sessions, tickets, tokens, active faults and request
//! statistics, behind one lock shared by the handlers and the control API.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::clock::VirtualClock;
use crate::config::{Account, EmulatorConfig};
use crate::faults::{Fault, FaultBook, RequestKind};

/// Counts per request kind, and every request's method and path (no query: tickets stay out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Sign-in page GETs (mobile, portal, widget embed and signin).
    pub sign_in_pages: u64,
    /// Credential POSTs (mobile, portal, widget).
    pub logins: u64,
    /// MFA verify POSTs (JSON and widget) and widget code requests.
    pub mfa_verifies: u64,
    /// DI service-ticket exchanges (each client id tried counts).
    pub token_exchanges: u64,
    /// DI refresh grants.
    pub refreshes: u64,
    pub social_profile: u64,
    pub user_settings: u64,
    pub list_requests: u64,
    pub count_requests: u64,
    pub activity_details: u64,
    pub downloads: u64,
    /// Every request, including unknown paths.
    pub total: u64,
    /// `(method, path)` of every request in arrival order.
    pub requests: Vec<(String, String)>,
    /// Edge mode: every TLS connection, with its JA4 and HTTP/2 fingerprint.
    pub edge_connections: Vec<crate::edge::EdgeConnection>,
    /// Edge mode: requests answered with the 403 challenge page.
    pub edge_challenges: u64,
    /// Edge mode: requests answered 429 because their fingerprint kept trying.
    pub edge_rate_limited: u64,
    /// Service tickets redeemed at their service URL for a `JWT_WEB` cookie.
    pub web_tickets_redeemed: u64,
    /// API requests signed with a DI bearer token.
    pub api_by_bearer: u64,
    /// API requests signed with the `JWT_WEB` cookie.
    pub api_by_cookie: u64,
}

impl Stats {
    pub(crate) fn record(&mut self, kind: RequestKind, method: &str, path: &str) {
        self.total += 1;
        self.requests.push((method.to_string(), path.to_string()));
        let counter = match kind {
            RequestKind::SignInPage => &mut self.sign_in_pages,
            RequestKind::Login => &mut self.logins,
            RequestKind::Mfa => &mut self.mfa_verifies,
            RequestKind::Token => &mut self.token_exchanges,
            RequestKind::Refresh => &mut self.refreshes,
            RequestKind::Profile => &mut self.social_profile,
            RequestKind::Settings => &mut self.user_settings,
            RequestKind::List => &mut self.list_requests,
            RequestKind::Count => &mut self.count_requests,
            RequestKind::ActivityDetail => &mut self.activity_details,
            RequestKind::Download(_) => &mut self.downloads,
            RequestKind::OtherSso
            | RequestKind::OtherApi
            | RequestKind::ServiceTicket
            | RequestKind::Unknown => return,
        };
        *counter += 1;
    }
}

/// Which JSON or HTML flow an SSO session logged in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Mobile,
    Portal,
    Widget,
}

/// A login waiting for its MFA code.
#[derive(Debug, Clone)]
pub struct PendingMfa {
    pub email: String,
    pub flow: Flow,
    /// The service URL the final ticket is bound to.
    pub service_url: String,
    pub method: String,
    pub customer_guid: String,
    /// The code that completes this login.
    pub code: String,
}

/// Server side of the `SESSION` cookie.
#[derive(Debug, Clone, Default)]
pub struct SsoSession {
    /// The widget form's current CSRF token.
    pub csrf: Option<String>,
    pub pending_mfa: Option<PendingMfa>,
    /// Widget: a code was requested via `/sso/verifyMFA/mfaCode`.
    pub code_requested: bool,
    /// Widget: the MFA code was right; `/sso/login?logintoken=` shows the Success page.
    pub completed_login: Option<CompletedLogin>,
}

/// A widget login whose MFA code was accepted, waiting for the redirect to `/sso/login`.
#[derive(Debug, Clone)]
pub struct CompletedLogin {
    pub login_token: String,
    pub ticket: String,
    pub service_url: String,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub email: String,
    pub service_url: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub email: String,
    pub client_id: String,
    pub exp: i64,
}

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub email: String,
    pub client_id: String,
    pub exp: i64,
    pub revoked: bool,
}

/// Everything that changes while the emulator runs.
#[derive(Debug, Default)]
pub struct State {
    pub accounts: Vec<Account>,
    pub sessions: HashMap<String, SsoSession>,
    pub tickets: HashMap<String, Ticket>,
    pub access_tokens: HashMap<String, AccessGrant>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// `JWT_WEB` cookies issued for redeemed service tickets.
    pub web_cookies: HashMap<String, AccessGrant>,
    pub faults: FaultBook,
    pub stats: Stats,
    /// Edge mode: how often each non-browser JA4 was turned away.
    pub edge_blocks: HashMap<String, u32>,
    /// The timed log and per-account 429s ([`crate::request_log`]).
    pub request_log: crate::request_log::RequestLog,
    ticket_serial: u64,
}

impl State {
    pub fn account(&self, email: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    pub fn account_mut(&mut self, email: &str) -> Option<&mut Account> {
        self.accounts
            .iter_mut()
            .find(|a| a.email.eq_ignore_ascii_case(email))
    }

    /// Issues a single-use service ticket bound to `service_url`.
    pub fn issue_ticket(&mut self, email: &str, service_url: &str, now: i64, ttl_s: i64) -> String {
        self.ticket_serial += 1;
        let ticket = format!("ST-{:07}-{}-cas", self.ticket_serial, random_token(20));
        self.tickets.insert(
            ticket.clone(),
            Ticket {
                email: email.to_string(),
                service_url: service_url.to_string(),
                expires_at: now + ttl_s,
            },
        );
        ticket
    }

    /// The first active fault of `kind` that passes `filter`, counted as used.
    pub fn take_fault(
        &mut self,
        kind: RequestKind,
        filter: impl Fn(&Fault) -> bool,
    ) -> Option<Fault> {
        self.faults.take(kind, filter)
    }
}

/// The knobs of [`EmulatorConfig`] that stay fixed while running.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub accepted_client_ids: Vec<String>,
    pub rotate_refresh_tokens: bool,
    pub access_token_ttl_s: i64,
    pub refresh_token_ttl_s: i64,
    pub ticket_ttl_s: i64,
    pub require_sign_in_cookies: bool,
    pub require_native_headers: bool,
    pub require_browser_headers: bool,
    pub burn_ticket_on_failure: bool,
    pub edge: Option<crate::edge::EdgeConfig>,
    pub list_page_cap: usize,
    pub mfa_method: String,
    pub domain: String,
    pub issue_web_cookie: bool,
}

impl Knobs {
    /// `url` (one of Garmin's `….garmin.com` identities) on the emulated domain.
    pub fn on_domain(&self, url: &str) -> String {
        if self.domain == "garmin.cn" {
            url.replacen(".garmin.com", ".garmin.cn", 1)
        } else {
            url.to_string()
        }
    }
}

/// Shared by every handler and the control API.
#[derive(Debug)]
pub struct Shared {
    pub clock: VirtualClock,
    pub knobs: Knobs,
    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` behind the edge.
    pub base_url: String,
    /// Signs the emulator's JWTs (random per emulator).
    pub jwt_secret: String,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(config: EmulatorConfig, base_url: String) -> Shared {
        let secs = |d: std::time::Duration| d.as_secs().min(i64::MAX as u64) as i64;
        Shared {
            clock: VirtualClock::default(),
            knobs: Knobs {
                accepted_client_ids: config.accepted_client_ids,
                rotate_refresh_tokens: config.rotate_refresh_tokens,
                access_token_ttl_s: secs(config.access_token_ttl),
                refresh_token_ttl_s: secs(config.refresh_token_ttl),
                ticket_ttl_s: secs(config.ticket_ttl),
                require_sign_in_cookies: config.require_sign_in_cookies,
                require_native_headers: config.require_native_headers,
                require_browser_headers: config.require_browser_headers,
                burn_ticket_on_failure: config.burn_ticket_on_failure,
                edge: config.edge,
                list_page_cap: config.list_page_cap.max(1),
                mfa_method: config.mfa_method,
                domain: config.domain,
                issue_web_cookie: config.issue_web_cookie,
            },
            base_url,
            jwt_secret: random_token(32),
            state: Mutex::new(State {
                accounts: config.accounts,
                ..State::default()
            }),
        }
    }

    /// Locks the state; a handler that panicked while holding it does not poison the emulator.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A random alphanumeric string of `len` characters.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
