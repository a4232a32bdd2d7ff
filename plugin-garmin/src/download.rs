//! Taking the FIT file out of an activity's original download.
//!
//! Garmin answers `/download-service/files/activity/{id}` with a zip that
//! normally holds one `{id}_ACTIVITY.fit`; activities uploaded as GPX/TCX
//! hold that file instead, which this importer cannot use. A zip that does
//! not open (truncated in transit) is a failed download, to be tried again.

use std::io::{Cursor, Read};

/// Why a download gave no FIT file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unusable {
    /// Durable: the activity has no FIT original (a GPX/TCX upload).
    #[error("the original upload holds no FIT file ({0})")]
    NoFit(String),
    /// The bytes are damaged (a truncated or corrupt zip): download again.
    #[error("the download is damaged ({0})")]
    Broken(String),
}

/// The FIT file of activity `id`'s original download: its name and bytes.
pub fn fit_from_download(
    id: &str,
    bytes: Vec<u8>,
    max_entry_bytes: u64,
) -> Result<(String, Vec<u8>), Unusable> {
    if looks_like_fit(&bytes) {
        return Ok((format!("{id}.fit"), bytes));
    }
    if bytes.is_empty() {
        return Err(Unusable::Broken("empty answer".into()));
    }
    if !bytes.starts_with(b"PK") {
        return Err(Unusable::Broken("neither a zip nor a FIT file".into()));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Unusable::Broken(format!("the zip does not open: {e}")))?;
    let mut names = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| Unusable::Broken(format!("zip entry {index}: {e}")))?;
        let name = entry
            .name()
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string();
        if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".fit") {
            names.push(name);
            continue;
        }
        if entry.size() > max_entry_bytes {
            return Err(Unusable::NoFit(format!(
                "{name} is larger than {max_entry_bytes} bytes"
            )));
        }
        let mut fit = Vec::with_capacity(entry.size() as usize);
        entry
            .by_ref()
            .take(max_entry_bytes + 1)
            .read_to_end(&mut fit)
            .map_err(|e| Unusable::Broken(format!("{name}: {e}")))?;
        return Ok((name, fit));
    }
    let held = if names.is_empty() {
        "an empty zip".to_string()
    } else {
        names.join(", ")
    };
    Err(Unusable::NoFit(held))
}

/// A FIT file starts with a 12- or 14-byte header whose bytes 8..12 are ".FIT".
fn looks_like_fit(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && matches!(bytes[0], 12 | 14) && &bytes[8..12] == b".FIT"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            for (name, data) in entries {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(data).unwrap();
            }
            zip.finish().unwrap();
        }
        out.into_inner()
    }

    const FIT: &[u8] = b"\x0e\x10\x00\x00\x00\x00\x00\x00.FITxxrecords";

    #[test]
    fn takes_the_fit_out_of_the_zip() {
        let zip = zip_of(&[("readme.txt", b"hi"), ("12_ACTIVITY.fit", FIT)]);
        let (name, bytes) = fit_from_download("12", zip, 1 << 20).unwrap();
        assert_eq!(name, "12_ACTIVITY.fit");
        assert_eq!(bytes, FIT);
    }

    #[test]
    fn a_bare_fit_is_accepted() {
        let (name, bytes) = fit_from_download("9", FIT.to_vec(), 1 << 20).unwrap();
        assert_eq!((name.as_str(), bytes.as_slice()), ("9.fit", FIT));
    }

    #[test]
    fn a_zip_without_fit_is_durable_and_a_truncated_one_is_not() {
        let gpx = zip_of(&[("12.gpx", b"<gpx/>")]);
        assert_eq!(
            fit_from_download("12", gpx.clone(), 1 << 20),
            Err(Unusable::NoFit("12.gpx".into()))
        );
        let zip = zip_of(&[("12_ACTIVITY.fit", FIT)]);
        let truncated = zip[..zip.len() / 2].to_vec();
        assert!(matches!(
            fit_from_download("12", truncated, 1 << 20),
            Err(Unusable::Broken(_))
        ));
        assert!(matches!(
            fit_from_download("12", b"<html>".to_vec(), 1 << 20),
            Err(Unusable::Broken(_))
        ));
        assert!(matches!(
            fit_from_download("12", Vec::new(), 1 << 20),
            Err(Unusable::Broken(_))
        ));
    }
}
