//! SSO login flows against the emulator: mobile and portal JSON, the embed widget, MFA in each,
//! and the DI ticket exchange's rules (single use, service URL, client ids, Basic header).

mod common;

use common::*;
use garmin_emulator::{Account, Emulator, EmulatorConfig};
use serde_json::Value;

fn demo() -> Emulator {
    Emulator::start(EmulatorConfig::default_demo()).expect("start emulator")
}

#[test]
fn mobile_login_sets_cookies_and_answers_a_ticket_bound_to_the_ios_service() {
    let emu = demo();
    let base = emu.base_url();
    let c = client();
    let page = mobile_page(&c, &base);
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("SESSION=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("__cf_bm=")),
        "{cookies:?}"
    );
    let resp = mobile_post(&c, &base, "demo@example.com", "demo-password");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["responseStatus"]["type"], "SUCCESSFUL");
    let ticket = body["serviceTicketId"].as_str().unwrap();
    assert!(ticket.starts_with("ST-"), "{ticket}");
    // Bound to the iOS service URL: the portal URL is refused, the iOS one accepted.
    assert_eq!(
        exchange(&base, ticket, PORTAL_SERVICE, FIRST_CLIENT).status(),
        400
    );
    assert_eq!(
        exchange(&base, ticket, IOS_SERVICE, FIRST_CLIENT).status(),
        200
    );
    let stats = emu.stats();
    assert_eq!(
        (stats.sign_in_pages, stats.logins, stats.token_exchanges),
        (1, 1, 2)
    );
}

#[test]
fn credential_post_without_the_sign_in_page_gets_429() {
    let emu = demo();
    let resp = mobile_post(
        &client(),
        &emu.base_url(),
        "demo@example.com",
        "demo-password",
    );
    assert_eq!(resp.status(), 429);
}

#[test]
fn wrong_password_and_unknown_account_answer_invalid_username_password() {
    let emu = demo();
    let base = emu.base_url();
    for (email, pw) in [
        ("demo@example.com", "wrong"),
        ("nobody@example.com", "demo-password"),
    ] {
        let (status, body) = mobile_login(&client(), &base, email, pw);
        assert_eq!(status, 401);
        assert_eq!(body["responseStatus"]["type"], "INVALID_USERNAME_PASSWORD");
        assert!(body.get("serviceTicketId").is_none());
    }
}

#[test]
fn mobile_mfa_needs_the_code_and_a_wrong_code_can_be_retried() {
    let emu = demo();
    let base = emu.base_url();
    let c = client();
    let (_, body) = mobile_login(&c, &base, "mfa@example.com", "demo-password");
    assert_eq!(body["responseStatus"]["type"], "MFA_REQUIRED");
    assert_eq!(body["customerMfaInfo"]["mfaLastMethodUsed"], "email");
    let wrong = verify_code(&c, &base, "mobile", "000000");
    assert_eq!(wrong["responseStatus"]["type"], "MFA_CODE_INVALID");
    // Another session cannot complete this login.
    let other = verify_code(&client(), &base, "mobile", "123456");
    assert_ne!(other["responseStatus"]["type"], "SUCCESSFUL");
    // The portal endpoint completes it too (clients fall back to it), bound to the iOS service.
    let ok = verify_code(&c, &base, "portal", "123456");
    assert_eq!(ok["responseStatus"]["type"], "SUCCESSFUL");
    let ticket = ok["serviceTicketId"].as_str().unwrap();
    assert_eq!(
        exchange(&base, ticket, IOS_SERVICE, FIRST_CLIENT).status(),
        200
    );
    // The pending login is used up.
    assert_ne!(
        verify_code(&c, &base, "mobile", "123456")["responseStatus"]["type"],
        "SUCCESSFUL"
    );
    assert_eq!(emu.stats().mfa_verifies, 4);
}

#[test]
fn portal_login_issues_a_ticket_for_the_portal_service() {
    let emu = demo();
    let base = emu.base_url();
    let c = client();
    let page = c
        .get(format!("{base}/portal/sso/en-US/sign-in"))
        .query(&[("clientId", "GarminConnect"), ("service", PORTAL_SERVICE)])
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let body: Value = c
        .post(format!("{base}/portal/api/login"))
        .query(&portal_query())
        .header("Referer", format!("{base}/portal/sso/en-US/sign-in?clientId=GarminConnect&service={PORTAL_SERVICE}"))
        .header("Origin", &base)
        .json(&serde_json::json!({"username": "demo@example.com", "password": "demo-password", "rememberMe": true, "captchaToken": ""}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["responseStatus"]["type"], "SUCCESSFUL");
    assert_eq!(body["serviceURL"], PORTAL_SERVICE);
    assert_eq!(
        exchange(
            &base,
            body["serviceTicketId"].as_str().unwrap(),
            PORTAL_SERVICE,
            FIRST_CLIENT
        )
        .status(),
        200
    );
}

fn title(html: &str) -> String {
    let start = html.find("<title>").map(|i| i + 7).unwrap_or(0);
    let end = html[start..]
        .find("</title>")
        .map(|i| start + i)
        .unwrap_or(start);
    html[start..end].to_string()
}

fn csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("csrf input") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

fn widget_query(base: &str) -> Vec<(&'static str, String)> {
    let embed = format!("{base}/sso/embed");
    vec![
        ("id", "gauth-widget".into()),
        ("embedWidget", "true".into()),
        ("gauthHost", embed.clone()),
        ("service", embed.clone()),
        ("source", embed.clone()),
        ("redirectAfterAccountLoginUrl", embed.clone()),
        ("redirectAfterAccountCreationUrl", embed),
    ]
}

/// Embed page, signin page, credential form; returns the answer page's HTML.
fn widget_sign_in(
    c: &reqwest::blocking::Client,
    base: &str,
    email: &str,
    password: &str,
) -> (u16, String) {
    assert_eq!(
        c.get(format!("{base}/sso/embed")).send().unwrap().status(),
        200
    );
    let page = c
        .get(format!("{base}/sso/signin"))
        .query(&widget_query(base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(title(&page), "GARMIN Authentication Application");
    let resp = c
        .post(format!("{base}/sso/signin"))
        .query(&widget_query(base))
        .form(&[
            ("username", email),
            ("password", password),
            ("embed", "true"),
            ("_csrf", &csrf(&page)),
        ])
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

fn ticket_in(html: &str) -> String {
    let start = html.find("?ticket=").expect("ticket in page") + 8;
    html[start..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '&' | '<') && !c.is_whitespace())
        .collect()
}

#[test]
fn widget_login_success_page_carries_a_ticket_for_the_embed_service() {
    let emu = demo();
    let base = emu.base_url();
    let (status, html) = widget_sign_in(&client(), &base, "demo@example.com", "demo-password");
    assert_eq!((status, title(&html)), (200, "Success".to_string()));
    let ticket = ticket_in(&html);
    assert!(ticket.starts_with("ST-"));
    assert_eq!(
        exchange(&base, &ticket, &format!("{base}/sso/embed"), FIRST_CLIENT).status(),
        200
    );
}

#[test]
fn widget_rejects_a_wrong_csrf_and_a_wrong_password() {
    let emu = demo();
    let base = emu.base_url();
    let (status, html) = widget_sign_in(&client(), &base, "demo@example.com", "bad");
    assert_eq!(status, 401);
    assert!(
        title(&html).to_lowercase().contains("invalid"),
        "{}",
        title(&html)
    );
    let c = client();
    c.get(format!("{base}/sso/signin"))
        .query(&widget_query(&base))
        .send()
        .unwrap();
    let forged = c
        .post(format!("{base}/sso/signin"))
        .query(&widget_query(&base))
        .form(&[
            ("username", "demo@example.com"),
            ("password", "demo-password"),
            ("embed", "true"),
            ("_csrf", "forged"),
        ])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);
}

/// The `Location` of a 302 answer, which must be a path on this host.
fn redirect_target(resp: &reqwest::blocking::Response) -> String {
    assert_eq!(resp.status(), 302, "a redirect");
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with('/'), "{location}");
    location
}

#[test]
fn widget_mfa_redirects_to_the_code_page_and_to_the_success_page() {
    let emu = demo();
    let base = emu.base_url();
    let c = client();
    c.get(format!("{base}/sso/embed")).send().unwrap();
    let page = c
        .get(format!("{base}/sso/signin"))
        .query(&widget_query(&base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let posted = c
        .post(format!("{base}/sso/signin"))
        .query(&widget_query(&base))
        .form(&[
            ("username", "mfa@example.com"),
            ("password", "demo-password"),
            ("embed", "true"),
            ("_csrf", &csrf(&page)),
        ])
        .send()
        .unwrap();
    let to_code_page = redirect_target(&posted);
    assert!(
        to_code_page.starts_with("/sso/verifyMFA/loginEnterMfaCode?id=gauth-widget&"),
        "{to_code_page}"
    );
    let mfa_page = c
        .get(format!("{base}{to_code_page}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(title(&mfa_page).to_lowercase().contains("mfa"));
    for var in [
        "customerGuid",
        "mfaMethod",
        "locale",
        "clientId",
        "codeSentTo",
    ] {
        assert!(
            mfa_page.contains(&format!("var {var} = \"")),
            "missing {var}"
        );
    }
    let enter = |code: &str, csrf_token: &str| {
        c.post(format!("{base}/sso/verifyMFA/loginEnterMfaCode"))
            .query(&widget_query(&base))
            .form(&[
                ("mfa-code", code),
                ("embed", "true"),
                ("_csrf", csrf_token),
                ("fromPage", "setupEnterMfaCode"),
            ])
            .send()
            .unwrap()
    };
    // An e-mailed code that was never asked for cannot be right, even the right one.
    let unsent = enter("123456", &csrf(&mfa_page)).text().unwrap();
    assert!(title(&unsent).to_lowercase().contains("mfa"), "{unsent}");
    let guid_start = mfa_page.find("var customerGuid = \"").unwrap() + 20;
    let guid = &mfa_page[guid_start..guid_start + mfa_page[guid_start..].find('"').unwrap()];
    let sent = c
        .post(format!("{base}/sso/verifyMFA/mfaCode"))
        .query(&[("clientId", "GarminConnect")])
        .json(&serde_json::json!({"customerGuid": guid, "mfaMethod": "email", "locale": "en_US"}))
        .send()
        .unwrap();
    assert_eq!(sent.status(), 200);
    let again = enter("111111", &csrf(&unsent)).text().unwrap();
    assert_ne!(title(&again), "Success");
    let right = enter("123456", &csrf(&again));
    let to_success = redirect_target(&right);
    assert!(
        to_success.starts_with("/sso/login?logintoken="),
        "{to_success}"
    );
    let done = c
        .get(format!("{base}{to_success}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(title(&done), "Success");
    // The Success page is shown once.
    let replay = c.get(format!("{base}{to_success}")).send().unwrap();
    assert_eq!(replay.status(), 400);
    assert_eq!(
        exchange(
            &base,
            &ticket_in(&done),
            &format!("{base}/sso/embed"),
            FIRST_CLIENT
        )
        .status(),
        200
    );
}

#[test]
fn tickets_are_single_use() {
    let emu = demo();
    let base = emu.base_url();
    let (_, body) = mobile_login(&client(), &base, "demo@example.com", "demo-password");
    let ticket = body["serviceTicketId"].as_str().unwrap();
    assert_eq!(
        exchange(&base, ticket, IOS_SERVICE, FIRST_CLIENT).status(),
        200
    );
    let reuse = exchange(&base, ticket, IOS_SERVICE, FIRST_CLIENT);
    assert_eq!(reuse.status(), 400);
    assert_eq!(reuse.json::<Value>().unwrap()["error"], "invalid_grant");
}

#[test]
fn tickets_expire_on_the_virtual_clock() {
    let emu = demo();
    let base = emu.base_url();
    let (_, body) = mobile_login(&client(), &base, "demo@example.com", "demo-password");
    emu.advance_clock(std::time::Duration::from_secs(301));
    assert_eq!(
        exchange(
            &base,
            body["serviceTicketId"].as_str().unwrap(),
            IOS_SERVICE,
            FIRST_CLIENT
        )
        .status(),
        400
    );
}

#[test]
fn only_accepted_client_ids_get_tokens_and_rejections_keep_the_ticket() {
    let config = EmulatorConfig::empty()
        .with_account(Account::new("a@example.com", "pw"))
        .with_accepted_client_ids(&["GARMIN_CONNECT_MOBILE_ANDROID_DI"]);
    let emu = Emulator::start(config).unwrap();
    let base = emu.base_url();
    let (_, body) = mobile_login(&client(), &base, "a@example.com", "pw");
    let ticket = body["serviceTicketId"].as_str().unwrap();
    let mut statuses = Vec::new();
    for id in garmin_emulator::DI_CLIENT_IDS {
        let resp = exchange(&base, ticket, IOS_SERVICE, id);
        statuses.push(resp.status().as_u16());
        if resp.status() == 200 {
            let tokens: Value = resp.json().unwrap();
            assert_eq!(
                jwt_payload(tokens["access_token"].as_str().unwrap())["client_id"],
                id
            );
            break;
        }
    }
    assert_eq!(statuses, vec![401, 401, 200]);
}

#[test]
fn basic_header_must_match_the_client_id() {
    let emu = demo();
    let base = emu.base_url();
    let (_, body) = mobile_login(&client(), &base, "demo@example.com", "demo-password");
    let resp = client()
        .post(format!("{base}/di-oauth2-service/oauth/token"))
        .header(
            "Authorization",
            "Basic R0FSTUlOX0NPTk5FQ1RfTU9CSUxFX0lPU19ESTo=",
        ) // ..._IOS_DI:
        .form(&[
            ("client_id", FIRST_CLIENT),
            ("service_ticket", body["serviceTicketId"].as_str().unwrap()),
            ("grant_type", TICKET_GRANT),
            ("service_url", IOS_SERVICE),
        ])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().unwrap()["error"], "invalid_client");
}
