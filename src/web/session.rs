//! What the session cookie carries (user id, name and role, CSRF token, last activity, flash
//! messages) and the extractor for the logged-in user.

use std::future::{Ready, ready};

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};

use super::error::AppError;
use crate::auth::{Role, User};
use crate::fsutil;

pub const KEY_USER_ID: &str = "uid";
pub const KEY_USERNAME: &str = "uname";
pub const KEY_ROLE: &str = "role";
pub const KEY_CSRF: &str = "csrf";
pub const KEY_SEEN: &str = "seen";
pub const KEY_FLASH: &str = "flash";
pub const KEY_EPOCH: &str = "ep";

/// The logged-in user, checked against the database on every request by the auth gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }

    /// `Err(403)` unless the user has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.can(role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "This needs the {} role; you are {}.",
                role.label(),
                self.role.label()
            )))
        }
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

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(KEY_CSRF) {
        return token;
    }
    let token = fsutil::random_hex(32);
    let _ = session.insert(KEY_CSRF, &token);
    token
}

/// Starts a logged-in session: a fresh session (no state carried over from before login), a
/// new CSRF token.
pub fn log_in(session: &Session, user: &User) {
    session.renew();
    session.clear();
    let _ = session.insert(KEY_USER_ID, user.id);
    let _ = session.insert(KEY_USERNAME, &user.username);
    let _ = session.insert(KEY_ROLE, user.role.as_str());
    let _ = session.insert(KEY_EPOCH, user.session_epoch);
    let _ = session.insert(KEY_SEEN, chrono::Utc::now().timestamp());
    let _ = session.insert(KEY_CSRF, fsutil::random_hex(32));
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: String,
    pub message: String,
}

pub fn flash_ok(session: &Session, message: impl Into<String>) {
    push_flash(session, "ok", message.into());
}

pub fn flash_error(session: &Session, message: impl Into<String>) {
    push_flash(session, "error", message.into());
}

fn push_flash(session: &Session, kind: &str, message: String) {
    let mut list: Vec<Flash> = session.get(KEY_FLASH).ok().flatten().unwrap_or_default();
    list.push(Flash {
        kind: kind.into(),
        message,
    });
    let _ = session.insert(KEY_FLASH, list);
}

pub fn take_flashes(session: &Session) -> Vec<Flash> {
    let list: Vec<Flash> = session.get(KEY_FLASH).ok().flatten().unwrap_or_default();
    if !list.is_empty() {
        session.remove(KEY_FLASH);
    }
    list
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
}
