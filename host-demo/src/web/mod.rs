//! The web settings page (`host-demo serve`): sign-in, one card per enabled
//! importer (disclaimer, connect with MFA, status, sync now with live
//! progress, disconnect), uploads of FIT files and zips, the admin pages,
//! and the JSON API under them with BincioActivity's own shapes.
//!
//! Read in this order:
//! - [`server`]: [`WebServer::start`], the router, graceful stop;
//!   [`config`]: what it listens on and its bounds; [`state`]: what every
//!   handler shares.
//! - [`auth`]: sessions in the state database, the cookie, CSRF, the
//!   sign-in attempt limiter; [`net`]: the client's address and scheme
//!   (X-Forwarded-* only from a trusted proxy).
//! - [`live`]: runs as they go, replayed to every stream from their start;
//!   [`flows`]: connect flows waiting for an MFA code.
//! - [`api`]: the JSON API; [`pages`]: the HTML pages (maud, escaped by
//!   default); [`upload`]: multipart uploads streamed to disk, then the
//!   import pipeline; [`error`]: one error type, as a page or as JSON.
//!
//! Every asset is in the binary (`assets/`); no CDN, no build step.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod flows;
pub mod importers;
pub mod live;
pub mod markdown;
pub mod net;
pub mod pages;
pub mod server;
pub mod state;
pub mod upload;

pub use config::WebConfig;
pub use server::WebServer;
