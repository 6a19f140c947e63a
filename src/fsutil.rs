//! Small file-system helpers that make writes crash-safe: atomic replace, durable renames,
//! file and directory fsync, OS file locks and free-space queries.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Flushes a directory entry change (create/rename/unlink) to disk.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows has no directory fsync; NTFS journals metadata itself.
        let _ = dir;
        Ok(())
    }
}

/// Flushes a file that was written and closed (e.g. by SQLite) to disk. Opened for writing:
/// Windows refuses to flush a read-only handle.
pub fn sync_file(path: &Path) -> io::Result<()> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    crate::platform::flush_file(&file)
}

/// Renames `from` over `to` so the change survives a crash once this returns together with
/// [`fsync_dir`] of the folder (Windows: written through at once), retrying briefly while
/// another program (antivirus, a sync client) holds either file.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(test)]
    if faults::refused(to) {
        return Err(io::Error::other("a rename refused by the test"));
    }
    crate::platform::rename_replacing(from, to)
}

/// Test-only failure point: renames on this thread onto chosen names fail, as a rename held
/// up by another program does on Windows.
#[cfg(test)]
pub(crate) mod faults {
    use std::cell::RefCell;
    use std::path::Path;

    thread_local! {
        static REFUSED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    /// Until it is dropped, renames onto a file whose name starts with `prefix` fail.
    pub(crate) struct RefuseRenames;

    impl Drop for RefuseRenames {
        fn drop(&mut self) {
            REFUSED.with(|r| r.borrow_mut().clear());
        }
    }

    pub(crate) fn refuse_renames_to(prefix: &str) -> RefuseRenames {
        REFUSED.with(|r| r.borrow_mut().push(prefix.to_string()));
        RefuseRenames
    }

    pub(super) fn refused(to: &Path) -> bool {
        let name = to
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        REFUSED.with(|r| r.borrow().iter().any(|p| name.starts_with(p.as_str())))
    }
}

/// Removes a file, retrying briefly while another program holds it (Windows).
pub fn remove_file(path: &Path) -> io::Result<()> {
    crate::platform::remove_file(path)
}

/// A random, URL- and file-name-safe token of `bytes` random bytes in hex.
pub fn random_hex(bytes: usize) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// Writes `bytes` to `path` so that readers see either the old or the new content, never a
/// mix: temp file in the same folder, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, false)
}

/// [`write_atomic`] for secrets: the file is readable by its owner only from the moment it
/// exists (on systems with Unix permissions).
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, true)
}

fn write_atomic_with(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let dir = parent_of(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", random_hex(6)));
    let result = write_then_rename(&tmp, path, bytes, private);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(tmp)?;
    // Where permissions are not set at creation, lock the file down before the secret is in it.
    #[cfg(not(unix))]
    if private {
        make_owner_only(tmp)?;
    }
    file.write_all(bytes)?;
    crate::platform::flush_file(&file)?;
    drop(file);
    rename(tmp, path)?;
    fsync_dir(&parent_of(path))
}

/// The folder holding `path` (`.` for a bare file name).
pub fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Bytes available to this user on the file system holding `path`.
pub fn available_space(path: &Path) -> io::Result<u64> {
    fs4::available_space(path)
}

/// An exclusive OS lock on a file, released when dropped or when the process exits in any way
/// (the kernel drops it with the file descriptor, even after `kill -9`).
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// The lock file (made when missing, never emptied: it holds nothing).
    fn open(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    }

    /// Takes the lock without waiting; `Ok(None)` when another holder has it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        let file = FileLock::open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Takes the lock, waiting for another holder to let go (for short critical sections,
    /// such as a read-modify-write of the settings file).
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        let file = FileLock::open(path)?;
        file.lock()?;
        Ok(FileLock { file })
    }

    /// Replaces the lock file's content with a short note (e.g. a progress percentage) for
    /// other processes to read.
    pub fn write_note(&self, note: &str) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(note.as_bytes())?;
        file.set_len(note.len() as u64)
    }
}

/// Restricts a secret file to its owner (mode 0600; on Windows an access list with only the
/// current user).
pub fn make_owner_only(path: &Path) -> io::Result<()> {
    crate::platform::restrict_to_owner(path)
}

/// An I/O error in words a shop owner understands: what went wrong and what to do, never
/// the OS's text with its error number ("(os error 2)"). The one place an I/O error is worded
/// for a person: [`crate::error_chain::chain`] uses it for every I/O cause.
pub fn plain_io(e: &io::Error) -> String {
    if crate::platform::is_sharing_error(e) {
        return "another program has the file open (often antivirus or a sync client such as OneDrive) — try again in a moment".into();
    }
    let plain = match e.kind() {
        io::ErrorKind::NotFound => {
            "not found — check the drive letter and the folder name, or plug the stick in"
        }
        io::ErrorKind::PermissionDenied => {
            "Backroom is not allowed to use it — choose a folder of your own, or ask whoever looks after this computer"
        }
        io::ErrorKind::StorageFull => {
            "the disk is full — free some space there or use a bigger drive"
        }
        io::ErrorKind::QuotaExceeded => "the disk quota is used up — free some space there",
        io::ErrorKind::ReadOnlyFilesystem => {
            "the disk is read-only — check the stick's lock switch or choose another place"
        }
        io::ErrorKind::AlreadyExists => "something of that name is already there",
        io::ErrorKind::NotADirectory => "that is a file, not a folder — check the path",
        io::ErrorKind::IsADirectory => "that is a folder, not a file — check the path",
        io::ErrorKind::TimedOut => {
            "it took too long to answer — check the drive or the network and try again"
        }
        io::ErrorKind::UnexpectedEof => "the file ends too early — it is incomplete or damaged",
        io::ErrorKind::InvalidFilename => {
            "the name is not allowed there — use letters, digits and dashes"
        }
        _ => return without_os_error_number(&e.to_string()),
    };
    plain.to_string()
}

/// `text` without the " (os error 2)" the standard library adds to an OS error's message.
pub fn without_os_error_number(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        let tail = &rest[at + " (os error ".len()..];
        let digits = tail
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'-')
            .count();
        if digits > 0 && tail[digits..].starts_with(')') {
            out.push_str(&rest[..at]);
            rest = &tail[digits + 1..];
        } else {
            out.push_str(&rest[..at + 1]);
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// Human-readable size: 512 B, 12.4 KB, 3.1 MB, 1.05 GB (decimal units, as file managers show).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn private_files_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_atomic_private(&path, b"k").unwrap();
        assert!(crate::platform::is_owner_only(&path).unwrap());
        let open = dir.path().join("open");
        write_atomic(&open, b"x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(!crate::platform::is_owner_only(&open).unwrap());
        }
        make_owner_only(&open).unwrap();
        assert!(crate::platform::is_owner_only(&open).unwrap());
    }

    #[test]
    fn lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = FileLock::try_acquire(&path).unwrap();
        assert!(first.is_some());
        assert!(FileLock::try_acquire(&path).unwrap().is_none());
        drop(first);
        assert!(FileLock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(12_400), "12.4 KB");
        assert_eq!(human_size(1_050_000_000), "1.1 GB");
        assert_eq!(human_size(250_000_000), "250 MB");
    }
}

/// Makes the data folder and what the program keeps in it its owner's only (folders 0700,
/// files 0600 on Unix): everything under `database_backups/`, and the data folder's own
/// files except programs (the data folder is by default the executable's). For data an
/// older version wrote with the default modes. Symbolic links are left alone; what cannot
/// be changed is returned for the log.
pub fn make_data_owner_only(paths: &crate::config::Paths) -> Vec<(PathBuf, io::Error)> {
    let mut failed = Vec::new();
    let mut folders = vec![
        (paths.data_dir.clone(), true),
        (paths.backups.clone(), false),
    ];
    while let Some((folder, top)) = folders.pop() {
        if !folder.is_dir() {
            continue;
        }
        if let Err(e) = crate::platform::restrict_folder_to_owner(&folder) {
            failed.push((folder.clone(), e));
        }
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) => {
                failed.push((folder, e));
                continue;
            }
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() && !top {
                folders.push((path, false));
            } else if meta.is_file()
                && !(top && is_program(&path, &meta))
                && let Err(e) = crate::platform::restrict_to_owner(&path)
            {
                failed.push((path, e));
            }
        }
    }
    failed
}

fn is_program(path: &Path, meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = path;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("exe"))
    }
}
