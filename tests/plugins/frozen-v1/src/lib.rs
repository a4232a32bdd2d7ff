//! A minimal importer built against the frozen API-level-1 snapshot of
//! host-api (`api-snapshot/`): it connects with an account name and a token
//! (kept through `SecretStore`) and syncs one FIT file named by its
//! `fit_file` setting into the host's pipeline. An account named `slow-...`
//! is answered with a rate limit, for the host's login-cooldown tests. Every call goes through the
//! types that may grow: the root module and the `Importer` vtable (prefix
//! types), both non-exhaustive enums, and the transparent-integer kinds.
//! Written once, never updated: see Cargo.toml.

#![allow(non_local_definitions)]

use abi_stable::{
    export_root_module,
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RErr, ROk, RResult, RStr, RString, RVec},
};
use host_api::{
    AccountInfo, Capabilities, ConnectStep, ConnectStep_NE, ConnectionContext, Disclaimer,
    FieldKind, FieldSpec, FieldValue, HostInit, ImportItem, ImportOutcome, Importer, ImporterBox,
    Importer_TO, PluginDescriptor, PluginError, PluginModule, PluginModule_Ref, Rejection,
    SyncContext, SyncRequest, SyncSummary,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

const TOKEN_KEY: &str = "token";
const ACCOUNT_KEY: &str = "account";

fn descriptor() -> PluginDescriptor {
    PluginDescriptor {
        id: "test.frozen-v1".into(),
        name: "Frozen API level 1 plugin".into(),
        version: "1.0.0".into(),
        api_level: 1,
        capabilities: Capabilities::INCREMENTAL,
        credential_fields: vec![
            FieldSpec::new(ACCOUNT_KEY, "Account", FieldKind::TEXT)
                .required()
                .persisted()
                .identifies_account(),
            FieldSpec::new(TOKEN_KEY, "Token", FieldKind::SECRET)
                .required()
                .persisted(),
        ]
        .into(),
        settings_fields: vec![
            FieldSpec::new("fit_file", "FIT file to sync", FieldKind::TEXT).required(),
        ]
        .into(),
        disclaimer: Disclaimer {
            version: 1,
            title: "Test".into(),
            markdown: "A plugin for tests.".into(),
        },
        default_interval_secs: 3600,
        min_interval_secs: 60,
    }
}

struct Frozen {
    fit_file: String,
}

fn value<'a>(inputs: &'a RVec<FieldValue>, key: &str) -> Option<&'a str> {
    inputs
        .iter()
        .find(|v| v.key == key)
        .map(|v| v.value.as_str())
}

fn stored(ctx: &ConnectionContext, key: &str) -> Result<String, PluginError> {
    match ctx.secrets.get(RStr::from(key)).into_result()? {
        abi_stable::std_types::RSome(v) => Ok(v.into()),
        abi_stable::std_types::RNone => Err(PluginError::invalid_credentials(format!(
            "no {key} stored; connect again"
        ))),
    }
}

fn caught<T>(body: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => ROk(v),
        Ok(Err(e)) => RErr(e),
        Err(_) => RErr(PluginError::internal("the frozen plugin panicked")),
    }
}

impl Frozen {
    fn connect(&self, ctx: &ConnectionContext, inputs: &RVec<FieldValue>) -> ConnectStep {
        let (Some(account), Some(token)) = (value(inputs, ACCOUNT_KEY), value(inputs, TOKEN_KEY))
        else {
            return ConnectStep::Failed(PluginError::invalid_credentials(
                "account and token are required",
            ));
        };
        if account.starts_with("slow-") {
            // For the host's login-cooldown tests: the service says "wait".
            return ConnectStep::Failed(PluginError::rate_limited(
                "the service asked us to wait",
                Some(600),
            ));
        }
        let put = |k: &str, v: &str| ctx.secrets.put(k.into(), v.into()).into_result();
        match put(ACCOUNT_KEY, account).and_then(|()| put(TOKEN_KEY, token)) {
            Ok(()) => ConnectStep::Done {
                account_id: account.into(),
                display_name: format!("frozen {account}").into(),
            },
            Err(e) => ConnectStep::Failed(e),
        }
    }

    fn sync_one(&self, ctx: &SyncContext) -> Result<SyncSummary, PluginError> {
        stored(&ctx.connection, TOKEN_KEY)?;
        let name = std::path::Path::new(&self.fit_file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let external_id = format!("frozen:{name}");
        let mut summary = SyncSummary {
            listed: 1,
            ..SyncSummary::default()
        };
        ctx.progress.set_total(1);
        if ctx
            .sink
            .contains(external_id.as_str().into())
            .into_result()?
        {
            summary.already_there += 1;
        } else {
            let bytes = std::fs::read(&self.fit_file).map_err(|e| {
                PluginError::permanent(format!("cannot read {}: {e}", self.fit_file))
            })?;
            let item = ImportItem {
                external_id: external_id.as_str().into(),
                file_name: name.as_str().into(),
                bytes: bytes.into(),
            };
            let outcome = ctx.sink.import(item).into_result()?;
            match ImportOutcome::from_abi(outcome) {
                Ok(ImportOutcome::Imported { .. }) => summary.imported += 1,
                Ok(ImportOutcome::Rejected { reason }) => summary.rejected.push(Rejection {
                    external_id: external_id.as_str().into(),
                    reason,
                }),
                // Duplicate, or an outcome from a newer host: either way held.
                Ok(_) | Err(_) => summary.already_there += 1,
            }
        }
        ctx.sink.commit("frozen-v1:done".into()).into_result()?;
        ctx.progress.advance(1, external_id.as_str().into());
        Ok(summary)
    }
}

impl Importer for Frozen {
    fn begin_connect(&self, ctx: ConnectionContext, inputs: RVec<FieldValue>) -> ConnectStep_NE {
        catch_unwind(AssertUnwindSafe(|| self.connect(&ctx, &inputs)))
            .unwrap_or_else(|_| ConnectStep::Failed(PluginError::internal("panicked")))
            .into()
    }
    fn continue_connect(
        &self,
        _: ConnectionContext,
        _: RString,
        _: RVec<FieldValue>,
    ) -> ConnectStep_NE {
        ConnectStep::Failed(PluginError::permanent("this plugin never asks for more")).into()
    }
    fn check(&self, ctx: ConnectionContext) -> RResult<AccountInfo, PluginError> {
        caught(|| {
            let account = stored(&ctx, ACCOUNT_KEY)?;
            Ok(AccountInfo {
                display_name: format!("frozen {account}").into(),
                account_id: account.into(),
            })
        })
    }
    fn sync(&self, ctx: SyncContext, _: SyncRequest) -> RResult<SyncSummary, PluginError> {
        caught(|| self.sync_one(&ctx))
    }
    fn disconnect(&self, ctx: ConnectionContext) -> RResult<(), PluginError> {
        caught(|| {
            for key in [ACCOUNT_KEY, TOKEN_KEY] {
                ctx.secrets.delete(key.into()).into_result()?;
            }
            Ok(())
        })
    }
}

fn create(init: HostInit) -> Result<ImporterBox, PluginError> {
    let settings: serde_json::Value = serde_json::from_str(&init.settings_json)
        .map_err(|e| PluginError::permanent(format!("settings are not JSON: {e}")))?;
    let fit_file = settings
        .get("fit_file")
        .and_then(|v| v.as_str())
        .ok_or_else(|| PluginError::permanent("setting fit_file is missing"))?
        .to_string();
    Ok(Importer_TO::from_value(Frozen { fit_file }, TD_Opaque))
}

extern "C" fn guarded_descriptor() -> RResult<PluginDescriptor, PluginError> {
    caught(|| Ok(descriptor()))
}

extern "C" fn guarded_create(init: HostInit) -> RResult<ImporterBox, PluginError> {
    caught(|| create(init))
}

/// The root module, exported the way API level 1 did it.
#[export_root_module]
pub fn root_module() -> PluginModule_Ref {
    PluginModule {
        descriptor: guarded_descriptor,
        create: guarded_create,
    }
    .leak_into_prefix()
}
