//! Who a plugin is: its identity, the fields the host must ask for, and the
//! disclaimer the user must accept before connecting.
//!
//! The host builds its prompts (and later its web form) from [`FieldSpec`]s
//! alone, so a new importer needs no host change to be configured.

use abi_stable::{
    std_types::{ROption, RString, RVec},
    StableAbi,
};

/// What kind of value a field holds; drives how the host asks for it and
/// whether it may be echoed. A `repr(transparent)` integer so that new kinds
/// can be added without breaking the layout: a host renders an unknown kind as
/// [`FieldKind::TEXT`].
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FieldKind(pub u8);

impl FieldKind {
    pub const TEXT: Self = Self(0);
    pub const EMAIL: Self = Self(1);
    /// Never echoed, never logged; stored encrypted when persisted.
    pub const SECRET: Self = Self(2);
    /// A one-time code (MFA): never echoed and never persisted.
    pub const ONE_TIME_CODE: Self = Self(3);
    pub const URL: Self = Self(4);
    pub const NUMBER: Self = Self(5);
    pub const BOOL: Self = Self(6);
    /// The contents of a file the user supplies (a token file, say); secret.
    pub const SECRET_FILE: Self = Self(7);

    pub fn name(self) -> &'static str {
        match self {
            Self::TEXT => "text",
            Self::EMAIL => "email",
            Self::SECRET => "secret",
            Self::ONE_TIME_CODE => "one-time code",
            Self::URL => "url",
            Self::NUMBER => "number",
            Self::BOOL => "bool",
            Self::SECRET_FILE => "secret file",
            _ => "text",
        }
    }

    /// Whether values of this kind must be masked on input and redacted in output.
    pub fn is_secret(self) -> bool {
        matches!(self, Self::SECRET | Self::ONE_TIME_CODE | Self::SECRET_FILE)
    }
}

/// One credential or setting field.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FieldSpec {
    /// Stable key; the value is passed back under it.
    pub key: RString,
    pub label: RString,
    pub kind: FieldKind,
    pub required: bool,
    pub help: RString,
    /// Whether the plugin keeps the value (through `SecretStore`). Shown to the
    /// user so they know what is stored; one-time codes are never persisted.
    pub persist: bool,
    /// Default value, for settings.
    pub default_value: ROption<RString>,
}

impl FieldSpec {
    pub fn new(key: &str, label: &str, kind: FieldKind) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            kind,
            required: false,
            help: RString::new(),
            persist: false,
            default_value: ROption::RNone,
        }
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn persisted(mut self) -> Self {
        self.persist = true;
        self
    }
    pub fn help(mut self, help: &str) -> Self {
        self.help = help.into();
        self
    }
    pub fn default_value(mut self, value: &str) -> Self {
        self.default_value = ROption::RSome(value.into());
        self
    }
}

/// The text the user must accept before connecting. The host records the
/// version and a sha256 of `markdown`; a change to either blocks connect and
/// sync until it is accepted again.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Disclaimer {
    pub version: u32,
    pub title: RString,
    pub markdown: RString,
}

/// Feature bits a plugin declares; the host may adapt its UI to them.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Capabilities(pub u64);

impl Capabilities {
    /// Logins may ask for a one-time code.
    pub const MFA: Self = Self(1);
    /// Sync fetches only what is new since the cursor.
    pub const INCREMENTAL: Self = Self(1 << 1);
    /// Sync walks the account's history backwards over several runs.
    pub const BACKFILL: Self = Self(1 << 2);
    /// The plugin rotates tokens and stores them through `SecretStore` itself.
    pub const TOKEN_ROTATION: Self = Self(1 << 3);
    /// Connect can take an exported token file instead of a password.
    pub const TOKEN_IMPORT: Self = Self(1 << 4);

    const NAMES: [(Self, &'static str); 5] = [
        (Self::MFA, "mfa"),
        (Self::INCREMENTAL, "incremental"),
        (Self::BACKFILL, "backfill"),
        (Self::TOKEN_ROTATION, "token-rotation"),
        (Self::TOKEN_IMPORT, "token-import"),
    ];

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// Names of the known bits that are set.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(bit, _)| self.contains(*bit))
            .map(|(_, name)| *name)
            .collect()
    }
}

/// Everything the host needs to know about a plugin before creating it.
/// Pure data: producing it has no side effects.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct PluginDescriptor {
    /// Reverse-DNS style id; must equal the id in `plugin.toml`.
    pub id: RString,
    pub name: RString,
    /// The plugin's own semver.
    pub version: RString,
    /// The behavioural contract the plugin was written against, see
    /// [`crate::API_LEVEL`].
    pub api_level: u32,
    pub capabilities: Capabilities,
    pub credential_fields: RVec<FieldSpec>,
    pub settings_fields: RVec<FieldSpec>,
    pub disclaimer: Disclaimer,
    pub default_interval_secs: u64,
    /// The host never schedules syncs closer together than this.
    pub min_interval_secs: u64,
}
