//! `backroom restore`: works while the server is stopped, even when the live database is
//! broken.

use std::path::PathBuf;
use std::time::Instant;

use super::accounts::{self, Account};
use super::prepare::{PrepareError, prepare};
use super::{
    Accounts, RESTORE_TEMP_PREFIX, RestoreOptions, RestoreReport, SAFETY_PARTIAL_PREFIX, SwapError,
    copy_complete, emergency_candidates, swap_into_place, unique_name,
};
use crate::backup::catalog::{self, BackupEntry};
use crate::backup::names::BackupKind;
use crate::backup::operation::Operation;
use crate::backup::{BackupError, BackupLog, elapsed_ms, recovery};
use crate::clock::{Clock, SystemClock};
use crate::config::Paths;
use crate::db::{self, Db, DbError, DbOptions};
use crate::fsutil::{self, FileLock};

/// Which backup the command line should restore.
#[derive(Debug, Clone)]
pub enum OfflineTarget {
    Latest,
    Named(String),
}

/// Keeps a raw copy of the current database (`broken_*.db`, with its `-journal` and `-wal`)
/// in the backup folder; returns its name, or `None` when there is no database.
fn keep_raw_copy(paths: &Paths) -> Result<Option<String>, BackupError> {
    if !paths.db.exists() {
        return Ok(None);
    }
    let name = unique_name(&paths.backups, BackupKind::Broken, SystemClock.local_now());
    let dest = paths.backups.join(&name);
    let partial = |ext: &str| {
        paths.backups.join(format!(
            "{SAFETY_PARTIAL_PREFIX}{}{ext}",
            fsutil::random_hex(8)
        ))
    };
    // The journals first: once the .db appears, they are already beside it (SQLite opening
    // the copy then finishes it as it would have finished the live file).
    for suffix in ["-journal", "-wal"] {
        let journal = paths.db_sidecar(suffix);
        if journal.exists() {
            copy_complete(
                &journal,
                &sidecar_of(&dest, suffix),
                &partial(&format!(".db{suffix}")),
            )
            .map_err(BackupError::io(format!(
                "cannot keep a copy of the current {suffix} file"
            )))?;
        }
    }
    copy_complete(&paths.db, &dest, &partial(".db")).map_err(BackupError::io(
        "cannot keep a copy of the current database",
    ))?;
    Ok(Some(name))
}

fn sidecar_of(db: &std::path::Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Lets SQLite finish the live file (roll back a hot `-journal`, copy the `-wal` in), so the
/// swap's emptying of the journals loses nothing even if the swap then fails. False when
/// SQLite cannot (a broken file): its journals then only live on in the raw copy.
fn settle_live_file(paths: &Paths, log: &BackupLog) -> bool {
    if !paths.db.exists() {
        return true;
    }
    match db::settle_file(&paths.db) {
        Ok(()) => true,
        Err(e) => {
            log.warning(&format!(
                "Restore from the command line: the current database could not be finished by SQLite before the swap ({e})"
            ));
            false
        }
    }
}

/// After a swap that did not happen on a file SQLite could not settle: its journals go back
/// beside it from the raw copy, so the live data is exactly as before.
fn put_journals_back(paths: &Paths, raw_copy: &str, log: &BackupLog) {
    for suffix in ["-journal", "-wal"] {
        let kept = sidecar_of(&paths.backups.join(raw_copy), suffix);
        if !kept.exists() {
            continue;
        }
        let partial = paths.data_dir.join(format!(
            "{RESTORE_TEMP_PREFIX}{}.db{suffix}",
            fsutil::random_hex(8)
        ));
        if let Err(e) = copy_complete(&kept, &paths.db_sidecar(suffix), &partial) {
            log.error(&format!(
                "Cannot put the {suffix} file back beside the current database; a copy is {}: {e}",
                kept.display()
            ));
        }
    }
}

/// Today's accounts, or why they cannot be read (a broken database).
fn read_today(paths: &Paths) -> Result<Vec<Account>, rusqlite::Error> {
    if !paths.db.exists() {
        return Ok(Vec::new());
    }
    accounts::read_live_file(&paths.db)
}

/// Keeps a raw copy of the current file, removes stale `-wal`/`-shm`, and puts the backup in
/// place. Today's accounts are kept as `options` says when the current database can be read;
/// when it cannot, the accounts are as in the backup and the report says why.
pub fn restore_offline(
    paths: &Paths,
    target: &OfflineTarget,
    user: &str,
    options: RestoreOptions,
) -> Result<RestoreReport, BackupError> {
    let _server = FileLock::try_acquire(&paths.server_lock)
        .map_err(BackupError::io("cannot open the server lock file"))?
        .ok_or(BackupError::ServerRunning)?;
    // No other Backroom command may have the database open while it is replaced.
    let users = FileLock::try_acquire(&paths.db_lock())
        .map_err(BackupError::io("cannot open the database lock file"))?
        .ok_or(BackupError::Db(DbError::InUseElsewhere))?;
    std::fs::create_dir_all(&paths.backups)
        .map_err(BackupError::io("cannot create the backup folder"))?;
    let _operation = FileLock::try_acquire(&paths.backup_lock())
        .map_err(BackupError::io("cannot open the backup lock file"))?
        .ok_or(BackupError::BusyElsewhere {
            operation: Operation::Backup,
            percent: None,
        })?;
    let started = Instant::now();
    let candidates: Vec<BackupEntry> = match target {
        OfflineTarget::Named(name) => {
            vec![
                catalog::find(&paths.backups, name)
                    .ok_or_else(|| BackupError::NotFound(name.clone()))?,
            ]
        }
        OfflineTarget::Latest => emergency_candidates(
            catalog::list(&paths.backups)
                .map_err(BackupError::io("cannot read the backup folder"))?,
        ),
    };
    let mut skipped = Vec::new();
    let mut chosen = None;
    for entry in candidates {
        let name = entry.file_name.clone();
        match prepare(entry, &paths.data_dir) {
            Ok(p) => {
                chosen = Some(p);
                break;
            }
            Err(PrepareError::Ours(e)) => return Err(e),
            Err(PrepareError::BadBackup(reason)) => {
                if let OfflineTarget::Named(_) = target {
                    return Err(BackupError::VerifyFailed { name, reason });
                }
                skipped.push((name, reason));
            }
        }
    }
    let Some(mut prepared) = chosen else {
        return Err(BackupError::NoGoodBackup { skipped });
    };

    let log = BackupLog::new(paths.backup_log());
    let broken_name = keep_raw_copy(paths)?;
    let settled = settle_live_file(paths, &log);
    // Read after the raw copy is safe: opening the file may touch its -shm.
    let (today, accounts_not_kept) = match read_today(paths) {
        Ok(today) => (Some(today), None),
        Err(e) => (
            None,
            Some(format!(
                "the current database could not be read ({e}), so the accounts are as in the backup"
            )),
        ),
    };
    let carried = accounts::carry_into(&prepared.temp.path, today.as_deref(), options.accounts)?;
    match swap_into_place(paths, &mut prepared.temp, "cannot put the backup in place") {
        Ok(()) => {}
        Err(SwapError::NotSwapped(e)) => {
            if !settled && let Some(raw_copy) = &broken_name {
                put_journals_back(paths, raw_copy, &log);
            }
            return Err(e);
        }
        Err(SwapError::NotFlushed(e)) => return Err(e),
    }
    drop(users);
    // Opening runs the migrations (older backups) and proves the result opens.
    let db = Db::open(&paths.db, DbOptions::CLI)?;
    db.close()?;
    let report = RestoreReport {
        restored: prepared.entry.file_name.clone(),
        safety_backup: broken_name.unwrap_or_else(|| "(there was no database to keep)".into()),
        skipped: skipped
            .into_iter()
            .map(|(name, reason)| (name, reason.to_string()))
            .collect(),
        row_counts: prepared.row_counts.clone(),
        schema_version_before_migration: prepared.schema_version,
        duration_ms: elapsed_ms(started),
        pause_ms: 0,
        accounts: if today.is_some() {
            options.accounts
        } else {
            Accounts::AsInBackup
        },
        accounts_not_kept,
        accounts_kept: carried.kept,
        changed_user_ids: carried.changed_user_ids,
    };
    for (name, reason) in &report.skipped {
        log.warning(&format!("Restore --latest skipped {name}: {reason}"));
    }
    log.info(&format!(
        "Database restored from {} by {user} from the command line (copy of the previous file: {})",
        report.restored, report.safety_backup
    ));
    if let Some(why) = &report.accounts_not_kept {
        log.warning(&format!("Restore from the command line: {why}"));
    }
    if !report.accounts_kept.is_empty() {
        log.info(&format!(
            "The restore kept today's password, role and disabled flag for: {}",
            report.accounts_kept.join(", ")
        ));
    }
    if let Err(e) = recovery::write(paths) {
        tracing::warn!("cannot write RECOVERY.txt: {e}");
    }
    Ok(report)
}

/// After data from elsewhere is restored (a file, an off-site copy), a manual backup of it:
/// what was brought in is not a regular backup, so without this emergency restore and
/// `restore --latest` would pass it over for an older (or empty) one.
pub fn backup_after_bringing_in(
    paths: &Paths,
    settings: crate::config::Settings,
    by: &str,
) -> Result<BackupEntry, BackupError> {
    let db = Db::open(&paths.db, DbOptions::CLI)?;
    let engine = crate::backup::BackupEngine::new(
        paths.clone(),
        db.clone(),
        std::sync::Arc::new(std::sync::RwLock::new(settings)),
    );
    let request = crate::backup::CreateRequest::manual("brought back on this computer", by);
    let made = engine.create(&request);
    db.close()?;
    made
}
