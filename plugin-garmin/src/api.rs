//! Signed-in calls to Garmin Connect's API (connectapi): the profile, the
//! activity list and the original-file download.
//!
//! Every request carries the native app headers and a bearer token that is
//! refreshed before it expires (or, for an account diauth gives no tokens, the
//! web app's `JWT_WEB` cookie and headers); a 401 gets one renewal and one retry; 5xx
//! and broken connections are retried with exponential backoff (a short
//! `Retry-After` is waited out); a 429 ends the call as a rate limit.
//! Requests are paced `request_pacing_ms` apart (jittered), and each waits
//! for the host's plugin-wide request budget; a 429 slows every account.

use crate::auth::{Credential, Session};
use crate::budget::Budget;
use crate::errors::{GarminError, Result};
use crate::excerpt::excerpt;
use crate::http::{self, transport_error};
use crate::web_cookie;
use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

pub const PROFILE: &str = "socialProfile";
pub const ACTIVITY_LIST: &str = "activity list";

/// Who the tokens belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub account_id: String,
    pub display_name: String,
}

/// One activity of a list page: the id and its start time (GMT).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedActivity {
    pub id: String,
    /// `YYYY-MM-DD HH:MM:SS`, as Garmin sends `startTimeGMT`.
    pub start_gmt: Option<String>,
}

pub struct Api {
    pub session: Session,
    requests: u64,
    budget: Budget,
}

impl Api {
    pub fn new(session: Session) -> Self {
        Self {
            session,
            requests: 0,
            budget: Budget::default(),
        }
    }

    /// Asks `budget` (the host's plugin-wide budget) before each request and
    /// tells it about every 429.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// GET `path` under connectapi; the body of the 2xx answer (empty for 204).
    pub async fn get(
        &mut self,
        endpoint: &str,
        path: &str,
        query: &[(&str, String)],
        accept: &str,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let settings = self.session.settings.clone();
        let url = format!("{}{path}", settings.connectapi());
        let mut attempt: u32 = 0;
        let mut renewed = false;
        let mut relogged = false;
        loop {
            if (self.session.cancelled)() {
                return Err(GarminError::Cancelled);
            }
            if self.requests > 0 {
                http::pause(http::pacing(&settings)).await;
            }
            self.requests += 1;
            let credential = self.session.current().await?;
            self.budget
                .wait_for_slot(&settings, &self.session.cancelled)
                .await?;
            let request = self.session.client.get(&url).query(query);
            let request = match &credential {
                Credential::Di(tokens) => request.bearer_auth(&tokens.di_token),
                Credential::Web(cookie) => {
                    request.headers(web_cookie::api_headers(&settings, cookie))
                }
            };
            let sent = request.header(ACCEPT, accept).send().await;
            let failure = match sent {
                Err(e) => transport_error(endpoint, e),
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        match http::read_body(endpoint, response, limit).await {
                            Ok(body) => return Ok(body),
                            Err(e @ GarminError::Transient { .. }) => e,
                            Err(e) => return Err(e),
                        }
                    } else if status == StatusCode::UNAUTHORIZED {
                        if renewed {
                            // Refreshed tokens the API still refuses ("Token is
                            // not active"): one fresh login, as the reference does.
                            if !relogged && self.session.relogin_after_refusal().await? {
                                relogged = true;
                                continue;
                            }
                            return Err(GarminError::Unauthorized {
                                endpoint: endpoint.to_string(),
                            });
                        }
                        tracing::debug!(target: "garmin::api", endpoint, "401: renewing the tokens and retrying once");
                        self.session.renew(&credential).await?;
                        renewed = true;
                        continue;
                    } else if let Some(error) = http::rate_limit_error(
                        status,
                        response.headers(),
                        endpoint,
                        self.session.clock.now(),
                        settings.api_rate_limit_wait_secs,
                    ) {
                        self.budget.rate_limited(error.wait_secs());
                        return Err(error);
                    } else if status == StatusCode::NOT_FOUND {
                        return Err(GarminError::NotFound {
                            endpoint: endpoint.to_string(),
                        });
                    } else if status.is_server_error() {
                        let wait =
                            http::retry_after_secs(response.headers(), self.session.clock.now());
                        if let Some(wait) =
                            wait.filter(|w| *w > 0 && *w <= settings.max_inline_wait_secs)
                        {
                            if attempt + 1 < settings.retry_attempts.max(1) {
                                http::pause(std::time::Duration::from_secs(wait)).await;
                            }
                        }
                        GarminError::transient(endpoint, format!("HTTP {}", status.as_u16()))
                    } else if status == StatusCode::FORBIDDEN {
                        return Err(GarminError::transient(
                            endpoint,
                            "HTTP 403 (Garmin may be blocking this network)",
                        ));
                    } else {
                        let body = http::read_body(endpoint, response, 4096)
                            .await
                            .unwrap_or_default();
                        let known = self.session.secrets_to_scrub(&credential);
                        let known: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
                        return Err(GarminError::permanent(
                            endpoint,
                            format!("HTTP {}: {}", status.as_u16(), excerpt(&body, &known)),
                        ));
                    }
                }
            };
            attempt += 1;
            if attempt >= settings.retry_attempts.max(1) {
                return Err(failure);
            }
            tracing::debug!(target: "garmin::api", endpoint, attempt, "retrying after: {failure}");
            http::pause(http::backoff(&settings, attempt - 1)).await;
        }
    }

    pub async fn get_json<T: for<'de> Deserialize<'de>>(
        &mut self,
        endpoint: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let body = self
            .get(endpoint, path, query, "application/json", 16 << 20)
            .await?;
        serde_json::from_slice(&body).map_err(|e| {
            if body.first().is_some_and(|b| *b == b'<') {
                GarminError::transient(endpoint, "an HTML page where JSON was expected")
            } else {
                GarminError::permanent(endpoint, format!("unexpected JSON: {e}"))
            }
        })
    }

    /// `GET /userprofile-service/socialProfile`: `profileId` (or `userName`)
    /// and a name to show.
    pub async fn profile(&mut self) -> Result<Profile> {
        let value: Value = self
            .get_json(PROFILE, "/userprofile-service/socialProfile", &[])
            .await?;
        profile_from(&value)
    }

    /// One page of the activity list, newest first; with `window`, only the
    /// activities of those local days (`startDate`, `endDate`, both always:
    /// Garmin refuses an end without a start).
    pub async fn list(
        &mut self,
        start: u64,
        limit: u32,
        window: Option<(&str, &str)>,
    ) -> Result<Vec<ListedActivity>> {
        let mut query = vec![("start", start.to_string()), ("limit", limit.to_string())];
        if let Some((first, last)) = window {
            query.push(("startDate", first.to_string()));
            query.push(("endDate", last.to_string()));
        }
        let page: ListPage = self
            .get_json(
                ACTIVITY_LIST,
                "/activitylist-service/activities/search/activities",
                &query,
            )
            .await?;
        let entries = match page {
            ListPage::Bare(entries)
            | ListPage::Wrapped {
                activity_list: entries,
            } => entries,
        };
        entries.into_iter().map(ListedActivity::try_from).collect()
    }

    /// The oldest listed activity (`sortOrder=asc`, one entry): where a
    /// backfill ends. `None` for an empty account.
    pub async fn oldest(&mut self) -> Result<Option<ListedActivity>> {
        let query = [
            ("start", "0".to_string()),
            ("limit", "1".to_string()),
            ("sortOrder", "asc".to_string()),
        ];
        let page: ListPage = self
            .get_json(
                ACTIVITY_LIST,
                "/activitylist-service/activities/search/activities",
                &query,
            )
            .await?;
        let entries = match page {
            ListPage::Bare(entries)
            | ListPage::Wrapped {
                activity_list: entries,
            } => entries,
        };
        entries
            .into_iter()
            .next()
            .map(ListedActivity::try_from)
            .transpose()
    }

    /// The original upload of activity `id` (normally a zip holding a FIT).
    pub async fn download_original(&mut self, id: &str) -> Result<Vec<u8>> {
        let limit = self.session.settings.max_download_bytes();
        self.get(
            "activity download",
            &format!("/download-service/files/activity/{id}"),
            &[],
            "*/*",
            limit,
        )
        .await
    }
}

fn profile_from(value: &Value) -> Result<Profile> {
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let account_id = text("profileId")
        .or_else(|| text("userName"))
        .ok_or_else(|| {
            GarminError::permanent(PROFILE, "neither profileId nor userName in the answer")
        })?;
    let display_name = text("fullName")
        .or_else(|| text("displayName"))
        .or_else(|| text("userName"))
        .unwrap_or_else(|| account_id.clone());
    Ok(Profile {
        account_id,
        display_name,
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListPage {
    Bare(Vec<RawActivity>),
    Wrapped {
        #[serde(rename = "activityList")]
        activity_list: Vec<RawActivity>,
    },
}

#[derive(Deserialize)]
struct RawActivity {
    #[serde(rename = "activityId")]
    activity_id: Value,
    #[serde(rename = "startTimeGMT", default)]
    start_gmt: Option<String>,
}

impl TryFrom<RawActivity> for ListedActivity {
    type Error = GarminError;
    fn try_from(raw: RawActivity) -> Result<Self> {
        let id = match raw.activity_id {
            Value::Number(n) if n.as_u64().is_some() => n.to_string(),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s,
            other => {
                return Err(GarminError::permanent(
                    ACTIVITY_LIST,
                    format!("an activity with an unusable activityId {other}"),
                ))
            }
        };
        Ok(Self {
            id,
            start_gmt: raw.start_gmt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_profile_prefers_profile_id_and_a_full_name() {
        let p = profile_from(
            &json!({"profileId": 42, "displayName": "d", "fullName": "Ada L", "userName": "ada"}),
        )
        .unwrap();
        assert_eq!(
            p,
            Profile {
                account_id: "42".into(),
                display_name: "Ada L".into()
            }
        );
        let p = profile_from(&json!({"userName": "ada", "displayName": ""})).unwrap();
        assert_eq!(
            p,
            Profile {
                account_id: "ada".into(),
                display_name: "ada".into()
            }
        );
        assert!(profile_from(&json!({"displayName": "x"})).is_err());
    }

    #[test]
    fn list_pages_parse_in_both_shapes_and_refuse_bad_ids() {
        let bare: ListPage = serde_json::from_value(
            json!([{"activityId": 7, "startTimeGMT": "2026-01-02 03:04:05", "extra": 1}]),
        )
        .unwrap();
        let wrapped: ListPage =
            serde_json::from_value(json!({"activityList": [{"activityId": "8"}]})).unwrap();
        let ids = |p: ListPage| match p {
            ListPage::Bare(e) | ListPage::Wrapped { activity_list: e } => e
                .into_iter()
                .map(|r| ListedActivity::try_from(r).unwrap())
                .collect::<Vec<_>>(),
        };
        assert_eq!(
            ids(bare),
            vec![ListedActivity {
                id: "7".into(),
                start_gmt: Some("2026-01-02 03:04:05".into())
            }]
        );
        assert_eq!(ids(wrapped)[0].id, "8");
        let raw = RawActivity {
            activity_id: json!("../etc"),
            start_gmt: None,
        };
        assert!(ListedActivity::try_from(raw).is_err());
    }
}
