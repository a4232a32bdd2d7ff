//! The host's implementations of the services it lends plugins (host-api's
//! `SecretStore`, `ImportSink`, `Progress`, `Logger`, `Cancel`), each scoped
//! to one plugin and connection, and `RequestGate`, shared by all of a
//! plugin's connections.
//!
//! Plugins call these from their own threads. Each service is plain code;
//! its `to_service` constructor wraps it in [`Guarded`], which runs every
//! call inside the panic guard (a panic here would otherwise cross back into
//! the plugin and end the process).

pub mod cancel;
pub mod guarded;
pub mod import_sink;
pub mod item_events;
pub mod logger;
pub mod progress;
pub mod request_gate;
pub mod secret_store;

pub use cancel::CancelFlag;
pub use guarded::Guarded;
pub use item_events::{ItemEvent, ItemObserver, ItemStatus};
pub use logger::{HostLogger, Redactions};
pub use progress::{ProgressEvent, ProgressReporter};
pub use request_gate::BudgetGate;
pub use secret_store::{IntegrityFailures, VaultSecretStore};
