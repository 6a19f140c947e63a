//! The live database: an r2d2 pool of SQLite connections behind a gate, migrations, and the
//! background WAL checkpointer.
//!
//! Every use of a connection passes through the gate (a read lock). A restore takes the gate
//! exclusively, which waits for work in flight, holds new work back, and lets the restore close
//! every connection (proved by counting them) before it touches the database file.

mod checkpointer;
mod exclusive;
mod file;
pub mod migrations;
mod pool;

use std::path::PathBuf;
use std::time::Duration;

pub use exclusive::Exclusive;
pub use file::{
    check_integrity, open_immutable, settle_file, sqlite_uri, table_row_counts, user_version,
};
pub use migrations::SCHEMA_VERSION;
pub use pool::{CountedConnection, CountingManager, Db, DbOptions, use_lock_path};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no database connection is available right now: {0}")]
    Pool(#[from] r2d2::Error),
    #[error(
        "the database {path} was made by a newer version of Backroom (schema version {found}; this program knows up to {known}). Run the newer program, or restore an older backup with `backroom restore NAME`."
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// The file opens but SQLite cannot read it as a database.
    #[error("the database {path} cannot be opened: {source}")]
    Unreadable {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The first connection could not be made (not a database, no permission, WAL refused).
    #[error("the database {path} cannot be opened: {source}")]
    CannotConnect { path: PathBuf, source: r2d2::Error },
    /// The lock file beside the database (see [`use_lock_path`]) cannot be opened or locked.
    #[error(
        "the database {path} cannot be opened: {}",
        crate::fsutil::plain_io(source)
    )]
    UseLockFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Switching the use lock between shared and exclusive failed.
    #[error("cannot change the lock that tells other Backroom programs the data is in use: {}", crate::fsutil::plain_io(.0))]
    UseLock(#[source] std::io::Error),
    #[error("the database is closed for a restore; try again in a moment")]
    Closed,
    #[error("database connections are still open after {0:?}; the restore did not touch any file")]
    ConnectionsStillOpen(Duration),
    #[error(
        "another Backroom program or command is using the data right now (for example a backup or a restore from the command line); wait for it to finish and try again"
    )]
    InUseElsewhere,
    /// The problems SQLite's integrity check reported, in its words.
    #[error("{0}")]
    Damaged(String),
    /// A file to be checked that SQLite cannot open at all.
    #[error("SQLite cannot open it: {0}")]
    CannotOpenToCheck(#[source] rusqlite::Error),
}

impl DbError {
    /// True when the work was stopped by an interrupt (a restore stops long checks).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::OperationInterrupted)
    }
}
