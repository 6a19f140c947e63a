//! The background WAL checkpointer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Db, DbError};

/// How long the database must see no commit before the checkpointer empties the WAL file.
const IDLE_BEFORE_TRUNCATE: Duration = Duration::from_secs(5);

impl Db {
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
