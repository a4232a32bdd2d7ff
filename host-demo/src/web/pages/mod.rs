//! The HTML pages, server-rendered with maud (every value escaped unless
//! marked otherwise; only the disclaimer's sanitized Markdown is). One
//! layout with landmarks and a skip link, one CSS file, a little plain
//! JavaScript for live progress; the pages work without it.

pub mod admin;
mod importer_card;
pub mod importers;
pub mod signin;
pub mod upload;

use super::auth::{SignedIn, CSRF_FIELD};
use super::state::AppState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .merge(signin::routes())
        .merge(importers::routes())
        .merge(upload::routes(max_upload_bytes))
        .merge(admin::routes())
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The page around `body`: header and navigation when signed in.
pub fn layout(title: &str, signed: Option<&SignedIn>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · BincioActivity" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    p class="brand" { "BincioActivity" }
                    @if let Some(s) = signed {
                        nav aria-label="Main" {
                            ul {
                                li { a href="/settings/importers" { "Importers" } }
                                li { a href="/upload" { "Upload files" } }
                                @if s.is_admin() { li { a href="/admin" { "Admin" } } }
                            }
                        }
                        form method="post" action="/signout" class="signout" {
                            (csrf_input(s))
                            span { "Signed in as " strong { (s.user.display_name) } }
                            " "
                            button id="signout" type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_input(signed: &SignedIn) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf_token); }
}

pub fn error_page(status: StatusCode, message: &str) -> Markup {
    layout(
        status.canonical_reason().unwrap_or("Error"),
        None,
        html! {
            p class="error" role="alert" id="error-message" { (message) }
            p { a href="/settings/importers" { "Back to the settings" } }
        },
    )
}

/// A short notice (after a form) at the top of a page.
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p class="notice" role="status" id="notice" { (text) }
        }
    }
}

/// A 303 to `to`: a form post answered with the page to see.
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// The url-safe tail of a plugin id (`dev.bincio.garmin` → `garmin`) for
/// element ids.
pub fn slug(plugin_id: &str) -> String {
    plugin_id
        .rsplit('.')
        .next()
        .unwrap_or(plugin_id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
