//! What can go wrong in the backup engine, in words for the shop owner (the pages show
//! `to_string()`), with the cause kept as the source.

use std::path::PathBuf;

use super::copy::CopyError;
use super::operation::Operation;
use super::verify::Unfit;
use crate::db::DbError;
use crate::fsutil;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("a {operation} is already running{}; try again when it has finished", percent_suffix(*.percent))]
    Busy {
        operation: Operation,
        percent: Option<u8>,
    },
    #[error(
        "another Backroom program is running a {operation} right now{}; try again when it has finished",
        percent_suffix(*.percent)
    )]
    BusyElsewhere {
        operation: Operation,
        percent: Option<u8>,
    },
    #[error(
        "not enough free disk space in {}: the backup needs about {}, only {} is free. Free some space (older backups are never deleted to make room).",
        .dir.display(),
        fsutil::human_size(*.needed),
        fsutil::human_size(*.available)
    )]
    InsufficientSpace {
        dir: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("the copy failed its integrity check: {0}")]
    Integrity(#[source] DbError),
    #[error("{action}: {}", fsutil::plain_io(source))]
    Io {
        action: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A copy step failed in a way not covered by a more specific variant.
    #[error(transparent)]
    Copy(CopyError),
    #[error("no backup is named {0:?}")]
    NotFound(String),
    #[error("the backup was cancelled because the program is shutting down")]
    Cancelled,
    #[error("the newest backup cannot be deleted")]
    NewestCannotBeDeleted,
    #[error("{0} is marked Keep: a super-admin must remove the mark before it can be deleted")]
    Kept(String),
    #[error(
        "the startup backup is replaced every time Backroom starts, so it cannot be marked Keep; make a manual backup and keep that instead"
    )]
    StartupCannotBeKept,
    #[error("the record of {0} cannot be read or rebuilt; verify the backup and try again")]
    NoRecord(String),
    #[error("the backup {0} is in use by another operation; try again in a moment")]
    InUse(String),
    #[error("the backup {name} failed verification: {reason}")]
    VerifyFailed {
        name: String,
        #[source]
        reason: Unfit,
    },
    #[error("no backup passed verification{}", skipped_suffix(.skipped))]
    NoGoodBackup { skipped: Vec<(String, Unfit)> },
    #[error("the restore failed and nothing was changed: {cause}")]
    RestoreFailed {
        #[source]
        cause: Box<BackupError>,
    },
    #[error(
        "the restore failed and nothing was changed: {cause}; reopening the database also failed: {reopen}"
    )]
    RestoreFailedNotReopened {
        cause: Box<BackupError>,
        #[source]
        reopen: DbError,
    },
    #[error(
        "the restore failed after the data was replaced ({reason}); the data from before the restore was put back from {safety}"
    )]
    RolledBack {
        #[source]
        reason: DbError,
        safety: String,
    },
    #[error(
        "the restored data could not be opened ({reason}) and putting the old data back failed too ({put_back}); it is kept as {safety}"
    )]
    PutBackFailed {
        reason: DbError,
        #[source]
        put_back: Box<BackupError>,
        safety: String,
    },
    #[error(
        "the backup file could not be written: the disk may be full or read-only ({0}). No partial backup was kept."
    )]
    WriteFailed(#[source] rusqlite::Error),
    /// The restore could not copy the backup next to the live file.
    #[error(
        "the backup file could not be written: the disk may be full or read-only (copying it next to the live data: {0}). No partial backup was kept."
    )]
    PrepareWriteFailed(#[source] CopyError),
    #[error("cannot carry today's accounts into the restored data: {0}")]
    Accounts(#[source] rusqlite::Error),
    /// A backup in the folder whose schema is not Backroom's (put there by hand).
    #[error("the backup {name} is not a Backroom backup: {source}")]
    Foreign {
        name: String,
        #[source]
        source: super::schema::SchemaError,
    },
    #[error("the file was refused and nothing was added: {0}")]
    Refused(#[source] super::import::Refused),
    #[error(
        "the file is larger than this disk can take ({} with room to spare); free some space and try again",
        fsutil::human_size(*.limit)
    )]
    TooLarge { limit: u64 },
    #[error(
        "the server is running; stop it first (restore from the command line needs the program to be stopped)"
    )]
    ServerRunning,
}

fn percent_suffix(percent: Option<u8>) -> String {
    percent.map(|p| format!(" ({p}%)")).unwrap_or_default()
}

fn skipped_suffix(skipped: &[(String, Unfit)]) -> String {
    if skipped.is_empty() {
        return " (there are no backups)".into();
    }
    let list: Vec<String> = skipped.iter().map(|(n, r)| format!("{n}: {r}")).collect();
    format!("; skipped {}", list.join("; "))
}

impl BackupError {
    pub(super) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
        let action = action.into();
        move |source| BackupError::Io { action, source }
    }

    /// True when the request could not run because another operation holds the lock.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            BackupError::Busy { .. } | BackupError::BusyElsewhere { .. }
        )
    }
}

impl From<CopyError> for BackupError {
    fn from(e: CopyError) -> Self {
        use rusqlite::ErrorCode;
        match e {
            CopyError::Sqlite(e @ rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::CannotOpen
                        | ErrorCode::ReadOnly
                ) =>
            {
                BackupError::WriteFailed(e)
            }
            CopyError::Sqlite(e) => BackupError::Sqlite(e),
            CopyError::Io(e) => BackupError::Io {
                action: "cannot write the backup".into(),
                source: e,
            },
            CopyError::Cancelled => BackupError::Cancelled,
            CopyError::Read(e) => BackupError::Io {
                action: "cannot read the file".into(),
                source: e,
            },
            other @ CopyError::StillWal { .. } => BackupError::Copy(other),
        }
    }
}
