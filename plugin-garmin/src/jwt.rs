//! Reading the claims of Garmin's DI access token (a JWT) without checking
//! its signature: the plugin only needs `exp` (to refresh early) and
//! `client_id` (refresh tokens are bound to it). Trust comes from TLS, not
//! from the signature.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::Value;

/// Refresh this long before the token's `exp`, as Garmin's own clients do.
pub const REFRESH_MARGIN_SECS: i64 = 900;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    pub exp: Option<i64>,
    pub client_id: Option<String>,
}

/// The claims of `token`, or `None` when it is not a decodable JWT (or says
/// `alg: none`, which a real Garmin token never does).
pub fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let header = decode_part(parts.next()?)?;
    let payload = decode_part(parts.next()?)?;
    parts.next()?;
    if header
        .get("alg")
        .and_then(Value::as_str)
        .is_none_or(|alg| alg.eq_ignore_ascii_case("none"))
    {
        return None;
    }
    let exp = match payload.get("exp") {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        _ => None,
    };
    let client_id = payload
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Claims { exp, client_id })
}

/// Whether `token` should be refreshed at `now`: within the margin of its
/// `exp`. A token without a readable `exp` never "expires soon"; only a 401
/// then triggers a refresh.
pub fn expires_soon(token: &str, now: i64) -> bool {
    claims(token)
        .and_then(|c| c.exp)
        .is_some_and(|exp| now > exp.saturating_sub(REFRESH_MARGIN_SECS))
}

fn decode_part(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
pub(crate) fn make_token(alg: &str, payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": alg, "typ": "JWT"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{body}.c2lnbmF0dXJl")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_exp_and_client_id() {
        let t = make_token(
            "RS256",
            &json!({"exp": 1_000_000, "client_id": "GCM_X", "iat": 1}),
        );
        assert_eq!(
            claims(&t),
            Some(Claims {
                exp: Some(1_000_000),
                client_id: Some("GCM_X".into())
            })
        );
    }

    #[test]
    fn refreshes_fifteen_minutes_early() {
        let t = make_token("RS256", &json!({"exp": 10_000}));
        assert!(!expires_soon(&t, 10_000 - 901));
        assert!(!expires_soon(&t, 10_000 - 900));
        assert!(expires_soon(&t, 10_000 - 899));
        assert!(expires_soon(&t, 20_000));
    }

    #[test]
    fn an_absurd_exp_does_not_overflow() {
        let t = make_token("RS256", &json!({"exp": i64::MIN}));
        assert!(expires_soon(&t, 0));
        let t = make_token("RS256", &json!({"exp": i64::MAX}));
        assert!(!expires_soon(&t, i64::MAX - 901));
    }

    #[test]
    fn odd_tokens_never_expire_soon() {
        assert!(!expires_soon("not-a-jwt", i64::MAX));
        let none = make_token("none", &json!({"exp": 1}));
        assert_eq!(claims(&none), None);
        assert!(!expires_soon(&none, 10));
        let no_exp = make_token("HS256", &json!({"exp": "soon"}));
        assert_eq!(claims(&no_exp).unwrap().exp, None);
        assert!(!expires_soon(&no_exp, i64::MAX));
        let fractional = make_token("HS256", &json!({"exp": 100.5}));
        assert_eq!(claims(&fractional).unwrap().exp, Some(100));
    }
}
