//! Uploads: FIT files and zips (a Garmin data export) from a multipart
//! form, each streamed chunk by chunk to a temporary directory inside the
//! data dir (never the whole upload in memory), counted against the size
//! limit as it arrives, then fed to the same import pipeline as `host-demo
//! import` (its zip-bomb and path-traversal refusals included) into the
//! user's own store. Each file gets its outcome; the temporary directory is
//! removed whatever happens.

use super::auth::{SignedIn, CSRF_FIELD};
use super::error::WebError;
use super::state::AppState;
use crate::import::parallel::{self, PoolSize, Ready};
use crate::import::{sources, ImportError, Item, Outcome};
use axum::extract::Multipart;
use axum::http::HeaderMap;
use bincio_state::UserHandle;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// Where uploads wait for their import, inside the data dir.
pub const UPLOAD_DIR: &str = ".uploads";
/// The longest file name kept from an upload (the rest is cut).
const MAX_NAME_CHARS: usize = 100;
/// The most files in one upload.
pub const MAX_FILES: usize = 1_000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileOutcome {
    pub name: String,
    /// `imported`, `salvaged`, `duplicate` or `rejected`.
    pub outcome: &'static str,
    pub detail: String,
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(target: "web::upload", dir = %self.0.display(), "cannot remove an upload's temporary files: {e}");
            }
        }
    }
}

/// A file name from a browser made safe to create: its last path part only,
/// no leading dots, only letters, digits, `.`, `-`, `_` and spaces.
pub fn safe_file_name(raw: &str, index: usize) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        format!("upload-{index}")
    } else {
        cleaned
    }
}

/// Receives the upload (CSRF checked from the form's first field or the
/// header before any file is written) and imports it.
pub async fn receive(
    state: &AppState,
    signed: &SignedIn,
    headers: &HeaderMap,
    mut multipart: Multipart,
) -> Result<Vec<FileOutcome>, WebError> {
    let limit = state.config.max_upload_bytes;
    let root = state.host.data_dir.join(UPLOAD_DIR);
    bincio_state::private_fs::private_dir(&root).map_err(WebError::internal)?;
    let dir = TempDir(root.join(super::auth::random_token()));
    std::fs::create_dir(&dir.0).map_err(WebError::internal)?;
    let mut csrf_ok = signed.check_form_csrf(headers, None).is_ok();
    let mut saved: Vec<PathBuf> = Vec::new();
    let mut total: u64 = 0;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            WebError::BadRequest(format!("the upload was malformed: {e}"))
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_none() {
            let text = field.text().await.map_err(malformed)?;
            if name == CSRF_FIELD {
                signed.check_form_csrf(headers, Some(&text))?;
                csrf_ok = true;
            }
            continue;
        }
        if !csrf_ok {
            return Err(super::auth::csrf_refused());
        }
        if saved.len() >= MAX_FILES {
            return Err(WebError::BadRequest(format!(
                "at most {MAX_FILES} files per upload; zip them or upload in parts"
            )));
        }
        let file_name = safe_file_name(field.file_name().unwrap_or_default(), saved.len());
        // One subdirectory per file: two files of the same name both stay.
        let slot = dir.0.join(saved.len().to_string());
        std::fs::create_dir(&slot).map_err(WebError::internal)?;
        let path = slot.join(&file_name);
        let mut out = std::fs::File::create(&path).map_err(WebError::internal)?;
        let mut oversized = false;
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            total = total.saturating_add(chunk.len() as u64);
            if total > limit {
                oversized = true;
                break;
            }
            out.write_all(&chunk).map_err(WebError::internal)?;
        }
        if oversized {
            while let Ok(Some(_)) = field.chunk().await {}
            drop(field);
            drain(&mut multipart).await;
            return Err(too_large(limit));
        }
        out.sync_all().map_err(WebError::internal)?;
        saved.push(path);
    }
    if !csrf_ok {
        return Err(super::auth::csrf_refused());
    }
    if saved.is_empty() {
        return Err(WebError::BadRequest(
            "choose at least one FIT file or zip to upload".into(),
        ));
    }
    let host = state.host.clone();
    let user = signed.handle().clone();
    let outcomes = tokio::task::spawn_blocking(move || import(&host, &user, &saved))
        .await
        .map_err(WebError::internal)?;
    drop(dir);
    outcomes
}

/// Reads and drops the rest of a refused upload (bounded by the route's
/// body limit), so the client, still sending, receives the answer instead
/// of a closed connection.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut next)) = multipart.next_field().await {
        while let Ok(Some(_)) = next.chunk().await {}
    }
}

fn too_large(limit: u64) -> WebError {
    WebError::TooLarge(format!(
        "the upload is larger than this server accepts ({} MiB); nothing of it was imported",
        limit / (1024 * 1024)
    ))
}

/// Imports the saved files into `user`'s store, one outcome per file found
/// (a zip's entries each get theirs).
fn import(
    host: &crate::host::Host,
    user: &UserHandle,
    paths: &[PathBuf],
) -> Result<Vec<FileOutcome>, WebError> {
    let inputs = sources::plan(paths).map_err(WebError::internal)?;
    let pipeline = host.pipeline_for(user)?;
    let mut outcomes = Vec::new();
    let result = parallel::for_each_ready(
        &inputs,
        PoolSize::for_this_machine(),
        &mut |ready| -> Result<(), ImportError> {
            match ready {
                Ready::File { name, prepared, .. } => {
                    let outcome = pipeline
                        .lock()
                        .import_prepared(&Item::local_prepared(&name), *prepared)?;
                    outcomes.push(describe(&name, &outcome));
                }
                Ready::Unreadable { name, reason } => outcomes.push(FileOutcome {
                    detail: for_the_user(&name, &reason),
                    name: display_name(&name),
                    outcome: "rejected",
                }),
                Ready::More(_) => {}
            }
            Ok(())
        },
    );
    let flushed = pipeline.lock().flush();
    result.map_err(|e| WebError::internal(format!("{e:#}")))?;
    flushed.map_err(|e| WebError::internal(format!("{e:#}")))?;
    Ok(outcomes)
}

/// The name as the user knows it: `.../.uploads/{random}/{n}/x.zip/entry`
/// becomes `x.zip/entry`.
fn display_name(name: &str) -> String {
    match name.find(&format!("{UPLOAD_DIR}/")) {
        Some(at) => {
            let rest = &name[at + UPLOAD_DIR.len() + 1..];
            rest.splitn(3, '/').nth(2).unwrap_or(rest).to_string()
        }
        None => name.to_string(),
    }
}

/// A reason that names the file by its path on the server (the temporary
/// upload folder) as the user sees it: without the name the row shows beside
/// it, and any other mention as the user's name for it.
fn for_the_user(full_name: &str, reason: &str) -> String {
    match reason.strip_prefix(full_name) {
        Some(rest) => rest.trim_start_matches([':', ' ']).to_string(),
        None => reason.replace(full_name, &display_name(full_name)),
    }
}

fn describe(full_name: &str, outcome: &Outcome) -> FileOutcome {
    let name = display_name(full_name);
    match outcome {
        Outcome::Imported {
            activity_id,
            salvaged,
            warnings,
        } => FileOutcome {
            name,
            outcome: if *salvaged { "salvaged" } else { "imported" },
            detail: if warnings.is_empty() {
                format!("activity {activity_id}")
            } else {
                format!("activity {activity_id}; {}", warnings.join("; "))
            },
        },
        Outcome::Duplicate { activity_id, why } => FileOutcome {
            name,
            outcome: "duplicate",
            detail: format!("already there as {activity_id} ({why})"),
        },
        Outcome::Rejected { reason } => FileOutcome {
            name,
            outcome: "rejected",
            detail: for_the_user(full_name, reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_do_not_show_the_servers_upload_folder() {
        let full = "/srv/data/.uploads/1c46a0/2/export.zip/export/settings.fit";
        assert_eq!(
            for_the_user(full, &format!("{full}: not an activity: a settings file")),
            "not an activity: a settings file"
        );
        assert_eq!(
            for_the_user(full, &format!("cannot read {full}")),
            "cannot read export.zip/export/settings.fit"
        );
    }

    #[test]
    fn upload_names_cannot_leave_their_directory() {
        assert_eq!(safe_file_name("../../etc/passwd", 0), "passwd");
        assert_eq!(safe_file_name("..\\..\\x.fit", 0), "x.fit");
        assert_eq!(safe_file_name("..", 3), "upload-3");
        assert_eq!(safe_file_name(".hidden.fit", 0), "hidden.fit");
        assert_eq!(safe_file_name("ride<script>.fit", 0), "ride_script_.fit");
        assert_eq!(safe_file_name(&"a".repeat(300), 0).len(), MAX_NAME_CHARS);
    }
}
