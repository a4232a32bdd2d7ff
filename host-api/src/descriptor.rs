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
    /// Plain text, echoed.
    pub const TEXT: Self = Self(0);
    /// An e-mail address, echoed.
    pub const EMAIL: Self = Self(1);
    /// Never echoed, never logged; stored encrypted when persisted.
    pub const SECRET: Self = Self(2);
    /// A one-time code (MFA): never echoed and never persisted.
    pub const ONE_TIME_CODE: Self = Self(3);
    /// A URL, echoed.
    pub const URL: Self = Self(4);
    /// A number, as decimal text.
    pub const NUMBER: Self = Self(5);
    /// `true` or `false`.
    pub const BOOL: Self = Self(6);
    /// The contents of a file the user supplies (a token file, say); secret.
    pub const SECRET_FILE: Self = Self(7);

    /// A short name for prompts and listings; unknown kinds read as "text".
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

/// Properties of a field beyond its kind: a `repr(transparent)` bit set, so
/// new properties can be added without changing the layout (a host ignores
/// bits it does not know).
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FieldFlags(pub u32);

impl FieldFlags {
    /// No property set.
    pub const NONE: Self = Self(0);
    /// The field's value names the account at the service (an e-mail, a user
    /// name): the host scopes login cooldowns to it, so a rate limit on one
    /// account follows that account whichever connection tries it. At most
    /// one credential field should carry it; without one, cooldowns are
    /// scoped to the plugin as a whole.
    pub const IDENTIFIES_ACCOUNT: Self = Self(1);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// Both sets of bits.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// One credential or setting field. The layout is frozen (see
/// [`crate::grow`]): new properties go in [`FieldFlags`] bits.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FieldSpec {
    /// Stable key; the value is passed back under it.
    pub key: RString,
    /// What the user is asked, e.g. "Garmin Connect e-mail".
    pub label: RString,
    /// How the host asks for it and whether it may be echoed.
    pub kind: FieldKind,
    /// The host refuses to go on without a value.
    pub required: bool,
    /// One line of help shown beside the prompt; may be empty.
    pub help: RString,
    /// Whether the plugin keeps the value (through `SecretStore`). Shown to the
    /// user so they know what is stored; one-time codes are never persisted.
    pub persist: bool,
    /// Default value, for settings.
    pub default_value: ROption<RString>,
    /// Further properties, e.g. [`FieldFlags::IDENTIFIES_ACCOUNT`].
    pub flags: FieldFlags,
}

impl FieldSpec {
    /// An optional, not persisted field without help or default.
    pub fn new(key: &str, label: &str, kind: FieldKind) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            kind,
            required: false,
            help: RString::new(),
            persist: false,
            default_value: ROption::RNone,
            flags: FieldFlags::NONE,
        }
    }
    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Marks the field as kept by the plugin.
    pub fn persisted(mut self) -> Self {
        self.persist = true;
        self
    }
    /// Sets the help line.
    pub fn help(mut self, help: &str) -> Self {
        self.help = help.into();
        self
    }
    /// Sets the default value.
    pub fn default_value(mut self, value: &str) -> Self {
        self.default_value = ROption::RSome(value.into());
        self
    }
    /// Marks the field as the one naming the account
    /// ([`FieldFlags::IDENTIFIES_ACCOUNT`]).
    pub fn identifies_account(mut self) -> Self {
        self.flags = self.flags.union(FieldFlags::IDENTIFIES_ACCOUNT);
        self
    }
    /// Whether the field names the account.
    pub fn is_account_identifier(&self) -> bool {
        self.flags.contains(FieldFlags::IDENTIFIES_ACCOUNT)
    }
}

/// The text the user must accept before connecting. The host records the
/// version and a sha256 of `markdown`; a change to either blocks connect and
/// sync until it is accepted again.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct Disclaimer {
    /// Bumped by the plugin when the terms change in substance.
    pub version: u32,
    /// A one-line title.
    pub title: RString,
    /// The text, as Markdown.
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

    /// Both sets of bits.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    /// Whether every bit of `other` is set.
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
///
/// A plain `repr(C)` struct, so its layout is frozen: a field added here would
/// make every plugin built before it fail the load-time layout check. New
/// descriptor data goes in a new entry point of a later API level's root
/// module, which the host reads only from plugins of that level (see
/// [`crate::grow`]).
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct PluginDescriptor {
    /// Reverse-DNS style id; must equal the id in `plugin.toml`.
    pub id: RString,
    /// The name shown to users, e.g. "Garmin Connect".
    pub name: RString,
    /// The plugin's own semver.
    pub version: RString,
    /// The behavioural contract the plugin was written against, see
    /// [`crate::API_LEVEL`].
    pub api_level: u32,
    /// What the plugin can do.
    pub capabilities: Capabilities,
    /// What the host asks the user for when connecting, in order.
    pub credential_fields: RVec<FieldSpec>,
    /// What `plugin.toml` may set under `[plugins.settings]`.
    pub settings_fields: RVec<FieldSpec>,
    /// What the user must accept before connecting.
    pub disclaimer: Disclaimer,
    /// How often the host syncs a connection unless configured otherwise.
    pub default_interval_secs: u64,
    /// The host never schedules syncs closer together than this.
    pub min_interval_secs: u64,
}

impl PluginDescriptor {
    /// The credential field marked [`FieldFlags::IDENTIFIES_ACCOUNT`], if any
    /// (the first, should a plugin mark several).
    pub fn account_field(&self) -> Option<&FieldSpec> {
        self.credential_fields
            .iter()
            .find(|f| f.is_account_identifier())
    }
}
