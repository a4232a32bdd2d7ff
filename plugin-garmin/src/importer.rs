//! The Garmin importer: a plain [`ImporterPlugin`] whose methods hand over to
//! `connect`, `api` or `sync`. The kit's adapter applies the panic guard, the
//! instance's runtime and the log bridge around every method, and converts
//! to and from the host-api types.

use crate::api::Api;
use crate::budget::Budget;
use crate::clock::Clock;
use crate::connect::{self, PendingFlows};
use crate::settings::Settings;
use crate::shared::Shared;
use crate::sync;
use crate::tokens::Vault;
use bincio_plugin_kit::{
    Account, Connection, ImporterPlugin, Init, Inputs, Request, Step, Summary, SyncRun,
};
use host_api::{PluginError, RequestBudget, SyncRequest};

pub struct GarminImporter {
    shared: Shared,
    flows: PendingFlows,
}

impl GarminImporter {
    /// An importer whose "now" is `clock` (tests follow the emulator's
    /// virtual clock with it). Runs inside the instance's runtime context
    /// (the kit's adapter guarantees it), where reqwest's client is built.
    pub fn with_clock(init: &Init, clock: Clock) -> Result<Self, PluginError> {
        let settings = Settings::from_json(&init.settings_json)?;
        let mut shared = Shared::new(settings, clock).map_err(|e| e.into_plugin_error())?;
        shared.budget = Budget::new(init.request_gate.clone());
        Ok(Self {
            shared,
            flows: PendingFlows::default(),
        })
    }

    /// Logins waiting for an MFA code (for tests and diagnostics).
    pub fn pending_flows(&self) -> usize {
        self.flows.len()
    }
}

impl ImporterPlugin for GarminImporter {
    const REQUEST_BUDGET: Option<RequestBudget> = Some(crate::budget::REQUEST_BUDGET);

    fn new(init: Init) -> Result<Self, PluginError> {
        Self::with_clock(&init, Clock::system())
    }

    async fn begin_connect(&self, ctx: &Connection, inputs: &Inputs) -> Step {
        connect::begin(&self.shared, &self.flows, ctx, inputs).await
    }

    async fn continue_connect(&self, ctx: &Connection, flow_id: &str, inputs: &Inputs) -> Step {
        connect::resume(&self.shared, &self.flows, ctx, flow_id, inputs).await
    }

    async fn check(&self, ctx: &Connection) -> Result<Account, PluginError> {
        let vault = Vault::new(ctx.secrets().host_api().clone());
        let profile = async {
            let session = self
                .shared
                .open_session(ctx.id(), vault, ctx.cancel_service())?;
            Api::new(session)
                .with_budget(self.shared.budget.clone())
                .profile()
                .await
        }
        .await;
        match profile {
            Ok(p) => Ok(Account {
                account_id: p.account_id,
                display_name: p.display_name,
            }),
            Err(e) => {
                tracing::warn!(target: "garmin::check", "check failed: {e}");
                Err(e.into_plugin_error())
            }
        }
    }

    async fn sync(&self, ctx: &SyncRun, request: &Request) -> Result<Summary, PluginError> {
        sync::run(&self.shared, ctx.host_api(), &SyncRequest::from(request))
            .await
            .map(Summary::from)
    }

    async fn disconnect(&self, ctx: &Connection) -> Result<(), PluginError> {
        self.flows.drop_connection(ctx.id());
        self.shared.forget(ctx.id());
        Vault::new(ctx.secrets().host_api().clone())
            .forget_all()
            .map_err(|e| e.into_plugin_error())?;
        tracing::info!(target: "garmin::connect", "disconnected; stored credentials and tokens deleted");
        Ok(())
    }
}
