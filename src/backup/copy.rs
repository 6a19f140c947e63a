//! The byte-level work of a backup: a consistent online copy with SQLite's backup API, and the
//! checks of a finished file (SHA-256, `quick_check`, facts for the sidecar) run in parallel.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use sha2::{Digest, Sha256};

use super::schema::{self, SchemaError};
use crate::db::{self, DbError};

/// Runs `f` on a thread of its own at the lowest CPU priority (nice 19 on Linux), so backup
/// work gives way to page requests while still using any CPU nobody else wants. A thread of
/// its own because an unprivileged process can lower a thread's priority but not raise it
/// back, and the caller's thread may serve requests later.
pub fn low_priority<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            lower_this_thread();
            f()
        });
        match handle.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn lower_this_thread() {
    // Nice 19 rather than an idle class: a backup must still finish on a machine that is busy
    // with something else all day.
    crate::platform::lower_thread_priority();
}

/// Pages copied per step: large steps keep the per-step overhead low; progress and
/// cancellation are checked between steps.
const PAGES_PER_STEP: i32 = 4096;
const READ_CHUNK: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cancelled because the program is shutting down")]
    Cancelled,
    /// SQLite kept the copy in WAL mode, so it would need a `-wal` beside it.
    #[error("could not switch the copy out of WAL mode (got {mode})")]
    StillWal { mode: String },
    /// The file being copied could not be read (as opposed to the copy being written).
    #[error("cannot read it: {}", crate::fsutil::plain_io(.0))]
    Read(#[source] std::io::Error),
}

/// What a copy reports to, and what stops it.
pub struct CopyHooks<'a> {
    /// Set when the program shuts down: the copy stops between steps.
    pub cancel: &'a AtomicBool,
    /// Runs as soon as the snapshot is fixed.
    pub on_snapshot: &'a mut (dyn FnMut() + Send),
    /// `(done, total)` pages after each step.
    pub on_progress: &'a mut (dyn FnMut(u64, u64) + Send),
}

/// Copies the database open on `src` into a new file at `dest`.
///
/// One read transaction is held on `src` for the whole copy, so the copy is the snapshot taken
/// at its start: writers on other connections (WAL) neither block it nor force it to restart.
/// `hooks` hear when that snapshot is fixed and how far the copy is. The finished file is a
/// plain rollback-journal database (no `-wal` needed).
pub fn snapshot_copy(
    src: &mut Connection,
    dest: &Path,
    hooks: CopyHooks<'_>,
) -> Result<(), CopyError> {
    src.execute_batch("BEGIN DEFERRED")?;
    let result = copy_in_transaction(src, dest, hooks);
    // Ends the read transaction whatever happened (a failed COMMIT of a read changes nothing).
    let _ = src.execute_batch("COMMIT");
    result
}

/// The body of [`snapshot_copy`], inside its read transaction.
fn copy_in_transaction(
    src: &mut Connection,
    dest: &Path,
    hooks: CopyHooks<'_>,
) -> Result<(), CopyError> {
    let CopyHooks {
        cancel,
        on_snapshot,
        on_progress,
    } = hooks;
    // The first read starts the transaction: from here on `src` sees one fixed snapshot.
    src.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    on_snapshot();
    let mut dst = Connection::open(dest)?;
    // The temp file needs no journal: a failed copy is deleted, never repaired.
    dst.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")?;
    {
        let backup = Backup::new(src, &mut dst)?;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(CopyError::Cancelled);
            }
            match backup.step(PAGES_PER_STEP)? {
                StepResult::Done => break,
                StepResult::More => {
                    let p = backup.progress();
                    let total = u64::try_from(p.pagecount).unwrap_or(0);
                    let remaining = u64::try_from(p.remaining).unwrap_or(0);
                    on_progress(total.saturating_sub(remaining), total);
                }
                StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    // The copied header says WAL; make the backup a self-contained single file.
    let mode: String = dst.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(CopyError::StillWal { mode });
    }
    dst.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// Facts about a finished backup file, for its sidecar.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub sha256: String,
    pub size: u64,
    pub page_size: i64,
    pub page_count: i64,
    pub schema_version: i64,
    pub row_counts: BTreeMap<String, i64>,
}

/// A file's facts and the outcome of its integrity check.
#[derive(Debug)]
pub struct Inspected {
    pub facts: FileFacts,
    /// [`DbError::Damaged`] (or why the check could not run) when SQLite did not say "ok".
    pub check: Result<(), DbError>,
    /// Whether the schema is exactly a Backroom one ([`crate::backup::schema::check`]).
    pub schema: Result<(), SchemaError>,
}

impl Inspected {
    pub fn new(sha256: String, size: u64, checked: Checked) -> Inspected {
        Inspected {
            facts: FileFacts {
                sha256,
                size,
                page_size: checked.page_size,
                page_count: checked.page_count,
                schema_version: checked.schema_version,
                row_counts: checked.row_counts,
            },
            check: checked.check,
            schema: checked.schema,
        }
    }
}

/// Hashes the file, runs `quick_check` (or `integrity_check` when `full`) and the schema check,
/// and reads its facts, with the hash and the checks on separate threads (they take about as
/// long as each other).
pub fn inspect_file(path: &Path, full: bool) -> Result<Inspected, CopyError> {
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| {
            lower_this_thread();
            sha256_file(path)
        });
        let checked = low_priority(|| check_file(path, full));
        let (sha256, size) = match hasher.join() {
            Ok(hashed) => hashed?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        Ok(Inspected::new(sha256, size, checked))
    })
}

/// What SQLite says about a database file (the half of [`Inspected`] that is not the hash).
#[derive(Debug)]
pub struct Checked {
    pub page_size: i64,
    pub page_count: i64,
    pub schema_version: i64,
    pub row_counts: BTreeMap<String, i64>,
    pub check: Result<(), DbError>,
    pub schema: Result<(), SchemaError>,
}

/// Runs `quick_check` (`integrity_check` when `full`) on a file nobody writes and reads its
/// facts. A file SQLite cannot even open fails its check; that is not an error here.
pub fn check_file(path: &Path, full: bool) -> Checked {
    read_checked(path, full).unwrap_or_else(|e| Checked {
        page_size: 0,
        page_count: 0,
        schema_version: 0,
        row_counts: BTreeMap::new(),
        check: Err(DbError::CannotOpenToCheck(e)),
        schema: Err(SchemaError::NotRead),
    })
}

fn read_checked(path: &Path, full: bool) -> rusqlite::Result<Checked> {
    let conn = db::open_immutable(path)?;
    let check = db::check_integrity(&conn, full);
    let schema = match check {
        Ok(()) => schema::check(&conn).map(|_| ()),
        Err(_) => Err(SchemaError::NotRead),
    };
    // Row counts only mean something for a file that passed its check.
    let row_counts = match check {
        Ok(()) => db::table_row_counts(&conn)?,
        Err(_) => BTreeMap::new(),
    };
    Ok(Checked {
        page_size: conn.query_row("PRAGMA page_size", [], |r| r.get(0))?,
        page_count: conn.query_row("PRAGMA page_count", [], |r| r.get(0))?,
        schema_version: db::user_version(&conn)?,
        row_counts,
        check,
        schema,
    })
}

/// SHA-256 (lower-case hex) and length of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64), CopyError> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// Copies `src` to a new file `dest` while hashing what was read, then fsyncs `dest`: one pass
/// both checks the source against its recorded hash and proves the copy holds those bytes.
pub fn copy_and_hash(src: &Path, dest: &Path) -> Result<(String, u64), CopyError> {
    let mut input = File::open(src).map_err(CopyError::Read)?;
    let mut output = File::create(dest)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(CopyError::Read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n])?;
        size += n as u64;
    }
    crate::platform::flush_file(&output)?;
    Ok((hex(&hasher.finalize()), size))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_a_known_vector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let (sha, size) = sha256_file(&path).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let copy = dir.path().join("copy");
        assert_eq!(copy_and_hash(&path, &copy).unwrap().0, sha);
        assert_eq!(std::fs::read(copy).unwrap(), b"abc");
    }

    #[test]
    fn non_sqlite_file_fails_its_check_without_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let facts = inspect_file(&path, false).unwrap();
        assert!(facts.check.is_err());
    }
}
