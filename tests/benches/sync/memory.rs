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
    let (emulator, url) = start_emulator(emulator, &accounts);
    println!("emulator process {} at {url}", emulator.0.id());
    let mut results = Vec::new();
    for n in sizes.listed {
        let data = work.path().join(format!("host-{n}"));
        results.push(account(plugin, &url, &data, n, sizes.first_run_cap));
    }
    drop(emulator);
    results
}

fn start_emulator(binary: &Path, accounts: &Path) -> (EmulatorProcess, String) {
    let mut child = Command::new(binary)
        .args(["--port", "0", "--accounts"])
        .arg(accounts)
        .stdout(Stdio::piped())
        .spawn()
        .expect("emulator starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = EmulatorProcess(child);
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    read.expect("emulator prints its address");
    let url = line.trim().strip_prefix("listening on ");
    let url = url.unwrap_or_else(|| panic!("unexpected first line from the emulator: {line:?}"));
    (process, url.to_string())
}

/// The phases for an account listing `listed` activities, checked.
fn account(plugin: &Path, url: &str, data: &Path, listed: usize, cap: u32) -> Account {
    let email = email(listed);
    let phases: Vec<Phase> = PHASES
        .iter()
        .map(|(phase, _)| run_child(phase, data, plugin, url, &email, cap))
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

/// Runs this binary as `--child PHASE ...` and reads its RESULT line.
fn run_child(phase: &str, data: &Path, plugin: &Path, url: &str, email: &str, cap: u32) -> Phase {
    let exe = std::env::current_exe().expect("bench binary path");
    let output = Command::new(exe)
        .args(["--child", phase])
        .args([data, plugin])
        .args([url, email, &cap.to_string()])
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
