//! What differs between operating systems, behind a few plain functions: durable renames that
//! ride out another program briefly holding a file, owner-only secret files, background thread
//! priority, the console (Windows close/logoff/shutdown, double-click windows) and the words for
//! commands. Every call into the operating system that needs `unsafe` lives here.

use std::io;
use std::path::Path;
use std::time::Duration;

#[cfg(windows)]
mod windows;

/// How long a rename or delete keeps retrying while another program (antivirus, a sync client,
/// a file viewer) holds the file open. Windows refuses such renames; they usually clear in
/// well under a second.
pub const SHARING_RETRY_FOR: Duration = Duration::from_secs(3);
const SHARING_RETRY_STEP: Duration = Duration::from_millis(50);

/// The program's file name and the command that restores the newest good backup, as a person
/// types them on this system.
#[cfg(windows)]
pub const RESTORE_LATEST_COMMAND: &str = r".\backroom.exe restore --latest";
#[cfg(windows)]
pub const EXE_COMMAND: &str = r".\backroom.exe";
#[cfg(not(windows))]
pub const RESTORE_LATEST_COMMAND: &str = "backroom restore --latest";
#[cfg(not(windows))]
pub const EXE_COMMAND: &str = "backroom";

/// True for errors that mean "another program has this file open right now" (Windows sharing
/// and lock violations, and the access-denied a pending delete gives).
pub fn is_sharing_error(e: &io::Error) -> bool {
    // ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION.
    cfg!(windows) && matches!(e.raw_os_error(), Some(5 | 32 | 33))
}

/// Runs `op`, retrying for a short while when another program holds the file.
fn retry_while_shared(mut op: impl FnMut() -> io::Result<()>) -> io::Result<()> {
    let deadline = std::time::Instant::now() + SHARING_RETRY_FOR;
    loop {
        match op() {
            Err(e) if is_sharing_error(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(SHARING_RETRY_STEP);
            }
            other => return other,
        }
    }
}

/// Renames `from` to `to`, replacing `to`. On Windows the rename is written through to disk
/// before it returns (there is no directory fsync there) and is retried while another program
/// holds either file; elsewhere the caller fsyncs the folder.
pub fn rename_replacing(from: &Path, to: &Path) -> io::Result<()> {
    retry_while_shared(|| {
        #[cfg(windows)]
        {
            windows::move_file_write_through(from, to)
        }
        #[cfg(not(windows))]
        {
            std::fs::rename(from, to)
        }
    })
}

/// Removes a file, retrying while another program holds it (Windows).
pub fn remove_file(path: &Path) -> io::Result<()> {
    retry_while_shared(|| std::fs::remove_file(path))
}

/// Makes a file readable and writable by its owner only: mode 0600 on Unix, an access list
/// with just the current user on Windows.
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(windows)]
    {
        windows::restrict_to_current_user(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(())
    }
}

/// Makes a folder its owner's only: mode 0700 on Unix; elsewhere nothing (on Windows its
/// files get [`restrict_to_owner`]'s access list one by one).
pub fn restrict_folder_to_owner(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// From now on, what this process creates is its owner's only (umask 077 on Unix): the
/// database and the `-wal`/`-shm` SQLite makes, backups, logs, settings, folder copies.
#[allow(unsafe_code)]
pub fn private_new_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// True when only the owner may read the file (the check behind [`restrict_to_owner`]).
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 == 0)
    }
    #[cfg(windows)]
    {
        windows::only_current_user_has_access(path)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        Ok(true)
    }
}

/// Flushes a file's data and metadata to the disk. macOS' full flush (`F_FULLFSYNC`) is
/// refused by some drives (exFAT, network shares): there a plain `fsync` is the best there is.
#[cfg_attr(target_os = "macos", allow(unsafe_code))]
pub fn flush_file(file: &std::fs::File) -> io::Result<()> {
    match file.sync_all() {
        #[cfg(target_os = "macos")]
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOTSUP | libc::EINVAL | libc::ENOTTY)
            ) =>
        {
            use std::os::fd::AsRawFd;
            // SAFETY: fsync on a descriptor this `File` owns and keeps open for the call.
            if unsafe { libc::fsync(file.as_raw_fd()) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
        other => other,
    }
}

/// Which disk (file system volume) holds `path`: the device id on Unix, the volume serial
/// number on Windows. Two paths with the same id die with the same disk.
pub fn volume_id(path: &Path) -> io::Result<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Ok(std::fs::metadata(path)?.dev())
    }
    #[cfg(windows)]
    {
        windows::volume_serial(path)
    }
}

/// This computer's name as people see it (`hostname`; `COMPUTERNAME` on Windows), or "" when
/// it cannot be told.
#[allow(unsafe_code)]
pub fn computer_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length, which is what is passed.
        let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
        if !ok {
            return String::new();
        }
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).trim().to_string()
    }
    #[cfg(windows)]
    {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

/// Lowers the calling thread's CPU priority as far as an unprivileged process can while still
/// getting CPU time on a busy machine (nice 19 on Linux, "lowest" on Windows).
#[allow(unsafe_code)]
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscalls on the calling thread's own id.
        unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
        }
    }
    #[cfg(windows)]
    windows::lower_thread_priority();
}

/// True when this process is the only one attached to its console window: on Windows, it was
/// started by a double-click and the window closes the moment it exits.
pub fn owns_console_window() -> bool {
    #[cfg(windows)]
    {
        windows::console_process_count() == 1
    }
    #[cfg(not(windows))]
    {
        false
    }
}

/// Detaches from the console window (Windows), so a copy started at logon shows no window
/// that a person could close by mistake. Elsewhere a no-op.
pub fn detach_console() {
    #[cfg(windows)]
    windows::free_console();
}

/// On Windows, makes Ctrl-C, Ctrl-Break, closing the console window, logoff and shutdown all
/// call `stop` (like SIGTERM elsewhere). For close, logoff and shutdown Windows ends the
/// process as soon as the handler returns, so the handler then waits, at most `grace`, for
/// [`console_shutdown_finished`]: a backup in progress is finished or cleaned up first.
/// Returns false where there is no such console (other systems use signals).
pub fn handle_console_events(stop: Box<dyn Fn() + Send + Sync>, grace: Duration) -> bool {
    #[cfg(windows)]
    {
        windows::install_console_handler(stop, grace)
    }
    #[cfg(not(windows))]
    {
        let _ = (stop, grace);
        false
    }
}

/// Tells a waiting console handler that shutdown is complete (see [`handle_console_events`]).
pub fn console_shutdown_finished() {
    #[cfg(windows)]
    windows::shutdown_finished();
}
