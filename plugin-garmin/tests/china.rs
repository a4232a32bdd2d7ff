//! Accounts on Garmin's China site: with `domain = "garmin.cn"` every service URL, Referer and
//! web header follows the domain (only the DI grant type, an identifier, stays `.com`), and the
//! emulator of `garmin.cn`, which refuses `.com` service URLs, takes every strategy, a sync,
//! and the `JWT_WEB` fallback.

mod common;

use common::connect::*;
use common::*;
use plugin_garmin::settings::Settings;
use plugin_garmin::sso_endpoints::{widget_service_url, widget_signin_query, JsonFlow};
use plugin_garmin::web_cookie::{api_headers, WebCookie};
use serde_json::json;

#[test]
fn every_url_and_header_follows_the_cn_domain() {
    let s = Settings::from_json(r#"{"domain": "garmin.cn"}"#).unwrap();
    let mut urls = vec![
        s.sso().to_string(),
        s.connectapi().to_string(),
        s.diauth().to_string(),
        widget_service_url(&s),
    ];
    for flow in [JsonFlow::Mobile, JsonFlow::Portal] {
        urls.push(flow.service_url(&s));
        urls.push(flow.page_url(&s));
        urls.push(flow.referer(&s));
        urls.push(flow.api_url(&s, "login"));
        urls.extend(flow.api_query(&s).into_iter().map(|(_, v)| v));
    }
    urls.extend(widget_signin_query(&s).into_iter().map(|(_, v)| v));
    let headers = api_headers(&s, &WebCookie::new("x".into()));
    for name in ["origin", "referer", "di-backend"] {
        urls.push(headers[name].to_str().unwrap().to_string());
    }
    for url in &urls {
        let decoded = url.replace("%2F", "/").replace("%3A", ":");
        assert!(!decoded.contains("garmin.com"), "{url} is not on garmin.cn");
    }
    assert!(urls.contains(&"https://mobile.integration.garmin.cn/gcm/ios".to_string()));
    assert!(urls.contains(&"https://connect.garmin.cn/app".to_string()));
    assert!(urls.contains(&"https://sso.garmin.cn/sso/embed".to_string()));
    assert_eq!(headers["di-backend"], "connectapi.garmin.cn");
    assert!(
        plugin_garmin::identity::DI_TICKET_GRANT.starts_with("https://connectapi.garmin.com/"),
        "the grant type is an identifier and stays .com"
    );
}

fn china() -> garmin_emulator::EmulatorConfig {
    config().with_china_domain()
}

#[test]
fn every_strategy_connects_and_syncs_on_the_cn_emulator() {
    for strategy in ["mobile", "widget", "portal"] {
        let h = Harness::new(
            china(),
            json!({ "domain": "garmin.cn", "login_strategies": strategy }),
        );
        done(h.connect(DEMO, PASSWORD));
        let ledger = Ledger::default();
        let summary = h.sync(&ledger, Some(3)).expect("sync on .cn");
        assert_eq!(summary.imported, 3, "{strategy}: {summary:?}");
        assert!(h.emulator.stats().api_by_bearer > 0);
    }
}

#[test]
fn mfa_and_the_jwt_web_fallback_work_on_the_cn_emulator() {
    let h = Harness::new(
        china().with_accepted_client_ids(&[]),
        json!({ "domain": "garmin.cn" }),
    );
    let host_api::ConnectStep::NeedInput { flow_id, .. } = h.connect(MFA_EMAIL, PASSWORD) else {
        panic!("MFA expected");
    };
    done(h.resume(&flow_id, MFA_CODE));
    let stats = h.emulator.stats();
    assert_eq!(stats.web_tickets_redeemed, 1);
    assert!(stats.api_by_cookie > 0, "the .cn Origin was accepted");
}

#[test]
fn a_com_client_is_refused_by_the_cn_emulator() {
    let h = Harness::new(china(), json!({ "login_strategies": "mobile,portal" }));
    let e = failed(h.connect(DEMO, PASSWORD));
    assert_eq!(e.kind, host_api::ErrorKind::PERMANENT, "{e}");
    let stats = h.emulator.stats();
    assert_eq!(
        stats.token_exchanges, 0,
        "no ticket for a .com service URL: {e}"
    );
    assert_eq!(h.secrets.get("tokens"), None);
}
