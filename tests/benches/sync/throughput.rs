//! Part 1: the backfill against its two baselines, rounds interleaved.
use super::*;

const EMAIL: &str = "backfill@example.com";

pub struct Figures {
    pub activities: usize,
    pub fit_bytes: usize,
    pub sync_runs: u64,
    pub http_requests: usize,
    /// Per round: sync, bare HTTP, local import.
    pub sync: Vec<Duration>,
    pub http: Vec<Duration>,
    pub import: Vec<Duration>,
}

pub fn measure(plugin: &Path, sizes: &Sizes) -> Figures {
    let newest = time::OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let spacing = Duration::from_secs(24 * 3600 + 7 * 60);
    let activities = synthetic_activities(sizes.backfill, newest, spacing);
    let account = Account::new(EMAIL, PASSWORD).with_activities(activities.clone());
    let config = EmulatorConfig::empty().with_account(account);
    let emulator = Emulator::start(config).expect("emulator starts");
    // Stores are deleted only after the last round: deleting thousands of
    // files between rounds slowed the next round's fsyncs here.
    let work = tempfile::tempdir().expect("temp dir");
    let mut f = Figures {
        activities: activities.len(),
        fit_bytes: activities
            .iter()
            .filter_map(|a| a.fit.as_ref())
            .map(Vec::len)
            .sum(),
        sync_runs: 0,
        http_requests: 0,
        sync: Vec::new(),
        http: Vec::new(),
        import: Vec::new(),
    };
    for round in 0..sizes.rounds {
        // Rotate the order so drift on a shared machine hits all three.
        for step in 0..3 {
            match (round + step) % 3 {
                0 => {
                    let dir = work.path().join(format!("sync-{round}"));
                    let (time, runs) = sync_round(&emulator, plugin, &activities, &dir);
                    f.sync.push(time);
                    f.sync_runs = runs;
                }
                1 => {
                    let (time, requests) = http_round(&emulator, &activities);
                    f.http.push(time);
                    f.http_requests = requests;
                }
                _ => {
                    let dir = work.path().join(format!("import-{round}"));
                    f.import.push(import_round(&activities, &dir));
                }
            }
        }
        let s = |d: &[Duration]| d[round].as_secs_f64();
        println!(
            "throughput round {}: sync {:.3} s, http {:.3} s, import {:.3} s",
            round + 1,
            s(&f.sync),
            s(&f.http),
            s(&f.import)
        );
    }
    f
}

/// A fresh host backfills the whole account; the time of the syncs
/// (the login before them is not counted); then the store is validated.
fn sync_round(emulator: &Emulator, plugin: &Path, all: &[Activity], dir: &Path) -> (Duration, u64) {
    std::fs::create_dir_all(dir).expect("data dir");
    let settings = plugin_settings(&emulator.base_url(), LARGE_CAP, None);
    let host = open_host(dir, HANDLE, plugin, &settings);
    let connection = connect(&host, EMAIL);
    let started = Instant::now();
    let totals = sync(&host, &connection, true);
    let time = started.elapsed();
    assert_eq!(
        (totals.imported, totals.failed),
        (all.len() as u64, 0),
        "{totals:?}"
    );
    let ledger = host.db.ledger_entries(PLUGIN).expect("ledger reads");
    assert_eq!(ledger.len(), all.len(), "one ledger row per activity");
    let ids = check_store(&dir.join(HANDLE))
        .unwrap_or_else(|problems| panic!("the synced store is broken: {problems:#?}"));
    assert_eq!(ids.len(), all.len(), "one stored activity per download");
    (time, totals.runs)
}

/// The bare HTTP of the backfill: the list pages and every zip, one
/// keep-alive client, a token minted by the emulator (no login).
fn http_round(emulator: &Emulator, all: &[Activity]) -> (Duration, usize) {
    let token = emulator
        .mint_tokens(EMAIL, garmin_emulator::DI_CLIENT_IDS[0])
        .access_token;
    // The native app's headers, which the emulator requires of API calls.
    let mut native = reqwest::header::HeaderMap::new();
    native.insert("user-agent", "GCM-Android-5.23".parse().expect("ascii"));
    native.insert(
        "x-garmin-user-agent",
        "com.garmin.android.apps.connectmobile/5.23"
            .parse()
            .expect("ascii"),
    );
    let client = reqwest::blocking::Client::builder()
        .default_headers(native)
        .build()
        .expect("client");
    let base = emulator.base_url();
    let get = |url: String| {
        let response = client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .expect("GET answers");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.bytes().expect("body reads")
    };
    let started = Instant::now();
    let (mut requests, mut listed, mut bytes) = (0, 0, 0);
    loop {
        let path = "activitylist-service/activities/search/activities";
        let page = get(format!("{base}/{path}?start={listed}&limit={PAGE}"));
        let page: Vec<Value> = serde_json::from_slice(&page).expect("list page is JSON");
        requests += 1;
        listed += page.len();
        if page.len() < PAGE {
            break;
        }
    }
    for a in all {
        bytes += get(format!("{base}/download-service/files/activity/{}", a.id)).len();
        requests += 1;
    }
    let time = started.elapsed();
    assert_eq!(listed, all.len());
    assert!(bytes > all.len(), "every zip has a body");
    (time, requests)
}

/// The same FIT bytes, named and identified as the plugin does, into a
/// fresh store through the host's pipeline, flushed every page (50) as
/// the plugin's per-page commit does.
fn import_round(all: &[Activity], dir: &Path) -> Duration {
    let mut pipeline = open_local(dir, HANDLE).expect("pipeline opens");
    let ids: Vec<String> = all.iter().map(|a| a.id.to_string()).collect();
    let names: Vec<String> = ids.iter().map(|id| format!("{id}_ACTIVITY.fit")).collect();
    let started = Instant::now();
    for (n, a) in all.iter().enumerate() {
        let item = Item {
            source: PLUGIN,
            external_id: Some(&ids[n]),
            connection: None,
            file_name: &names[n],
            bytes: a.fit.as_deref().expect("synthetic activities have a FIT"),
        };
        let outcome = pipeline.import(&item).expect("import runs");
        assert!(matches!(outcome, Outcome::Imported { .. }), "{outcome:?}");
        if (n + 1) % PAGE == 0 {
            pipeline.flush().expect("flush");
        }
    }
    pipeline.flush().expect("flush");
    let time = started.elapsed();
    assert_eq!(pipeline.store().len(), all.len());
    time
}
