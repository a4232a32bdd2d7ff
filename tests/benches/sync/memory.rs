//! Part 2: the host's peak memory, phase by phase in child processes,
//! against an emulator process.
use super::*;

/// One host phase, as its child process reported it.
pub struct Phase {
    pub totals: Totals,
    pub seconds: f64,
    /// Peak RSS before the sync: host and store opened (and, in the
    /// first run, the login done).
    pub before_kib: u64,
    /// Peak RSS at the end of the sync.
    pub peak_kib: u64,
}

pub struct Account {
    pub listed: usize,
    /// In [`PHASES`] order.
    pub phases: Vec<Phase>,
}

/// The emulator process, killed by its pid when dropped (also on a panic).
struct EmulatorProcess(Child);

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn email(listed: usize) -> String {
    format!("listed-{listed}@example.com")
}

pub fn measure(plugin: &Path, emulator: &Path, sizes: &Sizes) -> Vec<Account> {
    let work = tempfile::tempdir().expect("temp dir");
    let accounts = work.path().join("accounts.toml");
    let mut text = String::new();
    for n in sizes.listed {
        let email = email(n);
        text.push_str(&format!(
            "[[account]]\nemail = {email:?}\npassword = {PASSWORD:?}\n"
        ));
        text.push_str(&format!("sample_activities = false\nsynthetic = {n}\n\n"));
    }
    std::fs::write(&accounts, text).expect("write accounts file");
    let (emulator, url, _) = start_emulator(emulator, &accounts, false);
    println!("emulator process {} at {url}", emulator.0.id());
    let mut results = Vec::new();
    for n in sizes.listed {
        let data = work.path().join(format!("host-{n}"));
        results.push(account(plugin, &url, &data, n, sizes.first_run_cap));
    }
    drop(emulator);
    results
}

/// The emulator binary on `accounts`, plain or `--edge`: the process, its base URL and, with
/// the edge, the path of the CA it wrote.
fn start_emulator(
    binary: &Path,
    accounts: &Path,
    edge: bool,
) -> (EmulatorProcess, String, Option<String>) {
    let mut command = Command::new(binary);
    command.args(["--port", "0", "--accounts"]).arg(accounts);
    if edge {
        command.arg("--edge");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = EmulatorProcess(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || {
        lines
            .next()
            .expect("emulator prints its address")
            .expect("emulator's stdout reads")
    };
    let line = next_line();
    let url = line.trim().strip_prefix("listening on ");
    let url = url.unwrap_or_else(|| panic!("unexpected first line from the emulator: {line:?}"));
    let ca = edge.then(|| {
        let line = next_line();
        let ca = line.trim().strip_prefix("edge CA: ");
        ca.unwrap_or_else(|| panic!("unexpected second line from the edge emulator: {line:?}"))
            .to_string()
    });
    (process, url.to_string(), ca)
}

/// The phases for an account listing `listed` activities, checked.
fn account(plugin: &Path, url: &str, data: &Path, listed: usize, cap: u32) -> Account {
    let email = email(listed);
    let phases: Vec<Phase> = PHASES
        .iter()
        .map(|(phase, _)| run_child(phase, data, plugin, url, &email, cap, None))
        .collect();
    let t: Vec<Totals> = phases.iter().map(|p| p.totals).collect();
    let n = listed as u64;
    assert_eq!(
        (t[0].imported, t[0].failed),
        (u64::from(cap), 0),
        "{:?}",
        t[0]
    );
    assert_eq!(t[0].imported + t[1].imported, n, "the backfill: {:?}", t[1]);
    for relist in &t[2..] {
        let walked = (relist.runs, relist.listed, relist.already_there);
        assert_eq!(
            walked,
            (1, n, n),
            "one run lists all, knows all: {relist:?}"
        );
        assert_eq!(
            (relist.imported, relist.failed),
            (0, 0),
            "no download: {relist:?}"
        );
    }
    let db = StateDb::open(&data.join("state.sqlite3")).expect("state db opens");
    assert_eq!(db.ledger_entries(PLUGIN).expect("ledger").len(), listed);
    let files = std::fs::read_dir(data.join(HANDLE).join("activities")).expect("store");
    assert_eq!(
        files.count(),
        2 * listed,
        "an activity file and a track each"
    );
    let db_kib = std::fs::metadata(data.join("state.sqlite3")).map_or(0, |m| m.len() / 1024);
    let peaks: Vec<String> = PHASES
        .iter()
        .zip(&phases)
        .map(|((name, _), p)| format!("{name} {}", mib(p.peak_kib)))
        .collect();
    println!(
        "account listing {listed}: peak RSS {}; state.sqlite3 {}",
        peaks.join(", "),
        mib(db_kib)
    );
    Account { listed, phases }
}

/// Runs this binary as `--child PHASE ...` (trusting the edge's CA when given) and reads its
/// RESULT line.
fn run_child(
    phase: &str,
    data: &Path,
    plugin: &Path,
    url: &str,
    email: &str,
    cap: u32,
    edge_ca: Option<&str>,
) -> Phase {
    let exe = std::env::current_exe().expect("bench binary path");
    let output = Command::new(exe)
        .args(["--child", phase])
        .args([data, plugin])
        .args([url, email, &cap.to_string()])
        .args(edge_ca)
        .stderr(Stdio::inherit())
        .output()
        .expect("child runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child {phase} failed ({}):\n{out}",
        output.status
    );
    let numbers: Vec<u64> = out
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let [runs, listed, imported, already_there, failed, micros, before_kib, peak_kib] = numbers[..]
    else {
        panic!("child {phase} printed no RESULT line of 8 numbers:\n{out}");
    };
    Phase {
        totals: Totals {
            runs,
            listed,
            imported,
            already_there,
            failed,
        },
        seconds: micros as f64 / 1e6,
        before_kib,
        peak_kib,
    }
}

/// Part 4: peak memory of the host's first run (login through the SSO and DI steps, then a run
/// capped at the first-run size) against the emulator binary plain and `--edge`, rounds
/// interleaved: the memory the browser's TLS and HTTP/2 client costs. Medians of the peaks.
pub struct EdgeMemory {
    pub plain: Vec<Phase>,
    pub edge: Vec<Phase>,
}

pub fn measure_edge(plugin: &Path, emulator: &Path, sizes: &Sizes) -> EdgeMemory {
    let work = tempfile::tempdir().expect("temp dir");
    let accounts = work.path().join("accounts.toml");
    let n = sizes.listed[0];
    let email = email(n);
    let text = format!(
        "[[account]]\nemail = {email:?}\npassword = {PASSWORD:?}\nsample_activities = false\nsynthetic = {n}\n"
    );
    std::fs::write(&accounts, text).expect("write accounts file");
    let (plain_process, plain_url, _) = start_emulator(emulator, &accounts, false);
    let (edge_process, edge_url, ca) = start_emulator(emulator, &accounts, true);
    let ca = ca.expect("the edge wrote its CA");
    let mut figures = EdgeMemory {
        plain: Vec::new(),
        edge: Vec::new(),
    };
    for round in 0..sizes.rounds {
        for step in 0..2 {
            let through_edge = (round + step) % 2 == 1;
            let name = if through_edge { "edge" } else { "plain" };
            let data = work.path().join(format!("{name}-{round}"));
            let (url, trust) = if through_edge {
                (&edge_url, Some(ca.as_str()))
            } else {
                (&plain_url, None)
            };
            let phase = run_child(
                "first-run",
                &data,
                plugin,
                url,
                &email,
                sizes.first_run_cap,
                trust,
            );
            assert_eq!(
                (phase.totals.imported, phase.totals.failed),
                (u64::from(sizes.first_run_cap), 0),
                "{name}: {:?}",
                phase.totals
            );
            println!(
                "edge memory round {}: {name} first run peak RSS {}",
                round + 1,
                mib(phase.peak_kib)
            );
            if through_edge {
                figures.edge.push(phase);
            } else {
                figures.plain.push(phase);
            }
        }
    }
    drop((plain_process, edge_process));
    figures
}

fn median_kib(phases: &[Phase], kib: fn(&Phase) -> u64) -> u64 {
    let mut values: Vec<u64> = phases.iter().map(kib).collect();
    values.sort_unstable();
    values[values.len() / 2]
}

pub fn report_edge(f: &EdgeMemory, sizes: &Sizes) {
    println!(
        "\n## Host memory through the edge (first run: login + {} downloads; median of {} rounds)\n",
        sizes.first_run_cap,
        f.plain.len()
    );
    println!("| peak RSS | plain HTTP | --edge | edge / plain |\n|---|---|---|---|");
    for (what, kib) in [
        (
            "after login (before the sync)",
            (|p: &Phase| p.before_kib) as fn(&Phase) -> u64,
        ),
        ("at the end of the first run", |p: &Phase| p.peak_kib),
    ] {
        let (plain, edge) = (median_kib(&f.plain, kib), median_kib(&f.edge, kib));
        println!(
            "| {what} | {} | {} | {:.2}x |",
            mib(plain),
            mib(edge),
            edge as f64 / plain as f64
        );
    }
}
