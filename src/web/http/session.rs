//! A browser's session: who is logged in, the CSRF token, when it was last used and the
//! messages waiting to be shown. The state lives server-side in `sessions.db` (see
//! `session_store.rs`); the cookie carries only a random key. [`UserSession`] is the one typed
//! way in: no code outside this file knows the keys.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::AppError;
use crate::auth::permission::{Actor, Admin, SuperAdmin};
use crate::auth::{Role, User};

const KEY_USER_ID: &str = "uid";
const KEY_USERNAME: &str = "uname";
const KEY_ROLE: &str = "role";
const KEY_CSRF: &str = "csrf";
const KEY_SEEN: &str = "seen";
const KEY_FLASH: &str = "flash";
/// Set (by the store) on a session that was ended elsewhere or went idle.
const KEY_ENDED: &str = "ended";

/// At most this many messages wait for the next page; older ones are dropped. A client that
/// never follows redirects must not grow its session without end.
pub const MAX_FLASHES: usize = 3;

/// Who the session says is logged in (checked against the database by the auth gate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub username: String,
    pub role: Option<Role>,
    pub last_seen: i64,
}

/// The logged-in user, checked against the database on every request by the auth gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// Must choose a new password before anything else (only `/account` is open to them).
    pub must_change_password: bool,
}

impl CurrentUser {
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }

    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            username: self.username.clone(),
            role: self.role,
        }
    }

    /// The proof a use-case for admins takes, or 403.
    pub fn admin(&self) -> Result<Admin, AppError> {
        self.actor().admin().map_err(AppError::from)
    }

    /// The proof a use-case for super-admins takes, or 403.
    pub fn super_admin(&self) -> Result<SuperAdmin, AppError> {
        self.actor().super_admin().map_err(AppError::from)
    }

    pub fn is_admin(&self) -> bool {
        self.can(Role::Admin)
    }

    pub fn is_super_admin(&self) -> bool {
        self.can(Role::SuperAdmin)
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CurrentUser>()
                .cloned()
                .ok_or(AppError::Unauthorized),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashKind {
    Ok,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
    /// What to do next, shown as a button after the message ("Undo this restore").
    #[serde(default)]
    pub link: Option<FlashLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlashLink {
    pub href: String,
    pub label: String,
    /// A button that posts `name=value` to `href` (with the CSRF token) instead of a link.
    #[serde(default)]
    pub post: Option<(String, String)>,
}

impl Flash {
    /// `ok` or `error`, for the template's CSS class.
    pub fn class(&self) -> &'static str {
        match self.kind {
            FlashKind::Ok => "ok",
            FlashKind::Error => "error",
        }
    }
}

/// The session, typed. Writing to it never fails a response: a session that cannot be
/// stored is only a lost message or a lost login, never an error after the work was saved.
#[derive(Clone)]
pub struct UserSession(Session);

impl FromRequest for UserSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(UserSession(req.get_session())))
    }
}

impl UserSession {
    pub fn of(req: &HttpRequest) -> UserSession {
        UserSession(req.get_session())
    }

    pub fn of_service(req: &actix_web::dev::ServiceRequest) -> UserSession {
        UserSession(req.get_session())
    }

    fn set<T: Serialize>(&self, key: &str, value: T) {
        if let Err(e) = self.0.insert(key, value) {
            tracing::warn!("cannot store {key} in the session: {e}");
        }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get::<T>(key).ok().flatten()
    }

    /// Starts a logged-in session: a new key (no state carried over from before the login)
    /// and a new CSRF token.
    pub fn log_in(&self, user: &User, now: DateTime<Utc>) {
        self.0.renew();
        self.0.clear();
        self.set(KEY_USER_ID, user.id);
        self.set(KEY_USERNAME, &user.username);
        self.set(KEY_ROLE, user.role.as_str());
        self.set(KEY_SEEN, now.timestamp());
        self.set(KEY_CSRF, crate::web::http::security::random_token());
    }

    /// Ends the session on the server: the cookie, or any copy of it, no longer works.
    pub fn end(&self) {
        self.0.purge();
    }

    /// True for a session that was ended elsewhere (a password change, a demotion, a
    /// disable) or went idle: the gate removes it and says so on the login page.
    pub fn was_ended(&self) -> bool {
        self.get::<bool>(KEY_ENDED).unwrap_or(false)
    }

    pub fn identity(&self) -> Option<Identity> {
        Some(Identity {
            user_id: self.get(KEY_USER_ID)?,
            username: self.get(KEY_USERNAME).unwrap_or_default(),
            role: self.get::<String>(KEY_ROLE).and_then(|r| Role::parse(&r)),
            last_seen: self.get(KEY_SEEN).unwrap_or(0),
        })
    }

    /// Records activity (rewriting the session once a minute is enough to track idleness).
    pub fn touch(&self, identity: &Identity, now: DateTime<Utc>) {
        if now.timestamp() - identity.last_seen > 60 {
            self.set(KEY_SEEN, now.timestamp());
        }
    }

    /// The CSRF token, created on first use.
    pub fn csrf_token(&self) -> String {
        if let Some(token) = self.csrf() {
            return token;
        }
        let token = crate::web::http::security::random_token();
        self.set(KEY_CSRF, &token);
        token
    }

    pub fn csrf(&self) -> Option<String> {
        self.get(KEY_CSRF)
    }

    pub fn flash_ok(&self, message: impl Into<String>) {
        self.push_flash(FlashKind::Ok, message.into(), None);
    }

    /// A message with a button to what comes next (a local path).
    pub fn flash_ok_with_link(&self, message: impl Into<String>, href: String, label: &str) {
        let link = FlashLink {
            href,
            label: label.to_string(),
            post: None,
        };
        self.push_flash(FlashKind::Ok, message.into(), Some(link));
    }

    /// A message with a button that posts one field to `href` ("Keep this backup").
    pub fn flash_ok_with_post(
        &self,
        message: impl Into<String>,
        href: String,
        label: &str,
        field: (&str, &str),
    ) {
        let link = FlashLink {
            href,
            label: label.to_string(),
            post: Some((field.0.to_string(), field.1.to_string())),
        };
        self.push_flash(FlashKind::Ok, message.into(), Some(link));
    }

    pub fn flash_error(&self, message: impl Into<String>) {
        self.push_flash(FlashKind::Error, message.into(), None);
    }

    fn push_flash(&self, kind: FlashKind, message: String, link: Option<FlashLink>) {
        let mut list: Vec<Flash> = self.get(KEY_FLASH).unwrap_or_default();
        list.push(Flash {
            kind,
            message,
            link,
        });
        let excess = list.len().saturating_sub(MAX_FLASHES);
        list.drain(..excess);
        self.set(KEY_FLASH, list);
    }

    pub fn take_flashes(&self) -> Vec<Flash> {
        let list: Vec<Flash> = self.get(KEY_FLASH).unwrap_or_default();
        if !list.is_empty() {
            self.0.remove(KEY_FLASH);
        }
        list
    }
}

/// Only local paths are honoured after login: `/products?page=2` yes, `//evil.example`,
/// `https://...` and `/\evil` no.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The state the store hands out for a session that is over.
pub fn ended_state() -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([(KEY_ENDED.to_string(), "true".to_string())])
}

/// The user id a stored session state belongs to (the store indexes sessions by it, so a
/// password change can end them all).
pub fn user_id_of(state: &std::collections::HashMap<String, String>) -> Option<i64> {
    state
        .get(KEY_USER_ID)
        .and_then(|v| serde_json::from_str(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_only_allows_local_paths() {
        assert_eq!(safe_next(Some("/products?page=2")), "/products?page=2");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "/a\\b",
            "/\r\nx",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn user_id_is_read_from_the_stored_state() {
        let mut state = std::collections::HashMap::new();
        assert_eq!(user_id_of(&state), None);
        state.insert(KEY_USER_ID.to_string(), "42".to_string());
        assert_eq!(user_id_of(&state), Some(42));
    }
}
