//! Restore: put a backup's data in place while the server keeps running ([`online`]), or from
//! the command line when it is stopped ([`offline`]).
//!
//! The order makes every step all-or-nothing:
//! 1. *Prepare* (database work continues, [`prepare`]): copy the chosen backup beside the live
//!    file while hashing what is read (checked against its record), and run `quick_check` on
//!    it, in parallel. Any problem refuses the restore before anything changed.
//! 2. *Swap* (database work paused): make sure no other process has the database open, read
//!    today's accounts and carry them into the prepared copy ([`accounts`]), checkpoint the WAL,
//!    close every connection (counted), hard-link the live file into the backup folder as the
//!    safety backup (the exact data before the restore, no copy needed), then
//!    [`swap_into_place`]: remove `-wal`/`-shm` and rename the prepared copy over the live file.
//!    Reopen the pool (running migrations for older backups). A crash at any point leaves
//!    either the old or the new database, never a file paired with the other's journal.
//! 3. *Finish* (database work resumed): name and verify the safety backup, write its record.

mod accounts;
mod offline;
mod online;
mod prepare;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

pub use accounts::{AccountChange, AccountDifference, Change};
pub use offline::{OfflineTarget, backup_after_bringing_in, restore_offline};

use super::BackupError;
use super::catalog::{self, BackupEntry};
use super::names::BackupKind;
use super::temp_file::TempFile;
use crate::config::Paths;
use crate::fsutil;

pub const RESTORE_TEMP_PREFIX: &str = ".restore-";
/// A complete hard link (or fsynced copy) of the live file, made during a swap.
pub const SAFETY_TEMP_PREFIX: &str = ".tmp-safety-";
/// A copy of the live file still being written (only where hard links are impossible).
const SAFETY_PARTIAL_PREFIX: &str = ".tmp-partial-";

/// Whose sign-in data the restored database has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accounts {
    /// Everyone who exists today and in the backup (same id and name) keeps today's
    /// password, role and disabled flag: a restore never brings back an old password, a
    /// taken-away role or a lifted ban.
    #[default]
    KeepCurrent,
    /// The accounts exactly as the backup has them.
    AsInBackup,
}

/// How to restore.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestoreOptions {
    pub accounts: Accounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub restored: String,
    pub safety_backup: String,
    /// Newer backups that emergency restore passed over, with the reason.
    pub skipped: Vec<(String, String)>,
    pub row_counts: BTreeMap<String, i64>,
    pub schema_version_before_migration: i64,
    pub duration_ms: u64,
    /// How long database work was held back.
    pub pause_ms: u64,
    /// How the accounts were restored: as asked, or [`Accounts::AsInBackup`] when today's
    /// could not be read (a command-line restore over a broken database).
    pub accounts: Accounts,
    /// Why today's accounts were not kept although that was asked.
    pub accounts_not_kept: Option<String>,
    /// Users whose password, role or disabled flag differed in the backup and who kept
    /// today's (with [`Accounts::KeepCurrent`]).
    pub accounts_kept: Vec<String>,
    /// Users whose sign-in changed with the restore, so their sessions must end: the
    /// password hash, role or disabled flag now differs from before,
    /// or the account is gone or came back from the backup. When today's accounts could
    /// not be read, every account in the restored data.
    pub changed_user_ids: Vec<i64>,
}

/// Backups that "the latest good backup" may mean, newest first: regular ones, and not one
/// without shop records while a good one with them exists.
fn emergency_candidates(entries: Vec<BackupEntry>) -> Vec<BackupEntry> {
    let skip_empty = super::coverage::shop_backup_exists(&entries);
    entries
        .into_iter()
        .filter(|e| e.kind().is_regular())
        .filter(|e| !(skip_empty && super::coverage::holds_shop_records(e) == Some(false)))
        .collect()
}

fn unique_name(dir: &Path, kind: BackupKind, at: NaiveDateTime) -> String {
    catalog::unused_name(dir, kind, at, "")
}

/// The files SQLite keeps beside a database; a restore never leaves the old ones beside the
/// new data (SQLite would replay an old `-wal`, or roll an old `-journal` back, onto it).
const JOURNAL_SUFFIXES: [&str; 3] = ["-journal", "-wal", "-shm"];

/// Removes `business_data.db-journal`, `-wal` and `-shm`. Only call when nothing has the file
/// open and it holds every committed change itself (checkpointed, or settled with
/// [`crate::db::settle_file`]). A journal is emptied and flushed first: where a deletion is not
/// durable at once (Windows has no directory fsync), a crash must not bring back an old
/// journal beside new data.
fn remove_journal_files(paths: &Paths) -> Result<(), BackupError> {
    for suffix in JOURNAL_SUFFIXES {
        let path = paths.db_sidecar(suffix);
        if suffix != "-shm" {
            match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(file) => file
                    .set_len(0)
                    .and_then(|()| crate::platform::flush_file(&file))
                    .map_err(BackupError::io(format!(
                        "cannot empty the old {suffix} file"
                    )))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(BackupError::io(format!(
                        "cannot open the old {suffix} file"
                    ))(e));
                }
            }
        }
        match fsutil::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(BackupError::io(format!(
                    "cannot remove the old {suffix} file"
                ))(e));
            }
        }
    }
    Ok(())
}

/// Where [`swap_into_place`] stopped.
enum SwapError {
    /// Before the rename: the old data is still the live file.
    NotSwapped(BackupError),
    /// After the rename: the new data is the live file, but flushing the folder failed.
    NotFlushed(BackupError),
}

impl From<SwapError> for BackupError {
    fn from(e: SwapError) -> BackupError {
        match e {
            SwapError::NotSwapped(e) | SwapError::NotFlushed(e) => e,
        }
    }
}

/// Puts `temp` in place as the live database: removes the old journal files, renames, and
/// flushes the folder before and after. Only call when nothing has the file open. `action`
/// says what the rename does, for its error message.
fn swap_into_place(paths: &Paths, temp: &mut TempFile, action: &str) -> Result<(), SwapError> {
    let flush_data_dir = || {
        fsutil::fsync_dir(&paths.data_dir).map_err(BackupError::io("cannot flush the data folder"))
    };
    remove_journal_files(paths).map_err(SwapError::NotSwapped)?;
    flush_data_dir().map_err(SwapError::NotSwapped)?;
    fsutil::rename(&temp.path, &paths.db)
        .map_err(BackupError::io(action))
        .map_err(SwapError::NotSwapped)?;
    temp.keep = true;
    flush_data_dir().map_err(SwapError::NotFlushed)
}

/// Copies a file so that the destination name only ever holds a complete, fsynced copy.
fn copy_complete(from: &Path, to: &Path, partial: &Path) -> std::io::Result<()> {
    let result = copy_then_rename(from, to, partial);
    if result.is_err() {
        // Best effort: a leftover partial file is removed by the next start's cleanup.
        let _ = std::fs::remove_file(partial);
    }
    result
}

fn copy_then_rename(from: &Path, to: &Path, partial: &Path) -> std::io::Result<()> {
    std::fs::copy(from, partial)?;
    fsutil::sync_file(partial)?;
    fsutil::rename(partial, to)?;
    fsutil::fsync_dir(&fsutil::parent_of(to))
}
