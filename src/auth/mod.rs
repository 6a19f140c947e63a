//! People and what they may do: users, ordered roles, argon2id passwords and the login
//! throttle. Sessions and CSRF tokens are carried by the web layer (`web::session`).

pub mod limits;
pub mod login;
pub mod password;
pub mod store;
pub mod throttle;
pub mod users;

pub use login::{PasswordChange, change_password, login};

use serde::{Deserialize, Serialize};

use crate::db::DbError;

/// Roles are ordered: each can do everything the one before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "staff")]
    Staff,
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "super-admin")]
    SuperAdmin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Staff, Role::Admin, Role::SuperAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Admin => "admin",
            Role::SuperAdmin => "super-admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Staff => "Staff",
            Role::Admin => "Admin",
            Role::SuperAdmin => "Super-admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("Wrong user name or password.")]
    InvalidCredentials,
    #[error("Too many failed attempts. Try again in {}.", wait_text(*.wait))]
    LockedOut { wait: std::time::Duration },
    #[error("This account is disabled. Ask a super-admin to enable it.")]
    Disabled,
    #[error("The user name {0:?} is already taken.")]
    UsernameTaken(String),
    #[error("{0}")]
    InvalidUsername(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("No such user.")]
    NotFound,
    #[error("You are the last active super-admin: make someone else super-admin first.")]
    LastSuperAdmin,
    #[error("Please correct the highlighted fields.")]
    Invalid(crate::fields::FieldErrors),
    #[error("cannot hash the password: {0}")]
    Hash(#[from] argon2::password_hash::Error),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Store(#[from] store::StoreError),
}

impl AuthError {
    /// True for answers meant for the person at the form (wrong password, wait, disabled,
    /// field messages), as opposed to failures of the program.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AuthError::InvalidCredentials
                | AuthError::LockedOut { .. }
                | AuthError::Disabled
                | AuthError::Invalid(_)
                | AuthError::InvalidUsername(_)
                | AuthError::WeakPassword(_)
                | AuthError::UsernameTaken(_)
                | AuthError::LastSuperAdmin
        )
    }
}

/// "3 seconds", "2 minutes": how long to wait, rounded up.
fn wait_text(wait: std::time::Duration) -> String {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    match secs {
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s => {
            let minutes = s.div_ceil(60);
            if minutes == 1 {
                "1 minute".into()
            } else {
                format!("{minutes} minutes")
            }
        }
    }
}

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Db(DbError::from(e))
    }
}

/// A person who can log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub created_at: String,
}

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 256;

pub fn validate_username(name: &str) -> Result<(), AuthError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(AuthError::InvalidUsername(
            "A user name has 1 to 64 letters, digits, dots, dashes, underscores or @.".into(),
        ));
    }
    Ok(())
}

pub fn validate_password(password: &str) -> Result<(), AuthError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword(format!(
            "The password must have at least {MIN_PASSWORD_LEN} characters."
        )));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(AuthError::WeakPassword(format!(
            "The password must have at most {MAX_PASSWORD_LEN} characters."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Staff < Role::Admin && Role::Admin < Role::SuperAdmin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn username_and_password_rules() {
        assert!(validate_username("anna.b").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("a b").is_err());
        assert!(validate_username("<script>").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
