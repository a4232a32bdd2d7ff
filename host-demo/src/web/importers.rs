//! The importer card's operations, shared by the pages and the JSON API:
//! which of a user's connections the card shows, its status, connecting
//! (with the MFA step held in [`super::flows`]), "Sync now" through the
//! scheduler (one run per connection), and disconnecting. Every call acts
//! for the signed-in user through the host's user-scoped entry points.

use super::error::WebError;
use super::flows::{PendingFlow, FLOW_TTL_SECS};
use super::state::AppState;
use crate::host::{ConnectOutcome, ConnectionStatusReport, DisclaimerState};
use crate::plugins::{Descriptor, Field};
use crate::scheduler::RunNow;
use bincio_state::{Connection, ConnectionId, ConnectionStatus, SecretString, UserHandle};

/// The Garmin plugin: the JSON API's `/api/garmin/*` act on it.
pub const GARMIN: &str = "dev.bincio.garmin";

/// The plugin's descriptor, if it is enabled and loaded.
pub fn descriptor(state: &AppState, plugin_id: &str) -> Result<Descriptor, WebError> {
    let (_, plugin) = state
        .host
        .manager
        .loaded(plugin_id)
        .map_err(|_| WebError::NotFound(format!("no enabled importer {plugin_id:?}")))?;
    Ok(plugin.descriptor.clone())
}

/// Every enabled and loaded importer, by id.
pub fn enabled(state: &AppState) -> Vec<Descriptor> {
    state
        .host
        .manager
        .enabled_and_loaded()
        .map(|(_, p)| p.descriptor.clone())
        .collect()
}

/// The connection the card shows: the user's newest of that plugin that is
/// not disconnected or half made.
pub fn current_connection(
    state: &AppState,
    user: &UserHandle,
    plugin_id: &str,
) -> Result<Option<Connection>, WebError> {
    Ok(state
        .host
        .db
        .connections_of(user)?
        .into_iter()
        .filter(|c| c.plugin_id == plugin_id)
        .filter(|c| {
            !matches!(
                c.status,
                ConnectionStatus::Disconnected | ConnectionStatus::Pending
            )
        })
        .max_by_key(|c| c.created_at))
}

/// What the card shows.
pub struct Card {
    pub descriptor: Descriptor,
    pub disclaimer: DisclaimerState,
    pub report: Option<ConnectionStatusReport>,
    pub running: bool,
}

pub fn card(state: &AppState, user: &UserHandle, plugin_id: &str) -> Result<Card, WebError> {
    let descriptor = descriptor(state, plugin_id)?;
    let disclaimer = state.host.disclaimer_state_for(user, plugin_id)?;
    let current = current_connection(state, user, plugin_id)?;
    let report = match &current {
        Some(c) => state
            .host
            .status_of(user)?
            .into_iter()
            .find(|r| r.connection.id == c.id),
        None => None,
    };
    let running = current
        .as_ref()
        .is_some_and(|c| state.scheduler.is_running(&c.id));
    Ok(Card {
        descriptor,
        disclaimer,
        report,
        running,
    })
}

/// What needs the user, in the page's words (the host's name CLI
/// commands), or `None`.
pub fn attention(state: &AppState, report: &ConnectionStatusReport) -> Option<String> {
    let c = &report.connection;
    match c.status {
        ConnectionStatus::NeedsUser => Some(format!(
            "{}. Connect again to fix it.",
            c.status_message
                .as_deref()
                .unwrap_or("The login needs you")
                .trim_end_matches('.')
        )),
        ConnectionStatus::Pending => Some("The connect flow was not finished.".into()),
        ConnectionStatus::Disconnected | ConnectionStatus::Paused => None,
        ConnectionStatus::Active => {
            if state.host.manager.loaded(&c.plugin_id).is_err() {
                return Some(
                    "This importer is not available on the server now; an admin can say why."
                        .into(),
                );
            }
            match state.host.disclaimer_state_for(&c.user, &c.plugin_id) {
                Ok(DisclaimerState::Accepted) => {}
                Ok(_) => {
                    return Some(
                        "The disclaimer changed: read and accept it again to go on syncing.".into(),
                    )
                }
                Err(_) => return report.attention.clone(),
            }
            report.cooldown_until.map(|until| {
                format!(
                    "Rate limited by the service: no sync before {}.",
                    crate::host::format_time(until)
                )
            })
        }
    }
}

/// Where a connect attempt stands.
pub enum Step {
    Connected {
        connection: ConnectionId,
        display_name: String,
    },
    /// The plugin asks for more (an MFA code): answer with `token`.
    NeedInput(String, PendingFlow),
}

/// Starts connecting `user`'s account with the values they gave.
pub fn begin(
    state: &AppState,
    user: &UserHandle,
    plugin_id: &str,
    inputs: Vec<(String, SecretString)>,
) -> Result<Step, WebError> {
    let outcome = state.host.begin_connect_for(user, plugin_id, inputs)?;
    hold(state, user, plugin_id, outcome)
}

/// Answers a held step (the MFA code).
pub fn answer(
    state: &AppState,
    user: &UserHandle,
    token: &str,
    inputs: Vec<(String, SecretString)>,
) -> Result<Step, WebError> {
    let now = state.host.now();
    let (flow, expired) = state.flows.take(token, user, now);
    drop_flows(state, expired);
    let flow = flow.ok_or_else(|| {
        WebError::BadRequest(
            "this sign-in step is unknown or expired; start connecting again".into(),
        )
    })?;
    let outcome = state
        .host
        .continue_connect_for(user, &flow.connection, &flow.flow_id, inputs);
    match outcome {
        Ok(outcome) => hold(state, user, &flow.plugin_id, outcome),
        Err(e) => {
            // The host dropped the pending connection on a plugin failure;
            // anything else leaves it to drop here.
            let _ = state.host.abandon_connect_for(user, &flow.connection);
            Err(e.into())
        }
    }
}

fn hold(
    state: &AppState,
    user: &UserHandle,
    plugin_id: &str,
    outcome: ConnectOutcome,
) -> Result<Step, WebError> {
    match outcome {
        ConnectOutcome::Connected {
            connection,
            display_name,
            ..
        } => Ok(Step::Connected {
            connection,
            display_name,
        }),
        ConnectOutcome::NeedInput {
            connection,
            flow_id,
            message,
            fields,
            errors,
        } => {
            let now = state.host.now();
            let flow = PendingFlow {
                user: user.clone(),
                plugin_id: plugin_id.to_string(),
                connection,
                flow_id,
                message,
                fields,
                errors,
                expires_at: now.saturating_add(FLOW_TTL_SECS),
            };
            let token = super::auth::random_token();
            let gone = state.flows.insert(token.clone(), flow.clone(), now);
            drop_flows(state, gone);
            Ok(Step::NeedInput(token, flow))
        }
    }
}

fn drop_flows(state: &AppState, flows: Vec<PendingFlow>) {
    for flow in flows {
        if let Err(e) = state.host.abandon_connect_for(&flow.user, &flow.connection) {
            tracing::warn!(target: "web::connect", connection = %flow.connection, "cannot drop an expired connect flow: {e}");
        }
    }
}

/// The values of a connect form, by the plugin's fields: only declared
/// keys, empty optional ones left out, required ones present.
pub fn inputs_for(
    fields: &[Field],
    mut value: impl FnMut(&str) -> Option<String>,
) -> Result<Vec<(String, SecretString)>, WebError> {
    let mut inputs = Vec::new();
    let token_given = fields.iter().any(|f| {
        f.kind == crate::plugins::Kind::SecretFile
            && value(&f.key).is_some_and(|v| !v.trim().is_empty())
    });
    for field in fields {
        if field.kind == crate::plugins::Kind::OneTimeCode {
            continue; // answered when the plugin asks
        }
        let given = value(&field.key).filter(|v| !v.is_empty());
        match given {
            Some(v) => inputs.push((field.key.clone(), SecretString::new(v))),
            // A token file replaces the password.
            None if field.required
                && !(token_given && field.kind == crate::plugins::Kind::Secret) =>
            {
                return Err(WebError::BadRequest(format!("{} is required", field.label)));
            }
            None => {}
        }
    }
    Ok(inputs)
}

/// "Sync now": starts a run of the user's connection through the scheduler,
/// or joins the one going. Refused up front when it could not run.
pub fn sync_now(
    state: &AppState,
    user: &UserHandle,
    plugin_id: &str,
) -> Result<(ConnectionId, RunNow), WebError> {
    let connection = current_connection(state, user, plugin_id)?
        .ok_or_else(|| WebError::Conflict("connect an account first".into()))?;
    let connection = state.host.owned_connection(user, connection.id.as_str())?;
    if connection.status != ConnectionStatus::Active {
        return Err(WebError::Conflict(
            connection
                .status_message
                .unwrap_or_else(|| format!("the connection is {}", connection.status)),
        ));
    }
    if let Err(e) = state.host.require_disclaimer(user, plugin_id) {
        return Err(e.into());
    }
    let started = state.scheduler.run_now(&connection.id)?;
    Ok((connection.id, started))
}

/// Disconnects the user's connection of the plugin.
pub fn disconnect(
    state: &AppState,
    user: &UserHandle,
    plugin_id: &str,
) -> Result<Option<usize>, WebError> {
    let Some(connection) = current_connection(state, user, plugin_id)? else {
        return Ok(None);
    };
    let done = state.host.disconnect_for(user, connection.id.as_str())?;
    if let Some(w) = &done.plugin_warning {
        tracing::warn!(target: "web::disconnect", connection = %connection.id, "the plugin's own cleanup failed: {}", w.user_message);
    }
    Ok(Some(done.secrets_deleted))
}
