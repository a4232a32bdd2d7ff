//! A Garmin Connect emulator on 127.0.0.1 for tests and the demo: the SSO login flows (mobile
//! JSON, embed widget, portal, MFA), the DI OAuth2 token endpoint and the connectapi endpoints a
//! sync needs, with switchable failure modes and a virtual clock. It never talks to Garmin.
//!
//! Table of contents:
//! - [`config`]: accounts and protocol knobs ([`EmulatorConfig`], [`Account`]).
//! - [`activity`]: activities (real FIT, synthetic, manual) and [`synthetic_activities`].
//! - [`fixtures`]: the sample activities from the shared FIT fixtures.
//! - [`fit_writer`]: a small FIT activity encoder.
//! - [`faults`]: failure modes and their scopes ([`Fault`], [`Target`], [`Times`]).
//! - [`edge`]: the HTTPS + HTTP/2 front that fingerprints clients and blocks bots (`--edge`).
//! - [`emulator`]: the running server and its control API ([`Emulator`]).
//! - [`accounts_file`]: the binary's JSON/TOML account file.
//! - HTTP surface: `server` (router, fault gate), `sso_mobile`, `sso_widget`, `sso_login`,
//!   `sso_session`, `di_oauth`, `web_session` (the `JWT_WEB` fallback), `api`, `listing`,
//!   `download`, `responses`; state in `state`,
//!   time in `clock`.

#![forbid(unsafe_code)]

pub mod accounts_file;
pub mod activity;
mod api;
pub mod clock;
pub mod config;
mod di_oauth;
mod download;
pub mod edge;
pub mod emulator;
pub mod faults;
pub mod fit_writer;
pub mod fixtures;
pub mod listing;
pub mod request_log;
mod responses;
mod server;
mod sso_checks;
mod sso_login;
mod sso_mobile;
mod sso_session;
mod sso_widget;
pub mod state;
mod web_session;

pub use activity::{synthetic_activities, Activity};
pub use config::{Account, EmulatorConfig, DEFAULT_MFA_CODE, DI_CLIENT_IDS};
pub use di_oauth::TokenGrant;
pub use edge::{EdgeConfig, EdgeConnection};
pub use emulator::Emulator;
pub use faults::{Fault, FaultRule, Target, Times};
pub use request_log::LoggedRequest;
pub use server::DI_TOKEN_PATH;
pub use state::Stats;
