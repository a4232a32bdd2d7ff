//! The accounts the connect suites sign in with: the demo account and one
//! that asks for an MFA code, on an emulator serving both.

use super::Harness;
use garmin_emulator::{Account, EmulatorConfig};
use serde_json::json;

pub const DEMO: &str = "demo@example.com";
pub const PASSWORD: &str = "demo-password";
pub const MFA_EMAIL: &str = "code@example.com";
pub const MFA_CODE: &str = "739184";

pub fn config() -> EmulatorConfig {
    EmulatorConfig::default_demo()
        .with_account(Account::new(MFA_EMAIL, PASSWORD).with_mfa(MFA_CODE))
}

pub fn harness() -> Harness {
    Harness::new(config(), json!({}))
}
