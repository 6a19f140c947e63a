//! Temp files for copies in progress, removed unless they were renamed into place.

use std::path::{Path, PathBuf};

use super::BackupError;
use crate::fsutil;

/// A temp file that is removed (with any journal SQLite left beside it) unless `keep` was
/// set because it was renamed into place.
pub(crate) struct TempFile {
    pub(crate) path: PathBuf,
    pub(crate) keep: bool,
}

impl TempFile {
    pub(crate) fn new(dir: &Path, prefix: &str) -> TempFile {
        TempFile {
            path: dir.join(format!("{prefix}{}.db", fsutil::random_hex(8))),
            keep: false,
        }
    }

    /// Renames the finished file to `final_path` (in the same folder) durably; returns its
    /// modification time for the record (ms since the epoch).
    pub(super) fn place_as_backup(
        &mut self,
        final_path: &Path,
    ) -> Result<Option<i64>, BackupError> {
        let dir = fsutil::parent_of(final_path);
        fsutil::rename(&self.path, final_path)
            .map_err(BackupError::io("cannot name the backup"))?;
        self.keep = true;
        fsutil::fsync_dir(&dir).map_err(BackupError::io("cannot flush the backup folder"))?;
        let modified = std::fs::metadata(final_path)
            .and_then(|m| m.modified())
            .ok();
        Ok(super::catalog::mtime_ms(modified))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: a leftover is removed by the next start's cleanup.
            let _ = std::fs::remove_file(&self.path);
            for suffix in ["-journal", "-wal", "-shm"] {
                let mut p = self.path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
    }
}
