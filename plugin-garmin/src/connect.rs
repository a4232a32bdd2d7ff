//! Connecting an account: a password login (maybe with an MFA step) or a
//! token file, ending with the tokens stored and the profile read.
//!
//! A login waiting for its MFA code is kept in [`PendingFlows`], in memory
//! only, keyed by a random flow id, for `mfa_flow_timeout_secs`.

use crate::api::{Api, Profile};
use crate::auth::{self, Credential};
use crate::descriptor::{fields, mfa_field};
use crate::errors::{GarminError, Result};
use crate::login::{self, SignedIn, Step};
use crate::mfa::{PendingMfa, Verdict};
use crate::settings::Strategy;
use crate::shared::{cancel_fn, Shared};
use crate::tokens::{keys, Tokens, Vault};
use bincio_plugin_kit::{Account, Connection, InputError, Inputs, Step as ConnectStep};
use host_api::PluginError;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest a login waits for its MFA code, whatever the setting says.
const MAX_FLOW_SECS: u64 = 24 * 3600;

/// Wrong codes accepted before the flow is dropped.
const MAX_CODE_ATTEMPTS: u32 = 5;

struct PendingFlow {
    connection_id: String,
    email: String,
    password: String,
    mfa: PendingMfa,
    expires_at: Instant,
    attempts: u32,
}

/// Logins waiting for an MFA code.
#[derive(Default)]
pub struct PendingFlows {
    flows: Mutex<HashMap<String, PendingFlow>>,
}

impl PendingFlows {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingFlow>> {
        self.flows.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, flow: PendingFlow) -> String {
        let id = format!("{:032x}", rand::thread_rng().gen::<u128>());
        self.lock().insert(id.clone(), flow);
        id
    }

    /// Takes the flow out (so no lock is held across the verify request);
    /// expired flows are dropped on the way.
    fn take(&self, flow_id: &str, connection_id: &str) -> Option<PendingFlow> {
        let mut flows = self.lock();
        let now = Instant::now();
        flows.retain(|_, f| f.expires_at > now);
        match flows.get(flow_id) {
            Some(f) if f.connection_id == connection_id => flows.remove(flow_id),
            _ => None,
        }
    }

    fn put_back(&self, flow_id: &str, flow: PendingFlow) {
        self.lock().insert(flow_id.to_string(), flow);
    }

    pub fn drop_connection(&self, connection_id: &str) {
        self.lock().retain(|_, f| f.connection_id != connection_id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub async fn begin(
    shared: &Shared,
    flows: &PendingFlows,
    ctx: &Connection,
    inputs: &Inputs,
) -> ConnectStep {
    // A new attempt replaces any sign-in of this connection still waiting.
    flows.drop_connection(ctx.id());
    let vault = Vault::new(ctx.secrets().host_api().clone());
    if let Some(file) = inputs.get(fields::TOKEN_FILE) {
        return import_tokens(shared, ctx, &vault, file, inputs).await;
    }
    let (Some(email), Some(password)) = (inputs.get(fields::EMAIL), inputs.get(fields::PASSWORD))
    else {
        return ConnectStep::Failed(PluginError::invalid_credentials(
            "Enter your Garmin Connect email and password, or the contents of a token file.",
        ));
    };
    if let Err(e) = vault.record_password_login(shared.clock.now()) {
        return failed(e);
    }
    let cancelled = cancel_fn(ctx.cancel_service());
    let mut refused: Vec<Strategy> = Vec::new();
    loop {
        let outcome = login::password_login(
            &shared.settings,
            &shared.clock,
            &*cancelled,
            email,
            password,
            &refused,
        )
        .await;
        match outcome {
            Ok((strategy, Step::Ticket(signed_in))) => {
                match finish(shared, ctx, &vault, email, password, &signed_in).await {
                    // The reference's verification: tokens the API refuses
                    // (401/403 on the profile) mean the next strategy.
                    Err(e) if refused_by_api(&e) => {
                        tracing::warn!(target: "garmin::connect", strategy = login::name(strategy), "the API refused this login's tokens ({e}); trying the next strategy");
                        refused.push(strategy);
                        if refused.len()
                            >= shared.settings.strategies().map(|s| s.len()).unwrap_or(0)
                        {
                            return failed(e);
                        }
                    }
                    Err(e) => return failed(e),
                    Ok(profile) => return done(profile),
                }
            }
            Ok((_, Step::Mfa(mfa))) => return pending(shared, flows, ctx, email, password, mfa),
            Err(e) => return failed(e),
        }
    }
}

/// A 401 or 403 from the profile call that proves fresh tokens.
fn refused_by_api(error: &GarminError) -> bool {
    match error {
        GarminError::Unauthorized { .. } => true,
        GarminError::Transient { endpoint, detail } => {
            endpoint == crate::api::PROFILE && detail.starts_with("HTTP 403")
        }
        _ => false,
    }
}

/// A login waiting for its MFA code: kept, and the code asked for.
fn pending(
    shared: &Shared,
    flows: &PendingFlows,
    ctx: &Connection,
    email: &str,
    password: &str,
    mfa: PendingMfa,
) -> ConnectStep {
    let flow_id = flows.insert(PendingFlow {
        connection_id: ctx.id().to_string(),
        email: email.to_string(),
        password: password.to_string(),
        mfa,
        expires_at: flow_deadline(Instant::now(), shared.settings.mfa_flow_timeout_secs),
        attempts: 0,
    });
    need_code(flow_id, Vec::new())
}

pub async fn resume(
    shared: &Shared,
    flows: &PendingFlows,
    ctx: &Connection,
    flow_id: &str,
    inputs: &Inputs,
) -> ConnectStep {
    let Some(mut flow) = flows.take(flow_id, ctx.id()) else {
        return ConnectStep::Failed(PluginError::needs_user_action(
            "This sign-in has expired (or the server restarted). Start connecting again; Garmin will send a new code.",
        ));
    };
    let Some(code) = inputs.get(fields::MFA_CODE).map(str::to_string) else {
        flows.put_back(flow_id, flow);
        return need_code(
            flow_id.to_string(),
            vec![code_error("Enter the code Garmin sent you.")],
        );
    };
    flow.attempts += 1;
    match flow.mfa.verify(&shared.settings, &shared.clock, &code).await {
        Ok(Verdict::Ticket(ticket)) => {
            let vault = Vault::new(ctx.secrets().host_api().clone());
            let signed_in = SignedIn {
                ticket,
                session: flow.mfa.session(),
            };
            match finish(shared, ctx, &vault, &flow.email, &flow.password, &signed_in).await {
                Ok(profile) => done(profile),
                Err(e) => failed(e),
            }
        }
        Ok(Verdict::WrongCode) if flow.attempts >= MAX_CODE_ATTEMPTS => ConnectStep::Failed(PluginError::invalid_credentials(
            "Garmin refused the MFA code too many times. Start connecting again to get a new code.",
        )),
        Ok(Verdict::WrongCode) => {
            tracing::info!(target: "garmin::connect", attempt = flow.attempts, "Garmin refused the MFA code");
            flows.put_back(flow_id, flow);
            need_code(
                flow_id.to_string(),
                vec![code_error("Garmin did not accept this code. Check it (codes expire after a few minutes) and try again.")],
            )
        }
        // Garmin could not judge the code (rate limit, 5xx, a challenge): the
        // login keeps waiting, and the try does not count against the code.
        Err(e) if crate::mfa::is_passing(&e) => {
            tracing::warn!(target: "garmin::connect", "the MFA code could not be checked: {e}");
            flow.attempts -= 1;
            flows.put_back(flow_id, flow);
            need_code(
                flow_id.to_string(),
                vec![code_error("Garmin could not check the code just now. Wait a moment and enter it again (or the newest code Garmin sent).")],
            )
        }
        Err(e) => failed(e),
    }
}

/// When a flow started `now` expires: at most [`MAX_FLOW_SECS`] later (a
/// login cannot wait longer for its code, and an absurd setting must not
/// overflow the clock).
fn flow_deadline(now: Instant, timeout_secs: u64) -> Instant {
    now.checked_add(Duration::from_secs(timeout_secs.min(MAX_FLOW_SECS)))
        .unwrap_or(now)
}

fn need_code(flow_id: String, errors: Vec<InputError>) -> ConnectStep {
    ConnectStep::NeedInput {
        flow_id,
        message: "Garmin sent a one-time code (by e-mail or text message, or in your authenticator app). Enter it to finish connecting.".into(),
        fields: vec![mfa_field()],
        errors,
    }
}

fn code_error(message: &str) -> InputError {
    InputError {
        key: fields::MFA_CODE.into(),
        message: message.into(),
    }
}

fn failed(error: GarminError) -> ConnectStep {
    tracing::warn!(target: "garmin::connect", "connect failed: {error}");
    ConnectStep::Failed(error.into_plugin_error())
}

/// A fresh login's ticket: tokens (or the `JWT_WEB` cookie), profile, then everything stored.
async fn finish(
    shared: &Shared,
    ctx: &Connection,
    vault: &Vault,
    email: &str,
    password: &str,
    signed_in: &SignedIn,
) -> Result<Profile> {
    let credential = auth::credential_for(
        &shared.di_client,
        &shared.settings,
        &shared.clock,
        signed_in,
    )
    .await?;
    validate_and_store(shared, ctx, vault, credential, Some(email), Some(password)).await
}

async fn import_tokens(
    shared: &Shared,
    ctx: &Connection,
    vault: &Vault,
    file: &str,
    inputs: &Inputs,
) -> ConnectStep {
    let tokens = match Tokens::from_file_text(file) {
        Ok(tokens) => tokens,
        Err(e) => {
            return ConnectStep::Failed(PluginError::invalid_credentials(format!(
                "The token file cannot be used: {e}."
            )))
        }
    };
    tracing::info!(target: "garmin::connect", "connecting with an imported token file");
    match validate_and_store(shared, ctx, vault, Credential::Di(tokens), inputs.get(fields::EMAIL), inputs.get(fields::PASSWORD)).await {
        Ok(profile) => done(profile),
        Err(GarminError::TokensDead { detail }) => ConnectStep::Failed(
            PluginError::invalid_credentials(
                "The tokens in this file have expired or were revoked. Make a fresh token file (log in with python-garminconnect again) and connect with it.",
            )
            .with_detail(detail),
        ),
        Err(e) => failed(e),
    }
}

/// Stores `credential` (DI tokens; a `JWT_WEB` cookie only once proved, and in memory),
/// proves it with the profile (refreshing tokens that expire soon), then keeps the
/// credentials. On failure the previously stored tokens are put back.
async fn validate_and_store(
    shared: &Shared,
    ctx: &Connection,
    vault: &Vault,
    credential: Credential,
    email: Option<&str>,
    password: Option<&str>,
) -> Result<Profile> {
    let previous = vault.get(keys::TOKENS)?;
    if let Credential::Di(tokens) = &credential {
        vault.save_tokens(tokens)?;
    }
    let keeper = shared.keeper(ctx.id(), vault.clone());
    let session = shared
        .session_with(keeper.clone(), ctx.cancel_service(), Some(credential))
        .without_relogin();
    let mut api = Api::new(session);
    let profile = match api.profile().await {
        Ok(profile) => profile,
        Err(e) => {
            let restored = match previous {
                Some(previous) => vault.put(keys::TOKENS, &previous),
                None => vault.delete(keys::TOKENS),
            };
            restored?;
            return Err(e);
        }
    };
    // The credential that proved itself (a refresh may have replaced the tokens).
    if let Some(proved) = api.session.credential() {
        keeper.keep(proved)?;
    }
    if let Some(email) = email {
        vault.put(keys::EMAIL, email)?;
    }
    if let Some(password) = password {
        vault.put(keys::PASSWORD, password)?;
    }
    tracing::info!(target: "garmin::connect", account = %profile.account_id, "connected");
    Ok(profile)
}

fn done(profile: Profile) -> ConnectStep {
    ConnectStep::Done(Account {
        account_id: profile.account_id,
        display_name: profile.display_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso_endpoints::JsonFlow;

    fn flow(connection: &str, expires_in: Duration, expired: bool) -> PendingFlow {
        let now = Instant::now();
        PendingFlow {
            connection_id: connection.into(),
            email: "e".into(),
            password: "p".into(),
            mfa: PendingMfa::json(
                crate::browser::Client::new(),
                JsonFlow::Mobile,
                "email".into(),
            ),
            expires_at: if expired {
                now - expires_in
            } else {
                now + expires_in
            },
            attempts: 0,
        }
    }

    #[test]
    fn a_flow_is_found_only_by_its_connection_and_only_in_time() {
        let flows = PendingFlows::default();
        let id = flows.insert(flow("c1", Duration::from_secs(600), false));
        assert!(
            flows.take(&id, "c2").is_none(),
            "another connection cannot take it"
        );
        let taken = flows.take(&id, "c1").expect("in time");
        assert!(flows.take(&id, "c1").is_none(), "taken out while verifying");
        flows.put_back(&id, taken);
        assert_eq!(flows.len(), 1);

        let old = flows.insert(flow("c1", Duration::from_secs(1), true));
        assert!(flows.take(&old, "c1").is_none(), "expired");
        assert_eq!(flows.len(), 1, "expired flows are dropped");
        flows.drop_connection("c1");
        assert!(flows.is_empty());
    }

    #[test]
    fn an_absurd_flow_timeout_is_clamped_to_a_day() {
        let now = Instant::now();
        assert_eq!(
            flow_deadline(now, u64::MAX),
            now + Duration::from_secs(MAX_FLOW_SECS)
        );
        assert_eq!(flow_deadline(now, 600), now + Duration::from_secs(600));
    }

    #[test]
    fn flow_ids_are_random_and_long() {
        let flows = PendingFlows::default();
        let a = flows.insert(flow("c", Duration::from_secs(60), false));
        let b = flows.insert(flow("c", Duration::from_secs(60), false));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
    }
}
