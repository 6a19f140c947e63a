//! `backroom restore`: works while the server is stopped, even when the live database is
//! broken.

use std::path::PathBuf;
use std::time::Instant;

use super::accounts::{self, Account};
use super::prepare::{PrepareError, prepare};
use super::{
    Accounts, RestoreOptions, RestoreReport, SAFETY_PARTIAL_PREFIX, copy_complete,
    emergency_candidates, swap_into_place, unique_name,
};
use crate::backup::catalog::{self, BackupEntry};
use crate::backup::names::BackupKind;
use crate::backup::operation::Operation;
use crate::backup::{BackupError, BackupLog, LOCK_FILE, elapsed_ms, recovery};
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

/// Keeps a raw copy of the current database (`broken_*.db`, with its `-wal`) in the backup
/// folder; returns its name, or `None` when there is no database.
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
    let wal = paths.db_sidecar("-wal");
    if wal.exists() {
        // The -wal first: once the .db appears, its journal is already beside it.
        let mut dest_wal = dest.as_os_str().to_owned();
        dest_wal.push("-wal");
        copy_complete(&wal, &PathBuf::from(dest_wal), &partial(".db-wal")).map_err(
            BackupError::io("cannot keep a copy of the current -wal file"),
        )?;
    }
    copy_complete(&paths.db, &dest, &partial(".db")).map_err(BackupError::io(
        "cannot keep a copy of the current database",
    ))?;
    Ok(Some(name))
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
    let users = FileLock::try_acquire(&db::use_lock_path(&paths.db))
        .map_err(BackupError::io("cannot open the database lock file"))?
        .ok_or(BackupError::Db(DbError::InUseElsewhere))?;
    std::fs::create_dir_all(&paths.backups)
        .map_err(BackupError::io("cannot create the backup folder"))?;
    let _operation = FileLock::try_acquire(&paths.backups.join(LOCK_FILE))
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

    let broken_name = keep_raw_copy(paths)?;
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
    swap_into_place(paths, &mut prepared.temp, "cannot put the backup in place")?;
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
    let log = BackupLog::new(&paths.backups);
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
