//! Starting and stopping the server: lock the data folder, open the database (refusing a
//! broken or newer one with recovery instructions), take the startup backup's snapshot before
//! serving, start the scheduler and checkpointer, serve, and on shutdown let a running backup
//! finish or clean up before the lock is released.

mod error;
pub mod missing;
mod open;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;

use crate::clock::SharedClock;
use crate::config::Paths;
use crate::web as app;
pub use error::StartError;
use open::shutdown;
pub use open::{Backroom, backup_before_upgrade};

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
    /// How often off-site work runs (tests make it quick).
    pub offsite: crate::offsite::OffsiteOptions,
    /// Start over with an empty shop when `business_data.db` is missing although backups
    /// exist (otherwise Backroom starts into the page that brings the data back).
    pub new_empty_shop: bool,
    /// Names besides localhost and the machine's own that browsers may use for this server.
    pub host_names: Vec<String>,
    /// Files arriving at once over HTTP, and how long a body may pause.
    pub uploads: crate::web::http::upload_gate::UploadLimits,
    /// How often alerts are looked for and retried (tests make it quick).
    pub alerts: crate::alerts::AlertOptions,
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
            offsite: crate::offsite::OffsiteOptions::default(),
            new_empty_shop: false,
            host_names: Vec::new(),
            uploads: crate::web::http::upload_gate::UploadLimits::default(),
            alerts: crate::alerts::AlertOptions::default(),
        }
    }

    /// What the `Host` check accepts for these options.
    pub fn allowed_hosts(&self) -> crate::web::http::host_guard::AllowedHosts {
        crate::web::http::host_guard::AllowedHosts::new(self.bind, &self.host_names)
    }
}

/// Stops whichever server runs now: the missing-data page's, then the shop's.
#[derive(Clone, Default)]
pub struct Stopper(Arc<Mutex<(Option<ServerHandle>, bool)>>);

impl Stopper {
    /// Records the running server's handle; `false` when a stop was asked for already.
    fn set(&self, handle: ServerHandle) -> bool {
        let mut slot = crate::backup::lock(&self.0);
        slot.0 = Some(handle);
        !slot.1
    }

    fn stopped(&self) -> bool {
        crate::backup::lock(&self.0).1
    }

    /// Asks the running server to stop, and any later one not to start serving.
    async fn stop(&self) {
        let handle = {
            let mut slot = crate::backup::lock(&self.0);
            slot.1 = true;
            slot.0.clone()
        };
        if let Some(handle) = handle {
            handle.stop(true).await;
        }
    }
}

/// How the server started: the shop, or the page for a missing data file.
pub enum Started<'a> {
    Shop(&'a Backroom),
    Missing(&'a missing::Missing, &'a missing::Evidence),
}

impl Started<'_> {
    fn paths(&self) -> &Paths {
        match self {
            Started::Shop(b) => &b.paths,
            Started::Missing(m, _) => &m.paths,
        }
    }
}

/// How long closing the console window (or logging off) may take on Windows: a backup in
/// progress is cancelled and cleaned up within it.
const CONSOLE_CLOSE_GRACE: Duration = Duration::from_secs(20);

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub paths: Paths,
    stopper: Stopper,
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
        let handle = self.stopper.clone();
        // On a thread of its own, so stopping works from inside another async runtime too.
        let stopper =
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop()));
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

fn build_server(
    prepared: &mut Backroom,
    opts: &ServeOptions,
) -> Result<(actix_web::dev::Server, SocketAddr), StartError> {
    let state = prepared.state.clone();
    let key = prepared.key.clone();
    let listener = prepared.listener.take().ok_or(StartError::ThreadEnded)?;
    let server = HttpServer::new(move || app::http::app::build(state.clone(), key.clone()))
        .workers(opts.workers)
        .shutdown_timeout(10);
    let addr = listener
        .local_addr()
        .map_err(StartError::io("cannot read the listening address"))?;
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

/// Serves the missing-data page until a choice is made (`Some`) or Backroom is stopped.
async fn serve_missing(
    opts: &ServeOptions,
    stopper: &Stopper,
    ready: &mut impl FnMut(Result<(SocketAddr, &Stopper, Started<'_>), StartError>),
) -> Result<Option<(missing::Choice, std::net::TcpListener)>, StartError> {
    let paths = Paths::resolve(opts.data_dir.as_deref())?;
    let Some(evidence) = missing::data_missing(&paths)? else {
        return Ok(None);
    };
    if opts.new_empty_shop {
        return Ok(None);
    }
    let lock = open::lock_data_folder(&paths)?;
    let listener = open::bind(opts)?;
    let page_listener = listener
        .try_clone()
        .map_err(StartError::io("cannot share the listening socket"))?;
    let mut missing = missing::Missing::new(paths, lock);
    missing.hosts = opts.allowed_hosts();
    let missing = Arc::new(missing);
    let m = missing.clone();
    let addr = listener
        .local_addr()
        .map_err(StartError::io("cannot read the listening address"))?;
    let server = HttpServer::new(move || app::missing_data::build(m.clone()))
        .workers(1)
        .shutdown_timeout(5);
    let server = if opts.handle_signals && !cfg!(windows) {
        server
    } else {
        server.disable_signals()
    };
    let server = server
        .listen(page_listener)
        .map_err(|source| StartError::Bind { addr, source })?
        .run();
    let _ = missing.handle.set(server.handle());
    if stopper.set(server.handle()) {
        ready(Ok((addr, stopper, Started::Missing(&missing, &evidence))));
    } else {
        server.handle().stop(true).await;
    }
    if let Err(e) = server.await {
        tracing::error!(
            "the missing-data page stopped with an error: {}",
            crate::error_chain::chain(&e)
        );
    }
    missing.release();
    match missing.choice() {
        Some(choice) if !stopper.stopped() => Ok(Some((choice, listener))),
        _ => Err(StartError::DataMissing {
            db: missing.paths.db.clone(),
        }),
    }
}

/// Prepares, listens, tells `ready` where it listens (or why it could not start), serves
/// until stopped, then shuts everything down in order. The one sequence behind [`start`] and
/// [`run`]. With the data file missing, the missing-data page comes first (`ready` hears
/// about it, and again about the shop once the data is back on the same address).
async fn serve(
    opts: &ServeOptions,
    mut ready: impl FnMut(Result<(SocketAddr, &Stopper, Started<'_>), StartError>),
) {
    let stopper = Stopper::default();
    let mut opts = opts.clone();
    let listener = match serve_missing(&opts, &stopper, &mut ready).await {
        Ok(None) => None,
        Ok(Some((choice, listener))) => {
            opts.new_empty_shop = choice == missing::Choice::NewEmptyShop;
            Some(listener)
        }
        Err(e) => return ready(Err(e)),
    };
    let mut prepared = match open::prepare_with(&opts, listener) {
        Ok(p) => p,
        Err(e) => return ready(Err(e)),
    };
    match build_server(&mut prepared, &opts) {
        Ok((server, addr)) => {
            if stopper.set(server.handle()) {
                ready(Ok((addr, &stopper, Started::Shop(&prepared))));
            } else {
                server.handle().stop(true).await;
            }
            if let Err(e) = server.await {
                tracing::error!(
                    "server stopped with an error: {}",
                    crate::error_chain::chain(&e)
                );
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
                // Only the first start counts; a shop after the missing-data page reuses it.
                let _ = tx.send(ready.map(|(addr, stopper, started)| {
                    (addr, stopper.clone(), started.paths().clone())
                }));
            }));
        })
        .map_err(StartError::io("cannot start the server thread"))?;
    match rx.recv() {
        Ok(Ok((addr, stopper, paths))) => Ok(RunningServer {
            addr,
            paths,
            stopper,
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(StartError::ThreadEnded)
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
    let mut watching = false;
    actix_web::rt::System::new().block_on(serve(&opts, |ready| match ready {
        Ok((addr, stopper, started)) => {
            if opts.handle_signals && !watching {
                stop_on_console_events(stopper.clone());
                watching = true;
            }
            match started {
                Started::Shop(prepared) => print_welcome(addr, prepared),
                Started::Missing(m, evidence) => {
                    println!("Backroom {} is running.", crate::version_line());
                    println!(
                        "{}",
                        missing::console_text(&m.paths, evidence, &local_url(addr))
                    );
                    println!("Press Ctrl-C to stop.");
                }
            }
        }
        Err(e) => failed = Some(e),
    }));
    crate::platform::console_shutdown_finished();
    failed.map_or(Ok(()), Err)
}

/// Windows: Ctrl-C, closing the window, logoff and shutdown stop the server like SIGTERM does
/// elsewhere (a running backup is finished or cleaned up).
fn stop_on_console_events(stopper: Stopper) {
    let stop = move || {
        let stopper = stopper.clone();
        // The handler runs on a thread of Windows' own, outside any runtime.
        std::thread::spawn(move || actix_web::rt::System::new().block_on(stopper.stop()));
    };
    crate::platform::handle_console_events(Box::new(stop), CONSOLE_CLOSE_GRACE);
}

fn local_url(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}/", addr.port())
}

fn print_welcome(addr: SocketAddr, prepared: &Backroom) {
    let url = local_url(addr);
    println!("Backroom {} is running.", crate::version_line());
    println!("Open {url} in your browser.");
    println!("Data folder: {}", prepared.paths.data_dir.display());
    let has_users = prepared
        .db
        .with_conn(|c| crate::auth::users::count(c))
        .map(|n| n > 0)
        .unwrap_or(true);
    if !has_users {
        println!(
            "First run: open {url} on this computer to create the first (super-admin) account."
        );
    }
    println!("Press Ctrl-C to stop.");
}
