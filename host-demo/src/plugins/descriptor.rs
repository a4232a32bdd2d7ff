//! The host's own copy of a plugin descriptor, in ordinary Rust types.
//!
//! abi_stable types stay at the boundary: the loader converts once, and the
//! rest of the host never sees an `RString`.

use host_api::{FieldKind, FieldSpec, PluginDescriptor};
use sha2::{Digest, Sha256};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Secret,
    OneTimeCode,
    Url,
    Number,
    Bool,
    SecretFile,
}

impl Kind {
    fn from_abi(kind: FieldKind) -> Self {
        match kind {
            FieldKind::EMAIL => Self::Email,
            FieldKind::SECRET => Self::Secret,
            FieldKind::ONE_TIME_CODE => Self::OneTimeCode,
            FieldKind::URL => Self::Url,
            FieldKind::NUMBER => Self::Number,
            FieldKind::BOOL => Self::Bool,
            FieldKind::SECRET_FILE => Self::SecretFile,
            // Unknown kinds from newer plugins are asked for as plain text.
            _ => Self::Text,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Email => "email",
            Self::Secret => "secret",
            Self::OneTimeCode => "one-time code",
            Self::Url => "url",
            Self::Number => "number",
            Self::Bool => "bool",
            Self::SecretFile => "secret file",
        }
    }

    /// Masked on input, never echoed or logged.
    pub fn is_secret(self) -> bool {
        matches!(self, Self::Secret | Self::OneTimeCode | Self::SecretFile)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub kind: Kind,
    pub required: bool,
    pub help: String,
    pub persist: bool,
    pub default_value: Option<String>,
    /// The value names the account at the service: login cooldowns are
    /// scoped to it.
    pub identifies_account: bool,
}

impl Field {
    pub(crate) fn from_abi(spec: &FieldSpec) -> Self {
        Self {
            key: spec.key.to_string(),
            label: spec.label.to_string(),
            kind: Kind::from_abi(spec.kind),
            required: spec.required,
            help: spec.help.to_string(),
            persist: spec.persist,
            default_value: spec
                .default_value
                .as_ref()
                .map(|v| v.to_string())
                .into_option(),
            identifies_account: spec.is_account_identifier(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DisclaimerText {
    pub version: u32,
    pub title: String,
    pub markdown: String,
    /// Hex sha256 of `markdown`: acceptance is recorded against it.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub id: String,
    pub name: String,
    pub version: String,
    pub api_level: u32,
    pub capabilities: Vec<&'static str>,
    pub credential_fields: Vec<Field>,
    pub settings_fields: Vec<Field>,
    pub disclaimer: DisclaimerText,
    pub default_interval: Duration,
    pub min_interval: Duration,
}

impl Descriptor {
    pub(crate) fn from_abi(d: &PluginDescriptor) -> Self {
        let markdown = d.disclaimer.markdown.to_string();
        Self {
            id: d.id.to_string(),
            name: d.name.to_string(),
            version: d.version.to_string(),
            api_level: d.api_level,
            capabilities: d.capabilities.names(),
            credential_fields: d.credential_fields.iter().map(Field::from_abi).collect(),
            settings_fields: d.settings_fields.iter().map(Field::from_abi).collect(),
            disclaimer: DisclaimerText {
                version: d.disclaimer.version,
                title: d.disclaimer.title.to_string(),
                sha256: hex::encode(Sha256::digest(markdown.as_bytes())),
                markdown,
            },
            default_interval: Duration::from_secs(d.default_interval_secs),
            min_interval: Duration::from_secs(d.min_interval_secs),
        }
    }

    pub fn credential_field(&self, key: &str) -> Option<&Field> {
        self.credential_fields.iter().find(|f| f.key == key)
    }

    /// The credential field that names the account, if the plugin marked one.
    pub fn account_field(&self) -> Option<&Field> {
        self.credential_fields.iter().find(|f| f.identifies_account)
    }
}
