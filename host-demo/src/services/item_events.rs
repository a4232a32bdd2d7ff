//! What became of each item a plugin offered during a run (imported, already
//! there, rejected with its reason, left for a later run), as the import
//! sink sees it, for whoever shows a run live (the web page's progress).

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum ItemStatus {
    Imported,
    /// The ledger already holds it (by id or content): not downloaded again
    /// or not stored twice.
    AlreadyThere,
    Rejected(String),
    /// Its download failed; a later run retries it.
    Deferred(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemEvent {
    /// The service's id for the item (Garmin's activity id).
    pub external_id: String,
    /// The file name when the item was downloaded, else the external id.
    pub name: String,
    pub status: ItemStatus,
}

type Callback = Arc<dyn Fn(ItemEvent) + Send + Sync>;

/// Receives every [`ItemEvent`] of a run; [`ItemObserver::silent`] by default.
#[derive(Clone)]
pub struct ItemObserver(Callback);

impl ItemObserver {
    pub fn new(callback: impl Fn(ItemEvent) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }
    pub fn silent() -> Self {
        Self::new(|_| {})
    }
    pub(crate) fn emit(&self, external_id: &str, name: &str, status: ItemStatus) {
        (self.0)(ItemEvent {
            external_id: external_id.to_string(),
            name: name.to_string(),
            status,
        })
    }
}

impl Default for ItemObserver {
    fn default() -> Self {
        Self::silent()
    }
}

impl std::fmt::Debug for ItemObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ItemObserver")
    }
}
