//! Cleaning up after a crash: temp files of interrupted copies, records whose backup is gone,
//! and safety links of an interrupted restore.

use super::operation::Operation;
use super::{BackupEngine, TEMP_PREFIX, catalog, restore};

impl BackupEngine {
    /// Removes temp files left by a crash, and records whose backup is gone. Only runs when it
    /// holds the operation lock, so it never removes a file another live process is writing.
    pub fn clean_leftovers(&self) {
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
}
