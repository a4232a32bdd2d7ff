//! The decision every credential POST shares (JSON mobile/portal and the HTML widget): which
//! account, right password or not, MFA or not, or a login fault switched on by the test.

use crate::config::DEFAULT_MFA_CODE;
use crate::faults::{Fault, RequestKind};
use crate::state::{random_token, Flow, PendingMfa, Shared};

/// What a credential POST leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Credentials good, no MFA: issue a ticket.
    Success {
        email: String,
    },
    /// Credentials good, MFA needed; the pending login was stored in the session.
    MfaRequired {
        method: String,
        customer_guid: String,
    },
    InvalidCredentials,
    Locked,
    CaptchaRequired,
}

fn is_login_fault(f: &Fault) -> bool {
    matches!(
        f,
        Fault::InvalidCredentials
            | Fault::AccountLocked
            | Fault::CaptchaRequired
            | Fault::MfaRequired
    )
}

/// Checks `email`/`password` for session `session_id`; on MFA stores the pending login there
/// (its ticket will be bound to `service_url`).
pub fn evaluate_login(
    shared: &Shared,
    session_id: &str,
    flow: Flow,
    service_url: &str,
    email: &str,
    password: &str,
) -> LoginOutcome {
    let mut state = shared.lock();
    let fault = state.take_fault(RequestKind::Login, is_login_fault);
    match fault {
        Some(Fault::InvalidCredentials) => return LoginOutcome::InvalidCredentials,
        Some(Fault::AccountLocked) => return LoginOutcome::Locked,
        Some(Fault::CaptchaRequired) => return LoginOutcome::CaptchaRequired,
        _ => {}
    }
    let Some(account) = state.account(email).filter(|a| a.password == password) else {
        return LoginOutcome::InvalidCredentials;
    };
    let email = account.email.clone();
    let code = match (&account.mfa_code, fault) {
        (Some(code), _) => code.clone(),
        (None, Some(Fault::MfaRequired)) => DEFAULT_MFA_CODE.to_string(),
        (None, _) => return LoginOutcome::Success { email },
    };
    let pending = PendingMfa {
        email,
        flow,
        service_url: service_url.to_string(),
        method: shared.knobs.mfa_method.clone(),
        customer_guid: random_token(32).to_lowercase(),
        code,
    };
    let outcome = LoginOutcome::MfaRequired {
        method: pending.method.clone(),
        customer_guid: pending.customer_guid.clone(),
    };
    if let Some(session) = state.sessions.get_mut(session_id) {
        session.pending_mfa = Some(pending);
        session.code_requested = false;
    }
    outcome
}

/// Result of checking an MFA code against the session's pending login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaOutcome {
    /// Code right: a ticket bound to the pending login's service URL.
    Ticket {
        ticket: String,
        service_url: String,
    },
    WrongCode,
    /// No login is waiting for a code in this session.
    NoPendingLogin,
}

/// Checks `code` for session `session_id` (a wrong code keeps the login pending for a retry).
pub fn verify_mfa(shared: &Shared, session_id: Option<&str>, code: &str) -> MfaOutcome {
    let now = shared.clock.now_unix();
    let mut state = shared.lock();
    let forced_wrong = state
        .take_fault(RequestKind::Mfa, |f| *f == Fault::WrongMfaCode)
        .is_some();
    let Some(pending) = session_id
        .and_then(|id| state.sessions.get(id))
        .and_then(|s| s.pending_mfa.clone())
    else {
        return MfaOutcome::NoPendingLogin;
    };
    if forced_wrong || pending.code != code.trim() {
        return MfaOutcome::WrongCode;
    }
    if let Some(session) = session_id.and_then(|id| state.sessions.get_mut(id)) {
        session.pending_mfa = None;
    }
    let ticket = state.issue_ticket(
        &pending.email,
        &pending.service_url,
        now,
        shared.knobs.ticket_ttl_s,
    );
    MfaOutcome::Ticket {
        ticket,
        service_url: pending.service_url,
    }
}

/// A ticket for a login that needed no MFA.
pub fn ticket_for(shared: &Shared, email: &str, service_url: &str) -> String {
    let now = shared.clock.now_unix();
    shared
        .lock()
        .issue_ticket(email, service_url, now, shared.knobs.ticket_ttl_s)
}
