//! Restore: put a backup's data in place while the server keeps running, or from the command
//! line when it is stopped.
//!
//! The order makes every step all-or-nothing:
//! 1. *Prepare* (database work continues): copy the chosen backup beside the live file while
//!    hashing what is read (checked against its record), and run `quick_check` on it, in
//!    parallel. Any problem refuses the restore before anything changed.
//! 2. *Swap* (database work paused): make sure no other process has the database open,
//!    checkpoint the WAL, close every connection (counted), hard-link the live file into the
//!    backup folder as the safety backup (the exact data before the restore, no copy needed),
//!    remove `-wal`/`-shm`, rename the prepared copy over the live file, reopen the pool
//!    (running migrations for older backups). A crash at any point leaves either the old or
//!    the new database, never a file paired with the other's journal.
//! 3. *Finish* (database work resumed): name and verify the safety backup, write its record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::Local;
use serde::Serialize;

use super::catalog::{self, BackupEntry, Sidecar, Verification};
use super::names::BackupKind;
use super::{BackupEngine, BackupError, OpGuard, TempFile, copy, judge};
use crate::config::Paths;
use crate::db::{self, Db, DbOptions};
use crate::fsutil::{self, FileLock};

pub const RESTORE_TEMP_PREFIX: &str = ".restore-";
/// A complete hard link (or fsynced copy) of the live file, made during a swap.
pub const SAFETY_TEMP_PREFIX: &str = ".tmp-safety-";
/// A copy of the live file still being written (only where hard links are impossible).
const SAFETY_PARTIAL_PREFIX: &str = ".tmp-partial-";

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
}

/// A backup copied next to the live file and proven good.
struct Prepared {
    entry: BackupEntry,
    temp: TempFile,
    row_counts: BTreeMap<String, i64>,
    schema_version: i64,
}

/// Why a backup could not be prepared: its own fault (it gets marked as failed), or ours
/// (e.g. no room to copy it: the backup is fine and must not be marked).
enum PrepareError {
    BadBackup(String),
    Ours(BackupError),
}

/// Copies `entry` to a temp file in `data_dir`, hashing as it reads, while `quick_check` runs on
/// the backup file on another thread; the hash proves both read the same bytes.
fn prepare(entry: BackupEntry, data_dir: &Path) -> Result<Prepared, PrepareError> {
    check_room_for(entry.size, data_dir).map_err(PrepareError::Ours)?;
    let temp = TempFile::new(data_dir, RESTORE_TEMP_PREFIX);
    let (copied, checked) = std::thread::scope(|scope| {
        let checker = scope.spawn(|| copy::low_priority(|| copy::check_file(&entry.path, false)));
        let copied = copy::low_priority(|| copy::copy_and_hash(&entry.path, &temp.path));
        let checked = checker
            .join()
            .map_err(|_| "the checking thread panicked".to_string());
        (copied, checked)
    });
    let (sha256, size) = match copied {
        Ok(v) => v,
        // Reading the backup failed: its fault. Writing the copy failed: ours.
        Err(e @ copy::CopyError::Read(_)) => return Err(PrepareError::BadBackup(e.to_string())),
        Err(e) => {
            return Err(PrepareError::Ours(BackupError::WriteFailed(format!(
                "copying it next to the live data: {e}"
            ))));
        }
    };
    let facts = copy::FileFacts::new(sha256, size, checked.map_err(PrepareError::BadBackup)?);
    judge(entry.sidecar.as_ref(), &facts).map_err(PrepareError::BadBackup)?;
    if let Some(sidecar) = &entry.sidecar
        && !sidecar.row_counts.is_empty()
        && sidecar.row_counts != facts.row_counts
    {
        return Err(PrepareError::BadBackup(
            "its row counts differ from the ones recorded when it was made".into(),
        ));
    }
    Ok(Prepared {
        entry,
        temp,
        row_counts: facts.row_counts,
        schema_version: facts.schema_version,
    })
}

/// A restore copies the backup next to the live file first: refuse early when it cannot fit.
fn check_room_for(bytes: u64, dir: &Path) -> Result<(), BackupError> {
    let needed = bytes + bytes / 10;
    let available =
        fsutil::available_space(dir).map_err(BackupError::io("cannot measure free disk space"))?;
    if available < needed {
        return Err(BackupError::InsufficientSpace {
            dir: dir.display().to_string(),
            needed: fsutil::human_size(needed),
            available: fsutil::human_size(available),
        });
    }
    Ok(())
}

/// Removes `business_data.db-wal` and `-shm`. Only call when nothing has the file open.
/// The `-wal` is emptied and flushed first: where a deletion is not durable at once (Windows
/// has no directory fsync), a crash must not bring back an old journal beside new data.
fn remove_journal_files(paths: &Paths) -> Result<(), BackupError> {
    for suffix in ["-wal", "-shm"] {
        let path = paths.db_sidecar(suffix);
        if suffix == "-wal" {
            match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(file) => file
                    .set_len(0)
                    .and_then(|()| crate::platform::flush_file(&file))
                    .map_err(BackupError::io("cannot empty the old -wal file"))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io("cannot open the old -wal file")(e)),
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

/// Copies a file so that the destination name only ever holds a complete, fsynced copy.
fn copy_complete(from: &Path, to: &Path, partial: &Path) -> std::io::Result<()> {
    let result = copy_then_rename(from, to, partial);
    if result.is_err() {
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

/// Keeps the data that is about to be replaced: a hard link (instant; the old data stays
/// under the new name once the live name points elsewhere), or a copy where links are not
/// possible (another drive, FAT).
fn keep_live_file(live: &Path, safety_temp: &Path, backups: &Path) -> Result<(), BackupError> {
    if std::fs::hard_link(live, safety_temp).is_ok() {
        return Ok(());
    }
    let partial = backups.join(format!(
        "{SAFETY_PARTIAL_PREFIX}{}.db",
        fsutil::random_hex(8)
    ));
    copy_complete(live, safety_temp, &partial)
        .map_err(BackupError::io("cannot make the safety backup"))
}

fn unique_name(dir: &Path, kind: BackupKind) -> String {
    catalog::unused_name(dir, kind, Local::now().naive_local(), "")
}

/// Backups that "the latest good backup" may mean, newest first.
fn emergency_candidates(entries: Vec<BackupEntry>) -> Vec<BackupEntry> {
    entries
        .into_iter()
        .filter(|e| e.kind().is_regular())
        .collect()
}

impl BackupEngine {
    /// Restores the named backup (the web layer checks the role).
    pub fn restore(&self, name: &str, user: &str) -> Result<RestoreReport, BackupError> {
        let result = (|| {
            let guard = self.begin("restore", name)?;
            let entry = self.find(name)?;
            let _pin = self.pin(&entry.file_name);
            guard.set_progress("checking", 0, 1);
            let prepared = match prepare(entry, &self.paths().data_dir) {
                Ok(p) => p,
                Err(PrepareError::Ours(e)) => return Err(e),
                Err(PrepareError::BadBackup(reason)) => {
                    self.record_failed_check(name, &reason, user);
                    return Err(BackupError::VerifyFailed {
                        name: name.to_string(),
                        reason,
                    });
                }
            };
            self.swap_and_finish(&guard, prepared, Vec::new(), user)
        })();
        self.log_restore_outcome(name, user, &result);
        result
    }

    /// Restores the newest regular backup that passes verification, naming the ones it
    /// skipped.
    pub fn emergency_restore(&self, user: &str) -> Result<RestoreReport, BackupError> {
        let result = (|| {
            let guard = self.begin("restore", "latest good backup")?;
            let mut skipped = Vec::new();
            for entry in emergency_candidates(self.list()?) {
                let name = entry.file_name.clone();
                let _pin = self.pin(&name);
                guard.set_progress("checking", 0, 1);
                match prepare(entry, &self.paths().data_dir) {
                    Ok(prepared) => {
                        for (skipped_name, reason) in &skipped {
                            self.log().warning(&format!(
                                "Emergency restore skipped {skipped_name}: {reason}"
                            ));
                        }
                        return self.swap_and_finish(&guard, prepared, skipped, user);
                    }
                    Err(PrepareError::Ours(e)) => return Err(e),
                    Err(PrepareError::BadBackup(reason)) => {
                        self.record_failed_check(&name, &reason, user);
                        skipped.push((name, reason));
                    }
                }
            }
            Err(BackupError::NoGoodBackup { skipped })
        })();
        self.log_restore_outcome("the latest good backup", user, &result);
        result
    }

    /// A backup that failed its check during a restore is marked in its record, so the list
    /// shows it as failed from now on.
    fn record_failed_check(&self, name: &str, reason: &str, user: &str) {
        let Ok(entry) = self.find(name) else { return };
        let mut sidecar = match entry.sidecar.clone() {
            Some(s) => s,
            // No usable record: the full verification rebuilds one.
            None => {
                let _ = self.verify_unlocked(&entry, false, user);
                return;
            }
        };
        sidecar.verification = Verification {
            ok: false,
            method: "restore check".into(),
            checked_at: chrono::Utc::now(),
            message: reason.to_string(),
        };
        if let Err(e) = catalog::write_sidecar(&entry.path, &sidecar) {
            tracing::warn!("cannot record the failed check of {name}: {e}");
        }
        self.invalidate_health();
    }

    fn log_restore_outcome(
        &self,
        what: &str,
        user: &str,
        result: &Result<RestoreReport, BackupError>,
    ) {
        match result {
            Ok(r) => self.log().info(&format!(
                "Database restored from {} by {user} (safety backup: {})",
                r.restored, r.safety_backup
            )),
            Err(e) => self
                .log()
                .error(&format!("Restore from {what} by {user} failed: {e}")),
        }
    }

    fn swap_and_finish(
        &self,
        guard: &OpGuard<'_>,
        prepared: Prepared,
        skipped: Vec<(String, String)>,
        user: &str,
    ) -> Result<RestoreReport, BackupError> {
        let started = Instant::now();
        let paths = self.paths().clone();
        let backups = paths.backups.clone();
        let safety_name = unique_name(&backups, BackupKind::PreRestore);
        let safety_path = backups.join(&safety_name);
        let mut safety_temp = TempFile::new(&backups, SAFETY_TEMP_PREFIX);
        let mut prepared = prepared;
        guard.set_progress("finishing", 0, 1);

        // Long checks of the live database give way: the swap must not wait an hour.
        super::health::interrupt_all(self.health_state());
        let db = self.live_db()?.clone();
        let pause_started = Instant::now();
        let mut exclusive = db.exclusive();
        let mut swapped = false;
        let swap = (|| {
            exclusive.close_all(Duration::from_secs(10))?;
            keep_live_file(&paths.db, &safety_temp.path, &backups)?;
            // From here the old data has a second name: never delete it on failure. (If the
            // swap does not happen, the next start sees it is the live file and removes it.)
            safety_temp.keep = true;
            remove_journal_files(&paths)?;
            fsutil::fsync_dir(&backups)
                .map_err(BackupError::io("cannot flush the backup folder"))?;
            fsutil::fsync_dir(&paths.data_dir)
                .map_err(BackupError::io("cannot flush the data folder"))?;
            fsutil::rename(&prepared.temp.path, &paths.db)
                .map_err(BackupError::io("cannot put the restored database in place"))?;
            swapped = true;
            prepared.temp.keep = true;
            fsutil::fsync_dir(&paths.data_dir)
                .map_err(BackupError::io("cannot flush the data folder"))?;
            Ok::<_, BackupError>(())
        })();
        if let Err(e) = swap
            && !swapped
        {
            // Nothing was replaced: drop the second name of the live file, then reopen on the
            // old data (Windows cannot remove a name of a file that is open).
            if safety_temp.keep {
                let _ = fsutil::remove_file(&safety_temp.path);
            }
            let reopened = exclusive.reopen();
            return Err(match reopened {
                Ok(()) => BackupError::RestoreFailed(e.to_string()),
                Err(r) => BackupError::RestoreFailed(format!(
                    "{e}; reopening the database also failed: {r}"
                )),
            });
        }
        // The new data is live; the old data lives on as the safety backup.
        let named = fsutil::rename(&safety_temp.path, &safety_path)
            .and_then(|()| fsutil::fsync_dir(&backups));
        let safety_name = match named {
            Ok(()) => safety_name,
            Err(e) => {
                // Still safe under its temp name: the next start rescues it as a safety backup.
                tracing::error!("cannot name the safety backup: {e}");
                safety_temp
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }
        };
        if let Err(e) = exclusive.reopen() {
            let reason = e.to_string();
            let put_back = self.put_back(&mut exclusive, &backups.join(&safety_name));
            if exclusive.reopen_if_closed().is_err() {
                tracing::error!("the database could not be reopened after a failed restore");
            }
            return Err(match put_back {
                Ok(()) => BackupError::RolledBack {
                    reason,
                    safety: safety_name,
                },
                Err(p) => BackupError::Failed(format!(
                    "the restored data could not be opened ({reason}) and putting the old data back failed too ({p}); it is kept as {safety_name}"
                )),
            });
        }
        let pause_ms = u64::try_from(pause_started.elapsed().as_millis()).unwrap_or(u64::MAX);
        drop(exclusive);

        if let Err(e) = self.finish_safety_backup(&backups.join(&safety_name), user, started) {
            // The restore itself succeeded; the safety file is listed as unverified.
            self.log().warning(&format!(
                "The safety backup {safety_name} could not be checked: {e}"
            ));
        }
        self.apply_retention(&safety_name);
        self.backups_changed();
        Ok(RestoreReport {
            restored: prepared.entry.file_name.clone(),
            safety_backup: safety_name,
            skipped,
            row_counts: prepared.row_counts.clone(),
            schema_version_before_migration: prepared.schema_version,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            pause_ms,
        })
    }

    /// Puts the safety backup back after a failed swap, the same crash-safe way.
    fn put_back(
        &self,
        exclusive: &mut db::Exclusive<'_>,
        safety_path: &Path,
    ) -> Result<(), BackupError> {
        let paths = self.paths().clone();
        exclusive.close_all(Duration::from_secs(10))?;
        let mut temp = TempFile::new(&paths.data_dir, RESTORE_TEMP_PREFIX);
        copy::copy_and_hash(safety_path, &temp.path)?;
        remove_journal_files(&paths)?;
        fsutil::fsync_dir(&paths.data_dir)
            .map_err(BackupError::io("cannot flush the data folder"))?;
        fsutil::rename(&temp.path, &paths.db)
            .map_err(BackupError::io("cannot put the old data back"))?;
        temp.keep = true;
        fsutil::fsync_dir(&paths.data_dir)
            .map_err(BackupError::io("cannot flush the data folder"))?;
        exclusive.reopen()?;
        Ok(())
    }

    /// Makes the hard-linked old database a self-contained, verified backup with a record.
    fn finish_safety_backup(
        &self,
        path: &Path,
        user: &str,
        started: Instant,
    ) -> Result<(), BackupError> {
        // It was the live file (WAL mode, fully checkpointed): switch it to a single-file
        // database like every other backup. Nobody else has it open.
        if let Ok(conn) = rusqlite::Connection::open(path) {
            let _ = conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0));
        }
        let facts = copy::inspect_file(path, false)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let now = chrono::Utc::now();
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let sidecar = Sidecar {
            kind: BackupKind::PreRestore,
            file_name: file_name.clone(),
            created_at: now,
            created_by: user.to_string(),
            description: "Safety backup made before a restore".into(),
            size: facts.size,
            sha256: facts.sha256,
            page_size: facts.page_size,
            page_count: facts.page_count,
            schema_version: facts.schema_version,
            row_counts: facts.row_counts,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            verification: Verification {
                ok: facts.check.is_ok(),
                method: "quick_check".into(),
                checked_at: now,
                message: facts.check.clone().err().unwrap_or_else(|| "ok".into()),
            },
            file_mtime_ms: catalog::mtime_ms(modified),
            program_version: crate::VERSION.to_string(),
        };
        catalog::write_sidecar(path, &sidecar)
            .map_err(BackupError::io("cannot write the safety backup's record"))?;
        if let Err(problem) = facts.check {
            self.log().warning(&format!(
                "Safety backup {file_name} holds the data from before the restore, which failed its check: {problem}"
            ));
        }
        Ok(())
    }

    /// After a crash in the middle of a restore: a safety link that is no longer the live
    /// file holds the pre-restore data, so it becomes a named safety backup (dated by the
    /// file); one that is still the live file is just a second name for it and is removed.
    pub(crate) fn rescue_safety_temps(&self) {
        let backups = self.backups_dir().to_path_buf();
        let Ok(read) = std::fs::read_dir(&backups) else {
            return;
        };
        for item in read.filter_map(Result::ok) {
            let name = item.file_name().to_string_lossy().into_owned();
            if !name.starts_with(SAFETY_TEMP_PREFIX) {
                continue;
            }
            let path = item.path();
            // Only a file that is provably the live one (same volume and file id) is a mere
            // second name; anything else may be the only copy of the data before a restore.
            if same_file::is_same_file(&path, &self.paths().db).unwrap_or(false) {
                if let Err(e) = fsutil::remove_file(&path) {
                    tracing::warn!("cannot remove the leftover link {name}: {e}");
                }
                continue;
            }
            let when = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| SystemTime::now());
            let local = chrono::DateTime::<Local>::from(when).naive_local();
            let final_name = catalog::unused_name(&backups, BackupKind::PreRestore, local, "");
            if fsutil::rename(&path, &backups.join(&final_name)).is_ok() {
                let _ = fsutil::fsync_dir(&backups);
                self.log().warning(&format!(
                    "Kept the safety backup of an interrupted restore as {final_name}"
                ));
            }
        }
    }
}

/// Which backup the command line should restore.
#[derive(Debug, Clone)]
pub enum OfflineTarget {
    Latest,
    Named(String),
}

/// `backroom restore`: works while the server is stopped, even when the live database is
/// broken. Keeps a raw copy of the broken file (`broken_*.db`, with its `-wal`), removes stale
/// `-wal`/`-shm`, and puts the backup in place.
pub fn restore_offline(
    paths: &Paths,
    target: &OfflineTarget,
    user: &str,
) -> Result<RestoreReport, BackupError> {
    let _server = FileLock::try_acquire(&paths.server_lock)
        .map_err(BackupError::io("cannot open the server lock file"))?
        .ok_or(BackupError::ServerRunning)?;
    // No other Backroom command may have the database open while it is replaced.
    let _users = FileLock::try_acquire(&db::use_lock_path(&paths.db))
        .map_err(BackupError::io("cannot open the database lock file"))?
        .ok_or(BackupError::Db(crate::db::DbError::InUseElsewhere))?;
    std::fs::create_dir_all(&paths.backups)
        .map_err(BackupError::io("cannot create the backup folder"))?;
    let _operation = FileLock::try_acquire(&paths.backups.join(super::LOCK_FILE))
        .map_err(BackupError::io("cannot open the backup lock file"))?
        .ok_or_else(|| BackupError::BusyElsewhere {
            operation: "backup".into(),
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

    let broken_name = if paths.db.exists() {
        let name = unique_name(&paths.backups, BackupKind::Broken);
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
        Some(name)
    } else {
        None
    };
    remove_journal_files(paths)?;
    fsutil::fsync_dir(&paths.data_dir).map_err(BackupError::io("cannot flush the data folder"))?;
    fsutil::rename(&prepared.temp.path, &paths.db)
        .map_err(BackupError::io("cannot put the backup in place"))?;
    prepared.temp.keep = true;
    fsutil::fsync_dir(&paths.data_dir).map_err(BackupError::io("cannot flush the data folder"))?;
    drop(_users);
    // Opening runs the migrations (older backups) and proves the result opens.
    let db = Db::open(&paths.db, DbOptions::CLI)?;
    db.close()?;
    let report = RestoreReport {
        restored: prepared.entry.file_name.clone(),
        safety_backup: broken_name.unwrap_or_else(|| "(there was no database to keep)".into()),
        skipped,
        row_counts: prepared.row_counts.clone(),
        schema_version_before_migration: prepared.schema_version,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        pause_ms: 0,
    };
    let log = super::BackupLog::new(&paths.backups);
    for (name, reason) in &report.skipped {
        log.warning(&format!("Restore --latest skipped {name}: {reason}"));
    }
    log.info(&format!(
        "Database restored from {} by {user} from the command line (copy of the previous file: {})",
        report.restored, report.safety_backup
    ));
    if let Err(e) = super::recovery::write(paths) {
        tracing::warn!("cannot write RECOVERY.txt: {e}");
    }
    Ok(report)
}
