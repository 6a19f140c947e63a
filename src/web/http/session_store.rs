//! actix-session's storage backed by `sessions.db` (`auth::store`): the cookie holds a random
//! key, the state stays on the server, so logging out or a password change really ends a
//! session, and copies of an old cookie stop working.
//!
//! Storage problems never fail a response: the work behind it may already be saved. A state
//! that cannot be loaded counts as no session; one that cannot be saved is logged and lost.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;

use super::security::random_token;
use super::session::user_id_of;
use crate::auth::store::AuthStore;
use crate::backup::BackupEngine;
use crate::clock::SharedClock;

/// How long a visitor who never logged in keeps a session (the login page's CSRF token).
const ANONYMOUS_IDLE: Duration = Duration::from_secs(3600);
/// How often idle sessions are swept out.
const SWEEP_EVERY_MS: i64 = 60_000;

#[derive(Clone)]
pub struct SqliteSessionStore {
    store: Arc<AuthStore>,
    clock: SharedClock,
    /// The settings are read where they live, so a change applies at once.
    engine: BackupEngine,
    last_sweep: Arc<AtomicI64>,
}

impl SqliteSessionStore {
    pub fn new(
        store: Arc<AuthStore>,
        clock: SharedClock,
        engine: BackupEngine,
    ) -> SqliteSessionStore {
        SqliteSessionStore {
            store,
            clock,
            engine,
            last_sweep: Arc::new(AtomicI64::new(0)),
        }
    }

    fn idle_limit(&self) -> Duration {
        let hours = self.engine.settings().session_idle_hours;
        Duration::from_secs(u64::from(hours) * 3600)
    }

    /// Removes idle sessions, at most once a minute.
    fn sweep(&self) {
        let now = self.clock.now();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.timestamp_millis() - last < SWEEP_EVERY_MS
            || self
                .last_sweep
                .compare_exchange(
                    last,
                    now.timestamp_millis(),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        if let Err(e) = self
            .store
            .remove_idle(now, self.idle_limit(), ANONYMOUS_IDLE)
        {
            tracing::warn!(
                "cannot remove idle sessions: {}",
                crate::error_chain::chain(&e)
            );
        }
    }
}

fn encode(state: &HashMap<String, String>) -> String {
    serde_json::to_string(state).unwrap_or_else(|_| "{}".into())
}

/// Runs session storage work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match actix_web::rt::task::spawn_blocking(f).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(
                "session storage task failed: {}",
                crate::error_chain::chain(&e)
            );
            None
        }
    }
}

impl SessionStore for SqliteSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let store = self.store.clone();
        let key = session_key.as_ref().to_string();
        let found = blocking(move || store.load(&key)).await.and_then(|r| {
            r.map_err(|e| {
                tracing::warn!("cannot read a session: {}", crate::error_chain::chain(&e))
            })
            .ok()
        });
        let Some(Some(stored)) = found else {
            return Ok(None);
        };
        // Ended elsewhere, or a logged-in session idle too long: over, whatever the cookie
        // says. The browser is told once (the auth gate then removes it).
        let idle = (self.clock.now() - stored.last_seen)
            .to_std()
            .unwrap_or_default();
        if stored.ended || (stored.user_id.is_some() && idle > self.idle_limit()) {
            return Ok(Some(super::session::ended_state()));
        }
        Ok(serde_json::from_str(&stored.state).ok())
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = random_token();
        let store = self.store.clone();
        let user_id = user_id_of(&session_state);
        let state = encode(&session_state);
        let now = self.clock.now();
        let stored_key = key.clone();
        let saved = blocking(move || store.save(&stored_key, user_id, &state, now)).await;
        if let Some(Err(e)) = saved {
            tracing::warn!(
                "cannot save a new session: {}",
                crate::error_chain::chain(&e)
            );
        }
        self.sweep();
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: HashMap<String, String>,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let store = self.store.clone();
        let key = session_key.as_ref().to_string();
        let user_id = user_id_of(&session_state);
        let state = encode(&session_state);
        let now = self.clock.now();
        // A session ended meanwhile (logout elsewhere, a password change) stays ended.
        let updated = blocking(move || store.update(&key, user_id, &state, now)).await;
        if let Some(Err(e)) = updated {
            tracing::warn!("cannot update a session: {}", crate::error_chain::chain(&e));
        }
        Ok(session_key)
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let store = self.store.clone();
        let key = session_key.as_ref().to_string();
        let now = self.clock.now();
        if let Some(Err(e)) = blocking(move || store.touch(&key, now)).await {
            tracing::warn!(
                "cannot refresh a session: {}",
                crate::error_chain::chain(&e)
            );
        }
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let store = self.store.clone();
        let key = session_key.as_ref().to_string();
        match blocking(move || store.delete(&key)).await {
            Some(Err(e)) => Err(e.into()),
            _ => Ok(()),
        }
    }
}
