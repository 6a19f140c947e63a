//! The pool of connections to the live database behind its gate, and how each connection is
//! set up.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use super::{DbError, Exclusive, migrations, user_version};

/// How the pool is set up: the server wants a few connections and background checkpoints; a
/// one-shot CLI command wants one connection and SQLite's own auto-checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    pub max_connections: u32,
    pub background_checkpoints: bool,
}

impl DbOptions {
    pub const SERVER: DbOptions = DbOptions {
        max_connections: 8,
        background_checkpoints: true,
    };
    pub const CLI: DbOptions = DbOptions {
        max_connections: 2,
        background_checkpoints: false,
    };
}

/// A pooled connection that keeps a count of open connections, so a restore can prove that
/// none is left before it replaces the file.
pub struct CountedConnection {
    conn: Connection,
    _open: OpenMarker,
}

struct OpenMarker(Arc<AtomicUsize>);

impl Drop for OpenMarker {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Deref for CountedConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for CountedConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

pub struct CountingManager {
    inner: SqliteConnectionManager,
    open: Arc<AtomicUsize>,
    /// Set while a restore has the file: no new connection may open it, not even one that
    /// r2d2's background thread was about to make.
    closing: Arc<AtomicBool>,
}

impl r2d2::ManageConnection for CountingManager {
    type Connection = CountedConnection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<CountedConnection, rusqlite::Error> {
        // Count first, then look at the flag: a restore that sets the flag and then sees a
        // zero count knows no connection can appear behind its back.
        self.open.fetch_add(1, Ordering::SeqCst);
        let marker = OpenMarker(self.open.clone());
        if self.closing.load(Ordering::SeqCst) {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("the database is closed for a restore".into()),
            ));
        }
        let conn = self.inner.connect()?;
        Ok(CountedConnection {
            conn,
            _open: marker,
        })
    }

    fn is_valid(&self, conn: &mut CountedConnection) -> Result<(), rusqlite::Error> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _conn: &mut CountedConnection) -> bool {
        false
    }
}

pub(super) type Pool = r2d2::Pool<CountingManager>;

/// The name of the lock file beside the database that every process using it holds shared.
pub fn use_lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The live database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) path: PathBuf,
    options: DbOptions,
    gate: RwLock<Option<Pool>>,
    open: Arc<AtomicUsize>,
    pub(super) closing: Arc<AtomicBool>,
    commits: Arc<AtomicU64>,
    /// Held shared while this `Db` may have the file open (other Backroom processes too);
    /// a restore needs it exclusive, so it never swaps a file another process has open.
    pub(super) use_lock: std::fs::File,
}

/// Settings applied to every connection when it is opened.
fn init_connection(
    conn: &mut Connection,
    options: DbOptions,
    commits: &Arc<AtomicU64>,
) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!("the database refused WAL mode (got {mode})")),
        ));
    }
    // FULL: every commit is flushed to the -wal before it returns, so a sale the page calls
    // saved survives a power cut (NORMAL only flushes at checkpoints).
    conn.execute_batch(
        "PRAGMA foreign_keys=ON;
         PRAGMA synchronous=FULL;
         PRAGMA journal_size_limit=67108864;",
    )?;
    #[cfg(target_os = "macos")]
    // A plain fsync on macOS does not reach the disk; F_FULLFSYNC does (SQLite falls back to
    // fsync itself on drives that refuse it).
    conn.execute_batch("PRAGMA fullfsync=ON; PRAGMA checkpoint_fullfsync=ON;")?;
    if options.background_checkpoints {
        // The checkpointer thread does this off the request path, so no writer pays for it.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
    }
    let counter = commits.clone();
    conn.commit_hook(Some(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        false
    }))?;
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database, refuses one made by a newer version, and
    /// applies pending migrations in one transaction.
    pub fn open(path: &Path, options: DbOptions) -> Result<Db, DbError> {
        let db = Db::open_unmigrated(path, options)?;
        db.migrate()?;
        Ok(db)
    }

    /// Opens without migrating (the server first backs up a database it is about to
    /// upgrade). A database that is not readable, or too new, is refused here already.
    pub fn open_unmigrated(path: &Path, options: DbOptions) -> Result<Db, DbError> {
        let lock_path = use_lock_path(path);
        let use_lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| DbError::UseLockFile {
                path: lock_path.clone(),
                source,
            })?;
        match use_lock.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(DbError::InUseElsewhere),
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(DbError::UseLockFile {
                    path: lock_path,
                    source,
                });
            }
        }
        let db = Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                options,
                gate: RwLock::new(None),
                open: Arc::new(AtomicUsize::new(0)),
                closing: Arc::new(AtomicBool::new(false)),
                commits: Arc::new(AtomicU64::new(0)),
                use_lock,
            }),
        };
        let pool = db.build_pool()?;
        {
            let conn = pool.get()?;
            migrations::check_readable(&conn, path)?;
        }
        *db.write_gate() = Some(pool);
        Ok(db)
    }

    /// The schema version of the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, DbError> {
        self.with_conn(|c| user_version(c).map_err(DbError::from))
    }

    /// Applies pending migrations in one transaction; returns the version found before.
    pub fn migrate(&self) -> Result<i64, DbError> {
        let path = self.inner.path.clone();
        self.with_conn(|c| migrations::migrate(c, &path))
    }

    pub(super) fn build_pool(&self) -> Result<Pool, DbError> {
        let options = self.inner.options;
        let commits = self.inner.commits.clone();
        self.inner.closing.store(false, Ordering::SeqCst);
        let manager = CountingManager {
            inner: SqliteConnectionManager::file(&self.inner.path)
                .with_init(move |c| init_connection(c, options, &commits)),
            open: self.inner.open.clone(),
            closing: self.inner.closing.clone(),
        };
        // Opening eagerly surfaces "not a database" and permission errors here, clearly.
        r2d2::Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(15))
            .build(manager)
            .map_err(|source| DbError::CannotConnect {
                path: self.inner.path.clone(),
                source,
            })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn read_gate(&self) -> RwLockReadGuard<'_, Option<Pool>> {
        self.inner.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_gate(&self) -> RwLockWriteGuard<'_, Option<Pool>> {
        self.inner.gate.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with a pooled connection. Blocking: call it from `web::block` or a thread.
    /// `f` must not call back into this `Db` (the gate is not re-entrant while a restore waits).
    pub fn with_conn<T, E>(&self, f: impl FnOnce(&mut Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let gate = self.read_gate();
        let pool = gate.as_ref().ok_or(DbError::Closed)?;
        let mut conn = pool.get().map_err(DbError::from)?;
        f(&mut conn)
    }

    /// Holds all other database work back until the returned guard is dropped.
    pub fn exclusive(&self) -> Exclusive<'_> {
        Exclusive::new(self.write_gate(), self)
    }

    /// Commits seen on this database since the program started (a cheap "did anything
    /// change?" signal).
    pub fn commit_count(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::SeqCst)
    }

    /// Closes every connection (for a clean shutdown: the last close checkpoints the WAL).
    pub fn close(&self) -> Result<(), DbError> {
        let mut exclusive = self.exclusive();
        exclusive.close_connections(Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_has_wal_full_sync_foreign_keys_and_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), DbOptions::SERVER).unwrap();
        db.with_conn(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            let busy: i64 = c.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
            let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
            assert_eq!(mode, "wal");
            assert_eq!(sync, 2, "synchronous=FULL");
            assert_eq!(fk, 1);
            assert_eq!(busy, 5000);
            Ok::<_, DbError>(())
        })
        .unwrap();
    }

    #[test]
    fn commit_counter_moves_on_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), DbOptions::SERVER).unwrap();
        let before = db.commit_count();
        db.with_conn(|c| {
            c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES(1);")
                .map_err(DbError::from)
        })
        .unwrap();
        assert!(db.commit_count() > before);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        let err = Db::open(&path, DbOptions::CLI).err().unwrap();
        assert!(
            matches!(
                err,
                DbError::CannotConnect { .. } | DbError::Unreadable { .. }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("junk.db cannot be opened"),
            "{err}"
        );
    }
}
