//! The connectapi endpoints a sync needs: Bearer authentication, socialProfile, user-settings,
//! the activity list and count, and one activity's details.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::di_oauth::validate_access_token;
use crate::faults::{Fault, RequestKind};
use crate::listing::{entry, garmin_time, matching, page, ListQuery};
use crate::responses::{invalid_token, json, not_found};
use crate::state::Shared;

/// The account email of the request's Bearer token, or the 401/403 to answer.
pub fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"Bearer "));
    if let Some(cookie) = crate::web_session::cookie_of(headers).filter(|_| !bearer) {
        return crate::web_session::web_cookie_account(shared, headers, &cookie);
    }
    if shared.knobs.require_native_headers {
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !ua.starts_with("GCM-") || !headers.contains_key("x-garmin-user-agent") {
            return Err(Box::new(json(
                StatusCode::FORBIDDEN,
                json!({ "message": "Client app validation failed" }),
            )));
        }
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| Box::new(invalid_token("Missing bearer token")))?;
    validate_access_token(shared, token).map_err(|e| Box::new(invalid_token(e)))
}

/// The account email of an authenticated request: handlers that take it answer the 401/403 of
/// [`authenticate`] before they run.
pub struct Authenticated(pub String);

impl FromRequestParts<Arc<Shared>> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        authenticate(shared, &parts.headers)
            .map(Authenticated)
            .map_err(|resp| *resp)
    }
}

/// The activity list's query parameters, or the 400 naming the bad one.
pub struct ListParams(pub ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        ListQuery::parse(&params)
            .map(ListParams)
            .map_err(|e| json(StatusCode::BAD_REQUEST, json!({ "message": e.to_string() })))
    }
}

pub async fn social_profile(
    State(shared): State<Arc<Shared>>,
    Authenticated(email): Authenticated,
) -> Response {
    let state = shared.lock();
    let Some(account) = state.account(&email) else {
        return not_found("account");
    };
    json(
        StatusCode::OK,
        json!({
            "id": account.profile_id,
            "profileId": account.profile_id,
            "garminGUID": format!("{:032x}", account.profile_id),
            "displayName": account.display_name,
            "fullName": account.display_name,
            "userName": account.email,
            "profileImageUrlLarge": null,
            "profileImageUrlMedium": null,
            "profileImageUrlSmall": null,
            "location": null,
            "profileVisibility": "private",
            "activityStartVisibility": "private",
            "activityMapVisibility": "private",
            "userLevel": 1,
            "userPro": false,
        }),
    )
}

pub async fn user_settings(
    State(shared): State<Arc<Shared>>,
    Authenticated(email): Authenticated,
) -> Response {
    let profile_id = shared
        .lock()
        .account(&email)
        .map(|a| a.profile_id)
        .unwrap_or_default();
    json(
        StatusCode::OK,
        json!({
            "id": profile_id,
            "userData": {
                "gender": null,
                "weight": null,
                "height": null,
                "timeFormat": "time_twenty_four_hr",
                "birthDate": null,
                "measurementSystem": "metric",
                "activityLevel": null,
                "handedness": "RIGHT",
                "firstDayOfWeek": { "dayId": 2, "dayName": "monday", "sortOrder": 2, "isPossibleFirstDay": true },
            },
            "userSleep": { "sleepTime": 79200, "defaultSleepTime": false, "wakeTime": 25200, "defaultWakeTime": false },
            "connectDate": null,
            "sourceType": null,
        }),
    )
}

pub async fn list(
    State(shared): State<Arc<Shared>>,
    Authenticated(email): Authenticated,
    ListParams(query): ListParams,
) -> Response {
    let mut state = shared.lock();
    let mut query = query;
    if state
        .take_fault(RequestKind::List, |f| *f == Fault::SameListPage)
        .is_some()
    {
        query.start = 0;
    }
    let Some(account) = state.account(&email) else {
        return not_found("account");
    };
    let entries: Vec<Value> = page(account, &query, shared.knobs.list_page_cap)
        .into_iter()
        .map(|a| entry(account, a))
        .collect();
    json(StatusCode::OK, Value::Array(entries))
}

pub async fn count(
    State(shared): State<Arc<Shared>>,
    Authenticated(email): Authenticated,
    ListParams(query): ListParams,
) -> Response {
    let state = shared.lock();
    let total = state
        .account(&email)
        .map(|a| matching(a, &query).len())
        .unwrap_or(0);
    json(StatusCode::OK, json!({ "totalCount": total }))
}

pub async fn activity_detail(
    State(shared): State<Arc<Shared>>,
    Authenticated(email): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let state = shared.lock();
    let found = id.parse::<u64>().ok().and_then(|id| {
        let account = state.account(&email)?;
        account
            .activities
            .iter()
            .find(|a| a.id == id && a.listed)
            .map(|a| (account, a))
    });
    let Some((account, a)) = found else {
        return not_found("Activity not found");
    };
    let listed = entry(account, a);
    json(
        StatusCode::OK,
        json!({
            "activityId": a.id,
            "activityName": a.name,
            "userProfileId": account.profile_id,
            "activityTypeDTO": listed["activityType"],
            "eventTypeDTO": listed["eventType"],
            "metadataDTO": { "hasPolyline": a.fit.is_some(), "manualActivity": a.fit.is_none(), "lapCount": 1 },
            "summaryDTO": {
                "startTimeLocal": garmin_time(a.start),
                "startTimeGMT": listed["startTimeGMT"],
                "distance": a.distance_m,
                "duration": a.duration_s,
                "elapsedDuration": a.duration_s,
                "movingDuration": a.duration_s,
                "averageSpeed": listed["averageSpeed"],
            },
        }),
    )
}
