//! The Garmin importer object the host drives. Each method is a thin edge:
//! it runs inside the panic guard, on the plugin's runtime (so its logs reach
//! the host), converts abi_stable types, and hands over to `connect`,
//! `api`, or `sync`.

use crate::api::Api;
use crate::clock::Clock;
use crate::connect::{self, Inputs, PendingFlows};
use crate::settings::Settings;
use crate::shared::Shared;
use crate::sync;
use crate::tokens::Vault;
use abi_stable::std_types::{RErr, ROk, RResult, RString, RVec};
use bincio_plugin_kit::{guard, guard_step, PluginRuntime};
use host_api::{
    AccountInfo, ConnectStep, ConnectionContext, FieldValue, HostInit, Importer, PluginError,
    RequestGateBox, SyncContext, SyncRequest, SyncSummary,
};

pub struct GarminImporter {
    shared: Shared,
    flows: PendingFlows,
    runtime: PluginRuntime,
}

impl GarminImporter {
    pub fn new(init: HostInit) -> Result<Self, PluginError> {
        Self::with_clock(init, Clock::system())
    }

    /// An importer whose "now" is `clock` (tests follow the emulator's
    /// virtual clock with it).
    /// An importer that asks the host's request gate before each connectapi
    /// request (`None`: no budget, as with a host that lends none).
    pub fn with_gate(init: HostInit, gate: Option<RequestGateBox>) -> Result<Self, PluginError> {
        let mut importer = Self::with_clock(init, Clock::system())?;
        importer.shared.gate = gate;
        Ok(importer)
    }

    pub fn with_clock(init: HostInit, clock: Clock) -> Result<Self, PluginError> {
        let settings = Settings::from_json(&init.settings_json)?;
        let runtime = PluginRuntime::new(init.logger, 2).map_err(|e| {
            PluginError::internal("could not start the Garmin plugin's runtime")
                .with_detail(e.to_string())
        })?;
        // reqwest's client must be built inside the runtime's context.
        let shared = runtime
            .block_on(async { Shared::new(settings, clock) })
            .map_err(|e| e.into_plugin_error())?;
        Ok(Self {
            shared,
            flows: PendingFlows::default(),
            runtime,
        })
    }

    /// Logins waiting for an MFA code (for tests and diagnostics).
    pub fn pending_flows(&self) -> usize {
        self.flows.len()
    }
}

impl Importer for GarminImporter {
    fn begin_connect(&self, ctx: ConnectionContext, inputs: RVec<FieldValue>) -> ConnectStep {
        guard_step(|| {
            self.runtime.block_on(connect::begin(
                &self.shared,
                &self.flows,
                &ctx,
                Inputs::new(&inputs),
            ))
        })
    }

    fn continue_connect(
        &self,
        ctx: ConnectionContext,
        flow_id: RString,
        inputs: RVec<FieldValue>,
    ) -> ConnectStep {
        guard_step(|| {
            self.runtime.block_on(connect::resume(
                &self.shared,
                &self.flows,
                &ctx,
                &flow_id,
                Inputs::new(&inputs),
            ))
        })
    }

    fn check(&self, ctx: ConnectionContext) -> RResult<AccountInfo, PluginError> {
        guard(|| {
            self.runtime.block_on(async {
                let vault = Vault::new(ctx.secrets.clone());
                let profile = async {
                    let session =
                        self.shared
                            .open_session(&ctx.connection_id, vault, &ctx.cancel)?;
                    Api::new(session)
                        .with_gate(self.shared.gate.clone())
                        .profile()
                        .await
                }
                .await;
                match profile {
                    Ok(p) => ROk(AccountInfo {
                        account_id: p.account_id.into(),
                        display_name: p.display_name.into(),
                    }),
                    Err(e) => {
                        tracing::warn!(target: "garmin::check", "check failed: {e}");
                        RErr(e.into_plugin_error())
                    }
                }
            })
        })
    }

    fn sync(&self, ctx: SyncContext, request: SyncRequest) -> RResult<SyncSummary, PluginError> {
        guard(|| {
            self.runtime.block_on(async {
                match sync::run(&self.shared, &ctx, &request).await {
                    Ok(summary) => ROk(summary),
                    Err(e) => RErr(e),
                }
            })
        })
    }

    fn disconnect(&self, ctx: ConnectionContext) -> RResult<(), PluginError> {
        guard(|| {
            self.runtime.with_logs(|| {
                self.flows.drop_connection(&ctx.connection_id);
                self.shared.forget(&ctx.connection_id);
                match Vault::new(ctx.secrets.clone()).forget_all() {
                    Ok(()) => {
                        tracing::info!(target: "garmin::connect", "disconnected; stored credentials and tokens deleted");
                        ROk(())
                    }
                    Err(e) => RErr(e.into_plugin_error()),
                }
            })
        })
    }
}
