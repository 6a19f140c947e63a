//! The one free-space rule: a backup or a restore copy only starts when the disk has room for
//! it and a margin.

use std::path::Path;

use super::BackupError;
use crate::fsutil;

/// Room asked for beyond the bytes to be written, in percent (SQLite's copy and the file
/// system need a little more than the data itself).
const MARGIN_PERCENT: u64 = 10;

/// The bytes to ask for before writing `bytes`.
fn needed_for(bytes: u64) -> u64 {
    let needed = u128::from(bytes) * u128::from(100 + MARGIN_PERCENT) / 100;
    u64::try_from(needed).unwrap_or(u64::MAX)
}

/// Refuses early, with the numbers, when `dir` cannot hold `bytes` and the margin.
pub(super) fn ensure_room(dir: &Path, bytes: u64) -> Result<(), BackupError> {
    let needed = needed_for(bytes);
    let available =
        fsutil::available_space(dir).map_err(BackupError::io("cannot measure free disk space"))?;
    if available < needed {
        return Err(BackupError::InsufficientSpace {
            dir: dir.to_path_buf(),
            needed,
            available,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_ten_percent() {
        assert_eq!(needed_for(0), 0);
        assert_eq!(needed_for(1000), 1100);
        assert_eq!(needed_for(1_000_000_007), 1_100_000_007);
        assert_eq!(needed_for(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_roomy_folder_passes_and_an_impossible_size_is_refused_with_numbers() {
        let dir = tempfile::tempdir().unwrap();
        ensure_room(dir.path(), 1).unwrap();
        let err = ensure_room(dir.path(), u64::MAX / 2).unwrap_err();
        assert!(
            matches!(err, BackupError::InsufficientSpace { needed, .. } if needed > u64::MAX / 2),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("not enough free disk space in ")
        );
    }
}
