//! The generic adapter over a plain `ImporterPlugin`: values pass through
//! converted, and a panic anywhere (any method, a spawned task, creation,
//! drop) becomes an `internal` error or a log line, never an unwind across
//! the boundary.

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, RErr, ROk, ROption, RResult, RStr, RString, RVec},
};
use bincio_plugin_kit::{
    adapter, Account, Connection, ImporterPlugin, Init, Inputs, Request, Step, Summary, SyncRun,
};
use host_api::{
    Cancel, Cancel_TO, ConnectStep, ConnectStep_NE, ConnectionContext, ErrorKind, FieldValue,
    HostInit, ImportItem, ImportOutcome_NE, ImportSink, ImportSink_TO, ImporterBox, LogLevel,
    Logger, Logger_TO, PendingRetry, PluginError, Progress, Progress_TO, SecretStore,
    SecretStore_TO, SyncContext, SyncRequest,
};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);
impl Logger for Lines {
    fn enabled(&self, _: LogLevel, _: RStr<'_>) -> bool {
        true
    }
    fn log(&self, _: LogLevel, _: RStr<'_>, message: RStr<'_>) {
        self.0.lock().unwrap().push(message.to_string());
    }
}
impl Lines {
    fn any(&self, needle: &str) -> bool {
        self.0.lock().unwrap().iter().any(|l| l.contains(needle))
    }
}

#[derive(Clone)]
struct NoSecrets;
impl SecretStore for NoSecrets {
    fn get(&self, _: RStr<'_>) -> RResult<ROption<RString>, PluginError> {
        ROk(ROption::RSome("stored".into()))
    }
    fn put(&self, _: RStr<'_>, _: RStr<'_>) -> RResult<(), PluginError> {
        ROk(())
    }
    fn delete(&self, _: RStr<'_>) -> RResult<(), PluginError> {
        ROk(())
    }
}
#[derive(Clone)]
struct Never;
impl Cancel for Never {
    fn is_cancelled(&self) -> bool {
        false
    }
}

#[derive(Clone)]
struct EmptySink;
impl ImportSink for EmptySink {
    fn contains(&self, _: RStr<'_>) -> RResult<bool, PluginError> {
        ROk(false)
    }
    fn import(&self, _: ImportItem) -> RResult<ImportOutcome_NE, PluginError> {
        RErr(PluginError::permanent("no"))
    }
    fn defer(&self, _: RStr<'_>, _: RStr<'_>) -> RResult<(), PluginError> {
        ROk(())
    }
    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError> {
        ROk(RVec::new())
    }
    fn commit(&self, _: RStr<'_>) -> RResult<(), PluginError> {
        ROk(())
    }
}
#[derive(Clone)]
struct Quiet;
impl Progress for Quiet {
    fn set_total(&self, _: u64) {}
    fn advance(&self, _: u64, _: RStr<'_>) {}
}

fn sync_ctx() -> SyncContext {
    SyncContext {
        connection: ctx(),
        sink: ImportSink_TO::from_ptr(RArc::new(EmptySink), TD_Opaque),
        progress: Progress_TO::from_ptr(RArc::new(Quiet), TD_Opaque),
    }
}

fn ctx() -> ConnectionContext {
    ConnectionContext {
        connection_id: "c1".into(),
        secrets: SecretStore_TO::from_ptr(RArc::new(NoSecrets), TD_Opaque),
        cancel: Cancel_TO::from_ptr(RArc::new(Never), TD_Opaque),
    }
}

fn create<P: ImporterPlugin>(settings: &str, lines: &Lines) -> RResult<ImporterBox, PluginError> {
    adapter::create::<P>(HostInit {
        api_level: host_api::API_LEVEL,
        host_version: "test".into(),
        settings_json: settings.into(),
        data_dir: "/nonexistent".into(),
        logger: Logger_TO::from_ptr(RArc::new(lines.clone()), TD_Opaque),
    })
}

/// Works: proves the conversions and that `new` runs in the runtime.
struct Plain;
impl ImporterPlugin for Plain {
    fn new(init: Init) -> Result<Self, PluginError> {
        tokio::runtime::Handle::current(); // panics outside a runtime context
        assert_eq!(init.settings_json, "{}");
        Ok(Plain)
    }
    async fn begin_connect(&self, ctx: &Connection, inputs: &Inputs) -> Step {
        Step::Done(Account {
            account_id: format!("{}:{}", ctx.id(), inputs.get("email").unwrap_or("-")),
            display_name: ctx.secrets().get("k").unwrap().unwrap(),
        })
    }
    async fn continue_connect(&self, _: &Connection, flow_id: &str, _: &Inputs) -> Step {
        Step::Failed(PluginError::permanent(flow_id))
    }
    async fn check(&self, _: &Connection) -> Result<Account, PluginError> {
        tracing::info!("checking");
        Err(PluginError::transient("offline"))
    }
    async fn sync(&self, _: &SyncRun, request: &Request) -> Result<Summary, PluginError> {
        Ok(Summary {
            listed: request.max_downloads.unwrap_or(0),
            ..Summary::default()
        })
    }
    async fn disconnect(&self, _: &Connection) -> Result<(), PluginError> {
        Ok(())
    }
}

#[test]
fn values_cross_converted_and_logs_reach_the_host() {
    let lines = Lines::default();
    let importer = create::<Plain>("{}", &lines).unwrap();
    let inputs = RVec::from(vec![FieldValue::new("email", "  a@b  ")]);
    match ConnectStep::from_abi(importer.begin_connect(ctx(), inputs)).unwrap() {
        ConnectStep::Done {
            account_id,
            display_name,
        } => {
            assert_eq!(account_id, "c1:a@b");
            assert_eq!(display_name, "stored");
        }
        other => panic!("{other:?}"),
    }
    match ConnectStep::from_abi(importer.continue_connect(ctx(), "flow-9".into(), RVec::new()))
        .unwrap()
    {
        ConnectStep::Failed(e) => assert_eq!(e.user_message, "flow-9"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        importer.check(ctx()).unwrap_err().kind,
        ErrorKind::TRANSIENT
    );
    assert!(lines.any("checking"));
    let request = SyncRequest {
        cursor: ROption::RNone,
        max_downloads: ROption::RSome(7),
    };
    assert_eq!(importer.sync(sync_ctx(), request).unwrap().listed, 7);
    assert!(importer.disconnect(ctx()).is_ok());
}

/// Panics everywhere, each time differently.
struct Hostile;
impl Drop for Hostile {
    fn drop(&mut self) {
        panic!("drop exploded");
    }
}
impl ImporterPlugin for Hostile {
    fn new(init: Init) -> Result<Self, PluginError> {
        if init.settings_json.contains("panic") {
            panic!("new exploded");
        }
        Ok(Hostile)
    }
    async fn begin_connect(&self, _: &Connection, _: &Inputs) -> Step {
        panic!("begin_connect exploded")
    }
    async fn continue_connect(&self, _: &Connection, _: &str, _: &Inputs) -> Step {
        std::panic::panic_any(7u8)
    }
    async fn check(&self, _: &Connection) -> Result<Account, PluginError> {
        // On a worker thread; the join error carries the panic back.
        let task = tokio::spawn(async { panic!("check exploded on a worker") });
        match task.await {
            Ok(()) => unreachable!(),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    async fn sync(&self, _: &SyncRun, _: &Request) -> Result<Summary, PluginError> {
        struct Bad;
        impl std::fmt::Debug for Bad {
            fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                panic!("sync exploded while logging")
            }
        }
        tracing::info!(value = ?Bad, "about to log");
        Ok(Summary::default())
    }
    async fn disconnect(&self, _: &Connection) -> Result<(), PluginError> {
        panic!("disconnect exploded")
    }
}

fn internal(result: Result<impl std::fmt::Debug, PluginError>, needle: &str) {
    let e = result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::INTERNAL, "{e:?}");
    assert!(e.detail.contains(needle), "{needle} not in {}", e.detail);
}

fn failed(step: ConnectStep_NE, needle: &str) {
    match ConnectStep::from_abi(step).expect("a variant this build knows") {
        ConnectStep::Failed(e) => internal(Err::<(), _>(e), needle),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_panic_in_any_method_creation_or_drop_is_contained() {
    let lines = Lines::default();
    internal(
        create::<Hostile>("{\"panic\":1}", &lines)
            .into_result()
            .map(|_| ()),
        "new exploded",
    );
    assert!(lines.any("panic caught at the plugin boundary: new exploded"));

    let importer = create::<Hostile>("{}", &lines).unwrap();
    failed(
        importer.begin_connect(ctx(), RVec::new()),
        "begin_connect exploded",
    );
    failed(
        importer.continue_connect(ctx(), "f".into(), RVec::new()),
        "non-string panic payload",
    );
    internal(
        importer.check(ctx()).into_result(),
        "check exploded on a worker",
    );
    internal(
        importer
            .sync(sync_ctx(), SyncRequest::default())
            .into_result(),
        "sync exploded while logging",
    );
    internal(
        importer.disconnect(ctx()).into_result(),
        "disconnect exploded",
    );
    // Every caught panic reached the host's logger.
    assert!(lines.any("panic caught at the plugin boundary: disconnect exploded"));
    // The instance still answers after all that.
    failed(
        importer.begin_connect(ctx(), RVec::new()),
        "begin_connect exploded",
    );
    drop(importer);
    assert!(lines.any("panic while dropping the plugin instance: drop exploded"));
}
