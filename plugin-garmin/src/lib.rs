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
//! Signing in (research/garmin-auth-2026.md), in layers: each module uses
//! only those above it in this list (`tests/layering.rs` keeps it so):
//! 1. [`sso_endpoints`]: every SSO URL, query, Referer and header set.
//! 2. [`sso_answers`]: reading the answers (JSON status, widget pages read
//!    with [`html`], rate limits, challenges, refusals).
//! 3. [`mfa`]: a login waiting for its one-time code, and the verify step.
//! 4. [`sso_json`] (mobile, portal) and [`sso_widget`] (the HTML form): the flows.
//! 5. [`login`]: the strategy chain over the flows.
//! 6. [`auth`]: refresh early, renew on 401, one re-login when tokens are dead.
//! 7. [`connect`]: the connect step machine.
//!
//! Below them all: [`di_token`] (service ticket → DI OAuth2 tokens, and
//! refresh), [`web_cookie`] (the `JWT_WEB` fallback when diauth refuses every
//! client id), [`jwt`] (reading `exp`), [`tokens`] (what is kept in the host's
//! `SecretStore`).
//!
//! Syncing:
//! - [`api`]: signed-in, paced, retried calls to connectapi; [`sync`]: one
//!   run; [`cursor`]: what it keeps between runs; [`download`]: the FIT out of
//!   the original zip.
//!
//! Plumbing: [`http`] (clients, pauses, backoff, Retry-After, capped bodies),
//! [`excerpt`] (the only way server text reaches an error or a log), [`errors`]
//! (Garmin's answers → `PluginError`), [`identity`] (Garmin's app ids and
//! headers), [`shared`] (per-instance state), [`clock`].

pub mod api;
pub mod auth;
pub mod browser;
pub mod budget;
pub mod clock;
pub mod connect;
pub mod cursor;
pub mod descriptor;
pub mod di_token;
pub mod download;
pub mod errors;
pub mod excerpt;
pub mod html;
pub mod http;
pub mod identity;
pub mod importer;
pub mod jwt;
pub mod login;
pub mod mfa;
pub mod paging;
pub mod settings;
pub mod shared;
pub mod sso_answers;
pub mod sso_endpoints;
pub mod sso_json;
pub mod sso_widget;
pub mod sync;
pub mod tokens;
pub mod web_cookie;

pub use budget::REQUEST_BUDGET;
pub use clock::Clock;
pub use importer::GarminImporter;

use abi_stable::std_types::RResult;
use host_api::{HostInit, ImporterBox, PluginError};
use std::sync::Arc;

/// A new importer as the host's `create` makes it (system clock).
pub fn create(init: HostInit) -> Result<ImporterBox, PluginError> {
    bincio_plugin_kit::adapter::create::<GarminImporter>(init).into_result()
}

/// An instance driven through the kit's adapter (as the host drives it),
/// whose "now" is `clock`, and a handle on it (tests read its pending
/// flows).
pub fn create_with_clock(
    init: HostInit,
    clock: Clock,
) -> RResult<(ImporterBox, Arc<GarminImporter>), PluginError> {
    let mut handle = None;
    bincio_plugin_kit::adapter::create_with(init, |init| {
        let importer = Arc::new(GarminImporter::with_clock(&init, clock)?);
        handle = Some(importer.clone());
        Ok(importer)
    })
    .map(|boxed| (boxed, handle.expect("set when created")))
}

bincio_plugin_kit::export_plugin!(descriptor: descriptor::descriptor, importer: GarminImporter);
