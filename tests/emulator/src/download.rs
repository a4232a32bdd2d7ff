//! The original-file download: `/download-service/files/activity/{id}` answers a zip holding
//! `{id}_ACTIVITY.fit` (404 for unknown, unlisted or manual activities), or a broken zip when a
//! zip fault is on.

use std::io::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use zip::write::SimpleFileOptions;

use crate::api::Authenticated;
use crate::faults::{Fault, RequestKind};
use crate::responses::not_found;
use crate::state::Shared;

/// A zip with one deflated entry.
pub fn zip_one(entry_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    writer
        .start_file(entry_name, options)
        .expect("zip entry in memory");
    writer.write_all(bytes).expect("zip write in memory");
    writer.finish().expect("zip finish in memory").into_inner()
}

fn gpx_stand_in(id: u64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"garmin-emulator\"><metadata><name>{id}</name></metadata><trk><trkseg><trkpt lat=\"47.37\" lon=\"8.54\"><time>2024-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>\n"
    )
}

pub async fn original(
    State(shared): State<Arc<Shared>>,
    Authenticated(email): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return not_found("Activity not found");
    };
    let (fit, fault) = {
        let mut state = shared.lock();
        let fit = state
            .account(&email)
            .and_then(|a| a.activities.iter().find(|x| x.id == id && x.listed))
            .map(|a| a.fit.clone());
        let fault = match fit {
            Some(Some(_)) => state.take_fault(RequestKind::Download(id), |f| {
                matches!(f, Fault::TruncatedZip | Fault::ZipWithoutFit)
            }),
            _ => None,
        };
        (fit, fault)
    };
    let fit = match fit {
        None => return not_found("Activity not found"),
        Some(None) => return not_found("No original file for a manual activity"),
        Some(Some(fit)) => fit,
    };
    let body = match fault {
        Some(Fault::ZipWithoutFit) => {
            zip_one(&format!("{id}_ACTIVITY.gpx"), gpx_stand_in(id).as_bytes())
        }
        Some(Fault::TruncatedZip) => {
            let mut full = zip_one(&format!("{id}_ACTIVITY.fit"), &fit);
            full.truncate(full.len() / 2);
            full
        }
        _ => zip_one(&format!("{id}_ACTIVITY.fit"), &fit),
    };
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "application/x-zip-compressed".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.zip\""),
            ),
        ],
        body,
    )
        .into_response()
}
