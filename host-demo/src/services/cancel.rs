//! `Cancel`: a flag the host raises (Ctrl-C, shutdown) and plugins poll
//! between requests and items.

use abi_stable::{sabi_trait::TD_Opaque, std_types::RArc};
use host_api::{Cancel, CancelBox, Cancel_TO};
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
        Cancel_TO::from_ptr(RArc::new(self.clone()), TD_Opaque)
    }
}

impl Cancel for CancelFlag {
    fn is_cancelled(&self) -> bool {
        // An atomic load cannot panic; no guard needed.
        CancelFlag::is_cancelled(self)
    }
}
