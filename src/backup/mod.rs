//! The backup engine: create, verify, list, rotate, delete and restore backups of the live
//! database, with a log and a recovery note beside them. No web types here: the server, the
//! scheduler and the CLI all use this module.
//!
//! Every backup is made with SQLite's online backup API into a hidden temp file, checked
//! (`quick_check` + SHA-256), fsynced and only then renamed to its final name, so no file that
//! looks like a backup is ever partial. One operation runs at a time, across processes too
//! (an OS lock on `database_backups/.backup.lock`).

pub mod catalog;
pub mod copy;
pub mod health;
pub mod log;
pub mod names;
pub mod recovery;
pub mod restore;
pub mod scheduler;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::config::{Paths, Settings};
use crate::db::{Db, DbError};
use crate::fsutil::{self, FileLock};
pub use catalog::{BackupEntry, BackupState, Sidecar, Verification};
pub use log::BackupLog;
pub use names::{BackupKind, BackupName};

pub const LOCK_FILE: &str = ".backup.lock";
pub const TEMP_PREFIX: &str = ".tmp-";
/// Free space required beyond the database size before a backup starts.
const SPACE_MARGIN: f64 = 1.10;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("a {operation} is already running{}; try again when it has finished", percent_suffix(*.percent))]
    Busy {
        operation: String,
        percent: Option<u8>,
    },
    #[error(
        "another Backroom program is running a {operation} right now{}; try again when it has finished",
        percent_suffix(*.percent)
    )]
    BusyElsewhere {
        operation: String,
        percent: Option<u8>,
    },
    #[error(
        "not enough free disk space in {dir}: the backup needs about {needed}, only {available} is free. Free some space (older backups are never deleted to make room)."
    )]
    InsufficientSpace {
        dir: String,
        needed: String,
        available: String,
    },
    #[error("the copy failed its integrity check: {0}")]
    Integrity(String),
    #[error("{action}: {}", fsutil::plain_io(source))]
    Io {
        action: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no backup is named {0:?}")]
    NotFound(String),
    #[error("the backup was cancelled because the program is shutting down")]
    Cancelled,
    #[error("the newest backup cannot be deleted")]
    NewestCannotBeDeleted,
    #[error("the backup {0} is in use by another operation; try again in a moment")]
    InUse(String),
    #[error("the backup {name} failed verification: {reason}")]
    VerifyFailed { name: String, reason: String },
    #[error("no backup passed verification{}", skipped_suffix(.skipped))]
    NoGoodBackup { skipped: Vec<(String, String)> },
    #[error("the restore failed and nothing was changed: {0}")]
    RestoreFailed(String),
    #[error(
        "the restore failed after the data was replaced ({reason}); the data from before the restore was put back from {safety}"
    )]
    RolledBack { reason: String, safety: String },
    #[error("{0}")]
    Failed(String),
    #[error(
        "the backup file could not be written: the disk may be full or read-only ({0}). No partial backup was kept."
    )]
    WriteFailed(String),
    #[error(
        "the server is running; stop it first (restore from the command line needs the program to be stopped)"
    )]
    ServerRunning,
}

fn percent_suffix(percent: Option<u8>) -> String {
    percent.map(|p| format!(" ({p}%)")).unwrap_or_default()
}

fn skipped_suffix(skipped: &[(String, String)]) -> String {
    if skipped.is_empty() {
        return " (there are no backups)".into();
    }
    let list: Vec<String> = skipped.iter().map(|(n, r)| format!("{n}: {r}")).collect();
    format!("; skipped {}", list.join("; "))
}

impl BackupError {
    fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
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

impl From<copy::CopyError> for BackupError {
    fn from(e: copy::CopyError) -> Self {
        use rusqlite::ErrorCode;
        match e {
            copy::CopyError::Sqlite(rusqlite::Error::SqliteFailure(f, msg))
                if matches!(
                    f.code,
                    ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::CannotOpen
                        | ErrorCode::ReadOnly
                ) =>
            {
                BackupError::WriteFailed(msg.unwrap_or_else(|| f.to_string()))
            }
            copy::CopyError::Sqlite(e) => BackupError::Sqlite(e),
            copy::CopyError::Io(e) => BackupError::Io {
                action: "cannot write the backup".into(),
                source: e,
            },
            copy::CopyError::Cancelled => BackupError::Cancelled,
            copy::CopyError::Other(e) => BackupError::Failed(e),
            copy::CopyError::Read(e) => BackupError::Io {
                action: "cannot read the file".into(),
                source: e,
            },
        }
    }
}

/// What the engine is doing right now, for progress bars.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub operation: &'static str,
    pub target: String,
    pub phase: &'static str,
    pub pages_done: u64,
    pub pages_total: u64,
    pub percent: u8,
    pub started_at: DateTime<Utc>,
}

/// The outcome of the last backup attempt, for the health summary.
#[derive(Debug, Clone, Serialize)]
pub struct LastAttempt {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub message: String,
}

/// A request for a new backup.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub kind: BackupKind,
    pub description: String,
    pub created_by: String,
}

impl CreateRequest {
    pub fn manual(description: &str, created_by: &str) -> CreateRequest {
        CreateRequest {
            kind: BackupKind::Manual,
            description: description.trim().to_string(),
            created_by: created_by.to_string(),
        }
    }
}

/// The backup engine. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct BackupEngine {
    inner: Arc<Inner>,
}

struct Inner {
    paths: Paths,
    /// `None` for a command that only works on the backup folder (list, verify, delete):
    /// it must not open the live database.
    db: Option<Db>,
    settings: Arc<RwLock<Settings>>,
    log: BackupLog,
    op_lock: Mutex<()>,
    progress: Mutex<Option<Progress>>,
    cancel: AtomicBool,
    pinned: Mutex<HashMap<String, usize>>,
    last_attempt: Mutex<Option<LastAttempt>>,
    health: health::HealthState,
}

/// Holds the one-operation-at-a-time locks (in this process and across processes) and
/// clears the progress when dropped.
pub struct OpGuard<'a> {
    inner: &'a Inner,
    _local: MutexGuard<'a, ()>,
    file_lock: FileLock,
    last_note: Mutex<Option<u8>>,
}

impl OpGuard<'_> {
    fn set_progress(&self, phase: &'static str, done: u64, total: u64) {
        let percent = progress_percent(phase, done, total);
        if let Some(p) = lock(&self.inner.progress).as_mut() {
            p.phase = phase;
            p.pages_done = done;
            p.pages_total = total;
            p.percent = percent;
        }
        let mut last = lock(&self.last_note);
        if *last != Some(percent) {
            *last = Some(percent);
            // Other processes read this to say what is running and how far along it is.
            let operation = lock(&self.inner.progress)
                .as_ref()
                .map_or("backup", |p| p.operation);
            let _ = self.file_lock.write_note(&format!("{operation} {percent}"));
        }
    }
}

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.inner.progress) = None;
        let _ = self.file_lock.write_note("");
    }
}

fn progress_percent(phase: &str, done: u64, total: u64) -> u8 {
    let copied = (done * 100).checked_div(total).unwrap_or(0);
    let value = match phase {
        "copying" => copied * 80 / 100,
        "checking" => 85,
        "finishing" => 97,
        _ => 0,
    };
    u8::try_from(value.min(100)).unwrap_or(100)
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a backup from being deleted (by retention or a person) while an operation reads it.
pub struct Pin<'a> {
    inner: &'a Inner,
    name: String,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        let mut pinned = lock(&self.inner.pinned);
        if let Some(count) = pinned.get_mut(&self.name) {
            *count -= 1;
            if *count == 0 {
                pinned.remove(&self.name);
            }
        }
    }
}

/// A temp file that is removed unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    fn new(dir: &Path, prefix: &str) -> TempFile {
        TempFile {
            path: dir.join(format!("{prefix}{}.db", fsutil::random_hex(8))),
            keep: false,
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
            for suffix in ["-journal", "-wal", "-shm"] {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
    }
}

impl BackupEngine {
    pub fn new(paths: Paths, db: Db, settings: Arc<RwLock<Settings>>) -> BackupEngine {
        BackupEngine::build(paths, Some(db), settings)
    }

    /// An engine for the backup folder alone: list, verify and delete work; making or
    /// restoring a backup needs [`BackupEngine::new`].
    pub fn folder_only(paths: Paths, settings: Arc<RwLock<Settings>>) -> BackupEngine {
        BackupEngine::build(paths, None, settings)
    }

    fn build(paths: Paths, db: Option<Db>, settings: Arc<RwLock<Settings>>) -> BackupEngine {
        let log = BackupLog::new(&paths.backups);
        BackupEngine {
            inner: Arc::new(Inner {
                paths,
                db,
                settings,
                log,
                op_lock: Mutex::new(()),
                progress: Mutex::new(None),
                cancel: AtomicBool::new(false),
                pinned: Mutex::new(HashMap::new()),
                last_attempt: Mutex::new(None),
                health: health::HealthState::default(),
            }),
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    pub fn backups_dir(&self) -> &Path {
        &self.inner.paths.backups
    }

    pub fn db(&self) -> Option<&Db> {
        self.inner.db.as_ref()
    }

    /// The live database, for operations that copy from or to it.
    pub(crate) fn live_db(&self) -> Result<&Db, BackupError> {
        self.inner.db.as_ref().ok_or_else(|| {
            BackupError::Failed(
                "this operation needs the live database, which is not open here".into(),
            )
        })
    }

    pub fn log(&self) -> &BackupLog {
        &self.inner.log
    }

    pub fn settings(&self) -> Settings {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn progress(&self) -> Option<Progress> {
        lock(&self.inner.progress).clone()
    }

    pub fn last_attempt(&self) -> Option<LastAttempt> {
        lock(&self.inner.last_attempt).clone()
    }

    /// Every backup, newest first.
    pub fn list(&self) -> Result<Vec<BackupEntry>, BackupError> {
        catalog::list(self.backups_dir()).map_err(BackupError::io("cannot read the backup folder"))
    }

    /// Looks a backup up by its exact name.
    pub fn find(&self, name: &str) -> Result<BackupEntry, BackupError> {
        catalog::find(self.backups_dir(), name).ok_or_else(|| BackupError::NotFound(name.into()))
    }

    fn ensure_dir(&self) -> Result<(), BackupError> {
        std::fs::create_dir_all(self.backups_dir())
            .map_err(BackupError::io("cannot create the backup folder"))
    }

    /// Takes the operation locks or says who holds them.
    pub fn begin(&self, operation: &'static str, target: &str) -> Result<OpGuard<'_>, BackupError> {
        let local = match self.inner.op_lock.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let running = self.progress();
                return Err(BackupError::Busy {
                    operation: running
                        .as_ref()
                        .map_or("backup", |p| p.operation)
                        .to_string(),
                    percent: running.map(|p| p.percent),
                });
            }
        };
        self.ensure_dir()?;
        let lock_path = self.backups_dir().join(LOCK_FILE);
        let file_lock = FileLock::try_acquire(&lock_path)
            .map_err(BackupError::io("cannot open the backup lock file"))?
            .ok_or_else(|| {
                // The holder writes "<operation> <percent>" into the lock file.
                let note = std::fs::read_to_string(&lock_path).unwrap_or_default();
                let mut parts = note.split_whitespace();
                let operation = parts
                    .next()
                    .filter(|o| !o.is_empty())
                    .unwrap_or("backup")
                    .to_string();
                BackupError::BusyElsewhere {
                    operation,
                    percent: parts.next().and_then(|p| p.parse().ok()),
                }
            })?;
        *lock(&self.inner.progress) = Some(Progress {
            operation,
            target: target.to_string(),
            phase: "starting",
            pages_done: 0,
            pages_total: 0,
            percent: 0,
            started_at: Utc::now(),
        });
        Ok(OpGuard {
            inner: &self.inner,
            _local: local,
            file_lock,
            last_note: Mutex::new(None),
        })
    }

    pub(crate) fn health_state(&self) -> &health::HealthState {
        &self.inner.health
    }

    pub(crate) fn pin(&self, name: &str) -> Pin<'_> {
        *lock(&self.inner.pinned)
            .entry(name.to_string())
            .or_insert(0) += 1;
        Pin {
            inner: &self.inner,
            name: name.to_string(),
        }
    }

    fn is_pinned(&self, name: &str) -> bool {
        lock(&self.inner.pinned).contains_key(name)
    }

    /// Makes a backup now. Fails fast with [`BackupError::Busy`] if one is running.
    pub fn create(&self, request: &CreateRequest) -> Result<BackupEntry, BackupError> {
        let guard = match self.begin("backup", request.kind.label()) {
            Ok(g) => g,
            Err(e) if e.is_busy() => return Err(e),
            Err(e) => {
                // Could not even start (e.g. the folder cannot be created): a failed backup.
                self.inner.log.error(&format!(
                    "Database backup ({}) failed: {e}",
                    request.kind.label()
                ));
                self.record_attempt(false, e.to_string());
                return Err(e);
            }
        };
        self.create_locked(&guard, request, &mut || {})
    }

    /// Makes a backup while the caller holds the operation lock. `on_snapshot` runs once the
    /// snapshot is fixed (the startup backup lets the server start serving then).
    pub fn create_locked(
        &self,
        guard: &OpGuard<'_>,
        request: &CreateRequest,
        on_snapshot: &mut (dyn FnMut() + Send),
    ) -> Result<BackupEntry, BackupError> {
        let started = Instant::now();
        let result = self.create_inner(guard, request, started, on_snapshot);
        match &result {
            Ok(entry) => {
                let seconds = started.elapsed().as_secs_f64();
                self.inner.log.info(&format!(
                    "Database backup created: {} ({}, {:.1} s, by {})",
                    entry.file_name,
                    fsutil::human_size(entry.size),
                    seconds,
                    request.created_by
                ));
                self.record_attempt(true, format!("Backup {} created", entry.file_name));
                // The copy is the live data at snapshot time: its passing check is a check
                // of the live database too.
                self.record_live_check(health::LiveCheck {
                    ok: true,
                    method: "quick_check",
                    checked_at: Utc::now(),
                    message: format!("ok (checked on the copy made for {})", entry.file_name),
                    duration_ms: 0,
                });
                if request.kind != BackupKind::PreRestore {
                    self.apply_retention(&entry.file_name);
                }
                self.backups_changed();
            }
            Err(BackupError::Cancelled) => {
                self.inner.log.warning(&format!(
                    "Database backup ({}) cancelled: the program is shutting down; no partial file was kept",
                    request.kind.label()
                ));
            }
            Err(e) => {
                self.inner.log.error(&format!(
                    "Database backup ({}) failed: {e}",
                    request.kind.label()
                ));
                self.record_attempt(false, e.to_string());
            }
        }
        result
    }

    fn record_attempt(&self, ok: bool, message: String) {
        self.invalidate_health();
        *lock(&self.inner.last_attempt) = Some(LastAttempt {
            at: Utc::now(),
            ok,
            message,
        });
    }

    fn check_free_space(&self) -> Result<(), BackupError> {
        let live = std::fs::metadata(&self.inner.paths.db)
            .map(|m| m.len())
            .unwrap_or(0)
            + std::fs::metadata(self.inner.paths.db_sidecar("-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        let needed = (live as f64 * SPACE_MARGIN) as u64;
        let available = fsutil::available_space(self.backups_dir())
            .map_err(BackupError::io("cannot measure free disk space"))?;
        if available < needed {
            return Err(BackupError::InsufficientSpace {
                dir: self.backups_dir().display().to_string(),
                needed: fsutil::human_size(needed),
                available: fsutil::human_size(available),
            });
        }
        Ok(())
    }

    fn create_inner(
        &self,
        guard: &OpGuard<'_>,
        request: &CreateRequest,
        started: Instant,
        on_snapshot: &mut (dyn FnMut() + Send),
    ) -> Result<BackupEntry, BackupError> {
        self.ensure_dir()?;
        self.check_free_space()?;
        let file_name = catalog::unused_name(
            self.backups_dir(),
            request.kind,
            Local::now().naive_local(),
            &request.description,
        );
        let dir = self.backups_dir().to_path_buf();
        let mut temp = TempFile::new(&dir, TEMP_PREFIX);

        guard.set_progress("copying", 0, 0);
        let temp_path = temp.path.clone();
        self.live_db()?.with_conn(|src| {
            copy::low_priority(|| {
                copy::snapshot_copy(
                    src,
                    &temp_path,
                    &self.inner.cancel,
                    on_snapshot,
                    &mut |d, t| guard.set_progress("copying", d, t),
                )
            })
            .map_err(BackupError::from)
        })?;

        guard.set_progress("checking", 1, 1);
        let facts = std::thread::scope(|scope| {
            // fsync runs beside the checks: it waits on the disk, they on the CPU.
            let synced = scope.spawn(|| fsutil::sync_file(&temp.path));
            let facts = copy::inspect_file(&temp.path, false);
            let synced = synced
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the fsync thread panicked")));
            synced.map_err(BackupError::io("cannot flush the backup to disk"))?;
            facts.map_err(BackupError::from)
        })?;
        if let Err(problems) = &facts.check {
            return Err(BackupError::Integrity(problems.clone()));
        }
        if self.inner.cancel.load(Ordering::Relaxed) {
            return Err(BackupError::Cancelled);
        }

        guard.set_progress("finishing", 1, 1);
        let final_path = dir.join(&file_name);
        let sidecar_path = catalog::sidecar_path(&final_path);
        // Replacing the startup backup: drop its old record first, so a crash can never pair
        // the new file with the old file's hash.
        if sidecar_path.exists() {
            fsutil::remove_file(&sidecar_path)
                .map_err(BackupError::io("cannot replace the old record"))?;
            fsutil::fsync_dir(&dir).map_err(BackupError::io("cannot flush the backup folder"))?;
        }
        fsutil::rename(&temp.path, &final_path)
            .map_err(BackupError::io("cannot name the backup"))?;
        temp.keep = true;
        fsutil::fsync_dir(&dir).map_err(BackupError::io("cannot flush the backup folder"))?;

        let modified = std::fs::metadata(&final_path)
            .and_then(|m| m.modified())
            .ok();
        let now = Utc::now();
        let sidecar = Sidecar {
            kind: request.kind,
            file_name: file_name.clone(),
            created_at: now,
            created_by: request.created_by.clone(),
            description: request.description.clone(),
            size: facts.size,
            sha256: facts.sha256,
            page_size: facts.page_size,
            page_count: facts.page_count,
            schema_version: facts.schema_version,
            row_counts: facts.row_counts,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            verification: Verification {
                ok: true,
                method: "quick_check".into(),
                checked_at: now,
                message: "ok".into(),
            },
            file_mtime_ms: catalog::mtime_ms(modified),
            program_version: crate::VERSION.to_string(),
        };
        catalog::write_sidecar(&final_path, &sidecar)
            .map_err(BackupError::io("cannot write the backup's record"))?;
        self.find(&file_name)
    }

    /// Keeps the newest `max_backups` backups (broken copies are not counted), never the one
    /// just made nor one that an operation is reading.
    fn apply_retention(&self, just_made: &str) {
        let max = usize::try_from(self.settings().max_backups).unwrap_or(usize::MAX);
        let Ok(entries) = self.list() else { return };
        let counted: Vec<&BackupEntry> = entries
            .iter()
            .filter(|e| e.kind().counts_toward_cap())
            .collect();
        for entry in counted.into_iter().skip(max) {
            if entry.file_name == just_made || self.is_pinned(&entry.file_name) {
                continue;
            }
            match self.remove_files(entry) {
                Ok(()) => self.inner.log.info(&format!(
                    "Backup removed by retention: {} (keeping the {max} newest)",
                    entry.file_name
                )),
                Err(e) => self.inner.log.error(&format!(
                    "Could not remove old backup {}: {e}",
                    entry.file_name
                )),
            }
        }
    }

    fn remove_files(&self, entry: &BackupEntry) -> Result<(), BackupError> {
        fsutil::remove_file(&entry.path).map_err(BackupError::io("cannot delete the backup"))?;
        // A broken_* copy may carry its -wal (the data that was in flight).
        let mut wal = entry.path.as_os_str().to_owned();
        wal.push("-wal");
        let _ = std::fs::remove_file(PathBuf::from(wal));
        let sidecar = catalog::sidecar_path(&entry.path);
        match fsutil::remove_file(&sidecar) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("cannot delete the backup's record")(e)),
        }
        fsutil::fsync_dir(self.backups_dir())
            .map_err(BackupError::io("cannot flush the backup folder"))
    }

    /// Deletes one backup on a person's request. The newest backup is kept.
    pub fn delete(&self, name: &str, user: &str) -> Result<(), BackupError> {
        let _guard = self.begin("deletion", name)?;
        let entry = self.find(name)?;
        let entries = self.list()?;
        if catalog::newest_counted(&entries).is_some_and(|n| n.file_name == entry.file_name) {
            return Err(BackupError::NewestCannotBeDeleted);
        }
        if self.is_pinned(&entry.file_name) {
            return Err(BackupError::InUse(entry.file_name));
        }
        self.remove_files(&entry)?;
        self.inner
            .log
            .info(&format!("Backup deleted: {} by {user}", entry.file_name));
        self.backups_changed();
        Ok(())
    }

    /// Re-checks a backup: SHA-256 against its record and `quick_check` (`integrity_check`
    /// when `full`). The result is written to its sidecar (a lost sidecar is rebuilt).
    /// Runs under the operation lock, so a backup replacing the same name (the startup
    /// backup) or retention cannot change the file while its record is rewritten.
    pub fn verify(&self, name: &str, full: bool, user: &str) -> Result<BackupEntry, BackupError> {
        let _guard = self.begin("verification", name)?;
        let entry = self.find(name)?;
        self.verify_unlocked(&entry, full, user)
    }

    /// [`BackupEngine::verify`] for a caller that already holds the operation lock.
    pub(crate) fn verify_unlocked(
        &self,
        entry: &BackupEntry,
        full: bool,
        user: &str,
    ) -> Result<BackupEntry, BackupError> {
        let _pin = self.pin(&entry.file_name);
        let outcome = self.check_entry(entry, full)?;
        let method = if full {
            "integrity_check"
        } else {
            "quick_check"
        };
        let message = match &outcome.1 {
            Ok(()) => "ok".to_string(),
            Err(reason) => reason.clone(),
        };
        let facts = outcome.0;
        let now = Utc::now();
        let mut sidecar = entry.sidecar.clone().unwrap_or_else(|| Sidecar {
            kind: entry.kind(),
            file_name: entry.file_name.clone(),
            created_at: entry.created_at(),
            created_by: "unknown".into(),
            description: String::new(),
            size: facts.size,
            sha256: facts.sha256.clone(),
            page_size: facts.page_size,
            page_count: facts.page_count,
            schema_version: facts.schema_version,
            row_counts: facts.row_counts.clone(),
            duration_ms: 0,
            verification: Verification {
                ok: false,
                method: String::new(),
                checked_at: now,
                message: String::new(),
            },
            file_mtime_ms: None,
            program_version: crate::VERSION.to_string(),
        });
        sidecar.verification = Verification {
            ok: outcome.1.is_ok(),
            method: method.into(),
            checked_at: now,
            message: message.clone(),
        };
        // A good file that was only touched (copied back, mtime changed) is good again; a file
        // whose bytes changed keeps its original hash and size so it stays marked as failed.
        if outcome.1.is_ok() {
            sidecar.file_mtime_ms = entry.mtime_ms();
        }
        self.invalidate_health();
        catalog::write_sidecar(&entry.path, &sidecar)
            .map_err(BackupError::io("cannot write the backup's record"))?;
        match &outcome.1 {
            Ok(()) => self.inner.log.info(&format!(
                "Backup verified: {} ({method} ok, SHA-256 matches) by {user}",
                entry.file_name
            )),
            Err(reason) => self.inner.log.error(&format!(
                "Backup verification failed: {}: {reason} (by {user})",
                entry.file_name
            )),
        }
        self.find(&entry.file_name)
    }

    /// Hashes and checks a backup file: the facts, and `Err(reason)` if it must not be used.
    fn check_entry(
        &self,
        entry: &BackupEntry,
        full: bool,
    ) -> Result<(copy::FileFacts, Result<(), String>), BackupError> {
        let facts = copy::inspect_file(&entry.path, full)?;
        let verdict = judge(entry.sidecar.as_ref(), &facts);
        Ok((facts, verdict))
    }

    /// Verifies every backup; returns (name, result) pairs.
    pub fn verify_all(
        &self,
        full: bool,
        user: &str,
    ) -> Result<Vec<(String, BackupState)>, BackupError> {
        let _guard = self.begin("verification", "all backups")?;
        let mut results = Vec::new();
        for entry in self.list()? {
            let checked = self.verify_unlocked(&entry, full, user)?;
            results.push((checked.file_name.clone(), checked.state()));
        }
        Ok(results)
    }

    /// Removes temp files left by a crash, and records whose backup is gone. Only runs when it
    /// holds the operation lock, so it never removes a file another live process is writing.
    pub fn clean_leftovers(&self) {
        let Ok(_guard) = self.begin("cleanup", "") else {
            return;
        };
        self.rescue_safety_temps();
        for (dir, prefix) in [
            (self.backups_dir().to_path_buf(), TEMP_PREFIX),
            (
                self.inner.paths.data_dir.clone(),
                restore::RESTORE_TEMP_PREFIX,
            ),
        ] {
            let Ok(read) = std::fs::read_dir(&dir) else {
                continue;
            };
            for item in read.filter_map(Result::ok) {
                let name = item.file_name().to_string_lossy().into_owned();
                if name.starts_with(prefix) {
                    match std::fs::remove_file(item.path()) {
                        Ok(()) => self
                            .inner
                            .log
                            .warning(&format!("Removed an unfinished temp file left by an interrupted operation: {name}")),
                        Err(e) => tracing::warn!("cannot remove leftover {name}: {e}"),
                    }
                }
            }
        }
        for orphan in catalog::orphan_sidecars(self.backups_dir()) {
            let _ = std::fs::remove_file(orphan);
        }
        // A crash while a safety backup was switched out of WAL mode can leave its (empty)
        // journal files; broken_* copies keep theirs, which may hold data.
        if let Ok(read) = std::fs::read_dir(self.backups_dir()) {
            for item in read.filter_map(Result::ok) {
                let name = item.file_name().to_string_lossy().into_owned();
                if name.starts_with("pre_restore_")
                    && (name.ends_with(".db-wal") || name.ends_with(".db-shm"))
                {
                    let _ = std::fs::remove_file(item.path());
                }
            }
        }
    }

    /// Asks a running operation to stop and waits for it to finish or clean up.
    pub fn shutdown(&self) {
        self.inner.cancel.store(true, Ordering::SeqCst);
        health::interrupt_all(&self.inner.health);
        drop(lock(&self.inner.op_lock));
    }

    /// Everything that depends on the set of backups, brought up to date after it changed
    /// (and at start): the health line and `database_backups/RECOVERY.txt`.
    pub fn backups_changed(&self) {
        self.invalidate_health();
        if let Err(e) = recovery::write(self.paths()) {
            tracing::warn!("cannot write RECOVERY.txt: {e}");
        }
    }
}

/// Whether a backup's bytes are fit to use, given its recorded facts.
fn judge(sidecar: Option<&Sidecar>, facts: &copy::FileFacts) -> Result<(), String> {
    if let Some(s) = sidecar {
        if s.size != facts.size {
            return Err(format!(
                "the file is {} bytes but was {} bytes when made (it was truncated or changed)",
                facts.size, s.size
            ));
        }
        if !s.sha256.eq_ignore_ascii_case(&facts.sha256) {
            return Err(
                "its SHA-256 checksum does not match the one recorded when it was made".into(),
            );
        }
    }
    facts
        .check
        .clone()
        .map_err(|p| format!("SQLite integrity check failed: {p}"))?;
    if facts.schema_version > crate::db::SCHEMA_VERSION {
        return Err(format!(
            "it was made by a newer version of Backroom (schema {} > {})",
            facts.schema_version,
            crate::db::SCHEMA_VERSION
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
