//! Opening everything the server needs, in order (data-folder lock, leftovers, database
//! check, session key and store, port, upgrade backup, migrations, startup backup snapshot,
//! checkpointer, scheduler), and closing it in order after.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::{App, web};

use super::{ServeOptions, StartError};
use crate::auth::store::AuthStore;
use crate::auth::throttle::LoginThrottle;
use crate::backup::scheduler::Scheduler;
use crate::backup::{
    BackupEngine, BackupError, BackupFolder, BackupKind, CreateRequest, Operation,
};
use crate::config::{Paths, Settings};
use crate::db::{Db, DbOptions};
use crate::fsutil::{self, FileLock};
use crate::offsite::{Offsite, Worker as OffsiteWorker};
use crate::web::http::state::AppState;

/// Loads the session key from the data folder, creating it (owner-only) on first run, so
/// sessions survive restarts.
fn session_key(paths: &Paths) -> Result<Key, StartError> {
    let io = StartError::io(format!("cannot use {}", paths.session_key.display()));
    if let Ok(bytes) = std::fs::read(&paths.session_key)
        && bytes.len() == 64
    {
        // Tighten a key file whose permissions were loosened by hand or by a copy.
        fsutil::make_owner_only(&paths.session_key).map_err(io)?;
        return Ok(Key::from(&bytes));
    }
    let key = Key::generate();
    fsutil::write_atomic_private(&paths.session_key, key.master()).map_err(io)?;
    Ok(key)
}

/// Everything opened before serving, closed in order after. Tests use it to drive the app
/// in-process (e.g. with a made-up client address).
pub struct Backroom {
    pub(super) paths: Paths,
    lock: FileLock,
    pub(super) db: Db,
    engine: BackupEngine,
    scheduler: Arc<Scheduler>,
    checkpointer_stop: Arc<AtomicBool>,
    checkpointer: Option<JoinHandle<()>>,
    startup_backup: Option<JoinHandle<()>>,
    offsite_worker: Option<OffsiteWorker>,
    alerts: crate::alerts::Alerts,
    pub(super) state: web::Data<AppState>,
    pub(super) key: Key,
    pub(super) listener: Option<std::net::TcpListener>,
}

impl Backroom {
    /// Opens everything the server needs (see the module docs for the order).
    pub fn open(opts: &ServeOptions) -> Result<Backroom, StartError> {
        prepare(opts)
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The actix-web application with all middleware and routes.
    pub fn app(
        &self,
    ) -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody + use<>>,
            Error = actix_web::Error,
            InitError = (),
        > + use<>,
    > {
        crate::web::http::app::build(self.state.clone(), self.key.clone())
    }

    /// Stops background work, closes the database and releases the data folder.
    pub fn shutdown(self) {
        shutdown(self);
    }
}

pub(super) fn prepare(opts: &ServeOptions) -> Result<Backroom, StartError> {
    prepare_with(opts, None)
}

/// Other people on the computer may not read the shop: new files are created owner-only
/// and what an older version left readable is corrected.
fn keep_private(paths: &Paths) {
    crate::platform::private_new_files();
    for (path, e) in crate::fsutil::make_data_owner_only(paths) {
        tracing::warn!("cannot make {} private to its owner: {e}", path.display());
    }
}

/// Takes the data folder for this server (one server per folder).
pub(super) fn lock_data_folder(paths: &Paths) -> Result<FileLock, StartError> {
    FileLock::try_acquire(&paths.server_lock)
        .map_err(StartError::io(format!(
            "cannot create {}",
            paths.server_lock.display()
        )))?
        .ok_or_else(|| StartError::AlreadyRunning(paths.data_dir.clone()))
}

/// Claims the port (before any background work, so "port in use" fails fast and clean).
pub(super) fn bind(opts: &ServeOptions) -> Result<std::net::TcpListener, StartError> {
    let addr = SocketAddr::new(opts.bind, opts.port);
    std::net::TcpListener::bind(addr).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StartError::PortInUse {
                port: opts.port,
                alternative: opts.port.wrapping_add(1).max(1024),
            }
        } else {
            StartError::Bind { addr, source }
        }
    })
}

/// [`prepare`] on a socket already listening (after the missing-data page), or a new one.
pub(super) fn prepare_with(
    opts: &ServeOptions,
    listener: Option<std::net::TcpListener>,
) -> Result<Backroom, StartError> {
    let paths = Paths::resolve(opts.data_dir.as_deref())?;
    let lock = lock_data_folder(&paths)?;
    keep_private(&paths);
    // Never an empty shop in place of a missing data file unless asked (`serve` shows the
    // page that brings it back first).
    let starting_over = match super::missing::data_missing(&paths)? {
        Some(_) if !opts.new_empty_shop => {
            return Err(StartError::DataMissing {
                db: paths.db.clone(),
            });
        }
        Some(_) => true,
        None => false,
    };
    let settings = Arc::new(RwLock::new(Settings::load(&paths.settings)?));
    // Leftovers of a crash are cleared before the database opens: Windows cannot remove a
    // second name (hard link) of a file that is open.
    BackupFolder::new(paths.clone(), settings.clone()).clean_leftovers();
    // The cheap check: a file that cannot be opened, or whose schema cannot be read, stops
    // the start here, before any backup is touched.
    let database_error = |error| StartError::Database {
        error,
        recovery: paths.recovery_note(),
    };
    let db = Db::open_unmigrated(&paths.db, DbOptions::SERVER).map_err(database_error)?;
    let found_version = db.schema_version().map_err(database_error)?;
    let key = session_key(&paths)?;
    let auth = Arc::new(AuthStore::open(&paths.sessions()).map_err(StartError::Sessions)?);
    let listener = match listener {
        Some(listener) => listener,
        None => bind(opts)?,
    };
    let engine = BackupEngine::new(paths.clone(), db.clone(), settings.clone())
        .with_clock(opts.clock.clone());
    engine.backups_changed();

    if found_version > 0 && found_version < crate::db::SCHEMA_VERSION {
        // An upgrade: keep the data exactly as it was before the migrations change it.
        backup_before_upgrade(&engine, found_version).map_err(StartError::UpgradeBackup)?;
    }
    db.migrate().map_err(database_error)?;
    let startup_backup = if starting_over {
        engine.log().warning(
            "Started over with an empty shop: business_data.db was missing (asked for with --new-empty-shop or on the start-up page); the backups were kept",
        );
        // The startup backup would replace the one holding the old shop with the empty one.
        let old_startup = paths.backups.join(crate::backup::names::STARTUP_NAME);
        (!old_startup.exists())
            .then(|| start_startup_backup(&engine))
            .flatten()
    } else {
        start_startup_backup(&engine)
    };

    let checkpointer_stop = Arc::new(AtomicBool::new(false));
    let checkpointer = db
        .spawn_checkpointer(checkpointer_stop.clone())
        .map_err(StartError::io("cannot start the checkpointer"))?;
    let interval = opts
        .interval_override
        .or_else(|| engine.settings().interval());
    let scheduler = Arc::new(
        Scheduler::start(engine.clone(), interval)
            .map_err(StartError::io("cannot start the scheduler"))?,
    );
    let offsite = Offsite::new(
        paths.clone(),
        engine.folder().clone(),
        opts.clock.clone(),
        opts.offsite,
    );
    let offsite_worker = OffsiteWorker::start(&offsite)
        .map_err(StartError::io("cannot start the off-site worker"))?;
    let alerts = crate::alerts::Alerts::start(
        engine.clone(),
        offsite.clone(),
        opts.clock.clone(),
        opts.alerts,
    )
    .map_err(StartError::io("cannot start the alerts thread"))?;
    let state = web::Data::new(AppState {
        db: db.clone(),
        engine: engine.clone(),
        offsite,
        scheduler: scheduler.clone(),
        throttle: LoginThrottle::new(auth.clone(), opts.clock.clone()),
        manual_backups: crate::auth::limits::ManualBackupLimit::new(opts.clock.clone()),
        first_run_link: crate::actions::first_run::PendingLink::default(),
        auth,
        clock: opts.clock.clone(),
        hosts: web::Data::new(opts.allowed_hosts()),
        uploads: crate::web::http::upload_gate::UploadGate::new(opts.uploads),
        alerts: alerts.clone(),
    });
    Ok(Backroom {
        paths,
        lock,
        db,
        engine,
        scheduler,
        checkpointer_stop,
        checkpointer: Some(checkpointer),
        startup_backup,
        offsite_worker: Some(offsite_worker),
        alerts,
        state,
        key,
        listener: Some(listener),
    })
}

/// A complete backup made before migrating a database from an older version. A manual one,
/// so the next start's startup backup does not replace it.
pub fn backup_before_upgrade(engine: &BackupEngine, from_version: i64) -> Result<(), BackupError> {
    let request = CreateRequest {
        kind: BackupKind::Manual,
        description: format!(
            "Before upgrading the data from schema version {from_version} to {}",
            crate::db::SCHEMA_VERSION
        ),
        created_by: "upgrade".into(),
    };
    engine.create(&request).map(|_| ())
}

/// Starts the startup backup in the background and returns once its snapshot is fixed, so
/// it holds the data as it was before the first request, without waiting for the copy.
fn start_startup_backup(engine: &BackupEngine) -> Option<JoinHandle<()>> {
    let (snapshot_tx, snapshot_rx) = std::sync::mpsc::channel::<()>();
    let engine = engine.clone();
    let handle = std::thread::Builder::new()
        .name("startup-backup".into())
        .spawn(move || {
            let guard = match engine.begin(Operation::Backup, "startup") {
                Ok(g) => g,
                Err(e) => {
                    engine.log().warning(&format!(
                        "Startup backup skipped: {}",
                        crate::error_chain::chain(&e)
                    ));
                    return;
                }
            };
            let request = CreateRequest {
                kind: BackupKind::Startup,
                description: "State of the data when Backroom started".into(),
                created_by: "startup".into(),
            };
            let result = engine.create_locked(&guard, &request, &mut || {
                let _ = snapshot_tx.send(());
            });
            if let Err(BackupError::Integrity(problem)) = result {
                // The live data failed its check: keep the old startup backup, turn the page red.
                engine.record_live_check(crate::backup::health::LiveCheck {
                    ok: false,
                    method: crate::backup::health::CheckMethod::Quick,
                    checked_at: chrono::Utc::now(),
                    message: format!(
                        "the startup copy of the database failed its check: {}",
                        crate::error_chain::chain(&problem)
                    ),
                    duration_ms: 0,
                });
            }
        })
        .ok()?;
    // Either the snapshot is taken or the attempt ended (channel closed); both are fine.
    let _ = snapshot_rx.recv_timeout(Duration::from_secs(30));
    Some(handle)
}

pub(super) fn shutdown(mut prepared: Backroom) {
    prepared.alerts.stop();
    // An upload in progress stops at its next chunk; nothing half-sent is kept.
    if let Some(worker) = prepared.offsite_worker.take() {
        worker.stop();
    }
    prepared.engine.shutdown();
    if let Some(t) = prepared.startup_backup.take() {
        let _ = t.join();
    }
    prepared.scheduler.shutdown();
    prepared.checkpointer_stop.store(true, Ordering::SeqCst);
    if let Some(t) = prepared.checkpointer.take() {
        let _ = t.join();
    }
    if let Err(e) = prepared.db.close() {
        tracing::warn!("closing the database: {}", crate::error_chain::chain(&e));
    }
    tracing::info!(
        "Backroom stopped; data folder {} released",
        prepared.paths.data_dir.display()
    );
    drop(prepared.lock);
}
