//! Bringing a backup file in from elsewhere: an upload, a file given to the command line, a
//! copy fetched from an off-site target. It lands in a temp file in the backup folder, is
//! checked like any backup (SQLite's check, a schema exactly Backroom's for a version this
//! program knows: `schema.rs`)
//! and only then is named `uploaded_YYYYMMDD_HHMMSS_<original name>.db` and given its record.
//! A refused or cut-off file leaves nothing behind (a crash leaves a temp file that the next
//! start removes).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::catalog::{self, BackupEntry, Origin};
use super::names::{BackupKind, sanitize_description};
use super::operation::Operation;
use super::schema::SchemaError;
use super::temp_file::TempFile;
use super::verify::{Unfit, judge};
use super::{BackupError, BackupFolder, TEMP_PREFIX, copy, elapsed_ms};
use crate::fsutil;

/// Space left free beyond an upload: a tenth of what is free, at least this much.
const MIN_UPLOAD_MARGIN: u64 = 64 * 1024 * 1024;
/// How much of the original file name is kept in the record.
const MAX_ORIGINAL_NAME: usize = 120;

/// A file being brought in, in the backup folder under a temp name: removed when dropped
/// unless [`BackupFolder::import`] named it.
pub struct Incoming {
    temp: TempFile,
    written: u64,
    limit: u64,
    /// Free space never given up: other uploads and backups write to the same disk, so the
    /// disk is asked again as each chunk lands.
    floor: u64,
}

impl Incoming {
    pub fn path(&self) -> &Path {
        &self.temp.path
    }

    /// The most bytes the disk can take for it.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Copies `reader` into the file, refusing more than [`Incoming::limit`] bytes.
    pub fn fill_from(&mut self, reader: &mut dyn Read) -> Result<u64, BackupError> {
        let mut file = self.create()?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(BackupError::io("cannot read the file"))?;
            if n == 0 {
                break;
            }
            self.append(&mut file, &buf[..n])?;
        }
        fsutil::sync_file(&self.temp.path)
            .map_err(BackupError::io("cannot flush the uploaded file"))?;
        Ok(self.written)
    }

    /// Appends one chunk (for uploads that arrive in pieces), refusing past the limit.
    pub fn append(&mut self, file: &mut std::fs::File, chunk: &[u8]) -> Result<(), BackupError> {
        self.written += chunk.len() as u64;
        if self.written > self.limit {
            return Err(BackupError::TooLarge { limit: self.limit });
        }
        let dir = self.temp.path.parent().unwrap_or(Path::new("."));
        let free = fsutil::available_space(dir)
            .map_err(BackupError::io("cannot measure free disk space"))?;
        if free < self.floor.saturating_add(chunk.len() as u64) {
            // Room taken meanwhile (another upload beside this one): stop at the floor.
            return Err(BackupError::TooLarge {
                limit: self.written.saturating_sub(chunk.len() as u64),
            });
        }
        file.write_all(chunk)
            .map_err(BackupError::io("cannot write the uploaded file"))
    }

    /// Opens the file for [`Incoming::append`].
    pub fn create(&self) -> Result<std::fs::File, BackupError> {
        std::fs::File::create(&self.temp.path)
            .map_err(BackupError::io("cannot write the uploaded file"))
    }
}

/// Why a file brought in was refused (the catalog is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("it is not a Backroom backup: {0}")]
    Unfit(#[source] Unfit),
    /// Its schema is not exactly Backroom's for its version (it could carry code).
    #[error("it is not a Backroom backup: {0}")]
    Foreign(#[source] SchemaError),
    #[error("the file is empty")]
    Empty,
}

/// The part of an original file name kept in the new name and the record: the base name
/// without folders or backup extensions, control characters and markup are harmless (the
/// slug is letters, digits and `_`; the record is escaped wherever it is shown).
fn original_base(original: &str) -> String {
    let base = original
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(original)
        .chars()
        .filter(|c| !crate::text::is_forbidden(*c, false))
        .collect::<String>();
    crate::text::clip(base.trim(), MAX_ORIGINAL_NAME)
}

fn slug_of(original: &str) -> String {
    let mut stem = original_base(original);
    for ext in [".age", ".zst", ".db", ".sqlite3", ".sqlite"] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s.to_string();
        }
    }
    sanitize_description(&stem)
}

/// How long a file brought in waits for another backup operation to finish.
const IMPORT_WAITS_FOR_BACKUP: std::time::Duration = std::time::Duration::from_secs(30);

impl BackupFolder {
    /// A temp file in the backup folder for a file being brought in, with the room the disk
    /// has for it: the free space less a margin.
    pub(crate) fn incoming(&self) -> Result<Incoming, BackupError> {
        self.ensure_dir()?;
        let free = fsutil::available_space(self.backups_dir())
            .map_err(BackupError::io("cannot measure free disk space"))?;
        let floor = (free / 10).max(MIN_UPLOAD_MARGIN);
        Ok(Incoming {
            temp: TempFile::new(self.backups_dir(), TEMP_PREFIX),
            written: 0,
            limit: free.saturating_sub(floor),
            floor,
        })
    }

    /// Checks the file and adds it to the catalog as `uploaded_…_<original>.db`, counted in
    /// the cap like a manual backup. `original` is the name it had (for the new name and the
    /// record). Refuses, leaving nothing behind, a file that is not a good Backroom database
    /// of a schema this program knows.
    pub(crate) fn import(
        &self,
        incoming: Incoming,
        original: &str,
        created_by: &str,
    ) -> Result<BackupEntry, BackupError> {
        let started = Instant::now();
        // The file is already here: a background backup running now (the startup one, just
        // after a start) is waited for rather than turning the upload away.
        let deadline = started + IMPORT_WAITS_FOR_BACKUP;
        let _guard = loop {
            match self.begin(Operation::Import, original) {
                Err(e) if e.is_busy() && Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => break other?,
            }
        };
        let result = self.import_locked(incoming, original, created_by, started);
        match &result {
            Ok(entry) => {
                self.inner.log.info(&format!(
                    "Backup brought in: {} ({}, from {:?}, by {created_by})",
                    entry.file_name,
                    fsutil::human_size(entry.size),
                    original_base(original),
                ));
                self.apply_retention(Some(&entry.file_name));
                self.backups_changed();
            }
            Err(e) => self.inner.log.warning(&format!(
                "A backup file ({:?}, by {created_by}) was refused: {e}",
                original_base(original)
            )),
        }
        result
    }

    fn import_locked(
        &self,
        mut incoming: Incoming,
        original: &str,
        created_by: &str,
        started: Instant,
    ) -> Result<BackupEntry, BackupError> {
        let inspected = copy::inspect_file(&incoming.temp.path, false)?;
        if inspected.facts.size == 0 {
            return Err(BackupError::Refused(Refused::Empty));
        }
        judge(None, &inspected.facts, inspected.check, inspected.schema).map_err(|e| {
            BackupError::Refused(match e {
                Unfit::Foreign(schema) => Refused::Foreign(schema),
                other => Refused::Unfit(other),
            })
        })?;
        let dir: PathBuf = self.backups_dir().to_path_buf();
        let file_name = catalog::unused_name(
            &dir,
            BackupKind::Uploaded,
            self.clock.local_now(),
            &slug_of(original),
        );
        let final_path = dir.join(&file_name);
        let order = catalog::next_order(&dir);
        let mtime = incoming.temp.place_as_backup(&final_path)?;
        let origin = Origin {
            kind: BackupKind::Uploaded,
            file_name,
            created_at: self.clock.now(),
            created_by: created_by.to_string(),
            description: format!("from {}", original_base(original)),
            duration_ms: elapsed_ms(started),
        };
        self.record_placed(&final_path, origin, &inspected.facts, order, mtime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_names_become_safe_slugs() {
        assert_eq!(
            slug_of("manual_20260101_120000.db"),
            "manual_20260101_120000"
        );
        assert_eq!(slug_of("C:\\Users\\x\\Shop copy.db.zst.age"), "shop_copy");
        assert_eq!(slug_of("../../etc/passwd"), "passwd");
        assert_eq!(slug_of("<script>alert(1)</script>.db"), "script");
        assert_eq!(slug_of(".db"), "");
        assert_eq!(original_base("a/b\u{202e}c.db"), "bc.db");
    }
}
