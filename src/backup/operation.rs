//! One operation at a time: the operation guard, what it reports as progress, and pins that
//! keep a backup in place while an operation reads it.
//!
//! The lock is held twice: a mutex in this process and an OS lock on
//! `database_backups/.backup.lock` for other processes (the CLI, a second server). The holder
//! writes a note "<operation> <percent> <phase>" into the lock file, so a refused process can
//! say what is running and how far along it is. The note stays as last written if the process
//! is killed, which is how the fault tests know where a kill landed.

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::{BackupError, BackupFolder, Inner, lock};
use crate::fsutil::FileLock;

/// What the engine is busy with. Shown to people ("a restore is already running") and in
/// the JSON API under the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Backup,
    Restore,
    Verification,
    Deletion,
    Cleanup,
    /// Setting or removing a backup's Keep mark.
    KeepMark,
    /// Adding a backup file brought in from elsewhere.
    Import,
}

impl Operation {
    const ALL: [Operation; 7] = [
        Operation::Backup,
        Operation::Restore,
        Operation::Verification,
        Operation::Deletion,
        Operation::Cleanup,
        Operation::KeepMark,
        Operation::Import,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Backup => "backup",
            Operation::Restore => "restore",
            Operation::Verification => "verification",
            Operation::Deletion => "deletion",
            Operation::Cleanup => "cleanup",
            Operation::KeepMark => "keep mark change",
            Operation::Import => "check of a backup file brought in",
        }
    }

    fn parse(text: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == text)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Operation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a running operation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Copying,
    Checking,
    /// A restore's swap: database work paused, the files being exchanged.
    Swapping,
    Finishing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Copying => "copying",
            Phase::Checking => "checking",
            Phase::Swapping => "swapping",
            Phase::Finishing => "finishing",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The bar reaches this when the copy is done; the check and the rename share the rest.
const COPIED_PERCENT: u64 = 80;
/// While the finished copy is checked (hash and `quick_check`).
const CHECKING_PERCENT: u64 = 85;
/// While a restore exchanges the files.
const SWAPPING_PERCENT: u64 = 90;
/// While the checked copy is flushed, named and recorded.
const FINISHING_PERCENT: u64 = 97;

/// What the engine is doing right now, for progress bars.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub operation: Operation,
    pub target: String,
    pub phase: Phase,
    pub pages_done: u64,
    pub pages_total: u64,
    pub percent: u8,
    pub started_at: DateTime<Utc>,
}

/// Holds the one-operation-at-a-time locks (in this process and across processes) and
/// clears the progress when dropped.
pub struct OpGuard<'a> {
    inner: &'a Inner,
    operation: Operation,
    _local: MutexGuard<'a, ()>,
    file_lock: FileLock,
    last_note: Mutex<Option<(u8, Phase)>>,
}

impl OpGuard<'_> {
    pub(super) fn set_progress(&self, phase: Phase, done: u64, total: u64) {
        let percent = progress_percent(phase, done, total);
        if let Some(p) = lock(&self.inner.progress).as_mut() {
            p.phase = phase;
            p.pages_done = done;
            p.pages_total = total;
            p.percent = percent;
        }
        let mut last = lock(&self.last_note);
        if *last != Some((percent, phase)) {
            *last = Some((percent, phase));
            // Best effort: a missing note only makes another process's message vaguer.
            let _ = self
                .file_lock
                .write_note(&format!("{} {percent} {phase}", self.operation));
        }
    }
}

impl Drop for OpGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.inner.progress) = None;
        let _ = self.file_lock.write_note("");
    }
}

fn progress_percent(phase: Phase, done: u64, total: u64) -> u8 {
    let copied = (done * 100).checked_div(total).unwrap_or(0);
    let value = match phase {
        Phase::Starting => 0,
        Phase::Copying => copied * COPIED_PERCENT / 100,
        Phase::Checking => CHECKING_PERCENT,
        Phase::Swapping => SWAPPING_PERCENT,
        Phase::Finishing => FINISHING_PERCENT,
    };
    u8::try_from(value.min(100)).unwrap_or(100)
}

/// Reads the note another process's [`OpGuard`] wrote: "<operation> <percent> <phase>".
fn read_note(text: &str) -> (Operation, Option<u8>) {
    let text = text.trim();
    let text = match text.rsplit_once(' ') {
        Some((rest, last)) if last.parse::<u8>().is_err() && rest.contains(' ') => rest,
        _ => text,
    };
    let (words, percent) = match text.rsplit_once(' ') {
        Some((words, number)) => match number.parse() {
            Ok(p) => (words, Some(p)),
            Err(_) => (text, None),
        },
        None => (text, None),
    };
    (
        Operation::parse(words).unwrap_or(Operation::Backup),
        percent,
    )
}

/// Keeps a backup from being deleted (by retention or a person) while an operation reads it.
pub struct Pin<'a> {
    inner: &'a Inner,
    name: String,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        let mut pinned = lock(&self.inner.pinned);
        if let Some(count) = pinned.get_mut(&self.name) {
            *count -= 1;
            if *count == 0 {
                pinned.remove(&self.name);
            }
        }
    }
}

impl BackupFolder {
    pub fn progress(&self) -> Option<Progress> {
        lock(&self.inner.progress).clone()
    }

    /// Takes the operation locks or says who holds them.
    pub(crate) fn begin(
        &self,
        operation: Operation,
        target: &str,
    ) -> Result<OpGuard<'_>, BackupError> {
        let local = match self.inner.op_lock.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let running = self.progress();
                return Err(BackupError::Busy {
                    operation: running.as_ref().map_or(Operation::Backup, |p| p.operation),
                    percent: running.map(|p| p.percent),
                });
            }
        };
        self.ensure_dir()?;
        let lock_path = self.paths().backup_lock();
        let file_lock = FileLock::try_acquire(&lock_path)
            .map_err(BackupError::io("cannot open the backup lock file"))?
            .ok_or_else(|| {
                let (operation, percent) =
                    read_note(&std::fs::read_to_string(&lock_path).unwrap_or_default());
                BackupError::BusyElsewhere { operation, percent }
            })?;
        *lock(&self.inner.progress) = Some(Progress {
            operation,
            target: target.to_string(),
            phase: Phase::Starting,
            pages_done: 0,
            pages_total: 0,
            percent: 0,
            started_at: self.clock.now(),
        });
        Ok(OpGuard {
            inner: &self.inner,
            operation,
            _local: local,
            file_lock,
            last_note: Mutex::new(None),
        })
    }

    pub(crate) fn pin(&self, name: &str) -> Pin<'_> {
        *lock(&self.inner.pinned)
            .entry(name.to_string())
            .or_insert(0) += 1;
        Pin {
            inner: &self.inner,
            name: name.to_string(),
        }
    }

    pub(super) fn is_pinned(&self, name: &str) -> bool {
        lock(&self.inner.pinned).contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_phases_show_and_serialize_as_their_words() {
        assert_eq!(Operation::Restore.to_string(), "restore");
        assert_eq!(
            serde_json::to_value(Operation::Verification).unwrap(),
            "verification"
        );
        assert_eq!(serde_json::to_value(Phase::Copying).unwrap(), "copying");
        assert_eq!(Phase::Finishing.to_string(), "finishing");
    }

    #[test]
    fn the_lock_note_reads_back_what_was_written() {
        for op in Operation::ALL {
            assert_eq!(read_note(&format!("{op} 42")), (op, Some(42)));
        }
        assert_eq!(read_note("restore"), (Operation::Restore, None));
        assert_eq!(read_note(""), (Operation::Backup, None));
        assert_eq!(read_note("something new 7"), (Operation::Backup, Some(7)));
        assert_eq!(
            read_note("restore 90 swapping"),
            (Operation::Restore, Some(90))
        );
        assert_eq!(
            read_note("keep mark change 0 starting"),
            (Operation::KeepMark, Some(0))
        );
    }

    #[test]
    fn percentages_follow_the_phases() {
        assert_eq!(progress_percent(Phase::Starting, 0, 0), 0);
        assert_eq!(progress_percent(Phase::Copying, 50, 100), 40);
        assert_eq!(progress_percent(Phase::Copying, 100, 100), 80);
        assert_eq!(progress_percent(Phase::Checking, 1, 1), 85);
        assert_eq!(progress_percent(Phase::Finishing, 1, 1), 97);
    }
}
