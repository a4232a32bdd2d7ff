//! An activity serialized for the store ahead of the decision to store it, on any thread: the
//! importer's pool encodes while the owner of the store decides, so the owner's thread only
//! lists and writes bytes.

use crate::activity::{BasActivity, Privacy, Timeseries};
use crate::catalog::Summary;
use crate::convert::Converted;
use crate::error::StoreError;
use crate::geojson::Track;
use crate::index::IndexEntry;

/// An activity serialized for the store under its id: the bytes of its files and of its index
/// entry. Holds no timeseries, so a batch of them takes the size of the files it will write.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub(crate) id: String,
    /// The GeoJSON track, when the activity has one it may show.
    pub(crate) track: Option<Vec<u8>>,
    pub(crate) activity: Vec<u8>,
    pub(crate) summary: Summary,
}

/// The bytes without the spare room serializing left (a growing buffer doubles, so up to half
/// of it): a batch is bounded by the bytes it holds ([`Encoded::len`]), and that bound should
/// be the memory it takes.
fn exact(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.shrink_to_fit();
    bytes
}

impl Encoded {
    /// Serializes `converted` as it is (its id and source as they will be stored).
    pub fn new(converted: &Converted) -> Result<Encoded, StoreError> {
        Self::of(&converted.activity, converted.track.as_ref())
    }

    /// [`new`](Self::new) for an activity serialized ahead of the decision to store it, which
    /// then frees the activity's timeseries (most of its memory): while it waits its turn the
    /// activity is held once, as these bytes. [`restore`](Self::restore) puts the timeseries
    /// back, should it have to be serialized again (under another id).
    pub fn ahead(converted: &mut Converted) -> Result<Encoded, StoreError> {
        let encoded = Self::new(converted)?;
        converted.activity.timeseries = Timeseries::default();
        Ok(encoded)
    }

    /// Puts back into `converted` the timeseries [`ahead`](Self::ahead) freed, read from the
    /// serialized activity (JSON numbers read back are the same `f64`s).
    pub fn restore(&self, converted: &mut Converted) -> Result<(), StoreError> {
        let activity: BasActivity =
            serde_json::from_slice(&self.activity).map_err(|source| StoreError::Serialize {
                what: format!("activity {} read back", self.id),
                source,
            })?;
        converted.activity.timeseries = activity.timeseries;
        Ok(())
    }

    pub(crate) fn of(activity: &BasActivity, track: Option<&Track>) -> Result<Encoded, StoreError> {
        let id = &activity.id;
        let track = track.filter(|_| activity.privacy != Privacy::NoGps);
        let serialize = |e| StoreError::Serialize {
            what: format!("activity {id}"),
            source: e,
        };
        let track_bytes = track
            .map(|track| serde_json::to_vec(&track.feature(id)).map(exact))
            .transpose()
            .map_err(serialize)?;
        let entry = IndexEntry::for_activity(activity, track.is_some());
        let summary = Summary::of(&entry).map_err(|e| StoreError::BadActivity {
            id: id.clone(),
            detail: e.to_string(),
        })?;
        Ok(Encoded {
            id: id.clone(),
            activity: serde_json::to_vec(activity).map(exact).map_err(serialize)?,
            summary,
            track: track_bytes,
        })
    }

    /// The id it is serialized under.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Bytes held (what its files will take).
    pub fn len(&self) -> usize {
        self.activity.len() + self.track.as_ref().map_or(0, Vec::len)
    }

    /// Never true: an activity document is never empty.
    pub fn is_empty(&self) -> bool {
        self.activity.is_empty()
    }
}
