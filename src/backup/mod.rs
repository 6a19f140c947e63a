//! The backup engine: create, verify, list, rotate, delete and restore backups of the live
//! database, with a log and a recovery note beside them. No web types here: the server, the
//! scheduler and the CLI all use this module. [`BackupFolder`] is what works on the backup
//! folder alone; [`BackupEngine`] adds the live database.
//!
//! Every backup is made with SQLite's online backup API into a hidden temp file, checked
//! (`quick_check` + SHA-256), fsynced and only then renamed to its final name, so no file that
//! looks like a backup is ever partial. One operation runs at a time, across processes too
//! (an OS lock on `database_backups/.backup.lock`; see `operation.rs`).

pub mod catalog;
pub mod copy;
pub mod coverage;
mod create;
mod error;
pub mod health;
pub mod import;
mod leftovers;
pub mod log;
pub mod names;
mod operation;
pub mod recovery;
pub mod redact;
mod removal;
pub mod restore;
pub mod retention;
pub mod scheduler;
pub mod schema;
pub mod scrub;
pub mod settings;
mod space;
pub(crate) mod temp_file;
mod verify;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::clock::SharedClock;
use crate::config::{Paths, Settings};
use crate::db::Db;
pub use catalog::{BackupEntry, BackupState, Origin, Sidecar, Verification};
pub use create::{CreateRequest, LastAttempt};
pub use error::BackupError;
pub use import::{Incoming, Refused};
pub use log::BackupLog;
pub use names::{BackupKind, BackupName};
pub use operation::{OpGuard, Operation, Phase, Pin, Progress};
pub use restore::{
    AccountChange, AccountDifference, Accounts, Change, RestoreOptions, RestoreReport,
};
pub use retention::{RetentionOutlook, RetentionPlan};
pub use schema::{Difference, SchemaError};
pub use verify::Unfit;

pub const TEMP_PREFIX: &str = ".tmp-";

/// The backup folder alone: list, verify, delete, keep, scrub, bring files in, clean up after
/// a crash. It never opens the live database, so the command line can use it while the
/// server runs, and off-site work sends and brings in through it. Cheap to clone; all clones
/// share one state (and the clock they were made with).
///
/// Its methods, by file: the list and the shared state (`mod.rs`), one operation at a time
/// and pins (`operation.rs`), `verify.rs`, `scrub.rs`, `import.rs` (files brought in),
/// `removal.rs` (the cap applied, delete, Keep), `leftovers.rs` (after a crash),
/// `settings.rs` (the backup settings changed).
#[derive(Clone)]
pub struct BackupFolder {
    inner: Arc<Inner>,
    clock: SharedClock,
}

/// The backup engine on the live database: the [`BackupFolder`] plus what needs the data
/// (making a backup, restoring one, checking the live file, the health line). Every folder
/// method works on it too (it dereferences to its folder); a live method on the folder alone
/// does not compile. Cheap to clone.
///
/// Its own methods, by file: `create.rs` and `coverage.rs` (making a backup, and whether the
/// live data is in one), `restore/online.rs` and `restore/accounts.rs` (restoring with the
/// server running), `health.rs` (checks of the live file and the health line).
#[derive(Clone)]
pub struct BackupEngine {
    folder: BackupFolder,
    db: Db,
}

impl std::ops::Deref for BackupEngine {
    type Target = BackupFolder;

    fn deref(&self) -> &BackupFolder {
        &self.folder
    }
}

struct Inner {
    paths: Paths,
    settings: Arc<RwLock<Settings>>,
    log: BackupLog,
    op_lock: Mutex<()>,
    progress: Mutex<Option<Progress>>,
    cancel: AtomicBool,
    pinned: Mutex<HashMap<String, usize>>,
    last_attempt: Mutex<Option<LastAttempt>>,
    health: health::HealthState,
    /// Counts changes to the set of backups (the scheduler works out its next run again).
    changes: std::sync::atomic::AtomicU64,
}

/// Milliseconds since `started`, for records and reports.
fn elapsed_ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl BackupEngine {
    /// An engine on the live database, with the system clock.
    pub fn new(paths: Paths, db: Db, settings: Arc<RwLock<Settings>>) -> BackupEngine {
        BackupEngine {
            folder: BackupFolder::new(paths, settings),
            db,
        }
    }

    /// The same engine reading the time from `clock` (backup names, records, retention and
    /// health ages). Call it before handing out clones: clones made earlier keep the old one.
    pub(crate) fn with_clock(mut self, clock: SharedClock) -> BackupEngine {
        self.folder.clock = clock;
        self
    }

    /// Its backup folder (shares the engine's state: the operation lock, pins, health).
    pub(crate) fn folder(&self) -> &BackupFolder {
        &self.folder
    }

    /// The live database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl BackupFolder {
    /// The backup folder of the data folder `paths`, with the system clock.
    pub fn new(paths: Paths, settings: Arc<RwLock<Settings>>) -> BackupFolder {
        let log = BackupLog::new(paths.backup_log());
        BackupFolder {
            inner: Arc::new(Inner {
                paths,
                settings,
                log,
                op_lock: Mutex::new(()),
                progress: Mutex::new(None),
                cancel: AtomicBool::new(false),
                pinned: Mutex::new(HashMap::new()),
                last_attempt: Mutex::new(None),
                health: health::HealthState::default(),
                changes: std::sync::atomic::AtomicU64::new(0),
            }),
            clock: crate::clock::system(),
        }
    }

    pub(crate) fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    pub(crate) fn backups_dir(&self) -> &Path {
        &self.inner.paths.backups
    }

    pub(crate) fn log(&self) -> &BackupLog {
        &self.inner.log
    }

    pub(crate) fn settings(&self) -> Settings {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The time on the engine's clock.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// How many times the set of backups changed since the engine was made.
    pub(crate) fn changes(&self) -> u64 {
        self.inner.changes.load(Ordering::SeqCst)
    }

    pub(crate) fn last_attempt(&self) -> Option<LastAttempt> {
        lock(&self.inner.last_attempt).clone()
    }

    /// Every backup, newest first.
    pub fn list(&self) -> Result<Vec<BackupEntry>, BackupError> {
        catalog::list(self.backups_dir()).map_err(BackupError::io("cannot read the backup folder"))
    }

    /// Looks a backup up by its exact name.
    pub(crate) fn find(&self, name: &str) -> Result<BackupEntry, BackupError> {
        catalog::find(self.backups_dir(), name).ok_or_else(|| BackupError::NotFound(name.into()))
    }

    /// Gives a backup just put in place at `final_path` its record (made as `origin` says,
    /// passed its quick check then) and returns its entry.
    fn record_placed(
        &self,
        final_path: &Path,
        origin: catalog::Origin,
        facts: &copy::FileFacts,
        order: u64,
        mtime: Option<i64>,
    ) -> Result<BackupEntry, BackupError> {
        let file_name = origin.file_name.clone();
        let checked =
            catalog::Verification::passed(health::CheckMethod::Quick.as_str(), origin.created_at);
        let mut sidecar = catalog::Sidecar::from_facts(origin, facts, checked, mtime);
        sidecar.order = Some(order);
        catalog::write_sidecar(final_path, &sidecar)
            .map_err(BackupError::io("cannot write the backup's record"))?;
        self.find(&file_name)
    }

    fn ensure_dir(&self) -> Result<(), BackupError> {
        std::fs::create_dir_all(self.backups_dir())
            .map_err(BackupError::io("cannot create the backup folder"))
    }

    pub(crate) fn health_state(&self) -> &health::HealthState {
        &self.inner.health
    }

    /// Asks a running operation to stop and waits for it to finish or clean up.
    pub(crate) fn shutdown(&self) {
        self.inner.cancel.store(true, Ordering::SeqCst);
        health::interrupt_all(&self.inner.health);
        drop(lock(&self.inner.op_lock));
    }

    /// Everything that depends on the set of backups, brought up to date after it changed
    /// (and at start): the health line and `database_backups/RECOVERY.txt`.
    pub(crate) fn backups_changed(&self) {
        self.inner.changes.fetch_add(1, Ordering::SeqCst);
        self.invalidate_health();
        if let Err(e) = recovery::write(self.paths()) {
            tracing::warn!("cannot write RECOVERY.txt: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
