//! `database_backups/RECOVERY.txt`: how a person recovers by copying a file when the program
//! will not start. Rewritten after every backup so it names the current newest backup.

use super::catalog;
use crate::config::{DB_FILE, Paths};
use crate::{fsutil, timefmt};

pub fn write(paths: &Paths) -> std::io::Result<()> {
    let dir = &paths.backups;
    std::fs::create_dir_all(dir)?;
    let entries = catalog::list(dir).unwrap_or_default();
    // The same choice as emergency restore.
    let newest = catalog::emergency_choice(&entries);
    let newest_line = match newest {
        Some(e) => format!(
            "Right now the newest backup is:\n    {}   (made {})",
            e.file_name,
            timefmt::local(e.created_at())
        ),
        None => "There is no backup yet.".to_string(),
    };
    let text = format!(
        "HOW TO GET YOUR DATA BACK WHEN BACKROOM WILL NOT START
=====================================================

If Backroom starts, do not use this: log in as a super-admin, open
\"Database Backup\" and use Restore or Emergency restore there.

Your data folder:    {data}
Your backups folder: {backups}

{newest_line}

Option A - with one command (in a terminal, in the data folder):

    {command}

Option B - by copying a file (no command needed):

1. Stop Backroom (close its window, or stop its service).
2. Open the backups folder shown above. Choose the backup to use:
   the newest one by the date and time in its name, for example
   backup_20250922_143000.db is 22 September 2025 at 14:30:00.
   startup_backup.db (if it is there) is how the data was when Backroom
   last started.
   (Files named pre_restore_... were saved just before a restore.)
3. Copy that file into the data folder, next to {db}.
4. Rename the old {db} to {db}.broken (keep it, just in case).
5. Rename your copy to {db}.
6. Delete {db}-wal, {db}-shm and {db}-journal if they are there.
   (They belong to the old data; left beside the copy they would stop it
   from opening, or damage it.)
7. Start Backroom again and check your data.

Option C - on a new computer, or from a file or an off-site copy:

    {exe} restore --file PATH                  a .db backup (USB stick, download)
    {exe} restore --file COPY.db.zst.age --key backroom-emergency-kit.txt
    {exe} restore --offsite TARGET --latest    a target already set up here
    (a fresh folder: first `{exe} offsite add TARGET --folder PATH --key KITFILE`)

Or start Backroom on the new computer and choose \"Bring back my data\" on
its first page.

This file is rewritten by Backroom after every backup.
",
        data = paths.data_dir.display(),
        backups = dir.display(),
        db = DB_FILE,
        command = crate::platform::RESTORE_LATEST_COMMAND,
        exe = crate::platform::EXE_COMMAND,
    );
    let path = paths.recovery_note();
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    fsutil::write_atomic(&path, text.as_bytes())
}
