//! How this interface may grow without refusing plugins already built.
//!
//! abi_stable checks, when the host loads a plugin, that every type reachable
//! from the root module has a layout compatible with the host's, with the
//! host's build as the *interface* and the plugin's as the *implementation*.
//! Its rule, for both kinds of type that can grow, is that the interface may
//! know **less** than the implementation, never more (the unit tests below
//! pin it, as abi_stable's own `prefix_types` and `nonexhaustive_enums`
//! layout tests do):
//!
//! | kind of type | grows by | older host, newer plugin | newer host, older plugin |
//! |---|---|---|---|
//! | prefix types ([`crate::PluginModule`], the `#[sabi_trait]` vtables) | fields appended | loads; the host ignores the extra fields | **refused**: `FieldCountMismatch` |
//! | non-exhaustive enums ([`crate::ConnectStep`], [`crate::ImportOutcome`]) | variants appended | loads; an unknown variant unwraps to [`UnknownVariant`] | **refused**: `TooManyVariants` |
//! | `repr(transparent)` integers ([`crate::ErrorKind`], [`crate::FieldKind`], [`crate::FieldFlags`], [`crate::LogLevel`], [`crate::Capabilities`]) | constants | loads; unknown values have a documented meaning | loads |
//! | plain `repr(C)` structs ([`crate::PluginDescriptor`], [`crate::FieldSpec`], ...) | never | - | - |
//!
//! So a host built from a newer `host-api` whose root module or vtables gained
//! a field, or whose enums gained a variant, refuses every plugin built
//! before: only new constants of the integer kinds are free in that
//! direction. To add a field (a descriptor property, an entry point) and
//! keep older plugins loading, the host must check each plugin against the
//! root module of the plugin's own level: keep today's `PluginModule` as the
//! level-1 root (same name, frozen), add the level-2 root with the field
//! appended, and let the loader try `init_root_module` with the newest root
//! first and each older one after (a failed layout check leaves the library
//! header reusable), driving an older plugin through its level's root and
//! defaults for what it lacks. `tests/plugins/frozen-v1`, a plugin built
//! against a frozen copy of this crate, fails the moment a change breaks
//! that promise.

use abi_stable::nonexhaustive_enum::{GetEnumInfo, NonExhaustive};
use std::fmt;

/// A non-exhaustive enum arrived with a variant this build does not know:
/// the other side was built against a newer `host-api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The enum's name, e.g. `"ConnectStep"`.
    pub type_name: &'static str,
    /// The variant's discriminant as sent.
    pub discriminant: u8,
}

impl UnknownVariant {
    pub(crate) fn new(type_name: &'static str, discriminant: u8) -> Self {
        Self {
            type_name,
            discriminant,
        }
    }
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} variant this build does not know (discriminant {}): the other side was built \
             against a newer host-api",
            self.type_name, self.discriminant
        )
    }
}

impl std::error::Error for UnknownVariant {}

/// Unwraps a non-exhaustive enum that crossed the boundary, or says which
/// variant this build does not know.
pub(crate) fn known<E, S, I>(
    value: NonExhaustive<E, S, I>,
    type_name: &'static str,
) -> Result<E, UnknownVariant>
where
    E: GetEnumInfo<Discriminant = u8>,
{
    value
        .into_enum()
        .map_err(|e| UnknownVariant::new(type_name, e.into_inner().get_discriminant()))
}

#[cfg(test)]
mod tests {
    //! Two releases of one type, side by side: same type name, same package
    //! (this crate), different layouts, checked as the loader checks them
    //! (`interface` = the host's build, `implementation` = the plugin's).

    #![allow(missing_docs, non_camel_case_types, non_local_definitions, dead_code)]

    use abi_stable::{
        abi_stability::abi_checking::{check_layout_compatibility, AbiInstability},
        std_types::RString,
        StableAbi,
    };

    mod v1 {
        use super::*;
        #[repr(u8)]
        #[derive(StableAbi, Debug, Clone, PartialEq)]
        #[sabi(kind(WithNonExhaustive(size = [usize; 8], traits(Debug, Clone, PartialEq))))]
        #[non_exhaustive]
        pub enum Step {
            Done { id: RString },
            Failed(RString),
        }

        #[repr(C)]
        #[derive(StableAbi)]
        #[sabi(kind(Prefix(prefix_ref = Module_Ref)))]
        pub struct Module {
            pub step: extern "C" fn() -> Step_NE,
            #[sabi(last_prefix_field)]
            pub id: extern "C" fn() -> RString,
        }
    }

    mod v2 {
        use super::*;
        #[repr(u8)]
        #[derive(StableAbi, Debug, Clone, PartialEq)]
        #[sabi(kind(WithNonExhaustive(size = [usize; 8], traits(Debug, Clone, PartialEq))))]
        #[non_exhaustive]
        pub enum Step {
            Done { id: RString },
            Failed(RString),
            OpenBrowser { url: RString },
        }

        #[repr(C)]
        #[derive(StableAbi)]
        #[sabi(kind(Prefix(prefix_ref = Module_Ref)))]
        pub struct Module {
            pub step: extern "C" fn() -> v1::Step_NE,
            #[sabi(last_prefix_field)]
            pub id: extern "C" fn() -> RString,
            pub accounts_per_user: extern "C" fn() -> u32,
        }
    }

    fn too_many_variants(result: Result<(), Vec<AbiInstability>>) -> bool {
        result.is_err_and(|errors| {
            errors
                .iter()
                .any(|e| matches!(e, AbiInstability::TooManyVariants(_)))
        })
    }

    fn check<A: StableAbi, B: StableAbi>() -> Result<(), Vec<AbiInstability>> {
        check_layout_compatibility(A::LAYOUT, B::LAYOUT).map_err(|e| {
            e.errors
                .iter()
                .flat_map(|x| x.errs.iter().cloned())
                .collect()
        })
    }

    fn field_count_mismatch(result: Result<(), Vec<AbiInstability>>) -> bool {
        result.is_err_and(|errors| {
            errors
                .iter()
                .any(|e| matches!(e, AbiInstability::FieldCountMismatch(_)))
        })
    }

    #[test]
    fn a_plugin_may_have_module_fields_ahead_of_the_host_but_the_host_may_not_add_them() {
        check::<v1::Module_Ref, v2::Module_Ref>().expect("older host, newer plugin: loads");
        assert!(
            field_count_mismatch(check::<v2::Module_Ref, v1::Module_Ref>()),
            "newer host, older plugin: abi_stable refuses the layout"
        );
        // What a versioned loader does instead: check the older plugin
        // against the older level's root, which it still keeps.
        check::<v1::Module_Ref, v1::Module_Ref>().expect("same level: loads");
    }

    #[test]
    fn a_plugin_may_send_variants_ahead_of_the_host_but_the_host_may_not_add_them() {
        check::<v1::Step_NE, v2::Step_NE>().expect("older host, newer plugin: loads");
        assert!(
            too_many_variants(check::<v2::Step_NE, v1::Step_NE>()),
            "newer host, older plugin: abi_stable refuses the layout"
        );
    }

    #[test]
    fn an_unknown_variant_unwraps_to_an_error_naming_it() {
        use abi_stable::nonexhaustive_enum::NonExhaustive;
        let sent: v2::Step_NE = NonExhaustive::new(v2::Step::OpenBrowser { url: "u".into() });
        // What an older host holds after a newer plugin sent `OpenBrowser`:
        // the same bytes (and the sender's vtable, which drops them), read
        // through the older enum's view, as a dylib boundary would hand them over.
        // SAFETY: both are `NonExhaustive<_, [usize; 8] storage, _>`: the same
        // repr(C) layout (storage, vtable pointer); only the marker types differ.
        let received: v1::Step_NE = unsafe { std::mem::transmute(sent) };
        let error = super::known(received, "Step").expect_err("variant 2 is unknown to v1");
        assert_eq!(error, super::UnknownVariant::new("Step", 2));
        assert!(error.to_string().contains("newer host-api"), "{error}");

        let known: v1::Step_NE = NonExhaustive::new(v1::Step::Failed("no".into()));
        assert_eq!(
            super::known(known, "Step"),
            Ok(v1::Step::Failed("no".into()))
        );
    }
}
