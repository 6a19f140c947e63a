//! Restore: put a backup's data in place while the server keeps running, or from the command
//! line when it is stopped.
//!
//! The order makes every step all-or-nothing:
//! 1. *Prepare* (database work continues): copy the chosen backup beside the live file while
//!    hashing what is read (checked against its record), and run `quick_check` on it, in
//!    parallel. Any problem refuses the restore before anything changed.
//! 2. *Swap* (database work paused): checkpoint the WAL, close every connection (counted),
//!    hard-link the live file into the backup folder as the safety backup (the exact data
//!    before the restore, no copy needed), remove `-wal`/`-shm`, rename the prepared copy over
//!    the live file, reopen the pool (running migrations for older backups).
//!    A crash at any point leaves either the old or the new database, never a file paired with
//!    the other's journal.
//! 3. *Finish* (database work resumed): name and verify the safety backup, write its record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Local;
use serde::Serialize;

use super::catalog::{self, BackupEntry, Sidecar, Verification};
use super::names::{BackupKind, BackupName};
use super::{BackupEngine, BackupError, OpGuard, TempFile, copy, judge};
use crate::config::Paths;
use crate::db::{self, Db, DbOptions};
use crate::fsutil::{self, FileLock};

pub const RESTORE_TEMP_PREFIX: &str = ".restore-";
pub const SAFETY_TEMP_PREFIX: &str = ".tmp-safety-";

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

/// Copies `entry` to a temp file in `data_dir`, hashing as it reads, while `quick_check` runs on
/// the backup file on another thread; the hash proves both read the same bytes.
fn prepare(entry: BackupEntry, data_dir: &Path) -> Result<Prepared, String> {
    let temp = TempFile::new(data_dir, RESTORE_TEMP_PREFIX);
    let (copied, inspected) = std::thread::scope(|scope| {
        let checker = scope.spawn(|| -> Result<_, String> {
            copy::low_priority(|| -> Result<_, String> {
                let conn = db::open_immutable(&entry.path).map_err(|e| e.to_string())?;
                let check = db::check_integrity(&conn, false);
                let version = db::user_version(&conn).map_err(|e| e.to_string())?;
                let counts = match check {
                    Ok(()) => db::table_row_counts(&conn).map_err(|e| e.to_string())?,
                    Err(_) => BTreeMap::new(),
                };
                Ok((check, version, counts))
            })
        });
        let copied = copy::low_priority(|| copy::copy_and_hash(&entry.path, &temp.path));
        let inspected = checker
            .join()
            .unwrap_or_else(|_| Err("the checking thread panicked".into()));
        (copied, inspected)
    });
    let (sha256, size) = copied.map_err(|e| format!("cannot copy the backup: {e}"))?;
    let (check, schema_version, row_counts) =
        inspected.map_err(|e| format!("SQLite cannot open it: {e}"))?;
    let facts = copy::FileFacts {
        sha256,
        size,
        page_size: 0,
        page_count: 0,
        schema_version,
        row_counts: row_counts.clone(),
        check,
    };
    judge(entry.sidecar.as_ref(), &facts)?;
    if let Some(sidecar) = &entry.sidecar
        && !sidecar.row_counts.is_empty()
        && sidecar.row_counts != row_counts
    {
        return Err("its row counts differ from the ones recorded when it was made".into());
    }
    Ok(Prepared {
        entry,
        temp,
        row_counts,
        schema_version,
    })
}

/// Removes `business_data.db-wal` and `-shm`. Only call when no connection has the file open.
fn remove_journal_files(paths: &Paths) -> Result<(), BackupError> {
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(paths.db_sidecar(suffix)) {
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

/// Keeps the data that is about to be replaced: a hard link (instant; the old data stays
/// under the new name once the live name points elsewhere), or a copy where links are not
/// possible (another drive, FAT).
fn keep_live_file(live: &Path, safety_temp: &Path) -> Result<(), BackupError> {
    if std::fs::hard_link(live, safety_temp).is_ok() {
        return Ok(());
    }
    std::fs::copy(live, safety_temp).map_err(BackupError::io("cannot make the safety backup"))?;
    std::fs::File::open(safety_temp)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io("cannot flush the safety backup"))
}

fn unique_name(dir: &Path, kind: BackupKind) -> String {
    let now = Local::now().naive_local();
    (1..)
        .map(|seq| BackupName::new(kind, now, seq, "").file_name())
        .find(|n| !dir.join(n).exists() && !catalog::sidecar_path(&dir.join(n)).exists())
        .unwrap_or_else(|| format!("{}.db", kind.label()))
}

impl BackupEngine {
    /// Restores the named backup (super-admin decided; the web layer checks the role).
    pub fn restore(&self, name: &str, user: &str) -> Result<RestoreReport, BackupError> {
        let result = (|| {
            let guard = self.begin("restore", name)?;
            let entry = self.find(name)?;
            let _pin = self.pin(&entry.file_name);
            guard.set_progress("checking", 0, 1);
            let prepared = prepare(entry, &self.paths().data_dir).map_err(|reason| {
                self.record_failed_check(name, &reason, user);
                BackupError::VerifyFailed {
                    name: name.to_string(),
                    reason,
                }
            })?;
            self.swap_and_finish(&guard, prepared, Vec::new(), user)
        })();
        self.log_restore_outcome(name, user, &result);
        result
    }

    /// Restores the newest backup that passes verification, naming the ones it skipped.
    pub fn emergency_restore(&self, user: &str) -> Result<RestoreReport, BackupError> {
        let result = (|| {
            let guard = self.begin("restore", "latest good backup")?;
            let mut skipped = Vec::new();
            for entry in self
                .list()?
                .into_iter()
                .filter(|e| e.kind().counts_toward_cap())
            {
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
                    Err(reason) => {
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
                let _ = self.verify(name, false, user);
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
        let safety_temp = TempFile::new(&backups, SAFETY_TEMP_PREFIX);
        guard.set_progress("finishing", 0, 1);

        let pause_started = Instant::now();
        let db = self.db().clone();
        let mut exclusive = db.exclusive();
        let swapped = (|| {
            exclusive.close_all(Duration::from_secs(10))?;
            keep_live_file(&paths.db, &safety_temp.path)?;
            remove_journal_files(&paths)?;
            fsutil::fsync_dir(&backups)
                .map_err(BackupError::io("cannot flush the backup folder"))?;
            std::fs::rename(&prepared.temp.path, &paths.db)
                .map_err(BackupError::io("cannot put the restored database in place"))?;
            fsutil::fsync_dir(&paths.data_dir)
                .map_err(BackupError::io("cannot flush the data folder"))?;
            Ok::<_, BackupError>(())
        })();
        let mut prepared = prepared;
        let mut safety_temp = safety_temp;
        if let Err(e) = swapped {
            // Nothing was replaced (the rename is the last step): reopen on the old data.
            let reopened = exclusive.reopen();
            return Err(match reopened {
                Ok(()) => BackupError::RestoreFailed(e.to_string()),
                Err(r) => BackupError::RestoreFailed(format!(
                    "{e}; reopening the database also failed: {r}"
                )),
            });
        }
        prepared.temp.keep = true;
        // From here the new data is live; the old data lives on as the safety backup.
        let named = std::fs::rename(&safety_temp.path, &safety_path)
            .and_then(|()| fsutil::fsync_dir(&backups));
        safety_temp.keep = named.is_ok();
        named.map_err(BackupError::io("cannot name the safety backup"))?;

        if let Err(e) = exclusive.reopen() {
            let reason = e.to_string();
            self.put_back(&mut exclusive, &safety_path)?;
            return Err(BackupError::RolledBack {
                reason,
                safety: safety_name,
            });
        }
        let pause_ms = u64::try_from(pause_started.elapsed().as_millis()).unwrap_or(u64::MAX);
        drop(exclusive);

        self.finish_safety_backup(&safety_path, user, started)?;
        self.apply_retention(&safety_name);
        self.write_recovery_note();
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
        std::fs::rename(&temp.path, &paths.db)
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
    /// file holds the pre-restore data, so it becomes a named safety backup; one that is still
    /// the live file is just a second name for it and is removed.
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
            if same_file(&path, &self.paths().db) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let final_name = unique_name(&backups, BackupKind::PreRestore);
            if std::fs::rename(&path, backups.join(&final_name)).is_ok() {
                let _ = fsutil::fsync_dir(&backups);
                self.log().warning(&format!(
                    "Kept the safety backup of an interrupted restore as {final_name}"
                ));
            }
        }
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    // Without inode numbers, equal size and modification time is the best cheap answer.
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.len() == y.len() && x.modified().ok() == y.modified().ok(),
        _ => false,
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
    let started = Instant::now();
    // No pool: the live file may be unreadable. The engine only needs its paths and log here.
    let engine = OfflineEngine::new(paths);
    let guard = engine.begin("restore", "command line")?;
    let data_dir = paths.data_dir.clone();
    let candidates: Vec<BackupEntry> = match target {
        OfflineTarget::Named(name) => vec![
            catalog::find(&paths.backups, name)
                .ok_or_else(|| BackupError::NotFound(name.clone()))?,
        ],
        OfflineTarget::Latest => catalog::list(&paths.backups)
            .map_err(BackupError::io("cannot read the backup folder"))?
            .into_iter()
            .filter(|e| e.kind().counts_toward_cap())
            .collect(),
    };
    let mut skipped = Vec::new();
    let mut chosen = None;
    for entry in candidates {
        let name = entry.file_name.clone();
        match prepare(entry, &data_dir) {
            Ok(p) => {
                chosen = Some(p);
                break;
            }
            Err(reason) => {
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
    drop(guard);

    let broken_name = if paths.db.exists() {
        let name = unique_name(&paths.backups, BackupKind::Broken);
        let dest = paths.backups.join(&name);
        std::fs::copy(&paths.db, &dest).map_err(BackupError::io(
            "cannot keep a copy of the current database",
        ))?;
        let wal = paths.db_sidecar("-wal");
        if wal.exists() {
            let mut dest_wal = dest.as_os_str().to_owned();
            dest_wal.push("-wal");
            std::fs::copy(&wal, PathBuf::from(dest_wal)).map_err(BackupError::io(
                "cannot keep a copy of the current -wal file",
            ))?;
        }
        fsutil::fsync_dir(&paths.backups)
            .map_err(BackupError::io("cannot flush the backup folder"))?;
        Some(name)
    } else {
        None
    };
    remove_journal_files(paths)?;
    fsutil::fsync_dir(&paths.data_dir).map_err(BackupError::io("cannot flush the data folder"))?;
    std::fs::rename(&prepared.temp.path, &paths.db)
        .map_err(BackupError::io("cannot put the backup in place"))?;
    prepared.temp.keep = true;
    fsutil::fsync_dir(&paths.data_dir).map_err(BackupError::io("cannot flush the data folder"))?;
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

/// The slice of the engine the offline restore needs: the operation lock, no database.
struct OfflineEngine {
    backups: PathBuf,
}

struct OfflineGuard {
    _lock: FileLock,
}

impl OfflineEngine {
    fn new(paths: &Paths) -> OfflineEngine {
        OfflineEngine {
            backups: paths.backups.clone(),
        }
    }

    fn begin(&self, _operation: &str, _target: &str) -> Result<OfflineGuard, BackupError> {
        std::fs::create_dir_all(&self.backups)
            .map_err(BackupError::io("cannot create the backup folder"))?;
        let lock = FileLock::try_acquire(&self.backups.join(super::LOCK_FILE))
            .map_err(BackupError::io("cannot open the backup lock file"))?
            .ok_or(BackupError::BusyElsewhere { percent: None })?;
        Ok(OfflineGuard { _lock: lock })
    }
}
