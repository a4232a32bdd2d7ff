//! One error type for every handler, shown as an HTML page on the pages and
//! as `{"ok": false, "error": ...}` on the JSON API, with a status that says
//! what kind of trouble it is. Host errors are mapped here: another user's
//! connection is "not found" (its existence is not confirmed), a server
//! fault is logged in full and shown as a short message.

use super::pages;
use crate::host::HostError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("please sign in")]
    SignedOut,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after_secs: i64,
    },
    /// The service or the plugin refused (a wrong password, an MFA code):
    /// its own message for the user.
    #[error("{0}")]
    Refused(String),
    #[error("the server could not do this; its log says why")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::SignedOut => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::Internal(what.to_string())
    }

    fn log(&self) {
        if let Self::Internal(detail) = self {
            tracing::error!(target: "web", "request failed: {detail}");
        }
    }

    /// As a JSON API answer.
    pub fn json(self) -> Response {
        self.log();
        let mut response = (
            self.status(),
            Json(serde_json::json!({ "ok": false, "error": self.to_string() })),
        )
            .into_response();
        self.add_retry_after(&mut response);
        response
    }

    /// As an HTML page.
    pub fn page(self) -> Response {
        self.log();
        let status = self.status();
        let mut response = (status, pages::error_page(status, &self.to_string())).into_response();
        self.add_retry_after(&mut response);
        response
    }

    fn add_retry_after(&self, response: &mut Response) {
        if let Self::TooMany {
            retry_after_secs, ..
        } = self
        {
            if let Ok(v) = retry_after_secs.max(&1).to_string().parse() {
                response.headers_mut().insert("retry-after", v);
            }
        }
    }
}

impl From<HostError> for WebError {
    fn from(e: HostError) -> Self {
        match &e {
            HostError::NotYourConnection { .. } | HostError::UnknownConnection(_) => {
                Self::NotFound("no such connection".into())
            }
            HostError::DisclaimerNotAccepted { .. } | HostError::NeedsUser { .. } => {
                Self::Conflict(e.to_string())
            }
            HostError::CoolingDown { minutes, .. } => Self::TooMany {
                message: e.to_string(),
                retry_after_secs: minutes.saturating_mul(60),
            },
            HostError::PluginCall(p) => Self::Refused(p.user_message.to_string()),
            HostError::MissingField(_) | HostError::UnknownFlow(_) => {
                Self::BadRequest(e.to_string())
            }
            HostError::Plugin(_) => Self::NotFound(e.to_string()),
            _ => Self::Internal(format!("{e:#}")),
        }
    }
}

impl From<bincio_state::StateError> for WebError {
    fn from(e: bincio_state::StateError) -> Self {
        HostError::from(e).into()
    }
}

/// A page handler's error: rendered as HTML.
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.page()
    }
}

/// A JSON API handler's error: rendered as JSON.
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.json()
    }
}

pub type PageResult = Result<Response, PageError>;
pub type ApiResult = Result<Response, ApiError>;
