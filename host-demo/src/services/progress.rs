//! `Progress`: a plugin's progress reports, passed to whatever shows them
//! (the CLI's progress bar, the scheduler's log).

use super::Guarded;
use abi_stable::std_types::RStr;
use host_api::{Progress, ProgressBox};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    Total(u64),
    Advance { done: u64, message: String },
}

type Callback = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

#[derive(Clone)]
pub struct ProgressReporter(Callback);

impl ProgressReporter {
    pub fn new(callback: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }
    pub fn silent() -> Self {
        Self::new(|_| {})
    }
    pub fn to_service(&self) -> ProgressBox {
        Guarded::progress(self.clone())
    }
    fn emit(&self, event: ProgressEvent) {
        (self.0)(event)
    }
}

impl Progress for ProgressReporter {
    fn set_total(&self, total: u64) {
        self.emit(ProgressEvent::Total(total));
    }
    fn advance(&self, done: u64, message: RStr<'_>) {
        self.emit(ProgressEvent::Advance {
            done,
            message: message.to_string(),
        });
    }
}
