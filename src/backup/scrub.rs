//! The scrub: every stored backup re-hashed against the SHA-256 its record has, so a backup
//! that rots on disk (a bit flipped, same size and time) stops saying "verified". A changed
//! one is recorded as damaged: lists, pages and the API show it failed, the health line turns
//! red, and restores that pick a backup themselves pass it by.

use std::sync::atomic::{AtomicBool, Ordering};

use super::catalog::{self, BackupState, Verification};
use super::operation::Operation;
use super::{BackupError, BackupFolder};

/// The check method a scrub records.
pub const SCRUB_METHOD: &str = "scrub";

/// What one scrub found.
#[derive(Debug, Default)]
pub struct Scrubbed {
    /// Backups re-hashed.
    pub checked: usize,
    /// Backups found damaged (and recorded so) this time.
    pub damaged: Vec<String>,
    /// A mismatch could not be confirmed (another operation was running, or shutdown): the
    /// scrub should run again soon.
    pub unfinished: bool,
}

impl BackupFolder {
    /// Re-hashes every verified backup. Hashing runs without the operation lock (pinned, so
    /// nothing deletes the file meanwhile); a mismatch is hashed again under the lock before
    /// it is recorded. Stops early when `cancel` is set.
    pub fn scrub(&self, cancel: &AtomicBool) -> Result<Scrubbed, BackupError> {
        let mut done = Scrubbed::default();
        for entry in self.list()? {
            if cancel.load(Ordering::SeqCst) {
                break;
            }
            let Some(sidecar) = entry.sidecar.as_ref() else {
                continue;
            };
            if entry.state() != BackupState::Verified {
                continue;
            }
            let _pin = self.pin(&entry.file_name);
            let Ok((sha, size)) = super::copy::sha256_file(&entry.path) else {
                continue; // deleted or replaced meanwhile: not rot
            };
            done.checked += 1;
            if size == sidecar.size && sha.eq_ignore_ascii_case(&sidecar.sha256) {
                continue;
            }
            match self.record_damage(&entry.file_name) {
                Ok(true) => done.damaged.push(entry.file_name.clone()),
                Ok(false) => {}
                // Another operation runs (a backup at start-up): look again soon.
                Err(BackupError::Busy { .. }) => done.unfinished = true,
                Err(e) => return Err(e),
            }
        }
        done.unfinished |= cancel.load(Ordering::SeqCst);
        Ok(done)
    }

    /// Under the lock: hashes the backup again and, still different, records it as damaged.
    fn record_damage(&self, name: &str) -> Result<bool, BackupError> {
        let _guard = self.begin(Operation::Verification, name)?;
        let Ok(entry) = self.find(name) else {
            return Ok(false);
        };
        let Some(mut sidecar) = entry.sidecar.clone() else {
            return Ok(false);
        };
        let Ok((sha, size)) = super::copy::sha256_file(&entry.path) else {
            return Ok(false);
        };
        if size == sidecar.size && sha.eq_ignore_ascii_case(&sidecar.sha256) {
            return Ok(false);
        }
        let reason = format!(
            "damaged on disk: its SHA-256 no longer matches the one recorded when it was made (found by the check of stored backups {})",
            crate::timefmt::local(self.clock.now())
        );
        sidecar.verification = Verification::failed(SCRUB_METHOD, self.clock.now(), &reason);
        catalog::write_sidecar(&entry.path, &sidecar)
            .map_err(BackupError::io("cannot write the backup's record"))?;
        self.invalidate_health();
        self.inner.log.error(&format!(
            "Backup {name} is {reason}. It is no longer offered for restores; check the disk"
        ));
        Ok(true)
    }
}
