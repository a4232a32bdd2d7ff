//! Garmin Connect importer for BincioActivity.
//!
//! Built as a `cdylib` the host loads through `host-api`'s stable ABI, and as
//! an `rlib` so its parts can be tested directly.
//!
//! The plugin's face:
//! - [`descriptor`]: id, credential fields, settings, disclaimer.
//! - [`settings`]: the settings from `plugin.toml`, every base URL included.
//! - [`importer`]: the `Importer` the host drives.
//!
//! Signing in (research/garmin-auth-2026.md):
//! - [`login`]: the strategy chain over [`sso_json`] (mobile, portal) and
//!   [`sso_widget`] (the HTML form, read with [`html`]); [`mfa`]: a login
//!   waiting for its one-time code; [`connect`]: the connect step machine.
//! - [`di_token`]: service ticket → DI OAuth2 tokens, and refresh; [`jwt`]:
//!   reading `exp`; [`tokens`]: what is kept in the host's `SecretStore`;
//!   [`auth`]: refresh early, renew on 401, one re-login when tokens are dead.
//!
//! Syncing:
//! - [`api`]: signed-in, paced, retried calls to connectapi; [`sync`]: one
//!   run; [`cursor`]: what it keeps between runs; [`download`]: the FIT out of
//!   the original zip.
//!
//! Plumbing: [`http`] (clients, pauses, backoff, Retry-After), [`errors`]
//! (Garmin's answers → `PluginError`), [`identity`] (Garmin's app ids and
//! headers), [`shared`] (per-instance state), [`clock`].

pub mod api;
pub mod auth;
pub mod clock;
pub mod connect;
pub mod cursor;
pub mod descriptor;
pub mod di_token;
pub mod download;
pub mod errors;
pub mod html;
pub mod http;
pub mod identity;
pub mod importer;
pub mod jwt;
pub mod login;
pub mod mfa;
pub mod settings;
pub mod shared;
pub mod sso_json;
pub mod sso_widget;
pub mod sync;
pub mod tokens;

pub use clock::Clock;
pub use importer::GarminImporter;

use abi_stable::sabi_trait::TD_Opaque;
use host_api::{
    HostInit, ImporterBox, Importer_TO, InstanceServices_Ref, PluginError, RequestBudget,
};

/// The root module's `create`: a new importer from the host's init.
pub fn create(init: HostInit) -> Result<ImporterBox, PluginError> {
    let importer = importer::GarminImporter::new(init)?;
    Ok(Importer_TO::from_value(importer, TD_Opaque))
}

/// Garmin limits by IP, not by account: 30 requests a minute across every
/// account this server syncs, at most 5 back to back (conservative; the
/// operator may change it in `plugin.toml`).
pub const REQUEST_BUDGET: RequestBudget = RequestBudget::per_minute(30, 5);

/// The root module's `request_budget`.
pub fn request_budget() -> Option<RequestBudget> {
    Some(REQUEST_BUDGET)
}

/// The root module's `create_with_services`: as `create`, with the host's
/// request gate for every connection of the instance.
pub fn create_with_services(
    init: HostInit,
    services: InstanceServices_Ref,
) -> Result<ImporterBox, PluginError> {
    let gate = services.request_gate().into_option().cloned();
    let importer = importer::GarminImporter::with_gate(init, gate)?;
    Ok(Importer_TO::from_value(importer, TD_Opaque))
}

bincio_plugin_kit::export_plugin!(
    descriptor: descriptor::descriptor,
    create: create,
    request_budget: request_budget,
    create_with_services: create_with_services,
);
