//! Switchable failure modes: what can go wrong ([`Fault`]), which requests it hits ([`Target`])
//! and how often ([`Times`]), bundled as a [`FaultRule`]; plus the request kinds they match.

use std::time::Duration;

/// What the emulator does instead of (or on top of) the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Credential POST says `INVALID_USERNAME_PASSWORD` (JSON, 401) / widget page titled
    /// "Invalid sign in" (401), even for the right password.
    InvalidCredentials,
    /// Credential POST says `ACCOUNT_LOCKED` (JSON) / widget page titled "Account Locked".
    AccountLocked,
    /// Credential POST says `CAPTCHA_REQUIRED` (JSON) / widget shows the sign-in page again.
    CaptchaRequired,
    /// Login asks for MFA even on an account without it (code: the account's, else `123456`).
    MfaRequired,
    /// MFA verification rejects every code (`MFA_CODE_INVALID` / widget MFA page again).
    WrongMfaCode,
    /// Rate limited: `status` (427 or 429; 200 with `json` gives the "429 hidden in a JSON body"
    /// case), optional `Retry-After` seconds, body JSON `{"error":{"status-code":"429"}}` when
    /// `json`, else Cloudflare's HTML error 1015 page.
    TooManyRequests {
        status: u16,
        retry_after: Option<u64>,
        json: bool,
    },
    /// 429 (JSON body) whose `Retry-After` header is this text, verbatim: huge
    /// delta-seconds, a far-future HTTP date, garbage. What a hostile server may send.
    RetryAfterHeader(String),
    /// This HTTP status with this body, verbatim (a server echoing what it was sent).
    StatusWithBody(u16, String),
    /// 403 Cloudflare challenge page ("Just a moment...", `__cf_chl`).
    CloudflareChallenge,
    /// 200 with an HTML page where JSON is expected.
    HtmlInsteadOfJson,
    /// This HTTP status (5xx, 408, 403, 404, 204 ...). 502 comes as Cloudflare's
    /// "502 Bad Gateway" HTML page, 204 empty, others as a JSON error body.
    Status(u16),
    /// The normal answer's headers and first half of its body, then the connection is dropped.
    ResetMidBody,
    /// Download: a 200 whose zip is cut in half.
    TruncatedZip,
    /// Download: a zip holding `{id}_ACTIVITY.gpx` and no `.fit`.
    ZipWithoutFit,
    /// Wait this long, then answer normally (or with the next matching fault).
    Delay(Duration),
    /// API: 401 `invalid_token` "Token is not active" for any token (issue #369). Scoped to the
    /// API while refresh works, it is "refresh succeeds but the API still answers 401".
    TokenNotActive,
    /// DI token endpoint: 400 `{"error":"invalid_grant"}` (dead refresh token, refused ticket).
    InvalidGrant,
    /// A 200 JSON answer of `bytes` bytes, streamed in chunks without a `Content-Length` and
    /// generated as it is sent (the emulator never holds it): a hostile server's endless body.
    HugeBody { bytes: u64 },
    /// This status with this body (as `text/plain`): what a server that echoes its request, or
    /// anything else, would send.
    Answer { status: u16, body: String },
    /// List: every page is the first page (`start` ignored), full, forever: a list that
    /// never ends.
    SameListPage,
}

/// Which requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Sign-in page GETs (mobile, portal, widget embed and signin pages).
    SignInPage,
    /// Credential POSTs (mobile, portal, widget).
    Login,
    /// MFA verify POSTs (JSON and widget) and the widget's code request.
    Mfa,
    /// DI service-ticket exchange.
    Token,
    /// DI refresh grant.
    Refresh,
    /// `socialProfile`.
    Profile,
    /// `user-settings`.
    Settings,
    /// Activity list (search) requests.
    List,
    /// Activity count.
    Count,
    /// Original download of one activity (`Some(id)`) or any (`None`).
    Download(Option<u64>),
    /// Every SSO request (pages, logins, MFA).
    Sso,
    /// Every connectapi request.
    Api,
    /// Every request.
    Any,
}

/// How many matching requests a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    Always,
    Next(u32),
}

/// A fault with its scope; `Fault` converts into one with [`Fault::default_target`], always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub fault: Fault,
    pub target: Target,
    pub times: Times,
}

impl Fault {
    /// The requests a fault hits unless told otherwise.
    pub fn default_target(&self) -> Target {
        match self {
            Fault::InvalidCredentials
            | Fault::AccountLocked
            | Fault::CaptchaRequired
            | Fault::MfaRequired
            | Fault::TooManyRequests { .. }
            | Fault::RetryAfterHeader(_)
            | Fault::CloudflareChallenge => Target::Login,
            Fault::WrongMfaCode => Target::Mfa,
            Fault::HtmlInsteadOfJson
            | Fault::Status(_)
            | Fault::StatusWithBody(..)
            | Fault::TokenNotActive => Target::Api,
            Fault::ResetMidBody | Fault::TruncatedZip | Fault::ZipWithoutFit => {
                Target::Download(None)
            }
            Fault::Delay(_) => Target::Any,
            Fault::InvalidGrant => Target::Refresh,
            Fault::HugeBody { .. } => Target::Token,
            Fault::Answer { .. } => Target::Api,
            Fault::SameListPage => Target::List,
        }
    }

    /// This fault on `target`, always.
    pub fn on(self, target: Target) -> FaultRule {
        FaultRule {
            fault: self,
            target,
            times: Times::Always,
        }
    }

    /// This fault on its default target, for the next `n` matching requests.
    pub fn times(self, n: u32) -> FaultRule {
        FaultRule::from(self).times(n)
    }

    /// Applied by the shared layer before the handler runs.
    pub(crate) fn is_pre_handler(&self) -> bool {
        matches!(
            self,
            Fault::TooManyRequests { .. }
                | Fault::RetryAfterHeader(_)
                | Fault::StatusWithBody(..)
                | Fault::CloudflareChallenge
                | Fault::HtmlInsteadOfJson
                | Fault::Status(_)
                | Fault::TokenNotActive
                | Fault::InvalidGrant
                | Fault::HugeBody { .. }
                | Fault::Answer { .. }
        )
    }
}

/// The answer of [`Fault::HugeBody`]: `{"access_token":"aaaa…` for `bytes` bytes in 64 KiB
/// chunks, each made when the client reads it.
pub(crate) fn huge_body(bytes: u64) -> axum::response::Response {
    use axum::body::{Body, Bytes};
    use axum::http::{header, StatusCode};
    const CHUNK: u64 = 64 << 10;
    const OPENING: &[u8] = b"{\"access_token\":\"";
    let chunks = futures_util::stream::unfold(0u64, move |sent| async move {
        if sent >= bytes {
            return None;
        }
        let len = CHUNK.min(bytes - sent) as usize;
        let mut chunk = vec![b'a'; len];
        if sent == 0 {
            let n = OPENING.len().min(len);
            chunk[..n].copy_from_slice(&OPENING[..n]);
        }
        Some((
            Ok::<Bytes, std::io::Error>(Bytes::from(chunk)),
            sent + len as u64,
        ))
    });
    axum::response::Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(chunks))
        .expect("a valid response")
}

impl FaultRule {
    /// Limit to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> FaultRule {
        self.times = Times::Next(n);
        self
    }

    /// Re-scope to `target`.
    pub fn on(mut self, target: Target) -> FaultRule {
        self.target = target;
        self
    }
}

impl From<Fault> for FaultRule {
    fn from(fault: Fault) -> FaultRule {
        let target = fault.default_target();
        FaultRule {
            fault,
            target,
            times: Times::Always,
        }
    }
}

/// What a request is, for stats and fault matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    SignInPage,
    Login,
    Mfa,
    Token,
    Refresh,
    Profile,
    Settings,
    List,
    Count,
    ActivityDetail,
    Download(u64),
    OtherSso,
    OtherApi,
    /// A service ticket redeemed at its service URL (the `JWT_WEB` fallback).
    ServiceTicket,
    Unknown,
}

impl RequestKind {
    /// Classifies by method and path (the DI endpoint by its grant type).
    pub fn classify(method: &str, path: &str, is_refresh_grant: bool) -> RequestKind {
        let post = method == "POST";
        match path {
            "/mobile/sso/en_US/sign-in"
            | "/portal/sso/en-US/sign-in"
            | "/sso/embed"
            | "/sso/signin"
            | "/sso/verifyMFA/loginEnterMfaCode"
            | "/sso/login"
                if !post =>
            {
                RequestKind::SignInPage
            }
            "/mobile/api/login" | "/portal/api/login" | "/sso/signin" => RequestKind::Login,
            "/mobile/api/mfa/verifyCode"
            | "/portal/api/mfa/verifyCode"
            | "/sso/verifyMFA/loginEnterMfaCode"
            | "/sso/verifyMFA/mfaCode" => RequestKind::Mfa,
            "/di-oauth2-service/oauth/token" if is_refresh_grant => RequestKind::Refresh,
            "/di-oauth2-service/oauth/token" => RequestKind::Token,
            "/gcm/ios" | "/gcm/android" | "/app" => RequestKind::ServiceTicket,
            "/userprofile-service/socialProfile" => RequestKind::Profile,
            "/userprofile-service/userprofile/user-settings" => RequestKind::Settings,
            "/activitylist-service/activities/search/activities" => RequestKind::List,
            "/activitylist-service/activities/count" => RequestKind::Count,
            _ => {
                if let Some(id) = path.strip_prefix("/download-service/files/activity/") {
                    return id
                        .parse()
                        .map(RequestKind::Download)
                        .unwrap_or(RequestKind::OtherApi);
                }
                if path.starts_with("/activity-service/activity/") {
                    return RequestKind::ActivityDetail;
                }
                if path.starts_with("/mobile/")
                    || path.starts_with("/portal/")
                    || path.starts_with("/sso/")
                {
                    return RequestKind::OtherSso;
                }
                if path.contains("-service/") {
                    return RequestKind::OtherApi;
                }
                RequestKind::Unknown
            }
        }
    }

    pub fn is_sso(self) -> bool {
        matches!(
            self,
            RequestKind::SignInPage | RequestKind::Login | RequestKind::Mfa | RequestKind::OtherSso
        )
    }

    pub fn is_api(self) -> bool {
        matches!(
            self,
            RequestKind::Profile
                | RequestKind::Settings
                | RequestKind::List
                | RequestKind::Count
                | RequestKind::ActivityDetail
                | RequestKind::Download(_)
                | RequestKind::OtherApi
        )
    }
}

impl Target {
    pub fn matches(self, kind: RequestKind) -> bool {
        match self {
            Target::Any => true,
            Target::Sso => kind.is_sso(),
            Target::Api => kind.is_api(),
            Target::SignInPage => kind == RequestKind::SignInPage,
            Target::Login => kind == RequestKind::Login,
            Target::Mfa => kind == RequestKind::Mfa,
            Target::Token => kind == RequestKind::Token,
            Target::Refresh => kind == RequestKind::Refresh,
            Target::Profile => kind == RequestKind::Profile,
            Target::Settings => kind == RequestKind::Settings,
            Target::List => kind == RequestKind::List,
            Target::Count => kind == RequestKind::Count,
            Target::Download(None) => matches!(kind, RequestKind::Download(_)),
            Target::Download(Some(id)) => kind == RequestKind::Download(id),
        }
    }
}

/// The active rules, each with its remaining count.
#[derive(Debug, Default)]
pub struct FaultBook {
    rules: Vec<(FaultRule, Option<u32>)>,
}

impl FaultBook {
    pub fn add(&mut self, rule: FaultRule) {
        let remaining = match rule.times {
            Times::Always => None,
            Times::Next(n) => Some(n),
        };
        self.rules.push((rule, remaining));
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The first rule matching `kind` whose fault passes `filter`, counted as used.
    pub fn take(&mut self, kind: RequestKind, filter: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let index = self.rules.iter().position(|(rule, remaining)| {
            remaining != &Some(0) && rule.target.matches(kind) && filter(&rule.fault)
        })?;
        let (rule, remaining) = &mut self.rules[index];
        if let Some(n) = remaining {
            *n -= 1;
        }
        let fault = rule.fault.clone();
        self.rules.retain(|(_, remaining)| remaining != &Some(0));
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_run_out_and_targets_scope() {
        let mut book = FaultBook::default();
        book.add(Fault::Status(503).on(Target::List).times(2));
        book.add(Fault::ZipWithoutFit.on(Target::Download(Some(7))));
        let any = |_: &Fault| true;
        assert_eq!(book.take(RequestKind::Profile, any), None);
        assert_eq!(book.take(RequestKind::List, any), Some(Fault::Status(503)));
        assert_eq!(book.take(RequestKind::List, any), Some(Fault::Status(503)));
        assert_eq!(book.take(RequestKind::List, any), None);
        assert_eq!(book.take(RequestKind::Download(8), any), None);
        assert_eq!(
            book.take(RequestKind::Download(7), any),
            Some(Fault::ZipWithoutFit)
        );
        assert_eq!(
            book.take(RequestKind::Download(7), any),
            Some(Fault::ZipWithoutFit)
        );
    }

    #[test]
    fn classify_paths() {
        assert_eq!(
            RequestKind::classify("GET", "/sso/signin", false),
            RequestKind::SignInPage
        );
        assert_eq!(
            RequestKind::classify("POST", "/sso/signin", false),
            RequestKind::Login
        );
        assert_eq!(
            RequestKind::classify("POST", "/di-oauth2-service/oauth/token", true),
            RequestKind::Refresh
        );
        assert_eq!(
            RequestKind::classify("GET", "/download-service/files/activity/42", false),
            RequestKind::Download(42)
        );
        assert!(RequestKind::Download(1).is_api() && !RequestKind::Login.is_api());
    }
}
