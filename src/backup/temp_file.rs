//! Temp files for copies in progress, removed unless they were renamed into place.

use std::path::{Path, PathBuf};

use crate::fsutil;

/// A temp file that is removed (with any journal SQLite left beside it) unless `keep` was
/// set because it was renamed into place.
pub(super) struct TempFile {
    pub(super) path: PathBuf,
    pub(super) keep: bool,
}

impl TempFile {
    pub(super) fn new(dir: &Path, prefix: &str) -> TempFile {
        TempFile {
            path: dir.join(format!("{prefix}{}.db", fsutil::random_hex(8))),
            keep: false,
        }
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
