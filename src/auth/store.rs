//! `sessions.db` beside the business data: who is logged in, and the failed-login counters.
//!
//! It is not part of the business database on purpose: restoring a backup must never bring
//! back a session that logging out, a password change, a demotion or a disable ended, nor
//! forget a lockout. Only SHA-256 hashes of session keys are stored, so a copy of this file
//! does not let anyone in. The server and command-line tools (`backroom user passwd`, `user
//! unlock`) share it through SQLite's own locking.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    key_hash   TEXT PRIMARY KEY,
    user_id    INTEGER,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    -- 1 once ended by a password change, a demotion or a disable: kept briefly so the
    -- browser can be told, never usable again.
    ended      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL
);
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the session store {path} cannot be used: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot make the session store private: {}", crate::fsutil::plain_io(.0))]
    Private(#[source] std::io::Error),
    #[error("session store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// One open `sessions.db`. Cheap calls; hold it in an `Arc`.
pub struct AuthStore {
    conn: Mutex<Connection>,
}

/// A session as stored: its user (when logged in), its state and when it was last used.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub user_id: Option<i64>,
    pub state: String,
    pub last_seen: DateTime<Utc>,
    /// Ended by something other than its own logout (a password change, a demotion).
    pub ended: bool,
}

pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

impl AuthStore {
    /// Opens (creating, owner-only) `sessions.db` at `path` ([`crate::config::Paths::sessions`]).
    pub fn open(path: &Path) -> Result<AuthStore, StoreError> {
        let path = path.to_path_buf();
        let open = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(open)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open)?;
        // FULL: a logout or an ended session is on disk before the page says so.
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .map_err(open)?;
        conn.execute_batch(SCHEMA).map_err(open)?;
        crate::fsutil::make_owner_only(&path).map_err(StoreError::Private)?;
        Ok(AuthStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn load(&self, key: &str) -> Result<Option<StoredSession>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT user_id, state, last_seen, ended FROM sessions WHERE key_hash = ?1",
                [hash_key(key)],
                |r| {
                    Ok(StoredSession {
                        user_id: r.get(0)?,
                        state: r.get(1)?,
                        last_seen: from_millis(r.get(2)?),
                        ended: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Creates or replaces a session's state.
    pub fn save(
        &self,
        key: &str,
        user_id: Option<i64>,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO sessions (key_hash, user_id, state, created_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (key_hash) DO UPDATE SET user_id = ?2, state = ?3, last_seen = ?4, ended = 0",
            params![hash_key(key), user_id, state, millis(now)],
        )?;
        Ok(())
    }

    /// Updates an existing session only: a session ended meanwhile (logout in another tab,
    /// a password change) stays ended. Returns false when it was gone.
    pub fn update(
        &self,
        key: &str,
        user_id: Option<i64>,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE sessions SET user_id = ?2, state = ?3, last_seen = ?4
             WHERE key_hash = ?1 AND ended = 0",
            params![hash_key(key), user_id, state, millis(now)],
        )?;
        Ok(n > 0)
    }

    /// Moves `last_seen` on (every page view). Not flushed at once: losing it in a power cut
    /// only ends the session sooner, and a flush per page view would slow every page.
    pub fn touch(&self, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute_batch("PRAGMA synchronous=NORMAL")?;
        let touched = conn.execute(
            "UPDATE sessions SET last_seen = ?2 WHERE key_hash = ?1",
            params![hash_key(key), millis(now)],
        );
        conn.execute_batch("PRAGMA synchronous=FULL")?;
        touched?;
        Ok(())
    }

    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE key_hash = ?1", [hash_key(key)])?;
        Ok(())
    }

    /// Ends every session of a user, except the one whose key is `keep`. The state is wiped
    /// at once; the row stays (marked ended) until the browser comes back and is told, or
    /// until it is swept out. Returns how many ended.
    pub fn end_user_sessions(&self, user_id: i64, keep: Option<&str>) -> Result<usize, StoreError> {
        let keep = keep.map(hash_key).unwrap_or_default();
        Ok(self.conn().execute(
            "UPDATE sessions SET state = '{}', ended = 1
             WHERE user_id = ?1 AND key_hash <> ?2 AND ended = 0",
            params![user_id, keep],
        )?)
    }

    /// How many sessions a user has open.
    pub fn sessions_of(&self, user_id: i64) -> Result<usize, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM sessions WHERE user_id = ?1 AND ended = 0",
            [user_id],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// Forgets sessions unused for longer than their limit: `logged_in` for people, `anonymous`
    /// for visitors who never logged in (a login page opened once).
    pub fn remove_idle(
        &self,
        now: DateTime<Utc>,
        logged_in: Duration,
        anonymous: Duration,
    ) -> Result<usize, StoreError> {
        let cutoff = |d: Duration| millis(now) - i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Ok(self.conn().execute(
            "DELETE FROM sessions WHERE ((user_id IS NOT NULL OR ended = 1) AND last_seen < ?1)
                                     OR (user_id IS NULL AND ended = 0 AND last_seen < ?2)",
            params![cutoff(logged_in), cutoff(anonymous)],
        )?)
    }

    /// Runs `f` on the failure counters in one IMMEDIATE transaction (atomic across
    /// processes).
    pub fn with_failures<T>(
        &self,
        f: impl FnOnce(&Failures<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&Failures { conn: &tx })?;
        tx.commit()?;
        Ok(out)
    }
}

/// The failed-login counters, inside a transaction.
pub struct Failures<'a> {
    conn: &'a Connection,
}

impl Failures<'_> {
    /// (failures, time of the last one) for a key.
    pub fn get(&self, key: &str) -> Result<Option<(u32, DateTime<Utc>)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT failures, last_failure FROM login_failures WHERE key = ?1",
                [key],
                |r| Ok((r.get::<_, u32>(0)?, from_millis(r.get(1)?))),
            )
            .optional()?)
    }

    pub fn set(&self, key: &str, failures: u32, at: DateTime<Utc>) -> Result<(), StoreError> {
        if failures == 0 {
            return self.clear(key);
        }
        self.conn.execute(
            "INSERT INTO login_failures (key, failures, last_failure) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET failures = ?2, last_failure = ?3",
            params![key, failures, millis(at)],
        )?;
        Ok(())
    }

    pub fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Clears every counter whose key starts with `prefix` (all addresses of one name).
    pub fn clear_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        Ok(self.conn.execute(
            "DELETE FROM login_failures WHERE key LIKE ?1 ESCAPE '\\'",
            [pattern],
        )?)
    }

    /// Forgets counters untouched for longer than `age` (bounds what an attacker can store).
    pub fn forget_older_than(&self, now: DateTime<Utc>, age: Duration) -> Result<(), StoreError> {
        let cutoff = millis(now) - i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        self.conn.execute(
            "DELETE FROM login_failures WHERE last_failure < ?1",
            [cutoff],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_stored_by_hash_and_end_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::open(&crate::config::Paths::new(dir.path()).sessions()).unwrap();
        let now = Utc::now();
        store.save("key-a", Some(1), "{}", now).unwrap();
        store.save("key-b", Some(1), "{}", now).unwrap();
        store.save("key-c", Some(2), "{}", now).unwrap();
        assert!(store.load("key-a").unwrap().is_some());
        let raw: String = store
            .conn()
            .query_row("SELECT group_concat(key_hash) FROM sessions", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(!raw.contains("key-a"), "only hashes are stored");
        assert_eq!(store.end_user_sessions(1, Some("key-b")).unwrap(), 1);
        let ended = store.load("key-a").unwrap().unwrap();
        assert!(ended.ended && ended.state == "{}");
        assert!(!store.load("key-b").unwrap().unwrap().ended);
        assert!(
            !store
                .update("key-a", Some(1), r#"{"uid":"1"}"#, now)
                .unwrap(),
            "ended stays ended"
        );
        assert!(store.load("key-a").unwrap().unwrap().ended);
        assert_eq!(store.sessions_of(1).unwrap(), 1);
        assert!(
            crate::platform::is_owner_only(&crate::config::Paths::new(dir.path()).sessions())
                .unwrap()
        );
    }

    #[test]
    fn idle_sessions_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = AuthStore::open(&crate::config::Paths::new(dir.path()).sessions()).unwrap();
        let start = Utc::now();
        store.save("visitor", None, "{}", start).unwrap();
        store.save("person", Some(1), "{}", start).unwrap();
        let later = start + chrono::Duration::hours(2);
        let hour = Duration::from_secs(3600);
        assert_eq!(store.remove_idle(later, hour * 8, hour).unwrap(), 1);
        assert!(store.load("visitor").unwrap().is_none());
        assert!(store.load("person").unwrap().is_some());
    }
}
