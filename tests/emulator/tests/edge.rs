//! The edge mode (`EmulatorConfig::with_edge`, `garmin-emulator --edge`): HTTPS with a CA made at
//! start, HTTP/2 by ALPN, each connection's JA4 and HTTP/2 fingerprint in the stats, and a client
//! whose TLS is not a browser's refused on the SSO and DI paths (403 challenge, then 429) while
//! connectapi stays open to it. Here the non-browser is reqwest with rustls.

use garmin_emulator::{Emulator, EmulatorConfig};
use reqwest::blocking::Client;

fn rustls_client(emulator: &Emulator) -> Client {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().expect("edge CA").as_bytes())
        .expect("the CA is PEM");
    Client::builder()
        .add_root_certificate(ca)
        .user_agent("Mozilla/5.0 (Macintosh) not really a browser")
        .build()
        .expect("client")
}

#[test]
fn a_non_browser_fingerprint_is_challenged_then_rate_limited_on_sso_and_di_only() {
    let emulator = Emulator::start(EmulatorConfig::default_demo().with_edge()).expect("start");
    assert!(emulator.base_url().starts_with("https://localhost:"));
    let client = rustls_client(&emulator);
    let base = emulator.base_url();
    let page = format!("{base}/mobile/sso/en_US/sign-in?clientId=GCM_IOS_DARK&service=https%3A%2F%2Fmobile.integration.garmin.com%2Fgcm%2Fios");
    for _ in 0..3 {
        let resp = client.get(&page).send().expect("TLS to the edge works");
        assert_eq!(resp.status().as_u16(), 403);
        assert!(resp.text().unwrap().contains("Just a moment"));
    }
    let resp = client.get(&page).send().unwrap();
    assert_eq!(resp.status().as_u16(), 429, "a bot that keeps trying");
    let di = client
        .post(format!("{base}/di-oauth2-service/oauth/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .unwrap();
    assert_eq!(di.status().as_u16(), 429, "the DI endpoint is guarded too");
    // connectapi stays lenient: the same client reaches it (and is asked for a token).
    let api = client
        .get(format!("{base}/userprofile-service/socialProfile"))
        .header("User-Agent", "GCM-Android-5.23")
        .header(
            "X-Garmin-User-Agent",
            "com.garmin.android.apps.connectmobile/5.23",
        )
        .send()
        .unwrap();
    assert_eq!(api.status().as_u16(), 401);

    let stats = emulator.stats();
    assert_eq!((stats.edge_challenges, stats.edge_rate_limited), (3, 2));
    let first = &stats.edge_connections[0];
    let ja4 = first.ja4.as_deref().expect("the ClientHello was read");
    assert!(ja4.starts_with("t13d"), "{ja4}");
    assert!(
        !garmin_emulator::EdgeConfig::default()
            .browser_ja4s
            .iter()
            .any(|b| b == ja4),
        "rustls must not pass for a browser: {ja4}"
    );
    assert_eq!(first.server_name.as_deref(), Some("localhost"));
    assert!(first.paths.iter().any(|p| p == "/mobile/sso/en_US/sign-in"));
}

#[test]
fn http2_is_negotiated_and_fingerprinted() {
    let emulator = Emulator::start(EmulatorConfig::default_demo().with_edge()).expect("start");
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().unwrap().as_bytes()).unwrap();
    let client = Client::builder().add_root_certificate(ca).build().unwrap();
    let resp = client
        .get(format!(
            "{}/userprofile-service/socialProfile",
            emulator.base_url()
        ))
        .send()
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let stats = emulator.stats();
    let c = &stats.edge_connections[0];
    assert_eq!(c.alpn.as_deref(), Some("h2"));
    let h2 = c.http2.as_deref().expect("the HTTP/2 fingerprint");
    let parts: Vec<&str> = h2.split('|').collect();
    assert_eq!(parts.len(), 4, "{h2}");
    assert!(
        parts[3].split(',').count() == 4,
        "four pseudo-headers: {h2}"
    );
}

#[test]
fn the_binary_writes_its_ca_for_edge_mode() {
    // The library half: the CA is a PEM certificate, fresh per emulator.
    let a = Emulator::start(EmulatorConfig::empty().with_edge()).unwrap();
    let b = Emulator::start(EmulatorConfig::empty().with_edge()).unwrap();
    let (pa, pb) = (a.ca_pem().unwrap(), b.ca_pem().unwrap());
    assert!(pa.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_ne!(pa, pb);
    assert!(Emulator::start(EmulatorConfig::empty())
        .unwrap()
        .ca_pem()
        .is_none());
}
