//! Step 1 of a restore: copy the chosen backup next to the live file and prove it good,
//! before anything changes.

use std::collections::BTreeMap;
use std::path::Path;

use super::RESTORE_TEMP_PREFIX;
use crate::backup::catalog::BackupEntry;
use crate::backup::copy::{self, CopyError, Inspected};
use crate::backup::temp_file::TempFile;
use crate::backup::verify::{Unfit, judge};
use crate::backup::{BackupError, space};

/// A backup copied next to the live file and proven good.
pub(super) struct Prepared {
    pub(super) entry: BackupEntry,
    pub(super) temp: TempFile,
    pub(super) row_counts: BTreeMap<String, i64>,
    pub(super) schema_version: i64,
}

/// Why a backup could not be prepared: its own fault (it gets marked as failed), or ours
/// (e.g. no room to copy it: the backup is fine and must not be marked).
pub(super) enum PrepareError {
    BadBackup(Unfit),
    Ours(BackupError),
}

/// Copies `entry` to a temp file in `data_dir`, hashing as it reads, while `quick_check` runs on
/// the backup file on another thread; the hash proves both read the same bytes.
pub(super) fn prepare(entry: BackupEntry, data_dir: &Path) -> Result<Prepared, PrepareError> {
    space::ensure_room(data_dir, entry.size).map_err(PrepareError::Ours)?;
    let temp = TempFile::new(data_dir, RESTORE_TEMP_PREFIX);
    let (copied, checked) = std::thread::scope(|scope| {
        let checker = scope.spawn(|| copy::low_priority(|| copy::check_file(&entry.path, false)));
        let copied = copy::low_priority(|| copy::copy_and_hash(&entry.path, &temp.path));
        let checked = match checker.join() {
            Ok(checked) => checked,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (copied, checked)
    });
    let (sha256, size) = match copied {
        Ok(v) => v,
        // Reading the backup failed: its fault. Writing the copy failed: ours.
        Err(CopyError::Read(e)) => return Err(PrepareError::BadBackup(Unfit::Unreadable(e))),
        Err(e) => return Err(PrepareError::Ours(BackupError::PrepareWriteFailed(e))),
    };
    let Inspected {
        facts,
        check,
        schema,
    } = Inspected::new(sha256, size, checked);
    judge(entry.sidecar.as_ref(), &facts, check, schema).map_err(PrepareError::BadBackup)?;
    if let Some(sidecar) = &entry.sidecar
        && !sidecar.row_counts.is_empty()
        && sidecar.row_counts != facts.row_counts
    {
        return Err(PrepareError::BadBackup(Unfit::RowCountsDiffer));
    }
    Ok(Prepared {
        entry,
        temp,
        row_counts: facts.row_counts,
        schema_version: facts.schema_version,
    })
}
