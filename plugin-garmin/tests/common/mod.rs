//! Test doubles for the host services (an in-memory secret store, an
//! in-memory import ledger, a capturing logger, a cancel flag, a progress
//! counter) and a harness that points a `GarminImporter` at a running
//! emulator, its clock following the emulator's virtual clock.

#![allow(dead_code)]

pub mod connect;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, ROption, RResult, RStr, RString, RVec};
use garmin_emulator::{Emulator, EmulatorConfig};
use host_api::*;
use plugin_garmin::{Clock, GarminImporter};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------- secrets

#[derive(Clone, Default)]
pub struct Secrets {
    pub values: Arc<Mutex<HashMap<String, String>>>,
    /// Every put, in order.
    pub puts: Arc<Mutex<Vec<(String, String)>>>,
}

impl Secrets {
    pub fn get(&self, key: &str) -> Option<String> {
        self.values.lock().unwrap().get(key).cloned()
    }
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.values.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }
    pub fn set(&self, key: &str, value: &str) {
        self.values.lock().unwrap().insert(key.into(), value.into());
    }
    /// The stored tokens as JSON.
    pub fn tokens(&self) -> Option<Value> {
        self.get("tokens")
            .map(|t| serde_json::from_str(&t).unwrap())
    }
    /// Every token value ever stored (access and refresh).
    pub fn all_token_values(&self) -> Vec<String> {
        let puts = self.puts.lock().unwrap();
        let mut out = Vec::new();
        for (key, value) in puts.iter().filter(|(k, _)| k == "tokens") {
            let v: Value = serde_json::from_str(value).unwrap();
            for field in ["di_token", "di_refresh_token"] {
                if let Some(t) = v.get(field).and_then(Value::as_str) {
                    out.push(t.to_string());
                }
            }
            let _ = key;
        }
        out
    }
}

impl SecretStore for Secrets {
    fn get(&self, key: RStr<'_>) -> RResult<ROption<RString>, PluginError> {
        RResult::ROk(
            self.values
                .lock()
                .unwrap()
                .get(key.as_str())
                .map(|v| RString::from(v.as_str()))
                .into(),
        )
    }
    fn put(&self, key: RStr<'_>, value: RStr<'_>) -> RResult<(), PluginError> {
        self.values
            .lock()
            .unwrap()
            .insert(key.to_string(), value.to_string());
        self.puts
            .lock()
            .unwrap()
            .push((key.to_string(), value.to_string()));
        RResult::ROk(())
    }
    fn delete(&self, key: RStr<'_>) -> RResult<(), PluginError> {
        self.values.lock().unwrap().remove(key.as_str());
        RResult::ROk(())
    }
}

// ----------------------------------------------------------------- ledger

#[derive(Default)]
pub struct LedgerState {
    /// external id -> "imported" | "rejected: reason"
    pub held: BTreeMap<String, String>,
    /// import calls per id (including duplicates)
    pub import_calls: HashMap<String, u32>,
    /// deferred id -> (attempts, last error)
    pub deferred: BTreeMap<String, (u32, String)>,
    pub cursor: Option<String>,
    pub commits: u32,
    pub file_names: HashMap<String, String>,
}

/// An in-memory import ledger standing in for the host's sink.
#[derive(Clone, Default)]
pub struct Ledger(pub Arc<Mutex<LedgerState>>);

impl Ledger {
    pub fn state(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.0.lock().unwrap()
    }
    pub fn imported_ids(&self) -> Vec<String> {
        self.state()
            .held
            .iter()
            .filter(|(_, v)| *v == "imported")
            .map(|(k, _)| k.clone())
            .collect()
    }
    pub fn cursor(&self) -> Option<String> {
        self.state().cursor.clone()
    }
}

impl ImportSink for Ledger {
    fn contains(&self, external_id: RStr<'_>) -> RResult<bool, PluginError> {
        RResult::ROk(self.state().held.contains_key(external_id.as_str()))
    }
    fn import(&self, item: ImportItem) -> RResult<ImportOutcome_NE, PluginError> {
        let mut s = self.state();
        let id = item.external_id.to_string();
        *s.import_calls.entry(id.clone()).or_default() += 1;
        s.deferred.remove(&id);
        if s.held.contains_key(&id) {
            return RResult::ROk(
                ImportOutcome::Duplicate {
                    activity_id: id.into(),
                }
                .into(),
            );
        }
        let bytes = item.bytes.as_slice();
        let is_fit = bytes.len() >= 12 && &bytes[8..12] == b".FIT";
        s.file_names.insert(id.clone(), item.file_name.to_string());
        if is_fit {
            s.held.insert(id.clone(), "imported".into());
            RResult::ROk(
                ImportOutcome::Imported {
                    activity_id: id.into(),
                }
                .into(),
            )
        } else {
            s.held.insert(id, "rejected: not a FIT file".into());
            RResult::ROk(
                ImportOutcome::Rejected {
                    reason: "not a FIT file".into(),
                }
                .into(),
            )
        }
    }
    fn defer(&self, external_id: RStr<'_>, error: RStr<'_>) -> RResult<(), PluginError> {
        let mut s = self.state();
        let entry = s
            .deferred
            .entry(external_id.to_string())
            .or_insert((0, String::new()));
        entry.0 += 1;
        entry.1 = error.to_string();
        RResult::ROk(())
    }
    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError> {
        let s = self.state();
        RResult::ROk(
            s.deferred
                .iter()
                .filter(|(id, _)| !s.held.contains_key(*id))
                .map(|(id, (attempts, error))| PendingRetry {
                    external_id: id.as_str().into(),
                    attempts: *attempts,
                    last_error: error.as_str().into(),
                })
                .collect(),
        )
    }
    fn commit(&self, cursor: RStr<'_>) -> RResult<(), PluginError> {
        let mut s = self.state();
        s.cursor = Some(cursor.to_string());
        s.commits += 1;
        RResult::ROk(())
    }
}

// ------------------------------------------------------ logger, cancel, progress

#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<String>>>);

impl Captured {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Logger for Captured {
    fn enabled(&self, _level: LogLevel, _target: RStr<'_>) -> bool {
        true
    }
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{:?} {target}: {message}", level.0));
    }
}

#[derive(Clone, Default)]
pub struct Flag(pub Arc<AtomicBool>);

impl Cancel for Flag {
    fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Default)]
pub struct Counter {
    pub total: Arc<AtomicU64>,
    pub done: Arc<AtomicU64>,
}

impl Progress for Counter {
    fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::SeqCst);
    }
    fn advance(&self, done: u64, _message: RStr<'_>) {
        self.done.store(done, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------- harness

/// The importer as the host drives it (through the kit's adapter), with a
/// handle on the plugin behind it.
pub struct TestImporter {
    boxed: ImporterBox,
    plugin: Arc<GarminImporter>,
}

impl std::ops::Deref for TestImporter {
    type Target = ImporterBox;
    fn deref(&self) -> &ImporterBox {
        &self.boxed
    }
}

impl TestImporter {
    pub fn pending_flows(&self) -> usize {
        self.plugin.pending_flows()
    }
}

pub struct Harness {
    pub emulator: Arc<Emulator>,
    pub importer: TestImporter,
    pub secrets: Secrets,
    pub logs: Captured,
    pub cancel: Flag,
    pub progress: Counter,
}

/// Settings pointing every base URL at `base` with every pause at zero.
pub fn test_settings(base: &str, overrides: Value) -> Value {
    let mut settings = json!({
        "sso_base_url": base,
        "connectapi_base_url": base,
        "diauth_base_url": base,
        "web_service_base_url": base,
        "login_pause_ms": 0,
        "request_pacing_ms": 0,
        "backoff_base_ms": 0,
        "backoff_max_ms": 0,
        "max_inline_wait_secs": 0,
    });
    for (k, v) in overrides.as_object().cloned().unwrap_or_default() {
        settings[k] = v;
    }
    settings
}

impl Harness {
    pub fn new(config: EmulatorConfig, overrides: Value) -> Self {
        let emulator = Arc::new(Emulator::start(config).expect("emulator starts"));
        Self::on(emulator, overrides)
    }

    /// A new importer instance (as after a host restart) on the same emulator.
    pub fn on(emulator: Arc<Emulator>, overrides: Value) -> Self {
        let logs = Captured::default();
        let mut overrides = overrides;
        if let Some(pem) = emulator.ca_pem() {
            // Behind the edge: trust the CA the emulator made (one file per emulator).
            let path = std::env::temp_dir().join(format!(
                "garmin-edge-ca-{}-{}.pem",
                std::process::id(),
                emulator.base_url().rsplit(':').next().unwrap_or("0")
            ));
            std::fs::write(&path, pem).expect("write the edge CA");
            if overrides.get("extra_ca_file").is_none() {
                overrides["extra_ca_file"] = json!(path.display().to_string());
            }
        }
        let settings = test_settings(&emulator.base_url(), overrides);
        let init = HostInit {
            api_level: API_LEVEL,
            host_version: "test".into(),
            settings_json: settings.to_string().into(),
            data_dir: std::env::temp_dir().to_string_lossy().as_ref().into(),
            logger: Logger_TO::from_ptr(RArc::new(logs.clone()), TD_Opaque),
        };
        let clock_source = emulator.clone();
        let clock = Clock::from_fn(move || clock_source.now().unix_timestamp());
        let (boxed, plugin) = plugin_garmin::create_with_clock(init, clock)
            .into_result()
            .expect("importer builds");
        let importer = TestImporter { boxed, plugin };
        Self {
            emulator,
            importer,
            secrets: Secrets::default(),
            logs,
            cancel: Flag::default(),
            progress: Counter::default(),
        }
    }

    pub fn ctx(&self) -> ConnectionContext {
        ConnectionContext {
            connection_id: "conn-1".into(),
            secrets: SecretStore_TO::from_ptr(RArc::new(self.secrets.clone()), TD_Opaque),
            cancel: Cancel_TO::from_ptr(RArc::new(self.cancel.clone()), TD_Opaque),
        }
    }

    pub fn sync_ctx(&self, ledger: &Ledger) -> SyncContext {
        SyncContext {
            connection: self.ctx(),
            sink: ImportSink_TO::from_ptr(RArc::new(ledger.clone()), TD_Opaque),
            progress: Progress_TO::from_ptr(RArc::new(self.progress.clone()), TD_Opaque),
        }
    }

    pub fn begin(&self, fields: &[(&str, &str)]) -> ConnectStep {
        let inputs: RVec<FieldValue> = fields.iter().map(|(k, v)| FieldValue::new(k, v)).collect();
        ConnectStep::from_abi(self.importer.begin_connect(self.ctx(), inputs))
            .expect("a step this build knows")
    }

    pub fn resume(&self, flow_id: &str, code: &str) -> ConnectStep {
        let inputs: RVec<FieldValue> = vec![FieldValue::new("mfa_code", code)].into();
        ConnectStep::from_abi(
            self.importer
                .continue_connect(self.ctx(), flow_id.into(), inputs),
        )
        .expect("a step this build knows")
    }

    pub fn connect(&self, email: &str, password: &str) -> ConnectStep {
        self.begin(&[("email", email), ("password", password)])
    }

    /// Stores tokens minted by the emulator, as a finished connect would.
    pub fn store_minted_tokens(&self, email: &str) {
        let grant = self
            .emulator
            .mint_tokens(email, garmin_emulator::DI_CLIENT_IDS[0]);
        let tokens = json!({
            "di_token": grant.access_token,
            "di_refresh_token": grant.refresh_token,
            "di_client_id": grant.client_id,
        });
        self.secrets.set("tokens", &tokens.to_string());
        self.secrets.set("email", email);
    }

    pub fn check(&self) -> Result<AccountInfo, PluginError> {
        self.importer.check(self.ctx()).into_result()
    }

    /// One sync run with the ledger's committed cursor.
    pub fn sync(
        &self,
        ledger: &Ledger,
        max_downloads: Option<u32>,
    ) -> Result<SyncSummary, PluginError> {
        let request = SyncRequest {
            cursor: ledger.cursor().map(RString::from).into(),
            max_downloads: max_downloads.into(),
        };
        self.importer
            .sync(self.sync_ctx(ledger), request)
            .into_result()
    }

    /// Fails if any captured log line holds one of `secrets`.
    pub fn assert_logs_hold_none_of(&self, secrets: &[String]) {
        let lines = self.logs.lines();
        assert!(!lines.is_empty(), "the logger captured nothing");
        for line in &lines {
            for secret in secrets.iter().filter(|s| s.len() >= 6) {
                assert!(
                    !line.contains(secret.as_str()),
                    "a secret leaked into the log: {line}"
                );
            }
            assert!(
                !line.contains("ST-0"),
                "a service ticket leaked into the log: {line}"
            );
        }
    }

    /// Every secret the plugin saw or stored: the given ones plus all tokens.
    pub fn assert_no_secret_logged(&self, given: &[&str]) {
        let mut secrets: Vec<String> = given.iter().map(|s| s.to_string()).collect();
        secrets.extend(self.secrets.all_token_values());
        self.assert_logs_hold_none_of(&secrets);
    }
}

pub fn done(step: ConnectStep) -> (String, String) {
    match step {
        ConnectStep::Done {
            account_id,
            display_name,
        } => (account_id.into(), display_name.into()),
        other => panic!("expected Done, got {other:?}"),
    }
}

pub fn failed(step: ConnectStep) -> PluginError {
    match step {
        ConnectStep::Failed(e) => e,
        other => panic!("expected Failed, got {other:?}"),
    }
}
