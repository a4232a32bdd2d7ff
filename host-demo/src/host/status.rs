//! `status`: each connection with its account, last run and outcome, next
//! run, and what needs the user's attention.

use super::{format_utc, Host, HostError};
use bincio_state::{Connection, ConnectionStatus, CooldownScope, SyncRun, UserHandle};

#[derive(Debug)]
pub struct ConnectionStatusReport {
    pub connection: Connection,
    /// When the report was made.
    pub now: i64,
    pub last_run: Option<SyncRun>,
    pub next_run_at: Option<i64>,
    pub cooldown_until: Option<i64>,
    /// What the user must do, if anything.
    pub attention: Option<String>,
}

impl ConnectionStatusReport {
    pub fn next_run_text(&self) -> String {
        match (self.connection.status, self.next_run_at) {
            (ConnectionStatus::Active, Some(at)) if at <= self.now => "due now".into(),
            (ConnectionStatus::Active, Some(at)) => format_utc(at),
            (ConnectionStatus::Active, None) => "at the next scheduler start".into(),
            _ => "-".into(),
        }
    }
}

impl Host {
    /// This host's user's connections.
    pub fn status(&self) -> Result<Vec<ConnectionStatusReport>, HostError> {
        self.status_of(&self.user())
    }

    /// `user`'s connections.
    pub fn status_of(&self, user: &UserHandle) -> Result<Vec<ConnectionStatusReport>, HostError> {
        self.reports(self.db.connections_of(user)?)
    }

    /// Every user's connections (the admin view), in user order.
    pub fn status_all(&self) -> Result<Vec<ConnectionStatusReport>, HostError> {
        let mut all = self.db.connections()?;
        all.sort_by(|a, b| a.user.cmp(&b.user));
        self.reports(all)
    }

    fn reports(
        &self,
        connections: Vec<Connection>,
    ) -> Result<Vec<ConnectionStatusReport>, HostError> {
        let now = self.now();
        let mut reports = Vec::new();
        for connection in connections {
            let id = connection.id.clone();
            let last_run = self.db.last_run(&id)?;
            let cooldown_until = self
                .active_cooldown(&CooldownScope::Connection(id.clone()))?
                .map(|c| c.until);
            // A run is not due before its cooldown ends, whatever the schedule says.
            let next_run_at = self
                .db
                .schedule(&id)?
                .map(|s| s.next_run_at.max(cooldown_until.unwrap_or(i64::MIN)))
                .or(cooldown_until);
            let attention = self.attention(&connection, cooldown_until);
            reports.push(ConnectionStatusReport {
                connection,
                now,
                last_run,
                next_run_at,
                cooldown_until,
                attention,
            });
        }
        Ok(reports)
    }

    fn attention(&self, c: &Connection, cooldown_until: Option<i64>) -> Option<String> {
        match c.status {
            ConnectionStatus::NeedsUser => Some(format!(
                "{}; run `host-demo connect {}` again",
                c.status_message.as_deref().unwrap_or("the login needs you"),
                c.plugin_id
            )),
            ConnectionStatus::Pending => Some("the connect flow was not finished".into()),
            ConnectionStatus::Disconnected | ConnectionStatus::Paused => None,
            ConnectionStatus::Active => {
                if let Err(e) = self.manager.loaded(&c.plugin_id) {
                    return Some(e.to_string());
                }
                if let Err(e) = self.require_disclaimer(&c.user, &c.plugin_id) {
                    return Some(e.to_string());
                }
                cooldown_until.map(|until| {
                    format!(
                        "rate limited by the service: waiting until {}",
                        format_utc(until)
                    )
                })
            }
        }
    }
}
