//! What the pipeline is offered (an [`Item`]) and the work on its bytes that
//! can run ahead of the decision on any thread (a [`Prepared`] item).

use bincio_bas::{content_hash, convert_hashed, Converted, Encoded, Rejected};
use bincio_state::{ConnectionId, LOCAL_SOURCE};

/// One file offered to the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    /// The plugin id, or [`LOCAL_SOURCE`] for local files.
    pub source: &'a str,
    /// The source's id for the item; `None` for local files.
    pub external_id: Option<&'a str>,
    /// The connection it came through, if any.
    pub connection: Option<&'a ConnectionId>,
    /// Where it came from, as the user would recognise it (a path for local
    /// files); named in rejections, its last part kept as `source_file`.
    pub file_name: &'a str,
    pub bytes: &'a [u8],
}

impl<'a> Item<'a> {
    /// A local file: deduplicated by content only.
    pub fn local(file_name: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            source: LOCAL_SOURCE,
            external_id: None,
            connection: None,
            file_name,
            bytes,
        }
    }

    /// A local file whose bytes were already hashed and converted (a [`Prepared`], by the
    /// import pool, which drops the bytes then): [`ImportPipeline::import_prepared`] needs
    /// only its name.
    ///
    /// [`ImportPipeline::import_prepared`]: super::ImportPipeline::import_prepared
    pub fn local_prepared(file_name: &'a str) -> Self {
        Self::local(file_name, &[])
    }
}

/// The work deciding an item needs that depends on its bytes alone: their hash, their
/// conversion, and the activity serialized for the store as it will most likely be stored
/// (under the converter's id, as a local file; the conversion then holds no timeseries, see
/// [`Encoded::ahead`]). It can run on any thread, ahead of the decision
/// ([`ImportPipeline::import_prepared`]); the decision is the same as [`ImportPipeline::import`]
/// would make, and the activity is serialized again should it be stored otherwise.
pub struct Prepared {
    pub(super) sha256: String,
    pub(super) converted: Result<Converted, Rejected>,
    pub(super) encoded: Option<Encoded>,
}

impl Prepared {
    /// Hashes and converts the bytes of a file named `file_name` (the name as in [`Item`]).
    pub fn new(file_name: &str, bytes: &[u8]) -> Self {
        let sha256 = content_hash(bytes);
        let mut converted = convert_hashed(bytes, base_name(file_name), &sha256);
        // Should serializing fail, the decision serializes again and reports it.
        let encoded = converted.as_mut().ok().and_then(|c| Encoded::ahead(c).ok());
        Self {
            sha256,
            converted,
            encoded,
        }
    }

    /// [`new`](Self::new) with fitparser's full profile conversion, as imports converted
    /// before the fast path, and nothing serialized ahead (the decision does it): the baseline
    /// of the import benchmark.
    #[doc(hidden)]
    pub fn with_profile(file_name: &str, bytes: &[u8]) -> Self {
        let converted = bincio_bas::convert_with_profile(bytes, base_name(file_name));
        let sha256 = match &converted {
            Ok(converted) => converted.sha256.clone(),
            Err(_) => content_hash(bytes),
        };
        Self {
            sha256,
            converted,
            encoded: None,
        }
    }
}

pub(super) fn base_name(file_name: &str) -> &str {
    file_name.rsplit(['/', '\\']).next().unwrap_or(file_name)
}
