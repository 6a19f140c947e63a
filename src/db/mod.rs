//! The live database: an r2d2 pool of SQLite connections behind a gate, migrations, and the
//! background WAL checkpointer.
//!
//! Every use of a connection passes through the gate (a read lock). A restore takes the gate
//! exclusively, which waits for work in flight, holds new work back, and lets the restore close
//! every connection (proved by counting them) before it touches the database file.

pub mod migrations;

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

pub use migrations::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no database connection is available right now: {0}")]
    Pool(#[from] r2d2::Error),
    #[error(
        "the database {path} was made by a newer version of Backroom (schema version {found}; this program knows up to {known}). Run the newer program, or restore an older backup with `backroom restore NAME`."
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the database {path} cannot be opened: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the database is closed for a restore; try again in a moment")]
    Closed,
    #[error("database connections are still open after {0:?}; the restore did not touch any file")]
    ConnectionsStillOpen(Duration),
    #[error(
        "another Backroom program or command is using the data right now (for example a backup or a restore from the command line); wait for it to finish and try again"
    )]
    InUseElsewhere,
}

impl DbError {
    /// True when SQLite refused because of a constraint (UNIQUE, CHECK, FOREIGN KEY).
    pub fn is_constraint(&self) -> bool {
        matches!(self, DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation)
    }
}

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

type Pool = r2d2::Pool<CountingManager>;

/// The name of the lock file beside the database that every process using it holds shared.
pub fn use_lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The live database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: DbOptions,
    gate: RwLock<Option<Pool>>,
    open: Arc<AtomicUsize>,
    closing: Arc<AtomicBool>,
    commits: Arc<AtomicU64>,
    /// Held shared while this `Db` may have the file open (other Backroom processes too);
    /// a restore needs it exclusive, so it never swaps a file another process has open.
    use_lock: std::fs::File,
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
    conn.execute_batch(
        "PRAGMA foreign_keys=ON;
         PRAGMA synchronous=NORMAL;
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

/// How long the database must see no commit before the checkpointer empties the WAL file.
const IDLE_BEFORE_TRUNCATE: Duration = Duration::from_secs(5);

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
            .map_err(|e| DbError::Unreadable {
                path: lock_path.clone(),
                reason: e.to_string(),
            })?;
        match use_lock.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(DbError::InUseElsewhere),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(DbError::Unreadable {
                    path: lock_path,
                    reason: e.to_string(),
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

    fn build_pool(&self) -> Result<Pool, DbError> {
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
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(15))
            .build(manager)
            .map_err(|e| DbError::Unreadable {
                path: self.inner.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(pool)
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
        Exclusive {
            gate: self.write_gate(),
            db: self,
            file_exclusive: false,
        }
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

    /// Starts the WAL checkpointer: a PASSIVE checkpoint every half second, which never
    /// blocks a writer, and a TRUNCATE once the database has been idle for a few seconds, so
    /// the `-wal` file does not stay large. `journal_size_limit` trims it in between.
    pub fn spawn_checkpointer(&self, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
        let db = self.clone();
        std::thread::Builder::new()
            .name("wal-checkpointer".into())
            .spawn(move || {
                let mut last_commits = db.commit_count();
                let mut quiet_since = Instant::now();
                let mut truncated = false;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(500));
                    let commits = db.commit_count();
                    if commits != last_commits {
                        last_commits = commits;
                        quiet_since = Instant::now();
                        truncated = false;
                    }
                    let idle = quiet_since.elapsed() >= IDLE_BEFORE_TRUNCATE;
                    let result = db.with_conn(|c| {
                        if idle && !truncated {
                            // Never wait for readers: try again on the next quiet tick.
                            c.busy_timeout(Duration::ZERO)?;
                            let busy: rusqlite::Result<i64> =
                                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
                            c.busy_timeout(Duration::from_secs(5))?;
                            truncated = matches!(busy, Ok(0));
                            Ok(())
                        } else {
                            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                                .map_err(DbError::from)
                        }
                    });
                    if let Err(e) = result
                        && !matches!(e, DbError::Closed)
                    {
                        tracing::debug!("checkpoint skipped: {e}");
                    }
                }
            })
    }
}

/// Exclusive access to the database: no other work runs while this lives.
pub struct Exclusive<'a> {
    gate: RwLockWriteGuard<'a, Option<Pool>>,
    db: &'a Db,
    file_exclusive: bool,
}

impl Exclusive<'_> {
    /// Makes sure no other process has the database open (they all hold the use lock
    /// shared), checkpoints the WAL completely, closes every connection of this process and
    /// waits until their count is zero. Afterwards nothing has the file open, and nothing
    /// can open it until [`Exclusive::reopen`].
    pub fn close_all(&mut self, timeout: Duration) -> Result<(), DbError> {
        let lock = &self.db.inner.use_lock;
        let _ = lock.unlock();
        match lock.try_lock() {
            Ok(()) => self.file_exclusive = true,
            Err(_) => {
                let _ = lock.lock_shared();
                return Err(DbError::InUseElsewhere);
            }
        }
        self.close_connections(timeout)
    }

    fn close_connections(&mut self, timeout: Duration) -> Result<(), DbError> {
        if let Some(pool) = self.gate.as_ref() {
            let conn = pool.get()?;
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(DbError::InUseElsewhere);
            }
        }
        self.db.inner.closing.store(true, Ordering::SeqCst);
        self.gate.take();
        let start = Instant::now();
        while self.db.open_connections() > 0 {
            if start.elapsed() > timeout {
                return Err(DbError::ConnectionsStillOpen(timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Opens a fresh pool on whatever file is now at the database path and migrates it.
    pub fn reopen(&mut self) -> Result<(), DbError> {
        self.release_file_lock();
        let pool = self.db.build_pool()?;
        {
            let mut conn = pool.get()?;
            migrations::migrate(&mut conn, &self.db.inner.path)?;
        }
        *self.gate = Some(pool);
        Ok(())
    }

    /// Reopens only if the pool is closed (after a failed swap left it closed).
    pub fn reopen_if_closed(&mut self) -> Result<(), DbError> {
        if self.gate.is_none() {
            self.reopen()
        } else {
            Ok(())
        }
    }

    fn release_file_lock(&mut self) {
        if self.file_exclusive {
            let lock = &self.db.inner.use_lock;
            let _ = lock.unlock();
            let _ = lock.lock_shared();
            self.file_exclusive = false;
        }
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        self.release_file_lock();
    }
}

/// Opens a database file read-only without taking locks or creating `-wal`/`-shm`: for
/// checking backup files that nobody writes.
pub fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    let uri = format!("{}?immutable=1", sqlite_uri(path));
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// The `file:` URI SQLite needs for `path` on this system.
pub fn sqlite_uri(path: &Path) -> String {
    uri_for(&path.to_string_lossy(), cfg!(windows))
}

/// `file:///home/a.db`; on Windows `file:///C:/a.db` for a drive letter and `file:////host/share/a.db`
/// for a network share (a verbatim `\\?\` prefix is dropped). Characters that mean something
/// in a URI are percent-encoded.
fn uri_for(path: &str, windows: bool) -> String {
    let path = if windows {
        let plain = if let Some(unc) = path.strip_prefix(r"\\?\UNC\") {
            format!(r"\\{unc}")
        } else {
            path.strip_prefix(r"\\?\").unwrap_or(path).to_string()
        };
        plain.replace('\\', "/")
    } else {
        path.to_string()
    };
    let mut encoded = String::with_capacity(path.len() + 8);
    for ch in path.chars() {
        match ch {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3f"),
            '#' => encoded.push_str("%23"),
            _ => encoded.push(ch),
        }
    }
    let has_drive = windows && encoded.as_bytes().get(1) == Some(&b':');
    if has_drive {
        format!("file:///{encoded}")
    } else if encoded.starts_with('/') {
        // An absolute Unix path, or (Windows) `//host/share/...`: empty authority, then the path.
        format!("file://{encoded}")
    } else {
        format!("file:{encoded}")
    }
}

/// `PRAGMA quick_check` (or `integrity_check` when `full`): `Ok(())` when SQLite says "ok",
/// otherwise the first problems it reports.
pub fn check_integrity(conn: &Connection, full: bool) -> Result<(), String> {
    let sql = if full {
        "PRAGMA integrity_check(20)"
    } else {
        "PRAGMA quick_check(20)"
    };
    let rows: rusqlite::Result<Vec<String>> = conn
        .prepare(sql)
        .and_then(|mut stmt| stmt.query_map([], |r| r.get::<_, String>(0))?.collect());
    match rows {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok(()),
        Ok(rows) => Err(rows.join("; ")),
        Err(e) => Err(e.to_string()),
    }
}

/// Row count of every user table.
pub fn table_row_counts(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut counts = BTreeMap::new();
    for name in names {
        let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        counts.insert(name, n);
    }
    Ok(counts)
}

pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_close_all_closes_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), DbOptions::SERVER).unwrap();
        db.with_conn(|c| c.execute_batch("CREATE TABLE t(x)").map_err(DbError::from))
            .unwrap();
        assert!(db.open_connections() >= 1);
        {
            let mut ex = db.exclusive();
            ex.close_all(Duration::from_secs(5)).unwrap();
            assert_eq!(db.open_connections(), 0);
        }
        // Closed until reopened: work is refused, not run on a file being replaced.
        assert!(matches!(
            db.with_conn(|_| Ok::<_, DbError>(())),
            Err(DbError::Closed)
        ));
        db.exclusive().reopen().unwrap();
        let n: i64 = db
            .with_conn(|c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(DbError::from)
            })
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn every_connection_has_wal_foreign_keys_and_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), DbOptions::SERVER).unwrap();
        db.with_conn(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            let busy: i64 = c.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?;
            assert_eq!(mode, "wal");
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
    fn uris_for_unix_and_windows_paths() {
        assert_eq!(uri_for("/a b/c?d#e%f", false), "file:///a b/c%3fd%23e%25f");
        assert_eq!(uri_for("rel/x.db", false), "file:rel/x.db");
        assert_eq!(
            uri_for(r"C:\Users\Anna\Backroom\x.db", true),
            "file:///C:/Users/Anna/Backroom/x.db"
        );
        assert_eq!(uri_for(r"\\?\Z:\tmp\x.db", true), "file:///Z:/tmp/x.db");
        assert_eq!(
            uri_for(r"\\shop-nas\share\x.db", true),
            "file:////shop-nas/share/x.db"
        );
        assert_eq!(
            uri_for(r"\\?\UNC\shop-nas\share\x.db", true),
            "file:////shop-nas/share/x.db"
        );
    }

    #[test]
    fn immutable_open_reads_a_file_in_a_folder_with_uri_characters() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a #1 ?%");
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("x.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (7);")
            .unwrap();
        let conn = open_immutable(&path).unwrap();
        let x: i64 = conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 7);
    }
}
