//! Exclusive access to the live database: the gate held for writing, so no other work runs,
//! and the use lock held exclusively, so no other process has the file open.

use std::sync::RwLockWriteGuard;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::pool::Pool;
use super::{Db, DbError, migrations};

/// Exclusive access to the database: no other work runs while this lives.
pub struct Exclusive<'a> {
    gate: RwLockWriteGuard<'a, Option<Pool>>,
    db: &'a Db,
    file_exclusive: bool,
}

impl<'a> Exclusive<'a> {
    pub(super) fn new(gate: RwLockWriteGuard<'a, Option<Pool>>, db: &'a Db) -> Exclusive<'a> {
        Exclusive {
            gate,
            db,
            file_exclusive: false,
        }
    }
}

impl Exclusive<'_> {
    /// Makes sure no other process has the database open (they all hold the use lock
    /// shared) and keeps it that way until [`Exclusive::reopen`] or drop. Does nothing when
    /// already done.
    pub fn lock_out_other_processes(&mut self) -> Result<(), DbError> {
        if self.file_exclusive {
            return Ok(());
        }
        let lock = &self.db.inner.use_lock;
        // Windows cannot turn a shared lock into an exclusive one: let go of it first. Wine
        // can refuse the unlock (error 33) although the exclusive lock then works, so only
        // the exclusive attempt decides.
        if let Err(e) = lock.unlock() {
            tracing::debug!("releasing the shared use lock: {e}");
        }
        match lock.try_lock() {
            Ok(()) => {
                self.file_exclusive = true;
                Ok(())
            }
            Err(refused) => {
                lock.lock_shared().map_err(DbError::UseLock)?;
                match refused {
                    std::fs::TryLockError::WouldBlock => Err(DbError::InUseElsewhere),
                    std::fs::TryLockError::Error(e) => Err(DbError::UseLock(e)),
                }
            }
        }
    }

    /// Runs a read on the still-open pool (before [`Exclusive::close_all`]): what it sees
    /// cannot change until this guard is dropped.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        let pool = self.gate.as_ref().ok_or(DbError::Closed)?;
        let conn = pool.get()?;
        f(&conn)
    }

    /// Makes sure no other process has the database open, checkpoints the WAL completely,
    /// closes every connection of this process and waits until their count is zero.
    /// Afterwards nothing has the file open, and nothing can open it until
    /// [`Exclusive::reopen`].
    pub fn close_all(&mut self, timeout: Duration) -> Result<(), DbError> {
        self.lock_out_other_processes()?;
        self.close_connections(timeout)
    }

    pub(super) fn close_connections(&mut self, timeout: Duration) -> Result<(), DbError> {
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
        self.release_file_lock()?;
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

    /// Goes back from the exclusive use lock to the shared one every user of the file holds.
    fn release_file_lock(&mut self) -> Result<(), DbError> {
        if self.file_exclusive {
            let lock = &self.db.inner.use_lock;
            if let Err(e) = lock.unlock() {
                tracing::debug!("releasing the exclusive use lock: {e}");
            }
            lock.lock_shared().map_err(DbError::UseLock)?;
            self.file_exclusive = false;
        }
        Ok(())
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.release_file_lock() {
            tracing::error!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::DbOptions;
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
    fn a_read_under_exclusive_access_sees_the_open_pool_and_other_processes_are_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path, DbOptions::SERVER).unwrap();
        db.with_conn(|c| {
            c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (41);")
                .map_err(DbError::from)
        })
        .unwrap();
        let mut ex = db.exclusive();
        ex.lock_out_other_processes().unwrap();
        let x: i64 = ex
            .read(|c| Ok(c.query_row("SELECT x FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(x, 41);
        // Another opener (another process would be the same) is refused while it lasts.
        assert!(matches!(
            Db::open(&path, DbOptions::CLI),
            Err(DbError::InUseElsewhere)
        ));
        ex.close_all(Duration::from_secs(5)).unwrap();
        assert!(matches!(ex.read(|_| Ok(())), Err(DbError::Closed)));
        ex.reopen().unwrap();
        drop(ex);
        let other = Db::open(&path, DbOptions::CLI).unwrap();
        other.close().unwrap();
    }

    #[test]
    fn close_all_is_refused_while_another_opener_holds_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path, DbOptions::SERVER).unwrap();
        let other = Db::open(&path, DbOptions::CLI).unwrap();
        let mut ex = db.exclusive();
        assert!(matches!(
            ex.close_all(Duration::from_secs(5)),
            Err(DbError::InUseElsewhere)
        ));
        // Still open and shared: work goes on once the guard is gone.
        drop(ex);
        db.with_conn(|c| c.execute_batch("SELECT 1").map_err(DbError::from))
            .unwrap();
        other.close().unwrap();
    }
}
