//! The upload page: FIT files and zips into the user's store, with each
//! file's outcome. The same handler answers JSON at `/api/upload`.

use super::{csrf_input, layout};
use crate::web::auth::SignedIn;
use crate::web::error::{ApiResult, PageResult, WebError};
use crate::web::state::AppState;
use crate::web::upload::{self, FileOutcome};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{html, Markup};

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route("/upload", get(page).post(post_page))
        .route("/api/upload", post(post_api))
        .layer(body_limit(max_upload_bytes))
}

/// The body limit of the upload routes: the configured limit plus room for
/// the form's own fields (the files are counted exactly as they stream).
pub fn body_limit(max_upload_bytes: u64) -> DefaultBodyLimit {
    DefaultBodyLimit::max(
        usize::try_from(max_upload_bytes.saturating_add(1 << 20)).unwrap_or(usize::MAX),
    )
}

fn form(signed: &SignedIn, max_bytes: u64) -> Markup {
    html! {
        p { "FIT files from a device, or the zip of a Garmin data export (Garmin Connect → Account → Export your data). No credentials needed." }
        form id="upload-form" method="post" action="/upload" enctype="multipart/form-data" {
            (csrf_input(signed))
            p {
                label for="upload-files" { "FIT files or zips (up to " (max_bytes / (1024 * 1024)) " MiB in all)" }
                input id="upload-files" name="files" type="file" multiple accept=".fit,.zip,application/zip" required;
            }
            button id="upload-submit" type="submit" { "Upload and import" }
        }
    }
}

async fn page(State(state): State<AppState>, signed: SignedIn) -> PageResult {
    Ok(layout(
        "Upload files",
        Some(&signed),
        form(&signed, state.config.max_upload_bytes),
    )
    .into_response())
}

fn results(outcomes: &[FileOutcome]) -> Markup {
    let count = |o: &str| outcomes.iter().filter(|f| f.outcome == o).count();
    html! {
        p id="upload-summary" role="status" {
            (outcomes.len()) " file(s): " (count("imported") + count("salvaged")) " imported, "
            (count("duplicate")) " already there, " (count("rejected")) " rejected."
        }
        table id="upload-results" {
            caption { "Each file's outcome" }
            thead { tr { th scope="col" { "File" } th scope="col" { "Outcome" } th scope="col" { "Detail" } } }
            tbody {
                @for f in outcomes {
                    tr class=(f.outcome) { td { (f.name) } td { (f.outcome) } td { (f.detail) } }
                }
            }
        }
    }
}

async fn post_page(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let multipart =
        multipart.map_err(|e| WebError::BadRequest(format!("the upload was malformed: {e}")))?;
    let outcomes = upload::receive(&state, &signed, &headers, multipart).await?;
    let body = html! { (results(&outcomes)) (form(&signed, state.config.max_upload_bytes)) };
    Ok(layout("Upload files", Some(&signed), body).into_response())
}

async fn post_api(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    let multipart =
        multipart.map_err(|e| WebError::BadRequest(format!("the upload was malformed: {e}")))?;
    let outcomes = upload::receive(&state, &signed, &headers, multipart).await?;
    Ok(Json(serde_json::json!({ "ok": true, "files": outcomes })).into_response())
}
