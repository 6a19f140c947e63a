//! People and what they may do: users, ordered roles, argon2id passwords and the login
//! throttle. Sessions and CSRF tokens are carried by the web layer (`web::http::session`).

pub mod limits;
pub mod login;
pub mod password;
pub mod permission;
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
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl AuthError {
    /// True for answers meant for the person at the form (wrong password, wait,
    /// field messages), as opposed to failures of the program.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AuthError::InvalidCredentials
                | AuthError::LockedOut { .. }
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
    /// Set by a super-admin who chose the password: until the person picks their own, they
    /// can only reach `/account`.
    pub must_change_password: bool,
}

/// Long enough that guessing takes ages even for a password of plain words; existing
/// accounts with shorter passwords keep working (the rule applies when one is set).
pub const MIN_PASSWORD_LEN: usize = 10;
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

/// Passwords of ten characters or more that guessing tools try first (compared ignoring
/// case). Shorter ones are refused by length anyway.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "0987654321",
    "12345678910",
    "123456789a",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qwertyuiop",
    "qwerty1234",
    "qwerty12345",
    "asdfghjkl1",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou12",
    "iloveyou123",
    "letmein123",
    "welcome123",
    "changeme123",
    "administrator",
    "admin12345",
    "abc1234567",
    "abcdefghij",
    "football123",
    "sunshine123",
    "backroom123",
    "backroom2024",
    "backroom2025",
    "backroom2026",
];

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
    let lower = password.to_lowercase();
    let mut chars = lower.chars();
    let one_repeated = chars.next().is_some_and(|first| chars.all(|c| c == first));
    if one_repeated || COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(AuthError::WeakPassword(
            "This password is one of the first that guessing tools try: choose another (a few unrelated words work well)."
                .into(),
        ));
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
        assert!(validate_password("nine char").is_err(), "9 characters");
        assert!(validate_password("long enough").is_ok());
        for common in ["1234567890", "Password123", "QWERTYUIOP", "aaaaaaaaaaaa"] {
            let e = validate_password(common).unwrap_err().to_string();
            assert!(e.contains("guessing tools"), "{common}: {e}");
        }
        assert!(
            validate_password("correct-horse-1").is_ok(),
            "the tests' password"
        );
    }
}
