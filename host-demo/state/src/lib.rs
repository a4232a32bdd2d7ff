//! The host's state: one embedded SQLite database and the encrypted secret
//! vault that keeps its ciphertexts in it.
//!
//! Read in this order:
//! - [`db`]: opening the database, the shared handle, transactions;
//!   [`migrations`]: the numbered schema steps.
//! - Per-connection state: [`connections`], [`cursors`], [`retries`],
//!   [`runs`] (sync history), [`cooldowns`] (login cooldowns),
//!   [`schedule`] (scheduler state).
//! - Importing: [`ledger`] (what was imported, from where, by content hash)
//!   and [`import_tx`] (ledger rows + cursor in one transaction).
//! - [`users`]: who owns connections, acceptances, runs and stores;
//!   [`budgets`]: each plugin's persisted host-wide request budget.
//! - [`disclaimers`]: which disclaimer text each user accepted.
//! - [`sessions`], [`invites`]: the web page's sign-in sessions and invite links.
//! - [`error`]: the database's error type; [`private_fs`]: owner-only modes
//!   for the data directory and the database.
//! - Secrets: [`vault`] (AES-256-SIV under a master key, ciphertexts in the
//!   `secrets` table) and [`secret`] (the redacted, zeroized string type).

#![forbid(unsafe_code)]

pub mod budgets;
pub mod connections;
pub mod cooldowns;
pub mod cursors;
pub mod db;
pub mod disclaimers;
pub mod error;
pub mod import_tx;
pub mod invites;
pub mod ledger;
pub mod migrations;
pub mod private_fs;
pub mod retries;
pub mod runs;
pub mod schedule;
pub mod secret;
pub mod sessions;
pub mod users;
pub mod vault;

pub use budgets::{BudgetLimits, Reservation};
pub use connections::{Connection, ConnectionId, ConnectionStatus};
pub use cooldowns::{Cooldown, CooldownScope};
pub use db::{StateDb, UnixSeconds};
pub use disclaimers::Acceptance;
pub use error::StateError;
pub use import_tx::ImportTx;
pub use invites::Invite;
pub use ledger::{LedgerEntry, LedgerOutcome, LOCAL_SOURCE};
pub use migrations::SCHEMA_VERSION;
pub use retries::{retry_delay, Backoff, Jitter, RetryState, RETRY_BACKOFF};
pub use runs::{RunCounts, RunError, RunFinish, RunId, RunMark, RunOutcome, SyncRun};
pub use schedule::{DueConnection, Schedule};
pub use secret::SecretString;
pub use sessions::{NewSession, WebSession};
pub use users::{hash_password, verify_password, Role, User, UserHandle, DEFAULT_HANDLE};
pub use vault::{KeyOrigin, MasterKey, Vault, VaultError, MASTER_KEY_ENV};
