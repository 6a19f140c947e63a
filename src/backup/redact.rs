//! A backup for someone who may not hold password hashes (an admin's download): a copy of the
//! file with every `password_hash` replaced by a value no password matches. Still a valid
//! backup: restored, its accounts keep today's passwords (restores keep accounts by default)
//! or need a new one set.

use std::fs::File;
use std::path::Path;

use rusqlite::Connection;

use super::BackupError;

/// Not a PHC string: it never verifies, and the users page asks for a new password.
pub const NO_PASSWORD: &str = "!removed-from-this-download";

/// A copy of `backup` without password hashes, in the system's temp folder; it is removed
/// when the returned file handle closes (the name is gone already).
pub fn copy_without_password_hashes(backup: &Path) -> Result<File, BackupError> {
    let temp = tempfile::Builder::new()
        .prefix("backroom-download-")
        .suffix(".db")
        .tempfile()
        .map_err(BackupError::io(
            "cannot make a temporary file for the download",
        ))?;
    std::fs::copy(backup, temp.path())
        .map_err(BackupError::io("cannot copy the backup for the download"))?;
    let conn = Connection::open(temp.path())?;
    // The hashes' old bytes are overwritten, not left in free pages.
    conn.pragma_update(None, "secure_delete", true)?;
    conn.execute("UPDATE users SET password_hash = ?1", [NO_PASSWORD])?;
    conn.execute_batch("VACUUM")?;
    conn.close().map_err(|(_, e)| BackupError::Sqlite(e))?;
    let file = temp
        .reopen()
        .map_err(BackupError::io("cannot read the download's copy"))?;
    Ok(file)
}
