//! The import pipeline: FIT files into the BAS store, each decision recorded
//! in the state database's import ledger, batch by batch, crash-safe.
//!
//! - [`pipeline`]: [`ImportPipeline`], deciding and storing items, and
//!   [`SharedPipeline`], the handle the CLI and the import sinks share.
//! - [`opener`]: opening the pipeline on first import, one per process.
//! - [`pending`]: the batch decided but not yet durable.
//! - `flusher`: making batches durable on a thread of their own.
//! - [`outcome`]: what happened to an item ([`Outcome`]) and a run's [`Tally`].
//! - [`sources`]: the files behind `import PATH...` (folders, zip archives).
//! - [`parallel`]: reading and converting them on every core, decided in order.
//! - [`store_lock`]: one writing process per store.
//! - [`error`]: [`ImportError`], what stops an import.
//!
//! The plugin-facing side is [`crate::services::import_sink`].

pub mod error;
mod flusher;
pub mod item;
pub mod opener;
pub mod outcome;
pub mod parallel;
pub mod pending;
pub mod pipeline;
pub mod sources;
pub mod store_lock;

pub use error::ImportError;
pub use opener::{LazyPipeline, PipelineOpener};
pub use outcome::{DuplicateFile, DuplicateOf, Outcome, Tally};
pub use pipeline::{
    open_local, ImportPipeline, Item, Prepared, SharedPipeline, WeakPipeline, DEFAULT_BATCH_ITEMS,
    STATE_DB_FILE,
};
