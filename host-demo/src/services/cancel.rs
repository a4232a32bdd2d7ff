//! `Cancel`: a flag the host raises (Ctrl-C, shutdown) and plugins poll
//! between requests and items.

use super::Guarded;
use host_api::{Cancel, CancelBox};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone, Default, Debug)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn to_service(&self) -> CancelBox {
        Guarded::cancel(self.clone())
    }
}

impl Cancel for CancelFlag {
    fn is_cancelled(&self) -> bool {
        CancelFlag::is_cancelled(self)
    }
}
