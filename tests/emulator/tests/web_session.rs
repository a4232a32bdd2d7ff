//! The `JWT_WEB` side of a service ticket and the China domain: a ticket redeemed at its own
//! service URL, once, sets the cookie; the API takes the cookie only with the web app's headers;
//! an emulator of `garmin.cn` serves only the `.cn` service URLs.

mod common;

use common::*;
use garmin_emulator::{Account, Emulator, EmulatorConfig};
use reqwest::blocking::Response;
use serde_json::Value;

const EMAIL: &str = "w@example.com";

fn emulator(config: EmulatorConfig) -> Emulator {
    Emulator::start(config.with_account(Account::new(EMAIL, "pw"))).unwrap()
}

fn ticket(emu: &Emulator) -> String {
    let (_, body) = mobile_login(&client(), &emu.base_url(), EMAIL, "pw");
    body["serviceTicketId"]
        .as_str()
        .expect("a ticket")
        .to_string()
}

fn redeem(emu: &Emulator, path: &str, ticket: &str) -> Response {
    client()
        .get(format!("{}{path}", emu.base_url()))
        .query(&[("ticket", ticket)])
        .send()
        .unwrap()
}

fn jwt_web(resp: &Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("JWT_WEB="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

fn profile_with_cookie(emu: &Emulator, cookie: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = client()
        .get(format!(
            "{}/userprofile-service/socialProfile",
            emu.base_url()
        ))
        .header("Cookie", format!("JWT_WEB={cookie}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap()
}

const WEB_HEADERS: [(&str, &str); 2] = [("NK", "NT"), ("Origin", "https://connect.garmin.com")];

#[test]
fn a_ticket_redeemed_at_its_service_url_sets_jwt_web_once() {
    let emu = emulator(EmulatorConfig::empty());
    let t = ticket(&emu);
    let wrong = redeem(&emu, "/app", &t);
    assert_eq!(wrong.status(), 401, "an iOS ticket is not the portal's");
    assert!(jwt_web(&wrong).is_none());
    let ok = redeem(&emu, "/gcm/ios", &t);
    assert_eq!(ok.status(), 302);
    assert_eq!(ok.headers()["location"], "/modern/");
    let cookie = jwt_web(&ok).expect("JWT_WEB set");
    assert_eq!(jwt_payload(&cookie)["client_id"], "GarminConnect");
    let again = redeem(&emu, "/gcm/ios", &t);
    assert_eq!(again.status(), 401, "single use");
    assert_eq!(emu.stats().web_tickets_redeemed, 1);

    // The API takes the cookie with the web app's headers only.
    assert_eq!(profile_with_cookie(&emu, &cookie, &[]).status(), 403);
    assert_eq!(
        profile_with_cookie(&emu, &cookie, &[("NK", "NT")]).status(),
        403,
        "no Origin"
    );
    let resp = profile_with_cookie(&emu, &cookie, &WEB_HEADERS);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().unwrap()["userName"], EMAIL);
    assert_eq!(
        profile_with_cookie(&emu, "forged", &WEB_HEADERS).status(),
        401
    );
    let stats = emu.stats();
    assert_eq!((stats.api_by_cookie, stats.api_by_bearer), (1, 0));
}

#[test]
fn a_widget_ticket_is_redeemed_at_the_embed_url_and_the_cookie_can_be_withheld() {
    let mut config = EmulatorConfig::empty();
    config.issue_web_cookie = false;
    let emu = emulator(config);
    let t = ticket(&emu);
    let resp = redeem(&emu, "/gcm/ios", &t);
    assert_eq!(resp.status(), 302);
    assert!(jwt_web(&resp).is_none(), "withheld by the knob");
    // Without `ticket` the embed URL is still the widget's start page.
    let page = client()
        .get(format!("{}/sso/embed", emu.base_url()))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[test]
fn an_expired_cookie_is_refused() {
    let emu = emulator(EmulatorConfig::empty());
    let cookie = jwt_web(&redeem(&emu, "/gcm/ios", &ticket(&emu))).unwrap();
    emu.advance_clock(std::time::Duration::from_secs(25 * 3600));
    assert_eq!(
        profile_with_cookie(&emu, &cookie, &WEB_HEADERS).status(),
        401
    );
}

#[test]
fn the_china_emulator_serves_only_cn_service_urls() {
    let emu = emulator(EmulatorConfig::empty().with_china_domain());
    let base = emu.base_url();
    let c = client();
    let page = |service: &str| {
        c.get(format!("{base}/mobile/sso/en_US/sign-in"))
            .query(&[("clientId", "GCM_IOS_DARK"), ("service", service)])
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(
        page(IOS_SERVICE),
        400,
        "the .com service URL is unknown on .cn"
    );
    let cn = IOS_SERVICE.replace(".garmin.com", ".garmin.cn");
    assert_eq!(page(&cn), 200);
    // The whole login with the .com URL is refused too.
    assert_eq!(mobile_post(&client(), &base, EMAIL, "pw").status(), 400);
    let portal = c
        .get(format!("{base}/portal/sso/en-US/sign-in"))
        .query(&[("clientId", "GarminConnect"), ("service", PORTAL_SERVICE)])
        .send()
        .unwrap();
    assert_eq!(portal.status(), 400);
}
