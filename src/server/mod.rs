//! Starting and stopping the server: lock the data folder, open the database (refusing a
//! broken or newer one with recovery instructions), take the startup backup's snapshot before
//! serving, start the scheduler and checkpointer, serve, and on shutdown let a running backup
//! finish or clean up before the lock is released.

mod error;
mod open;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;

use crate::clock::SharedClock;
use crate::config::Paths;
use crate::web as app;
pub use error::StartError;
pub use open::{Backroom, backup_before_upgrade};
use open::{prepare, shutdown};

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

fn build_server(
    prepared: &mut Backroom,
    opts: &ServeOptions,
) -> Result<(actix_web::dev::Server, SocketAddr), StartError> {
    let state = prepared.state.clone();
    let key = prepared.key.clone();
    let listener = prepared.listener.take().ok_or(StartError::ThreadEnded)?;
    let addr = listener
        .local_addr()
        .map_err(StartError::io("cannot read the listening address"))?;
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
        .map_err(StartError::io("cannot start the server thread"))?;
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
