//! A plugin that panics everywhere, loaded through the real loader, and host
//! services that panic under it: every panic comes back as an `internal`
//! error or a log line, on both sides of the boundary, and the host (this
//! test process) goes on. Without the kit's adapter or the host's `Guarded`
//! services, abi_stable would abort the process at the first one.

use abi_stable::std_types::{RErr, ROption, RResult, RStr, RString, RVec};
use bincio_tests::{plugin_libraries, write_plugin_toml, Entry};
use host_api::{
    Cancel, ConnectStep, ConnectionContext, ErrorKind, ImportItem, ImportOutcome_NE, ImportSink,
    PendingRetry, PluginError, Progress, SecretStore, SyncContext, SyncRequest,
};
use host_demo::host::{Host, HostError, SyncOptions};
use host_demo::services::{Guarded, ProgressEvent, ProgressReporter};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const HOSTILE: &str = "test.hostile";

fn open_host(dir: &Path, settings: &str) -> Host {
    let host = open_host_as_is(dir, settings);
    host.accept_disclaimer(HOSTILE).expect("accept");
    host
}

/// The host with the hostile plugin and Garmin enabled, nothing accepted.
fn open_host_as_is(dir: &Path, settings: &str) -> Host {
    bincio_tests::logs::capture();
    let libs = plugin_libraries();
    let config = write_plugin_toml(
        dir,
        &[
            Entry {
                id: HOSTILE,
                library: &libs.hostile,
                enabled: true,
                settings,
            },
            Entry {
                id: "dev.bincio.garmin",
                library: &libs.garmin,
                enabled: true,
                settings: "",
            },
        ],
    );
    Host::open(&config, dir, "me").expect("host opens")
}

fn internal(error: &PluginError, needles: &[&str]) {
    assert_eq!(error.kind, ErrorKind::INTERNAL, "{error:?}");
    for needle in needles {
        assert!(
            error.detail.contains(needle),
            "{needle:?} not in {:?}",
            error.detail
        );
    }
}

fn plugin_call(result: Result<impl std::fmt::Debug, HostError>) -> PluginError {
    match result {
        Err(HostError::PluginCall(e)) => e,
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

#[test]
fn a_plugin_that_panics_in_every_method_leaves_the_host_running() {
    let dir = tempfile::tempdir().unwrap();
    let host = open_host(dir.path(), "");

    let e = plugin_call(host.begin_connect(HOSTILE, Vec::new()));
    // The host's real services answered before the plugin panicked.
    internal(
        &e,
        &["begin_connect exploded", "secrets.put:ok", "cancel:false"],
    );

    let pending = host.db.create_connection(HOSTILE, 0).unwrap();
    let e = plugin_call(host.continue_connect(&pending, "flow", Vec::new()));
    internal(&e, &["non-string panic payload"]);

    // A connection made by hand, to reach sync and disconnect.
    let id = host.db.create_connection(HOSTILE, 0).unwrap();
    host.db.set_connection_account(&id, "x", "x").unwrap();
    host.db
        .set_connection_status(&id, bincio_state::ConnectionStatus::Active, None)
        .unwrap();

    // A progress display that panics at every report: the host's own
    // service, guarded, while the plugin goes on to its own panic.
    let reports = Arc::new(AtomicU32::new(0));
    let counted = reports.clone();
    let options = SyncOptions {
        progress: ProgressReporter::new(move |_: ProgressEvent| {
            counted.fetch_add(1, Ordering::SeqCst);
            panic!("the progress display exploded");
        }),
        ..SyncOptions::default()
    };
    let report = host.sync_connection(id.as_str(), options).unwrap();
    internal(
        report.result.as_ref().unwrap_err(),
        &[
            "sync exploded while logging",
            "sink.contains:ok",
            "sink.commit:ok",
            "progress:survived",
        ],
    );
    assert_eq!(reports.load(Ordering::SeqCst), 2, "both reports were made");

    let done = host.disconnect(id.as_str()).unwrap();
    internal(&done.plugin_warning.unwrap(), &["non-string panic payload"]);

    // The instance still answers, and the other plugin is untouched.
    let e = plugin_call(host.begin_connect(HOSTILE, Vec::new()));
    internal(&e, &["begin_connect exploded"]);
    assert!(host.instance("dev.bincio.garmin").is_ok());

    // Dropping the host drops the instance, whose own drop panics.
    drop(host);
    assert!(bincio_tests::logs::text()
        .contains("panic while dropping the plugin instance: drop exploded"));
}

#[test]
fn a_plugin_that_panics_while_being_created_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // The host creates every plugin when it opens (a plugin that cannot be
    // created is reported then): the panic marks this one failed, naming
    // it, and the host goes on.
    let host = open_host_as_is(dir.path(), "panic_in_create = true\n");
    let failed = host.manager.loaded(HOSTILE).unwrap_err().to_string();
    assert!(
        failed.contains("creating its importer failed: internal"),
        "{failed}"
    );
    assert!(host.instance(HOSTILE).is_err(), "created");
    let logs = bincio_tests::logs::text();
    assert!(logs.contains("create exploded"), "{logs}");
    assert!(host.instance("dev.bincio.garmin").is_ok());
}

/// Every host service at once, each panicking at every call.
#[derive(Clone)]
struct Panics;

impl SecretStore for Panics {
    fn get(&self, _: RStr<'_>) -> RResult<ROption<RString>, PluginError> {
        panic!("secret get exploded")
    }
    fn put(&self, _: RStr<'_>, _: RStr<'_>) -> RResult<(), PluginError> {
        panic!("secret put exploded")
    }
    fn delete(&self, _: RStr<'_>) -> RResult<(), PluginError> {
        panic!("secret delete exploded")
    }
}
impl Cancel for Panics {
    fn is_cancelled(&self) -> bool {
        panic!("cancel exploded")
    }
}
impl ImportSink for Panics {
    fn contains(&self, _: RStr<'_>) -> RResult<bool, PluginError> {
        panic!("contains exploded")
    }
    fn import(&self, _: ImportItem) -> RResult<ImportOutcome_NE, PluginError> {
        panic!("import exploded")
    }
    fn defer(&self, _: RStr<'_>, _: RStr<'_>) -> RResult<(), PluginError> {
        RErr(PluginError::transient("a plain error still passes"))
    }
    fn due_retries(&self) -> RResult<RVec<PendingRetry>, PluginError> {
        panic!("due_retries exploded")
    }
    fn commit(&self, _: RStr<'_>) -> RResult<(), PluginError> {
        panic!("commit exploded")
    }
}
impl Progress for Panics {
    fn set_total(&self, _: u64) {
        panic!("set_total exploded")
    }
    fn advance(&self, _: u64, _: RStr<'_>) {
        panic!("advance exploded")
    }
}

/// A tracing layer that panics on the hostile plugin's marked line, so the
/// host's `Logger` service panics inside the plugin's call.
struct PanickingSubscriberLayer;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PanickingSubscriberLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Find(bool);
        impl tracing::field::Visit for Find {
            fn record_debug(&mut self, _: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0 |= format!("{v:?}").contains("hostile: panic the host logger");
            }
        }
        let mut find = Find(false);
        event.record(&mut find);
        if find.0 {
            panic!("the host's log subscriber exploded");
        }
    }
}

#[test]
fn host_services_that_panic_under_a_panicking_plugin_answer_internal() {
    use tracing_subscriber::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let host = open_host(dir.path(), "");
    let instance = host.instance(HOSTILE).unwrap();
    let connection = ConnectionContext {
        connection_id: "c".into(),
        secrets: Guarded::secret_store(Panics),
        cancel: Guarded::cancel(Panics),
    };
    let subscriber = tracing_subscriber::registry().with(PanickingSubscriberLayer);
    tracing::subscriber::with_default(subscriber, || {
        let error = instance.importer.check(connection.clone()).unwrap_err();
        internal(
            &error,
            &[
                "check exploded on a runtime worker",
                "secrets.get:internal",
                "secrets.put:internal",
                "secrets.delete:internal",
                "cancel:true",
            ],
        );
        let ctx = SyncContext {
            connection: connection.clone(),
            sink: Guarded::import_sink(Panics),
            progress: Guarded::progress(Panics),
        };
        let error = instance
            .importer
            .sync(ctx, SyncRequest::default())
            .unwrap_err();
        internal(
            &error,
            &[
                "sync exploded while logging",
                "sink.contains:internal",
                "sink.import:internal",
                "sink.defer:transient",
                "sink.due_retries:internal",
                "sink.commit:internal",
                "progress:survived",
            ],
        );
        match ConnectStep::from_abi(instance.importer.begin_connect(connection, RVec::new())) {
            Ok(ConnectStep::Failed(e)) => internal(&e, &["begin_connect exploded"]),
            other => panic!("{other:?}"),
        }
    });
}
