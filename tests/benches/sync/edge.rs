//! Part 3: the cost of the browser's TLS and the emulator's edge. The same account (the
//! backfill size) on two emulators, one plain HTTP, one `--edge` (HTTPS, HTTP/2, JA4 checks; the
//! plugin's SSO and DI steps over wreq's browser TLS, connectapi over reqwest + rustls), rounds
//! interleaved with the order rotated: the time to connect (login, DI exchange, profile) and
//! the backfill (pacing off), medians, as ratios edge / plain.
use super::*;

const EMAIL: &str = "edge@example.com";

pub struct Figures {
    pub activities: usize,
    pub connect_plain: Vec<Duration>,
    pub connect_edge: Vec<Duration>,
    pub backfill_plain: Vec<Duration>,
    pub backfill_edge: Vec<Duration>,
}

pub fn measure(plugin: &Path, sizes: &Sizes) -> Figures {
    let newest = time::OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let spacing = Duration::from_secs(24 * 3600 + 7 * 60);
    let activities = synthetic_activities(sizes.backfill, newest, spacing);
    let account = Account::new(EMAIL, PASSWORD).with_activities(activities.clone());
    let plain = Emulator::start(EmulatorConfig::empty().with_account(account.clone()))
        .expect("plain emulator starts");
    let edge = Emulator::start(EmulatorConfig::empty().with_account(account).with_edge())
        .expect("edge emulator starts");
    let work = tempfile::tempdir().expect("temp dir");
    let ca = work.path().join("edge-ca.pem");
    std::fs::write(&ca, edge.ca_pem().expect("edge CA")).expect("write the CA");
    let mut f = Figures {
        activities: activities.len(),
        connect_plain: Vec::new(),
        connect_edge: Vec::new(),
        backfill_plain: Vec::new(),
        backfill_edge: Vec::new(),
    };
    for round in 0..sizes.rounds {
        for step in 0..2 {
            let through_edge = (round + step) % 2 == 1;
            let dir = work.path().join(format!(
                "{}-{round}",
                if through_edge { "edge" } else { "plain" }
            ));
            let (emulator, extra) = if through_edge {
                (
                    &edge,
                    format!("extra_ca_file = {:?}\n", ca.display().to_string()),
                )
            } else {
                (&plain, String::new())
            };
            let (connected, backfill) =
                round_trip(emulator, plugin, &dir, &extra, activities.len());
            if through_edge {
                f.connect_edge.push(connected);
                f.backfill_edge.push(backfill);
            } else {
                f.connect_plain.push(connected);
                f.backfill_plain.push(backfill);
            }
        }
        let ms = |d: &[Duration]| d[round].as_secs_f64() * 1000.0;
        println!(
            "edge round {}: connect {:.1} ms plain, {:.1} ms edge; backfill {:.0} ms plain, {:.0} ms edge",
            round + 1,
            ms(&f.connect_plain),
            ms(&f.connect_edge),
            ms(&f.backfill_plain),
            ms(&f.backfill_edge)
        );
    }
    let stats = edge.stats();
    assert_eq!(
        stats.edge_challenges + stats.edge_rate_limited,
        0,
        "the plugin was never blocked"
    );
    f
}

/// A fresh host connects (timed: login, DI exchange, profile) and backfills the whole account
/// (timed); every activity must be imported.
fn round_trip(
    emulator: &Emulator,
    plugin: &Path,
    dir: &Path,
    extra_settings: &str,
    expected: usize,
) -> (Duration, Duration) {
    std::fs::create_dir_all(dir).expect("data dir");
    // Plugin settings must come before the `[plugins.request_budget]` table
    // that `plugin_settings` ends with.
    let settings = format!(
        "{extra_settings}{}",
        plugin_settings(&emulator.base_url(), LARGE_CAP, None)
    );
    let host = open_host(dir, HANDLE, plugin, &settings);
    let started = Instant::now();
    let connection = connect(&host, EMAIL);
    let connected = started.elapsed();
    let started = Instant::now();
    let totals = sync(&host, &connection, true);
    let backfill = started.elapsed();
    assert_eq!(totals.imported as usize, expected, "{totals:?}");
    (connected, backfill)
}

pub fn report(f: &Figures) {
    let (cp, ce) = (median(&f.connect_plain), median(&f.connect_edge));
    let (bp, be) = (median(&f.backfill_plain), median(&f.backfill_edge));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\n## Through the edge (median of {} rounds)\n",
        f.connect_plain.len()
    );
    println!("| measure | plain HTTP | --edge | edge / plain |\n|---|---|---|---|");
    println!(
        "| connect: login, DI exchange, profile | {:.1} ms | {:.1} ms | {:.2}x |",
        ms(cp),
        ms(ce),
        ms(ce) / ms(cp)
    );
    println!(
        "| backfill of {} activities, pacing off | {:.0} ms | {:.0} ms | {:.2}x |",
        f.activities,
        ms(bp),
        ms(be),
        ms(be) / ms(bp)
    );
}
