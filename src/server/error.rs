//! Why the server did not start, in words for the person at the console.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::ConfigError;
use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "Backroom is already running with the data folder {0}. Stop it first, or start this one with another --data-dir."
    )]
    AlreadyRunning(PathBuf),
    #[error(
        "{error}\n\nBackroom did not start and did not change any backup. To recover, stop anything using the data folder and run:\n    {command}\nor follow the steps in {recovery}",
        command = crate::platform::RESTORE_LATEST_COMMAND
    )]
    Database {
        #[source]
        error: DbError,
        recovery: PathBuf,
    },
    #[error(
        "The data file {} is missing and Backroom stopped before it was brought back; nothing was changed. With Backroom stopped, run:\n    {command}\nor start Backroom again and choose on its page, or start over with an empty shop (the backups are kept):\n    {exe} --new-empty-shop",
        .db.display(),
        command = crate::platform::RESTORE_LATEST_COMMAND,
        exe = crate::platform::EXE_COMMAND
    )]
    DataMissing { db: PathBuf },
    #[error(
        "Port {port} is already in use. Stop the program that uses it, or start Backroom on another port with --port {alternative} (or BACKROOM_PORT).{hint}",
        hint = PORT_HINT
    )]
    PortInUse { port: u16, alternative: u16 },
    #[error("cannot listen on {addr}: {}", crate::fsutil::plain_io(source))]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Sessions(#[from] crate::auth::store::StoreError),
    #[error(
        "the data needs upgrading, but the backup before the upgrade failed, so nothing was changed: {0}"
    )]
    UpgradeBackup(#[source] crate::backup::BackupError),
    #[error("{what}: {}", crate::fsutil::plain_io(source))]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the server thread ended before it started")]
    ThreadEnded,
}

impl StartError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
        let what = what.into();
        move |source| StartError::Io { what, source }
    }
}

/// On recent macOS, AirPlay Receiver listens on port 5000.
#[cfg(target_os = "macos")]
const PORT_HINT: &str = " On a Mac, port 5000 is usually taken by AirPlay Receiver: turn it off in System Settings > General > AirDrop & Handoff, or use another port.";
#[cfg(not(target_os = "macos"))]
const PORT_HINT: &str = "";
