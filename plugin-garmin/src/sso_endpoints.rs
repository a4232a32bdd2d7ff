//! Where the SSO's sign-in flows send what: every URL, query, Referer and
//! header set of the JSON flows (mobile, portal) and of the embed widget, on
//! the configured domain. The lowest layer of signing in: it reads settings
//! and knows Garmin's app ids, and calls nothing.

use crate::browser::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_LANGUAGE, CONTENT_TYPE, ORIGIN, REFERER, USER_AGENT,
};
use crate::di_token::Ticket;
use crate::identity::*;
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFlow {
    Mobile,
    Portal,
}

impl JsonFlow {
    pub fn name(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Portal => "portal",
        }
    }
    pub fn other(self) -> Self {
        match self {
            Self::Mobile => Self::Portal,
            Self::Portal => Self::Mobile,
        }
    }
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Portal => "portal",
        }
    }
    pub fn client_id(self) -> &'static str {
        match self {
            Self::Mobile => IOS_CLIENT_ID,
            Self::Portal => PORTAL_CLIENT_ID,
        }
    }
    /// The service URL on the configured domain (`garmin.cn` accounts get `.cn`).
    pub fn service_url(self, settings: &Settings) -> String {
        settings.on_domain(match self {
            Self::Mobile => IOS_SERVICE_URL,
            Self::Portal => PORTAL_SERVICE_URL,
        })
    }
    /// A service ticket this flow's SSO issued (bound to its service URL).
    pub fn ticket(self, settings: &Settings, ticket: String) -> Ticket {
        Ticket {
            ticket,
            service_url: self.service_url(settings),
        }
    }
    /// The User-Agent the flow prescribes: the iOS app's for mobile; the portal
    /// sends the emulated browser's own (so UA and TLS agree).
    pub fn user_agent(self) -> Option<&'static str> {
        match self {
            Self::Mobile => Some(IOS_LOGIN_UA),
            Self::Portal => None,
        }
    }
    /// The sign-in page (note `en_US` for mobile, `en-US` for the portal).
    pub fn page_url(self, settings: &Settings) -> String {
        let locale = match self {
            Self::Mobile => "en_US",
            Self::Portal => "en-US",
        };
        format!("{}/{}/sso/{locale}/sign-in", settings.sso(), self.prefix())
    }
    /// The Referer of the POSTs: the page URL with its query, URL-encoded
    /// for mobile, verbatim for the portal (as Garmin's clients send them).
    pub fn referer(self, settings: &Settings) -> String {
        let page = self.page_url(settings);
        let service = self.service_url(settings);
        match self {
            Self::Mobile => reqwest::Url::parse_with_params(
                &page,
                &[
                    ("clientId", self.client_id()),
                    ("service", service.as_str()),
                ],
            )
            .map(String::from)
            .unwrap_or(page),
            Self::Portal => format!("{page}?clientId={}&service={service}", self.client_id()),
        }
    }
    /// The query of every POST of this flow.
    pub fn api_query(self, settings: &Settings) -> [(&'static str, String); 3] {
        [
            ("clientId", self.client_id().to_string()),
            ("locale", "en-US".to_string()),
            ("service", self.service_url(settings)),
        ]
    }
    pub fn api_url(self, settings: &Settings, path: &str) -> String {
        format!("{}/{}/api/{path}", settings.sso(), self.prefix())
    }
    /// The anti-WAF pause between the page and the POST, as multiples of
    /// `login_pause_ms` (3 s by default: 2–5 s mobile, 10–20 s portal).
    pub fn pause_range(self) -> (f64, f64) {
        match self {
            Self::Mobile => (2.0 / 3.0, 5.0 / 3.0),
            Self::Portal => (10.0 / 3.0, 20.0 / 3.0),
        }
    }
    /// Headers of the login and MFA POSTs.
    pub fn post_headers(self, settings: &Settings) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        };
        if let Some(ua) = self.user_agent() {
            put(USER_AGENT, ua);
        }
        put(ACCEPT, ACCEPT_JSON_LOGIN);
        put(ACCEPT_LANGUAGE, ACCEPT_LANGUAGE_VALUE);
        put(CONTENT_TYPE, "application/json");
        put(ORIGIN, settings.sso());
        put(REFERER, &self.referer(settings));
        h
    }
}

/// The service URL a widget ticket is issued for.
pub fn widget_service_url(settings: &Settings) -> String {
    format!("{}/sso/embed", settings.sso())
}

/// The query of the widget's sign-in form and of every POST after it.
pub fn widget_signin_query(settings: &Settings) -> Vec<(&'static str, String)> {
    let embed = widget_service_url(settings);
    vec![
        ("id", "gauth-widget".into()),
        ("embedWidget", "true".into()),
        ("gauthHost", embed.clone()),
        ("service", embed.clone()),
        ("source", embed.clone()),
        ("redirectAfterAccountLoginUrl", embed.clone()),
        ("redirectAfterAccountCreationUrl", embed),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mobile_referer_is_url_encoded_and_the_portal_one_is_not() {
        let s = Settings {
            sso_base_url: "http://127.0.0.1:9".into(),
            ..Settings::default()
        };
        assert_eq!(
            JsonFlow::Mobile.referer(&s),
            "http://127.0.0.1:9/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios"
        );
        assert_eq!(
            JsonFlow::Portal.referer(&s),
            "http://127.0.0.1:9/portal/sso/en-US/sign-in?clientId=GarminConnect&service=https://connect.garmin.com/app"
        );
    }
}
