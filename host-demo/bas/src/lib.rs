//! FIT files to BincioActivity's BAS data store.
//!
//! - [`convert`]: FIT bytes to a [`Converted`] BAS activity (salvaging damaged files, rejecting
//!   files that are not activities with a [`Rejected`] cause).
//! - [`BasStore`]: the store on disk (`index.json`, `activities/{id}.json`, `{id}.geojson`),
//!   written atomically, in batches, with orphan recovery after a crash.
//!
//! The crate knows nothing of plugins or ledgers: the host composes it.

mod activity;
mod atomic;
mod catalog;
mod convert;
mod decode;
mod efforts;
mod error;
mod geojson;
mod index;
mod laps;
mod layout;
mod messages;
mod metrics;
mod recover;
mod sport;
mod store;
mod timefmt;
mod timeseries;
mod warning;

pub use activity::{BasActivity, Lap, Privacy, Source, Timeseries, BAS_VERSION};
pub use catalog::{NEAR_DISTANCE_FRACTION, NEAR_START_S};
pub use convert::{convert, Converted};
pub use error::{RejectCause, Rejected, StoreError};
pub use geojson::{Track, TrackPoint, TRACK_EPSILON_DEG};
pub use index::{IndexEntry, IndexFile, Owner};
pub use layout::{Shard, INLINE_RECENT, SHARD_THRESHOLD};
pub use recover::RecoveryReport;
pub use sport::{map_fit_sport, Sport, SubSport};
pub use store::{Added, BasStore, Batch};
pub use warning::Warning;
