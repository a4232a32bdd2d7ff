//! FIT files to BincioActivity's BAS data store.
//!
//! - [`convert`]: FIT bytes to a [`Converted`] BAS activity, salvaging damaged files (with
//!   [`Warning`]s) and refusing what is not an activity ([`Rejected`]).
//! - [`BasStore`]: the store on disk (`index.json`, `activities/{id}.json`, `{id}.geojson`,
//!   yearly shards when large), written atomically in [`Batch`]es (or, for an importer that
//!   serializes on other threads and writes while it decides, [`Encoded`] activities and
//!   [`CommitJob`]s), recovered after a crash.
//!
//! The crate knows nothing of plugins or ledgers: the host composes it.

#![forbid(unsafe_code)]

// Conversion: lenient decoding, FIT messages, and what BAS derives from them.
mod convert;
mod decode;
mod direct;
mod efforts;
mod geojson;
mod laps;
mod messages;
mod metrics;
mod odd_fields;
mod sport;
mod timefmt;
mod timeseries;
mod warning;

// The BAS documents.
mod activity;
mod index;

// The store: in-memory catalog (packed in arenas), index layout, crash recovery (files written by
// `bincio-atomic-file`).
mod arena;
mod catalog;
mod commit;
mod encoded;
mod layout;
mod recover;
mod store;

mod error;

pub use activity::{BasActivity, Lap, Privacy, Source, Timeseries, BAS_VERSION};
pub use catalog::{NEAR_DISTANCE_FRACTION, NEAR_START_S};
pub use commit::{CommitJob, Committing};
pub use convert::{content_hash, convert, convert_hashed, convert_with_profile, Converted};
pub use encoded::Encoded;
pub use error::{RejectCause, Rejected, StoreError};
pub use geojson::{Track, TrackPoint, TRACK_EPSILON_DEG};
pub use index::{IndexEntry, IndexFile, Owner, Shard};
pub use layout::{INLINE_RECENT, SHARD_THRESHOLD};
pub use recover::RecoveryReport;
pub use sport::{map_fit_sport, Sport, SubSport};
pub use store::{unique_id, Added, BasStore, Batch};
pub use warning::Warning;
