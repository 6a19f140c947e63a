//! Starting and stopping the server: lock the data folder, open the database (refusing a
//! broken or newer one with recovery instructions), take the startup backup's snapshot before
//! serving, start the scheduler and checkpointer, serve, and on shutdown let a running backup
//! finish or clean up before the lock is released.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

use crate::auth::store::AuthStore;
use crate::auth::throttle::LoginThrottle;
use crate::backup::scheduler::Scheduler;
use crate::backup::{BackupEngine, BackupError, BackupKind, CreateRequest, Operation};
use crate::clock::SharedClock;
use crate::config::{ConfigError, Paths, Settings};
use crate::db::{Db, DbError, DbOptions};
use crate::fsutil::{self, FileLock};
use crate::web::{self as app, AppState};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: Option<PathBuf>,
    pub bind: IpAddr,
    pub port: u16,
    /// Overrides the automatic backup interval (tests use seconds).
    pub interval_override: Option<Duration>,
    /// Let actix-web stop on SIGINT/SIGTERM (off for servers started inside tests).
    pub handle_signals: bool,
    pub workers: usize,
    /// The time as every part of the server sees it (tests move it by hand).
    pub clock: SharedClock,
}

impl ServeOptions {
    pub fn new(data_dir: Option<PathBuf>, bind: IpAddr, port: u16) -> ServeOptions {
        ServeOptions {
            data_dir,
            bind,
            port,
            interval_override: None,
            handle_signals: true,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
            clock: crate::clock::system(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error(
        "Backroom is already running with the data folder {0}. Stop it first, or start this one with another --data-dir."
    )]
    AlreadyRunning(PathBuf),
    #[error(
        "{error}\n\nBackroom did not start and did not change any backup. To recover, stop anything using the data folder and run:\n    {command}\nor follow the steps in {recovery}",
        command = crate::platform::RESTORE_LATEST_COMMAND
    )]
    Database { error: DbError, recovery: PathBuf },
    #[error(
        "Port {port} is already in use. Stop the program that uses it, or start Backroom on another port with --port {alternative} (or BACKROOM_PORT).{hint}",
        hint = PORT_HINT
    )]
    PortInUse { port: u16, alternative: u16 },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Sessions(#[from] crate::auth::store::StoreError),
    #[error("{0}")]
    Io(String),
}

/// On recent macOS, AirPlay Receiver listens on port 5000.
#[cfg(target_os = "macos")]
const PORT_HINT: &str = " On a Mac, port 5000 is usually taken by AirPlay Receiver: turn it off in System Settings > General > AirDrop & Handoff, or use another port.";
#[cfg(not(target_os = "macos"))]
const PORT_HINT: &str = "";

/// How long closing the console window (or logging off) may take on Windows: a backup in
/// progress is cancelled and cleaned up within it.
const CONSOLE_CLOSE_GRACE: Duration = Duration::from_secs(20);

/// Loads the session key from the data folder, creating it (owner-only) on first run, so
/// sessions survive restarts.
fn session_key(paths: &Paths) -> Result<Key, StartError> {
    let io = |e: std::io::Error| {
        StartError::Io(format!("cannot use {}: {e}", paths.session_key.display()))
    };
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

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub paths: Paths,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops gracefully and waits until everything is shut down (lock released).
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let handle = self.handle.clone();
        // On a thread of its own, so stopping works from inside another async runtime too.
        let stopper =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(true)));
        let _ = stopper.join();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_inner();
        }
    }
}

/// Everything opened before serving, closed in order after. Tests use it to drive the app
/// in-process (e.g. with a made-up client address).
pub struct Backroom {
    paths: Paths,
    lock: FileLock,
    db: Db,
    engine: BackupEngine,
    scheduler: Arc<Scheduler>,
    checkpointer_stop: Arc<AtomicBool>,
    checkpointer: Option<JoinHandle<()>>,
    startup_backup: Option<JoinHandle<()>>,
    state: web::Data<AppState>,
    key: Key,
    listener: Option<std::net::TcpListener>,
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
        app::app::build(self.state.clone(), self.key.clone())
    }

    /// Stops background work, closes the database and releases the data folder.
    pub fn shutdown(self) {
        shutdown(self);
    }
}

fn prepare(opts: &ServeOptions) -> Result<Backroom, StartError> {
    let paths = Paths::resolve(opts.data_dir.as_deref())?;
    let lock = FileLock::try_acquire(&paths.server_lock)
        .map_err(|e| {
            StartError::Io(format!(
                "cannot create {}: {e}",
                paths.server_lock.display()
            ))
        })?
        .ok_or_else(|| StartError::AlreadyRunning(paths.data_dir.clone()))?;
    let settings = Arc::new(RwLock::new(Settings::load(&paths.settings)?));
    // Leftovers of a crash are cleared before the database opens: Windows cannot remove a
    // second name (hard link) of a file that is open.
    BackupEngine::folder_only(paths.clone(), settings.clone()).clean_leftovers();
    // The cheap check: a file that cannot be opened, or whose schema cannot be read, stops
    // the start here, before any backup is touched.
    let database_error = |error| StartError::Database {
        error,
        recovery: paths.backups.join(crate::backup::recovery::RECOVERY_FILE),
    };
    let db = Db::open_unmigrated(&paths.db, DbOptions::SERVER).map_err(database_error)?;
    let found_version = db.schema_version().map_err(database_error)?;
    let key = session_key(&paths)?;
    let auth = Arc::new(AuthStore::open(&paths.data_dir).map_err(StartError::Sessions)?);
    // Claim the port before any background work, so "port in use" fails fast and clean.
    let addr = SocketAddr::new(opts.bind, opts.port);
    let listener = std::net::TcpListener::bind(addr).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StartError::PortInUse {
                port: opts.port,
                alternative: opts.port.wrapping_add(1).max(1024),
            }
        } else {
            StartError::Bind { addr, source }
        }
    })?;
    let engine = BackupEngine::new(paths.clone(), db.clone(), settings.clone())
        .with_clock(opts.clock.clone());
    engine.backups_changed();

    if found_version > 0 && found_version < crate::db::SCHEMA_VERSION {
        // An upgrade: keep the data exactly as it was before the migrations change it.
        backup_before_upgrade(&engine, found_version).map_err(|e| {
            StartError::Io(format!(
                "the data needs upgrading, but the backup before the upgrade failed, so nothing was changed: {e}"
            ))
        })?;
    }
    db.migrate().map_err(database_error)?;
    let startup_backup = start_startup_backup(&engine);

    let checkpointer_stop = Arc::new(AtomicBool::new(false));
    let checkpointer = db
        .spawn_checkpointer(checkpointer_stop.clone())
        .map_err(|e| StartError::Io(format!("cannot start the checkpointer: {e}")))?;
    let interval = opts
        .interval_override
        .or_else(|| engine.settings().interval());
    let scheduler = Arc::new(
        Scheduler::start(engine.clone(), interval)
            .map_err(|e| StartError::Io(format!("cannot start the scheduler: {e}")))?,
    );
    let state = web::Data::new(AppState {
        paths: paths.clone(),
        db: db.clone(),
        engine: engine.clone(),
        settings,
        scheduler: scheduler.clone(),
        throttle: LoginThrottle::new(auth.clone(), opts.clock.clone()),
        manual_backups: crate::auth::limits::ManualBackupLimit::new(opts.clock.clone()),
        auth,
        clock: opts.clock.clone(),
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
                    engine
                        .log()
                        .warning(&format!("Startup backup skipped: {e}"));
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
                        "the startup copy of the database failed its check: {problem}"
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

fn shutdown(mut prepared: Backroom) {
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
        tracing::warn!("closing the database: {e}");
    }
    tracing::info!(
        "Backroom stopped; data folder {} released",
        prepared.paths.data_dir.display()
    );
    drop(prepared.lock);
}

fn build_server(
    prepared: &mut Backroom,
    opts: &ServeOptions,
) -> Result<(actix_web::dev::Server, SocketAddr), StartError> {
    let state = prepared.state.clone();
    let key = prepared.key.clone();
    let listener = prepared
        .listener
        .take()
        .ok_or_else(|| StartError::Io("the listening socket was already used".into()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Io(format!("cannot read the listening address: {e}")))?;
    let server = HttpServer::new(move || app::app::build(state.clone(), key.clone()))
        .workers(opts.workers)
        .shutdown_timeout(10);
    // On Windows the console handler stops the server instead (it also covers closing the
    // window, logoff and shutdown, which actix-web does not see).
    let server = if opts.handle_signals && !cfg!(windows) {
        server
    } else {
        server.disable_signals()
    };
    let server = server
        .listen(listener)
        .map_err(|source| StartError::Bind { addr, source })?;
    Ok((server.run(), addr))
}

/// Prepares, listens, tells `ready` where it listens (or why it could not start), serves
/// until stopped, then shuts everything down in order. The one sequence behind [`start`] and
/// [`run`].
async fn serve(
    opts: &ServeOptions,
    ready: impl FnOnce(Result<(SocketAddr, ServerHandle, &Backroom), StartError>),
) {
    let mut prepared = match prepare(opts) {
        Ok(p) => p,
        Err(e) => return ready(Err(e)),
    };
    match build_server(&mut prepared, opts) {
        Ok((server, addr)) => {
            ready(Ok((addr, server.handle(), &prepared)));
            if let Err(e) = server.await {
                tracing::error!("server stopped with an error: {e}");
            }
        }
        Err(e) => ready(Err(e)),
    }
    shutdown(prepared);
}

/// Starts the server on a background thread and returns once it is listening.
pub fn start(opts: ServeOptions) -> Result<RunningServer, StartError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("backroom-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(serve(&opts, |ready| {
                let _ = tx.send(
                    ready.map(|(addr, handle, prepared)| (addr, handle, prepared.paths.clone())),
                );
            }));
        })
        .map_err(|e| StartError::Io(format!("cannot start the server thread: {e}")))?;
    match rx.recv() {
        Ok(Ok((addr, handle, paths))) => Ok(RunningServer {
            addr,
            paths,
            handle,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(StartError::Io(
                "the server thread ended before it started".into(),
            ))
        }
    }
}

/// Runs the server in the foreground until Ctrl-C / SIGTERM.
pub fn run(opts: ServeOptions) -> Result<(), StartError> {
    if !opts.bind.is_loopback() {
        eprintln!(
            "WARNING: listening on {} makes Backroom reachable from other computers on the network. Use --bind 127.0.0.1 to keep it on this computer.",
            opts.bind
        );
    }
    let mut failed = None;
    actix_web::rt::System::new().block_on(serve(&opts, |ready| match ready {
        Ok((addr, handle, prepared)) => {
            if opts.handle_signals {
                stop_on_console_events(handle);
            }
            print_welcome(addr, prepared);
        }
        Err(e) => failed = Some(e),
    }));
    crate::platform::console_shutdown_finished();
    failed.map_or(Ok(()), Err)
}

/// Windows: Ctrl-C, closing the window, logoff and shutdown stop the server like SIGTERM does
/// elsewhere (a running backup is finished or cleaned up).
fn stop_on_console_events(handle: ServerHandle) {
    let stop = move || {
        let handle = handle.clone();
        // The handler runs on a thread of Windows' own, outside any runtime.
        std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(true)));
    };
    crate::platform::handle_console_events(Box::new(stop), CONSOLE_CLOSE_GRACE);
}

fn print_welcome(addr: SocketAddr, prepared: &Backroom) {
    let host = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    println!("Backroom {} is running.", crate::version_line());
    println!("Open http://{host}:{}/ in your browser.", addr.port());
    println!("Data folder: {}", prepared.paths.data_dir.display());
    let has_users = prepared
        .db
        .with_conn(|c| crate::auth::users::count(c))
        .map(|n| n > 0)
        .unwrap_or(true);
    if !has_users {
        println!(
            "First run: open http://{host}:{}/ on this computer to create the first (super-admin) account.",
            addr.port()
        );
    }
    println!("Press Ctrl-C to stop.");
}
