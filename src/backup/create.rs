//! Making a backup: a snapshot copy into a temp file, checked and fsynced in parallel, then
//! renamed to its final name and given its record; retention runs after it.

use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::catalog::{self, BackupEntry, Origin};
use super::health::{CheckMethod, LiveCheck};
use super::names::{self, BackupKind};
use super::operation::{OpGuard, Operation, Phase};
use super::temp_file::TempFile;
use super::{BackupEngine, BackupError, TEMP_PREFIX, copy, elapsed_ms, lock, space};
use crate::fsutil;

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

impl BackupEngine {
    /// Makes a backup now. Fails fast with [`BackupError::Busy`] if one is running.
    pub fn create(&self, request: &CreateRequest) -> Result<BackupEntry, BackupError> {
        let guard = match self.begin(Operation::Backup, request.kind.label()) {
            Ok(g) => g,
            Err(e) if e.is_busy() => return Err(e),
            Err(e) => {
                // Could not even start (e.g. the folder cannot be created): a failed backup.
                let said = crate::error_chain::chain(&e);
                self.inner.log.error(&format!(
                    "Database backup ({}) failed: {said}",
                    request.kind.label()
                ));
                self.record_attempt(false, said);
                return Err(e);
            }
        };
        self.create_locked(&guard, request, &mut || {})
    }

    /// Makes a backup while the caller holds the operation lock. `on_snapshot` runs once the
    /// snapshot is fixed (the startup backup lets the server start serving then).
    pub(crate) fn create_locked(
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
                self.record_live_check(LiveCheck {
                    ok: true,
                    method: CheckMethod::Quick,
                    checked_at: self.clock.now(),
                    message: format!("ok (checked on the copy made for {})", entry.file_name),
                    duration_ms: 0,
                });
                if request.kind != BackupKind::PreRestore {
                    self.apply_retention(Some(&entry.file_name));
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
                let said = crate::error_chain::chain(e);
                self.inner.log.error(&format!(
                    "Database backup ({}) failed: {said}",
                    request.kind.label()
                ));
                self.record_attempt(false, said);
            }
        }
        result
    }

    fn record_attempt(&self, ok: bool, message: String) {
        self.invalidate_health();
        *lock(&self.inner.last_attempt) = Some(LastAttempt {
            at: self.clock.now(),
            ok,
            message,
        });
    }

    /// Room in the backup folder for a copy of the live database and its `-wal`.
    pub(super) fn check_free_space(&self) -> Result<(), BackupError> {
        let live = std::fs::metadata(&self.inner.paths.db)
            .map(|m| m.len())
            .unwrap_or(0)
            + std::fs::metadata(self.inner.paths.db_sidecar("-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        space::ensure_room(self.backups_dir(), live)
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
            self.clock.local_now(),
            &request.description,
        );
        let dir = self.backups_dir().to_path_buf();
        let mut temp = TempFile::new(&dir, TEMP_PREFIX);

        guard.set_progress(Phase::Copying, 0, 0);
        let temp_path = temp.path.clone();
        self.db.with_conn(|src| {
            copy::low_priority(|| {
                let hooks = copy::CopyHooks {
                    cancel: &self.inner.cancel,
                    on_snapshot,
                    on_progress: &mut |d, t| guard.set_progress(Phase::Copying, d, t),
                };
                copy::snapshot_copy(src, &temp_path, hooks)
            })
            .map_err(BackupError::from)
        })?;

        guard.set_progress(Phase::Checking, 1, 1);
        let inspected = std::thread::scope(|scope| {
            // fsync runs beside the checks: it waits on the disk, they on the CPU.
            let synced = scope.spawn(|| fsutil::sync_file(&temp.path));
            let inspected = copy::inspect_file(&temp.path, false);
            let synced = match synced.join() {
                Ok(synced) => synced,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            synced.map_err(BackupError::io("cannot flush the backup to disk"))?;
            inspected.map_err(BackupError::from)
        })?;
        if let Err(problem) = inspected.check {
            return Err(BackupError::Integrity(problem));
        }
        if let Err(problem) = &inspected.schema {
            // Kept (it is today's data), but verify and restore judge it by its schema.
            self.inner.log.warning(&format!(
                "The live data's schema is not exactly Backroom's ({problem}): a restore will refuse this backup"
            ));
        }
        let facts = inspected.facts;
        if self.inner.cancel.load(Ordering::Relaxed) {
            return Err(BackupError::Cancelled);
        }

        guard.set_progress(Phase::Finishing, 1, 1);
        let final_path = dir.join(&file_name);
        let sidecar_path = catalog::sidecar_path(&final_path);
        if request.kind == BackupKind::Startup {
            self.retire_startup_backup(&facts.sha256)?;
        }
        // Taken before the file is placed: a replaced startup backup's own place is free.
        let order = catalog::next_order(&dir);
        // Replacing the startup backup: drop its old record first, so a crash can never pair
        // the new file with the old file's hash.
        if sidecar_path.exists() {
            fsutil::remove_file(&sidecar_path)
                .map_err(BackupError::io("cannot replace the old record"))?;
            fsutil::fsync_dir(&dir).map_err(BackupError::io("cannot flush the backup folder"))?;
        }
        let mtime = temp.place_as_backup(&final_path)?;
        let origin = Origin {
            kind: request.kind,
            file_name,
            created_at: self.clock.now(),
            created_by: request.created_by.clone(),
            description: request.description.clone(),
            duration_ms: elapsed_ms(started),
        };
        self.record_placed(&final_path, origin, &facts, order, mtime)
    }

    /// The previous start's `startup_backup.db` joins the dated history as
    /// `startup_YYYYMMDD_HHMMSS.db` instead of being replaced, unless it holds exactly what the
    /// new one holds (a restart with no change in between loses nothing by replacing it).
    /// Order: the dated record is written, then the file renamed, then the old record
    /// removed, so a crash leaves either the old pair or the dated pair whole.
    fn retire_startup_backup(&self, new_sha256: &str) -> Result<(), BackupError> {
        let Some(old) = catalog::find(self.backups_dir(), names::STARTUP_NAME) else {
            return Ok(());
        };
        let same = old
            .sidecar
            .as_ref()
            .is_some_and(|s| s.sha256 == new_sha256 && !s.keep);
        if same || matches!(old.state(), catalog::BackupState::Failed(_)) {
            return Ok(());
        }
        let at = old.created_at().with_timezone(&chrono::Local).naive_local();
        let dated = catalog::unused_dated_startup(self.backups_dir(), at);
        let dated_path = self.backups_dir().join(&dated);
        if let Some(mut sidecar) = old.sidecar.clone() {
            sidecar.file_name = dated.clone();
            catalog::write_sidecar(&dated_path, &sidecar)
                .map_err(BackupError::io("cannot write the backup's record"))?;
        }
        fsutil::rename(&old.path, &dated_path)
            .map_err(BackupError::io("cannot keep the previous startup backup"))?;
        let old_sidecar = catalog::sidecar_path(&old.path);
        match fsutil::remove_file(&old_sidecar) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("cannot replace the old record")(e)),
        }
        fsutil::fsync_dir(self.backups_dir())
            .map_err(BackupError::io("cannot flush the backup folder"))?;
        self.inner.log.info(&format!(
            "The previous startup backup joins the history as {dated}"
        ));
        Ok(())
    }
}
