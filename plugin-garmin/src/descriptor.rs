//! Who the Garmin plugin is: its fields, its settings and its disclaimer.

use crate::settings::Settings;
use host_api::{Capabilities, Disclaimer, FieldKind, FieldSpec, PluginDescriptor, API_LEVEL};

pub const PLUGIN_ID: &str = "dev.bincio.garmin";

/// Bump whenever `disclaimer.md` changes meaning: users accept it again.
pub const DISCLAIMER_VERSION: u32 = 1;
pub const DISCLAIMER_MARKDOWN: &str = include_str!("disclaimer.md");

pub mod fields {
    pub const EMAIL: &str = "email";
    pub const PASSWORD: &str = "password";
    pub const MFA_CODE: &str = "mfa_code";
    pub const TOKEN_FILE: &str = "garmin_tokens";
}

/// The one-time code field, also returned in `NeedInput` when Garmin asks.
pub fn mfa_field() -> FieldSpec {
    FieldSpec::new(fields::MFA_CODE, "Garmin MFA code", FieldKind::ONE_TIME_CODE).help(
        "The code Garmin just sent you by e-mail or text message. Asked only when Garmin asks; never stored.",
    )
}

pub fn credential_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new(fields::EMAIL, "Garmin Connect email", FieldKind::EMAIL)
            .required()
            .persisted()
            .identifies_account()
            .help("The e-mail address you sign in to Garmin Connect with."),
        FieldSpec::new(fields::PASSWORD, "Garmin Connect password", FieldKind::SECRET)
            .required()
            .persisted()
            .help("Stored encrypted, used only when Garmin's tokens can no longer be refreshed."),
        mfa_field(),
        FieldSpec::new(
            fields::TOKEN_FILE,
            "Token file from the Python client (instead of a password)",
            FieldKind::SECRET_FILE,
        )
        .persisted()
        .help("The contents of garmin_tokens.json written by python-garminconnect, for accounts whose password logins Garmin blocks. With it, no password is needed or stored."),
    ]
}

pub fn descriptor() -> PluginDescriptor {
    PluginDescriptor {
        id: PLUGIN_ID.into(),
        name: "Garmin Connect".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        api_level: API_LEVEL,
        capabilities: Capabilities::MFA
            .union(Capabilities::INCREMENTAL)
            .union(Capabilities::BACKFILL)
            .union(Capabilities::TOKEN_ROTATION)
            .union(Capabilities::TOKEN_IMPORT),
        credential_fields: credential_fields().into(),
        settings_fields: Settings::fields().into(),
        disclaimer: Disclaimer {
            version: DISCLAIMER_VERSION,
            title: "Garmin Connect importer: read this before connecting".into(),
            markdown: DISCLAIMER_MARKDOWN.into(),
        },
        default_interval_secs: 6 * 3600,
        min_interval_secs: 3600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mfa_code_is_never_persisted_and_secrets_are_secret_kinds() {
        let fields = credential_fields();
        let mfa = fields.iter().find(|f| f.key == fields::MFA_CODE).unwrap();
        assert!(!mfa.persist && !mfa.required);
        let password = fields.iter().find(|f| f.key == fields::PASSWORD).unwrap();
        assert!(password.kind.is_secret() && password.required && password.persist);
    }

    #[test]
    fn the_disclaimer_covers_every_point_of_the_products() {
        let text = DISCLAIMER_MARKDOWN.to_lowercase();
        for needle in [
            "unofficial",
            "not made, endorsed, supported or approved by garmin",
            "email address and password",
            "encrypted at rest",
            "operator of this server",
            "trust",
            "without notice",
            "terms of use",
            "suspension or ban",
            "two-factor",
            "publishes no rate limits",
            "ip address blocked",
            "conservative limits",
            "disconnect",
            "change your garmin connect password",
            "only way to be sure",
            "export your activities as fit files",
            "garmin express",
            "needs no credentials",
        ] {
            assert!(text.contains(needle), "disclaimer lacks {needle:?}");
        }
    }
}
