//! Opening the pipeline only when something is imported, and sharing it.
//!
//! Opening a store reads its whole index into memory (for dedupe), which
//! grows with the store. A sync that finds nothing new answers everything
//! from the ledger and never needs it, so the sinks get a [`LazyPipeline`]:
//! the store is opened by the first `import`, and a run that imports
//! nothing keeps the memory of a run over an empty store. Within a process,
//! every sync shares one open pipeline ([`PipelineOpener`]), which closes
//! (and releases the store's lock) when the last one lets go.

use super::{ImportError, ImportPipeline, SharedPipeline, WeakPipeline};
use crate::clock::Clock;
use bincio_state::StateDb;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Opens the pipeline of one store, or hands out the one already open.
pub struct PipelineOpener {
    data_dir: PathBuf,
    handle: String,
    db: StateDb,
    clock: Arc<dyn Clock>,
    open: Mutex<WeakPipeline>,
}

impl PipelineOpener {
    pub fn new(data_dir: PathBuf, handle: String, db: StateDb, clock: Arc<dyn Clock>) -> Self {
        Self {
            data_dir,
            handle,
            db,
            clock,
            open: Mutex::new(WeakPipeline::default()),
        }
    }

    pub fn db(&self) -> &StateDb {
        &self.db
    }

    pub fn get(&self) -> Result<SharedPipeline, ImportError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pipeline) = open.upgrade() {
            return Ok(pipeline);
        }
        let pipeline = ImportPipeline::open(&self.data_dir, &self.handle, self.db.clone())?
            .with_clock(self.clock.clone());
        let shared = SharedPipeline::new(pipeline);
        *open = shared.downgrade();
        Ok(shared)
    }
}

/// A pipeline that is opened by its first real use.
#[derive(Clone)]
pub struct LazyPipeline {
    db: StateDb,
    /// `None` for a handle made over a pipeline that was already open.
    opener: Option<Arc<PipelineOpener>>,
    opened: Arc<Mutex<Option<SharedPipeline>>>,
}

impl LazyPipeline {
    pub fn new(opener: Arc<PipelineOpener>) -> Self {
        Self {
            db: opener.db().clone(),
            opener: Some(opener),
            opened: Arc::default(),
        }
    }

    /// A handle over a pipeline that is already open.
    pub fn ready(pipeline: SharedPipeline) -> Self {
        let db = pipeline.lock().db().clone();
        Self {
            db,
            opener: None,
            opened: Arc::new(Mutex::new(Some(pipeline))),
        }
    }

    pub fn db(&self) -> &StateDb {
        &self.db
    }

    /// The pipeline, opening it if this handle has not yet.
    pub fn get(&self) -> Result<SharedPipeline, ImportError> {
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pipeline) = opened.as_ref() {
            return Ok(pipeline.clone());
        }
        let opener = self
            .opener
            .as_ref()
            .expect("a handle without an opener was made open");
        let pipeline = opener.get()?;
        *opened = Some(pipeline.clone());
        Ok(pipeline)
    }

    /// The pipeline if it has been opened through this handle.
    pub fn if_open(&self) -> Option<SharedPipeline> {
        self.opened
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
