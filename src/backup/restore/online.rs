//! Restoring while the server runs: database work pauses only for the swap.

use std::path::Path;
use std::time::{Duration, Instant};

use super::accounts::{self, Carried};
use super::prepare::{PrepareError, Prepared, prepare};
use super::{
    Accounts, RESTORE_TEMP_PREFIX, RestoreOptions, RestoreReport, SAFETY_PARTIAL_PREFIX,
    SAFETY_TEMP_PREFIX, SwapError, copy_complete, emergency_candidates, swap_into_place,
    unique_name,
};
use crate::backup::catalog::{self, Origin, Sidecar, Verification};
use crate::backup::health::{self, CheckMethod};
use crate::backup::names::BackupKind;
use crate::backup::operation::{OpGuard, Operation, Phase};
use crate::backup::temp_file::TempFile;
use crate::backup::verify::Unfit;
use crate::backup::{BackupEngine, BackupError, copy, elapsed_ms};
use crate::db::{DbError, Exclusive};
use crate::fsutil;

/// How long a swap waits for this process's connections to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// Reads today's accounts while nothing can change them (no other process has the file, no
/// other work runs) and carries them into the prepared copy.
fn carry_accounts(
    exclusive: &mut Exclusive<'_>,
    copy: &Path,
    wanted: Accounts,
) -> Result<Carried, BackupError> {
    exclusive.lock_out_other_processes()?;
    let today = exclusive.read(|c| accounts::read_accounts(c).map_err(DbError::from))?;
    accounts::carry_into(copy, Some(&today), wanted)
}

/// Makes a backup that was the live database a single file like every other backup.
fn make_single_file(path: &Path) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0))?;
    conn.close().map_err(|(_, e)| e)
}

impl BackupEngine {
    /// Restores the named backup (the web layer checks the role).
    pub fn restore(
        &self,
        name: &str,
        user: &str,
        options: RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let result = self.restore_named(name, user, options);
        self.log_restore_outcome(name, user, &result);
        result
    }

    fn restore_named(
        &self,
        name: &str,
        user: &str,
        options: RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let guard = self.begin(Operation::Restore, name)?;
        let entry = self.find(name)?;
        let _pin = self.pin(&entry.file_name);
        guard.set_progress(Phase::Checking, 0, 1);
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
        self.swap_and_finish(&guard, prepared, Vec::new(), user, options)
    }

    /// Restores the newest regular backup that passes verification, naming the ones it
    /// skipped.
    pub(crate) fn emergency_restore(
        &self,
        user: &str,
        options: RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let result = self.restore_latest_good(user, options);
        self.log_restore_outcome("the latest good backup", user, &result);
        result
    }

    fn restore_latest_good(
        &self,
        user: &str,
        options: RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let guard = self.begin(Operation::Restore, "latest good backup")?;
        let mut skipped: Vec<(String, Unfit)> = Vec::new();
        for entry in emergency_candidates(self.list()?) {
            let name = entry.file_name.clone();
            let _pin = self.pin(&name);
            guard.set_progress(Phase::Checking, 0, 1);
            match prepare(entry, &self.paths().data_dir) {
                Ok(prepared) => {
                    for (skipped_name, reason) in &skipped {
                        self.log().warning(&format!(
                            "Emergency restore skipped {skipped_name}: {reason}"
                        ));
                    }
                    let skipped = skipped
                        .into_iter()
                        .map(|(name, reason)| (name, reason.to_string()))
                        .collect();
                    return self.swap_and_finish(&guard, prepared, skipped, user, options);
                }
                Err(PrepareError::Ours(e)) => return Err(e),
                Err(PrepareError::BadBackup(reason)) => {
                    self.record_failed_check(&name, &reason, user);
                    skipped.push((name, reason));
                }
            }
        }
        Err(BackupError::NoGoodBackup { skipped })
    }

    /// A backup that failed its check during a restore is marked in its record, so the list
    /// shows it as failed from now on.
    fn record_failed_check(&self, name: &str, reason: &Unfit, user: &str) {
        let Ok(entry) = self.find(name) else { return };
        let mut sidecar = match entry.sidecar.clone() {
            Some(s) => s,
            // No usable record: the full verification rebuilds one.
            None => {
                if let Err(e) = self.verify_unlocked(&entry, false, user) {
                    tracing::warn!("cannot record the failed check of {name}: {e}");
                }
                return;
            }
        };
        sidecar.verification = Verification::failed("restore check", self.clock.now(), reason);
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
            Ok(r) => {
                self.log().info(&format!(
                    "Database restored from {} by {user} (safety backup: {})",
                    r.restored, r.safety_backup
                ));
                if !r.accounts_kept.is_empty() {
                    self.log().info(&format!(
                        "The restore kept today's password, role and disabled flag for: {}",
                        r.accounts_kept.join(", ")
                    ));
                }
            }
            Err(e) => self
                .log()
                .error(&format!("Restore from {what} by {user} failed: {e}")),
        }
    }

    fn swap_and_finish(
        &self,
        guard: &OpGuard<'_>,
        mut prepared: Prepared,
        skipped: Vec<(String, String)>,
        user: &str,
        options: RestoreOptions,
    ) -> Result<RestoreReport, BackupError> {
        let started = Instant::now();
        let backups = self.backups_dir().to_path_buf();
        let safety_name = unique_name(&backups, BackupKind::PreRestore, self.clock.local_now());
        let mut safety_temp = TempFile::new(&backups, SAFETY_TEMP_PREFIX);
        guard.set_progress(Phase::Swapping, 0, 1);

        // Long checks of the live database give way: the swap must not wait an hour.
        health::interrupt_all(self.health_state());
        let db = self.db.clone();
        let pause_started = Instant::now();
        let mut exclusive = db.exclusive();
        let carried = match carry_accounts(&mut exclusive, &prepared.temp.path, options.accounts) {
            Ok(carried) => carried,
            Err(e) => return Err(Self::nothing_replaced(&mut exclusive, &safety_temp, e)),
        };
        match self.swap_files(&mut exclusive, &mut prepared.temp, &mut safety_temp) {
            Ok(()) => {}
            Err(SwapError::NotSwapped(e)) => {
                return Err(Self::nothing_replaced(&mut exclusive, &safety_temp, e));
            }
            Err(SwapError::NotFlushed(e)) => self
                .log()
                .warning(&format!("The restored data is in place, but: {e}")),
        }
        // The new data is live; the old data lives on as the safety backup.
        guard.set_progress(Phase::Finishing, 0, 1);
        let safety_name = self.name_safety_backup(&safety_temp.path, safety_name);
        if let Err(reason) = exclusive.reopen() {
            let put_back = self.put_back(&mut exclusive, &backups.join(&safety_name));
            if exclusive.reopen_if_closed().is_err() {
                tracing::error!("the database could not be reopened after a failed restore");
            }
            return Err(match put_back {
                Ok(()) => BackupError::RolledBack {
                    reason,
                    safety: safety_name,
                },
                Err(p) => BackupError::PutBackFailed {
                    reason,
                    put_back: Box::new(p),
                    safety: safety_name,
                },
            });
        }
        let pause_ms = elapsed_ms(pause_started);
        drop(exclusive);

        let safety_path = backups.join(&safety_name);
        let restored = &prepared.entry.file_name;
        if let Err(e) = self.finish_safety_backup(&safety_path, restored, user, started) {
            // The restore itself succeeded; the safety file is listed as unverified.
            self.log().warning(&format!(
                "The safety backup {safety_name} could not be checked: {e}"
            ));
        }
        self.apply_retention(Some(&safety_name));
        self.backups_changed();
        Ok(RestoreReport {
            restored: prepared.entry.file_name.clone(),
            safety_backup: safety_name,
            skipped,
            row_counts: prepared.row_counts.clone(),
            schema_version_before_migration: prepared.schema_version,
            duration_ms: elapsed_ms(started),
            pause_ms,
            accounts: options.accounts,
            accounts_not_kept: None,
            accounts_kept: carried.kept,
            changed_user_ids: carried.changed_user_ids,
        })
    }

    /// Closes every connection, links the live file as the safety backup and swaps the
    /// prepared copy in.
    fn swap_files(
        &self,
        exclusive: &mut Exclusive<'_>,
        temp: &mut TempFile,
        safety_temp: &mut TempFile,
    ) -> Result<(), SwapError> {
        let paths = self.paths();
        exclusive
            .close_all(CLOSE_TIMEOUT)
            .map_err(|e| SwapError::NotSwapped(e.into()))?;
        keep_live_file(&paths.db, &safety_temp.path, &paths.backups)
            .map_err(SwapError::NotSwapped)?;
        // From here the old data has a second name: never delete it on failure. (If the swap
        // does not happen, the next start sees it is the live file and removes it.)
        safety_temp.keep = true;
        fsutil::fsync_dir(&paths.backups)
            .map_err(BackupError::io("cannot flush the backup folder"))
            .map_err(SwapError::NotSwapped)?;
        swap_into_place(paths, temp, "cannot put the restored database in place")
    }

    /// After a failed swap that replaced nothing: drops the second name of the live file,
    /// then reopens on the old data (Windows cannot remove a name of a file that is open).
    fn nothing_replaced(
        exclusive: &mut Exclusive<'_>,
        safety_temp: &TempFile,
        cause: BackupError,
    ) -> BackupError {
        if safety_temp.keep
            && let Err(e) = fsutil::remove_file(&safety_temp.path)
        {
            // The next start sees it is the live file and removes it.
            tracing::warn!("cannot remove the link {}: {e}", safety_temp.path.display());
        }
        match exclusive.reopen_if_closed() {
            Ok(()) => BackupError::RestoreFailed {
                cause: Box::new(cause),
            },
            Err(reopen) => BackupError::RestoreFailedNotReopened {
                cause: Box::new(cause),
                reopen,
            },
        }
    }

    /// Gives the old data its safety backup name; returns the name it has (its temp name if
    /// the rename failed: the next start rescues it as a safety backup).
    fn name_safety_backup(&self, temp_path: &Path, name: String) -> String {
        let backups = self.backups_dir();
        if let Err(e) = fsutil::rename(temp_path, &backups.join(&name)) {
            tracing::error!("cannot name the safety backup: {e}");
            return temp_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        if let Err(e) = fsutil::fsync_dir(backups) {
            tracing::error!("cannot flush the backup folder after naming {name}: {e}");
        }
        name
    }

    /// Puts the safety backup back after a failed swap, the same crash-safe way.
    fn put_back(
        &self,
        exclusive: &mut Exclusive<'_>,
        safety_path: &Path,
    ) -> Result<(), BackupError> {
        let paths = self.paths();
        exclusive.close_all(CLOSE_TIMEOUT)?;
        let mut temp = TempFile::new(&paths.data_dir, RESTORE_TEMP_PREFIX);
        copy::copy_and_hash(safety_path, &temp.path)?;
        swap_into_place(paths, &mut temp, "cannot put the old data back")?;
        exclusive.reopen()?;
        Ok(())
    }

    /// Makes the hard-linked old database a self-contained, verified backup with a record
    /// that says which restore it belongs to (`restored` by `user`, now).
    fn finish_safety_backup(
        &self,
        path: &Path,
        restored: &str,
        user: &str,
        started: Instant,
    ) -> Result<(), BackupError> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // It was the live file (WAL mode, fully checkpointed). Nobody else has it open.
        if let Err(e) = make_single_file(path) {
            self.log().warning(&format!(
                "The safety backup {file_name} could not be switched out of WAL mode: {e}"
            ));
        }
        let inspected = copy::inspect_file(path, false)?;
        let now = self.clock.now();
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        // Called the way the list calls it, its file name after it (alerts name it too).
        let restored = catalog::find(self.backups_dir(), restored).map_or_else(
            || restored.to_string(),
            |e| format!("“{}” ({restored})", e.label()),
        );
        let origin = Origin {
            kind: BackupKind::PreRestore,
            file_name: file_name.clone(),
            created_at: now,
            created_by: user.to_string(),
            // Several safety backups look alike in the list: say which restore made each.
            description: format!(
                "Made before restoring {restored} on {} by {user}",
                crate::timefmt::friendly(now)
            ),
            duration_ms: elapsed_ms(started),
        };
        let verification = Verification::of(CheckMethod::Quick.as_str(), now, &inspected.check);
        let mut sidecar = Sidecar::from_facts(
            origin,
            &inspected.facts,
            verification,
            catalog::mtime_ms(modified),
        );
        sidecar.order = Some(catalog::next_order(self.backups_dir()));
        catalog::write_sidecar(path, &sidecar)
            .map_err(BackupError::io("cannot write the safety backup's record"))?;
        if let Err(problem) = inspected.check {
            self.log().warning(&format!(
                "Safety backup {file_name} holds the data from before the restore, which failed its check: {problem}"
            ));
        }
        Ok(())
    }
}
