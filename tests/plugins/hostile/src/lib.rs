//! A test plugin that panics everywhere it can: in every `Importer` method
//! (each in another way: on the calling thread, with a non-string payload,
//! on a runtime worker, while formatting a log line, with a payload whose
//! own drop panics), in `create` when its settings ask, and when the host
//! drops it. Before panicking, each method calls every host service it can
//! reach and puts what each answered into its panic message, so a test can
//! see that a host service which panics came back as an `internal` error.
//! The host must go on through all of it.

use abi_stable::std_types::RVec;
use bincio_plugin_kit::{
    Account, Connection, ImporterPlugin, Init, Inputs, Request, Step, Summary, SyncRun,
};
use host_api::{
    Capabilities, Disclaimer, FieldKind, FieldSpec, PluginDescriptor, PluginError, API_LEVEL,
};

/// A log line a test's subscriber may answer by panicking (the host's
/// `Logger` service then panics inside the call).
pub const PANIC_THE_LOGGER: &str = "hostile: panic the host logger";

fn descriptor() -> PluginDescriptor {
    PluginDescriptor {
        id: "test.hostile".into(),
        name: "Hostile test plugin".into(),
        version: "0.0.1".into(),
        api_level: API_LEVEL,
        capabilities: Capabilities::default(),
        credential_fields: RVec::new(),
        settings_fields: vec![FieldSpec::new(
            "panic_in_create",
            "Panic while the instance is created",
            FieldKind::BOOL,
        )]
        .into(),
        disclaimer: Disclaimer {
            version: 1,
            title: "Test".into(),
            markdown: "A plugin for tests.".into(),
        },
        default_interval_secs: 3600,
        min_interval_secs: 60,
    }
}

struct Hostile;

impl Drop for Hostile {
    fn drop(&mut self) {
        panic!("drop exploded");
    }
}

/// `name:ok` or `name:<error kind>` for each call.
fn answer<T>(name: &str, result: Result<T, PluginError>) -> String {
    match result {
        Ok(_) => format!("{name}:ok"),
        Err(e) => format!("{name}:{}", e.kind.name()),
    }
}

/// Calls every connection service and says what each answered.
fn poke_connection(ctx: &Connection) -> Vec<String> {
    tracing::warn!("{PANIC_THE_LOGGER}");
    let secrets = ctx.secrets();
    vec![
        answer("secrets.get", secrets.get("probe")),
        answer("secrets.put", secrets.put("probe", "value")),
        answer("secrets.delete", secrets.delete("probe")),
        format!("cancel:{}", ctx.is_cancelled()),
    ]
}

/// Calls every sync service too.
fn poke_sync(ctx: &SyncRun) -> Vec<String> {
    let mut answers = poke_connection(ctx.connection());
    let sink = ctx.sink();
    let progress = ctx.progress();
    progress.set_total(1);
    answers.extend([
        answer("sink.contains", sink.contains("x")),
        answer(
            "sink.import",
            sink.import("x", "x.fit", b"not a fit file".to_vec()),
        ),
        answer("sink.defer", sink.defer("y", "test")),
        answer("sink.due_retries", sink.due_retries()),
        answer("sink.commit", sink.commit("cursor")),
    ]);
    progress.advance(1, "poked");
    answers.push("progress:survived".into());
    answers
}

struct PanicsOnDrop;
impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the panic payload's drop exploded too");
    }
}

struct PanicsInDebug(String);
impl std::fmt::Debug for PanicsInDebug {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("sync exploded while logging; host answered [{}]", self.0)
    }
}

impl ImporterPlugin for Hostile {
    const WORKER_THREADS: usize = 1;

    fn new(init: Init) -> Result<Self, PluginError> {
        if init.settings_json.contains("panic_in_create") {
            panic!("create exploded");
        }
        Ok(Hostile)
    }

    async fn begin_connect(&self, ctx: &Connection, _: &Inputs) -> Step {
        let answers = poke_connection(ctx).join(" ");
        panic!("begin_connect exploded; host answered [{answers}]")
    }

    async fn continue_connect(&self, ctx: &Connection, _: &str, _: &Inputs) -> Step {
        poke_connection(ctx);
        std::panic::panic_any(0xdead_u32)
    }

    async fn check(&self, ctx: &Connection) -> Result<Account, PluginError> {
        let answers = poke_connection(ctx).join(" ");
        let task = tokio::spawn(async move {
            panic!("check exploded on a runtime worker; host answered [{answers}]")
        });
        match task.await {
            Ok(()) => unreachable!("the task panics"),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    async fn sync(&self, ctx: &SyncRun, _: &Request) -> Result<Summary, PluginError> {
        let answers = poke_sync(ctx).join(" ");
        tracing::info!(value = ?PanicsInDebug(answers), "logging a value");
        Ok(Summary::default())
    }

    async fn disconnect(&self, ctx: &Connection) -> Result<(), PluginError> {
        poke_connection(ctx);
        std::panic::panic_any(PanicsOnDrop)
    }
}

bincio_plugin_kit::export_plugin!(descriptor: descriptor, importer: Hostile);
