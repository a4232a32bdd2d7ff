//! Connect flows waiting for the user (an MFA code): held in memory under a
//! random token that only their user can continue, for
//! [`FLOW_TTL_SECS`]; at most [`MAX_FLOWS`] at once. An expired or evicted
//! flow is handed back so its pending connection is dropped.

use crate::plugins::Field;
use bincio_state::{ConnectionId, UserHandle};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long an MFA step waits for its code.
pub const FLOW_TTL_SECS: i64 = 10 * 60;
/// The most flows waiting at once, across users.
pub const MAX_FLOWS: usize = 1_000;

#[derive(Debug, Clone)]
pub struct PendingFlow {
    pub user: UserHandle,
    pub plugin_id: String,
    pub connection: ConnectionId,
    pub flow_id: String,
    pub message: String,
    pub fields: Vec<Field>,
    pub errors: Vec<(String, String)>,
    pub expires_at: i64,
}

#[derive(Default)]
pub struct ConnectFlows {
    flows: Mutex<HashMap<String, PendingFlow>>,
}

impl ConnectFlows {
    /// Holds `flow` under `token`; answers the flows that expired or had to
    /// make room.
    pub fn insert(&self, token: String, flow: PendingFlow, now: i64) -> Vec<PendingFlow> {
        let mut flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        let mut gone = take_expired(&mut flows, now);
        while flows.len() >= MAX_FLOWS {
            let Some(oldest) = flows
                .iter()
                .min_by_key(|(_, f)| f.expires_at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            gone.extend(flows.remove(&oldest));
        }
        flows.insert(token, flow);
        gone
    }

    /// The flow under `token` if it is `user`'s and not expired (it is
    /// taken out: a step is answered once), and the expired ones.
    pub fn take(
        &self,
        token: &str,
        user: &UserHandle,
        now: i64,
    ) -> (Option<PendingFlow>, Vec<PendingFlow>) {
        let mut flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        let gone = take_expired(&mut flows, now);
        let found = match flows.get(token) {
            Some(f) if f.user == *user => flows.remove(token),
            _ => None,
        };
        (found, gone)
    }

    /// `user`'s flow under `token`, left in place (to show its page).
    pub fn peek(&self, token: &str, user: &UserHandle, now: i64) -> Option<PendingFlow> {
        let flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        flows
            .get(token)
            .filter(|f| f.user == *user && f.expires_at > now)
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.flows.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn take_expired(flows: &mut HashMap<String, PendingFlow>, now: i64) -> Vec<PendingFlow> {
    let expired: Vec<String> = flows
        .iter()
        .filter(|(_, f)| f.expires_at <= now)
        .map(|(k, _)| k.clone())
        .collect();
    expired
        .into_iter()
        .filter_map(|k| flows.remove(&k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(user: &str, expires_at: i64) -> PendingFlow {
        PendingFlow {
            user: UserHandle::parse(user).unwrap(),
            plugin_id: "p".into(),
            connection: ConnectionId::new("p-1"),
            flow_id: "f".into(),
            message: String::new(),
            fields: vec![],
            errors: vec![],
            expires_at,
        }
    }

    #[test]
    fn only_its_user_continues_a_flow_once_before_it_expires() {
        let flows = ConnectFlows::default();
        flows.insert("t".into(), flow("ada", 100), 0);
        let bob = UserHandle::parse("bob").unwrap();
        let ada = UserHandle::parse("ada").unwrap();
        assert!(flows.take("t", &bob, 1).0.is_none());
        assert!(flows.peek("t", &ada, 1).is_some());
        assert!(flows.take("t", &ada, 1).0.is_some());
        assert!(flows.take("t", &ada, 1).0.is_none(), "answered once");
        flows.insert("u".into(), flow("ada", 100), 0);
        let (found, gone) = flows.take("u", &ada, 100);
        assert!(found.is_none());
        assert_eq!(gone.len(), 1, "expired, handed back to be dropped");
    }

    #[test]
    fn at_most_max_flows_wait() {
        let flows = ConnectFlows::default();
        let mut evicted = 0;
        for i in 0..MAX_FLOWS + 10 {
            evicted += flows
                .insert(format!("t{i}"), flow("ada", 1000 + i as i64), 0)
                .len();
        }
        assert_eq!(flows.len(), MAX_FLOWS);
        assert_eq!(evicted, 10);
        assert!(
            flows
                .peek("t0", &UserHandle::parse("ada").unwrap(), 0)
                .is_none(),
            "the oldest went"
        );
    }
}
