//! The Windows side of [`super`]: Win32 calls through `windows-sys`.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_INSUFFICIENT_BUFFER, ERROR_SUCCESS, GENERIC_ALL, HANDLE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    EXPLICIT_ACCESS_W, GetNamedSecurityInfoW, NO_MULTIPLE_TRUSTEE, SE_FILE_OBJECT, SET_ACCESS,
    SetEntriesInAclW, SetNamedSecurityInfoW, TRUSTEE_IS_SID, TRUSTEE_IS_USER, TRUSTEE_W,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, ACL_SIZE_INFORMATION, AclSizeInformation, DACL_SECURITY_INFORMATION,
    EqualSid, GetAce, GetAclInformation, GetTokenInformation, NO_INHERITANCE,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_QUERY, TOKEN_USER,
    TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_FLAG_BACKUP_SEMANTICS, GetVolumeInformationByHandleW, MOVEFILE_REPLACE_EXISTING,
    MOVEFILE_WRITE_THROUGH, MoveFileExW,
};
use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, CTRL_C_EVENT, FreeConsole, GetConsoleProcessList, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThread, OpenProcessToken, SetThreadPriority,
    THREAD_PRIORITY_LOWEST,
};

fn wide(path: &Path) -> Vec<u16> {
    OsStr::new(path).encode_wide().chain(Some(0)).collect()
}

pub fn move_file_write_through(from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (wide(from), wide(to));
    // SAFETY: both are NUL-terminated UTF-16 strings that live for the call.
    let ok = unsafe {
        MoveFileExW(
            from.as_ptr(),
            to.as_ptr(),
            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH,
        )
    };
    if ok == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The current user's SID, in a buffer that must outlive every use of the pointer.
struct UserSid {
    buffer: Vec<u64>,
}

impl UserSid {
    fn current() -> io::Result<UserSid> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess returns a pseudo-handle; `token` receives a real handle
        // that is closed below.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let result = read_token_user(token);
        // SAFETY: `token` is the handle opened above.
        unsafe { CloseHandle(token) };
        result
    }

    fn sid(&self) -> PSID {
        // SAFETY: the buffer was filled with a TOKEN_USER by GetTokenInformation.
        unsafe { (*self.buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

fn read_token_user(token: HANDLE) -> io::Result<UserSid> {
    let mut needed = 0u32;
    // SAFETY: a size query with no buffer; `needed` receives the size.
    unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut needed) };
    let error = io::Error::last_os_error();
    if error.raw_os_error() != Some(ERROR_INSUFFICIENT_BUFFER as i32) {
        return Err(error);
    }
    // u64 elements keep the buffer aligned for TOKEN_USER.
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: the buffer holds at least `needed` bytes.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            needed,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(UserSid { buffer })
}

/// Replaces the file's access list with one entry: full control for the current user, and no
/// entries inherited from the folder.
pub fn restrict_to_current_user(path: &Path) -> io::Result<()> {
    let user = UserSid::current()?;
    let access = EXPLICIT_ACCESS_W {
        grfAccessPermissions: GENERIC_ALL,
        grfAccessMode: SET_ACCESS,
        grfInheritance: NO_INHERITANCE,
        Trustee: TRUSTEE_W {
            pMultipleTrustee: std::ptr::null_mut(),
            MultipleTrusteeOperation: NO_MULTIPLE_TRUSTEE,
            TrusteeForm: TRUSTEE_IS_SID,
            TrusteeType: TRUSTEE_IS_USER,
            ptstrName: user.sid().cast(),
        },
    };
    let mut acl: *mut ACL = std::ptr::null_mut();
    // SAFETY: one valid entry in, a new ACL out (freed with LocalFree below).
    let status = unsafe { SetEntriesInAclW(1, &access, std::ptr::null(), &mut acl) };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let name = wide(path);
    // SAFETY: `name` is NUL-terminated; `acl` is the ACL made above.
    let status = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl,
            std::ptr::null(),
        )
    };
    // SAFETY: allocated by SetEntriesInAclW.
    unsafe { LocalFree(acl.cast()) };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}

/// True when every entry of the file's access list is for the current user.
pub fn only_current_user_has_access(path: &Path) -> io::Result<bool> {
    let user = UserSid::current()?;
    let name = wide(path);
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `name` is NUL-terminated; the descriptor is freed with LocalFree below and
    // `dacl` points into it.
    let status = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut descriptor,
        )
    };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    let result = acl_is_only(dacl, user.sid());
    // SAFETY: allocated by GetNamedSecurityInfoW.
    unsafe { LocalFree(descriptor) };
    result
}

/// True when every entry of `dacl` names `sid` (a null list lets everyone in).
fn acl_is_only(dacl: *const ACL, sid: PSID) -> io::Result<bool> {
    if dacl.is_null() {
        return Ok(false);
    }
    let mut info = ACL_SIZE_INFORMATION::default();
    // SAFETY: `dacl` is a valid ACL; `info` is the right size.
    let ok = unsafe {
        GetAclInformation(
            dacl,
            (&mut info as *mut ACL_SIZE_INFORMATION).cast(),
            std::mem::size_of::<ACL_SIZE_INFORMATION>() as u32,
            AclSizeInformation,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    for index in 0..info.AceCount {
        let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
        // SAFETY: `index` is below the entry count read above.
        if unsafe { GetAce(dacl, index, &mut ace) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let ace = ace.cast::<ACCESS_ALLOWED_ACE>();
        // SAFETY: allow and deny entries share this layout; the SID starts at SidStart.
        let ace_sid: PSID = unsafe { (&raw mut (*ace).SidStart).cast() };
        // SAFETY: both SIDs are valid for the call.
        if unsafe { EqualSid(ace_sid, sid) } == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn lower_thread_priority() {
    // SAFETY: GetCurrentThread returns a pseudo-handle for the calling thread.
    unsafe { SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_LOWEST) };
}

pub fn console_process_count() -> u32 {
    let mut ids = [0u32; 4];
    // SAFETY: the array holds `ids.len()` entries.
    unsafe { GetConsoleProcessList(ids.as_mut_ptr(), ids.len() as u32) }
}

pub fn free_console() {
    // SAFETY: no arguments; failing (no console) is harmless.
    unsafe { FreeConsole() };
}

struct ConsoleStop {
    stop: Box<dyn Fn() + Send + Sync>,
    grace: Duration,
    finished: Mutex<bool>,
    cond: Condvar,
}

static CONSOLE_STOP: OnceLock<ConsoleStop> = OnceLock::new();

unsafe extern "system" fn console_handler(event: u32) -> windows_sys::core::BOOL {
    let Some(state) = CONSOLE_STOP.get() else {
        return 0;
    };
    (state.stop)();
    if event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT {
        // The process keeps running and exits by itself once shut down.
        return 1;
    }
    // Close, logoff, shutdown: Windows ends the process when this returns.
    let deadline = Instant::now() + state.grace;
    let mut finished = state.finished.lock().unwrap_or_else(|e| e.into_inner());
    while !*finished {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        finished = state
            .cond
            .wait_timeout(finished, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    1
}

pub fn install_console_handler(stop: Box<dyn Fn() + Send + Sync>, grace: Duration) -> bool {
    let state = ConsoleStop {
        stop,
        grace,
        finished: Mutex::new(false),
        cond: Condvar::new(),
    };
    if CONSOLE_STOP.set(state).is_err() {
        return false;
    }
    // SAFETY: registers a handler with the signature Windows expects.
    unsafe { SetConsoleCtrlHandler(Some(console_handler), 1) != 0 }
}

pub fn shutdown_finished() {
    if let Some(state) = CONSOLE_STOP.get() {
        *state.finished.lock().unwrap_or_else(|e| e.into_inner()) = true;
        state.cond.notify_all();
    }
}

/// The serial number of the volume holding `path` (a file or a folder).
pub fn volume_serial(path: &Path) -> io::Result<u64> {
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    // No access rights are needed to ask about the volume; backup semantics opens folders.
    let file = std::fs::OpenOptions::new()
        .access_mode(0)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    let mut serial: u32 = 0;
    // SAFETY: the handle stays open for the call; the only out-pointer is a live u32, the
    // buffers are null with zero sizes.
    let ok = unsafe {
        GetVolumeInformationByHandleW(
            file.as_raw_handle(),
            std::ptr::null_mut(),
            0,
            &mut serial,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(serial))
}
