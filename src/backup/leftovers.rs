//! Cleaning up after a crash: temp files of interrupted copies, records whose backup is gone,
//! and safety links of an interrupted restore.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};

use super::names::BackupKind;
use super::operation::Operation;
use super::{BackupFolder, TEMP_PREFIX, catalog, restore};
use crate::fsutil;

impl BackupFolder {
    /// Removes temp files left by a crash, and records whose backup is gone. Only runs when it
    /// holds the operation lock, so it never removes a file another live process is writing.
    pub(crate) fn clean_leftovers(&self) {
        let Ok(_guard) = self.begin(Operation::Cleanup, "") else {
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
                // A safety link is `.tmp-` too, but may be the only copy of the data before a
                // restore: only the rescue above deals with it, and one it could not name
                // stays for the next start.
                if name.starts_with(prefix) && !name.starts_with(restore::SAFETY_TEMP_PREFIX) {
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
            if let Err(e) = std::fs::remove_file(&orphan) {
                tracing::warn!("cannot remove the orphan record {}: {e}", orphan.display());
            }
        }
        // A crash while a safety backup was switched out of WAL mode can leave its (empty)
        // journal files; broken_* copies keep theirs, which may hold data.
        if let Ok(read) = std::fs::read_dir(self.backups_dir()) {
            for item in read.filter_map(Result::ok) {
                let name = item.file_name().to_string_lossy().into_owned();
                if name.starts_with("pre_restore_")
                    && (name.ends_with(".db-wal") || name.ends_with(".db-shm"))
                    && let Err(e) = std::fs::remove_file(item.path())
                {
                    tracing::warn!("cannot remove the leftover {name}: {e}");
                }
            }
        }
    }

    /// After a crash in the middle of a restore: a safety link that is no longer the live
    /// file holds the pre-restore data, so it becomes a named safety backup (dated by the
    /// file); one that is still the live file is just a second name for it and is removed.
    /// One that cannot be named stays as it is, for the next start.
    pub(crate) fn rescue_safety_temps(&self) {
        let backups = self.backups_dir().to_path_buf();
        let Ok(read) = std::fs::read_dir(&backups) else {
            return;
        };
        for item in read.filter_map(Result::ok) {
            let name = item.file_name().to_string_lossy().into_owned();
            if !name.starts_with(restore::SAFETY_TEMP_PREFIX) {
                continue;
            }
            if !name.ends_with(".db") {
                // A journal whose safety file is gone (named or removed before a crash).
                let orphan = ["-journal", "-wal", "-shm"].iter().any(|suffix| {
                    name.strip_suffix(suffix)
                        .is_some_and(|db| db.ends_with(".db") && !backups.join(db).exists())
                });
                if orphan && let Err(e) = std::fs::remove_file(item.path()) {
                    tracing::warn!("cannot remove the leftover {name}: {e}");
                }
                continue;
            }
            let path = item.path();
            // Only a file that is provably the live one (same volume and file id) is a mere
            // second name; anything else may be the only copy of the data before a restore.
            if same_file::is_same_file(&path, &self.paths().db).unwrap_or(false) {
                match fsutil::remove_file(&path) {
                    Ok(()) => remove_empty_journals(&path),
                    Err(e) => tracing::warn!("cannot remove the leftover link {name}: {e}"),
                }
                continue;
            }
            let when = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .map(DateTime::<Utc>::from)
                .unwrap_or_else(|_| self.clock.now());
            let local = when.with_timezone(&Local).naive_local();
            let final_name = catalog::unused_name(&backups, BackupKind::PreRestore, local, "");
            // A crash while it was switched out of WAL mode can leave a hot -journal: SQLite
            // rolls it back now, so the file is whole before it is named.
            if journal_beside(&path, "-journal").exists()
                && let Err(e) = crate::db::settle_file(&path)
            {
                tracing::warn!("cannot finish the journal of {name}: {e}");
            }
            match fsutil::rename(&path, &backups.join(&final_name)) {
                Ok(()) => {
                    remove_empty_journals(&path);
                    if let Err(e) = fsutil::fsync_dir(&backups) {
                        tracing::warn!("cannot flush the backup folder: {e}");
                    }
                    self.log().warning(&format!(
                        "Kept the safety backup of an interrupted restore as {final_name}"
                    ));
                }
                Err(e) => self.log().warning(&format!(
                    "The safety backup of an interrupted restore ({name}) could not be named {final_name}: {e}. It stays as it is and is tried again at the next start."
                )),
            }
        }
    }
}

/// A safety link's `-wal` and `-shm` hold nothing (the live file was checkpointed in full
/// before it was linked): once the link is named or removed they go.
fn remove_empty_journals(link: &Path) {
    for suffix in ["-wal", "-shm"] {
        let path = journal_beside(link, suffix);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove the leftover {}: {e}", path.display());
        }
    }
}

fn journal_beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
