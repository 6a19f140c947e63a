//! Removing backups: the cap applied after each new backup (the rules are `retention.rs`), a
//! delete on a person's request, and the Keep mark that protects a backup from both.

use std::path::PathBuf;

use super::catalog::{self, BackupEntry};
use super::operation::Operation;
use super::retention::{RetentionOutlook, outlook, plan};
use super::{BackupError, BackupFolder};
use crate::fsutil;

impl BackupFolder {
    fn max_backups(&self) -> usize {
        usize::try_from(self.settings().max_backups).unwrap_or(usize::MAX)
    }

    /// Removes what [`plan`] says after a new backup (`just_made`).
    pub(super) fn apply_retention(&self, just_made: Option<&str>) {
        let max = self.max_backups();
        let Ok(entries) = self.list() else { return };
        let plan = plan(&entries, max, just_made, |name| self.is_pinned(name));
        for name in &plan.remove {
            let Some(entry) = entries.iter().find(|e| &e.file_name == name) else {
                continue;
            };
            match self.remove_files(entry) {
                Ok(()) => self.inner.log.info(&format!(
                    "Backup removed by retention: {name} (keeping the {max} newest)"
                )),
                Err(e) => self.inner.log.error(&format!(
                    "Could not remove old backup {name}: {}",
                    crate::error_chain::chain(&e)
                )),
            }
        }
        if plan.over_cap_by > 0 {
            self.inner.log.info(&format!(
                "{} more backups than the cap of {max} are kept: each is marked Keep, in use, just made or the newest of its kind",
                plan.over_cap_by
            ));
        }
    }

    /// What the next automatic backup would remove, and how far the cap is exceeded.
    pub(crate) fn retention_outlook(&self) -> Result<RetentionOutlook, BackupError> {
        let entries = self.list()?;
        Ok(outlook(&entries, self.max_backups(), |name| {
            self.is_pinned(name)
        }))
    }

    fn remove_files(&self, entry: &BackupEntry) -> Result<(), BackupError> {
        fsutil::remove_file(&entry.path).map_err(BackupError::io("cannot delete the backup"))?;
        // A broken_* copy may carry its -wal (the data that was in flight).
        let mut wal = entry.path.as_os_str().to_owned();
        wal.push("-wal");
        match fsutil::remove_file(&PathBuf::from(wal)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("cannot delete the backup's -wal file")(e)),
        }
        let sidecar = catalog::sidecar_path(&entry.path);
        match fsutil::remove_file(&sidecar) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("cannot delete the backup's record")(e)),
        }
        fsutil::fsync_dir(self.backups_dir())
            .map_err(BackupError::io("cannot flush the backup folder"))
    }

    /// Deletes one backup on a person's request. The newest backup and kept backups stay.
    pub(crate) fn delete(&self, name: &str, user: &str) -> Result<(), BackupError> {
        let _guard = self.begin(Operation::Deletion, name)?;
        let entry = self.find(name)?;
        let entries = self.list()?;
        if catalog::newest_counted(&entries).is_some_and(|n| n.file_name == entry.file_name) {
            return Err(BackupError::NewestCannotBeDeleted);
        }
        if entry.keep() {
            return Err(BackupError::Kept(entry.file_name));
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

    /// Sets or removes a backup's Keep mark (the web layer checks who may). A backup without
    /// a usable record is verified first, which rebuilds one.
    pub(crate) fn set_keep(
        &self,
        name: &str,
        keep: bool,
        user: &str,
    ) -> Result<BackupEntry, BackupError> {
        let _guard = self.begin(Operation::KeepMark, name)?;
        let mut entry = self.find(name)?;
        if keep && entry.name.is_current_startup() {
            return Err(BackupError::StartupCannotBeKept);
        }
        if entry.sidecar.is_none() {
            entry = self.verify_unlocked(&entry, false, user)?;
        }
        let Some(mut sidecar) = entry.sidecar.clone() else {
            return Err(BackupError::NoRecord(entry.file_name));
        };
        if sidecar.keep == keep {
            return Ok(entry);
        }
        sidecar.keep = keep;
        catalog::write_sidecar(&entry.path, &sidecar)
            .map_err(BackupError::io("cannot write the backup's record"))?;
        if keep {
            self.inner.log.info(&format!(
                "Backup marked Keep: {} by {user}",
                entry.file_name
            ));
        } else {
            self.inner.log.info(&format!(
                "Keep mark removed from {} by {user}",
                entry.file_name
            ));
        }
        self.find(&entry.file_name)
    }
}
