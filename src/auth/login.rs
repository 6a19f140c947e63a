//! The use-cases around passwords: logging in, changing one's own password, a super-admin
//! setting someone's password or access, and creating the first super-admin. Blocking
//! (argon2 and SQLite): call them from a blocking thread.
//!
//! Whatever ends a person's right to a session (a new password, another role, disabled) ends
//! their sessions in the session store at once.

use super::store::AuthStore;
use super::throttle::{Check, LoginThrottle, unlock};
use super::{AuthError, Role, User, password, users, validate_password, validate_username};
use crate::db::Db;
use crate::fields::FieldErrors;

/// Checks a name and password, slowed per (name, address) after repeated failures.
pub fn login(
    db: &Db,
    throttle: &LoginThrottle,
    username: &str,
    password_text: &str,
    address: &str,
) -> Result<User, AuthError> {
    let username = username.trim();
    if let Err(wait) = throttle.begin(Check::Login, username, address)? {
        return Err(AuthError::LockedOut { wait });
    }
    let found = if validate_username(username).is_ok() {
        db.with_conn(|c| users::find_for_login(c, username))?
    } else {
        None
    };
    // Unknown names cost the same time as known ones: the answer says nothing about names.
    let Some((user, hash)) = found else {
        password::dummy_verify(password_text);
        return Err(AuthError::InvalidCredentials);
    };
    if !password::hash_is_usable(&hash) {
        // Never worked on (its cost is the backup's choice); the visitor sees a wrong password.
        tracing::warn!("{}", password::unusual_hash_note(&user.username));
        password::dummy_verify(password_text);
        return Err(AuthError::InvalidCredentials);
    }
    if !password::verify_password(password_text, &hash) {
        return Err(AuthError::InvalidCredentials);
    }
    // A disabled account answers like a wrong password, so the form never confirms that a
    // guessed password is right; the log says what happened.
    if !user.active {
        tracing::warn!(
            "login refused: {:?} is disabled (the password was right)",
            crate::text::clip(username, 64)
        );
        return Err(AuthError::InvalidCredentials);
    }
    throttle.succeeded(Check::Login, username, address)?;
    Ok(user)
}

/// What the account page sends to change one's own password.
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new_password: &'a str,
    pub confirm: &'a str,
}

fn check_new_password(new_password: &str, confirm: &str) -> Result<(), FieldErrors> {
    if let Err(e) = validate_password(new_password) {
        return Err(FieldErrors::one(
            "new_password",
            crate::error_chain::chain(&e),
        ));
    }
    if new_password != confirm {
        return Err(FieldErrors::one(
            "confirm",
            "The two new passwords are different.",
        ));
    }
    Ok(())
}

/// Changes the user's own password after checking the current one (with its own failure
/// counter). Every session of the user ends; the caller logs the current browser in again.
/// Form problems come back as [`AuthError::Invalid`].
pub fn change_password(
    db: &Db,
    throttle: &LoginThrottle,
    store: &AuthStore,
    user: &User,
    change: &PasswordChange<'_>,
    address: &str,
) -> Result<User, AuthError> {
    check_new_password(change.new_password, change.confirm).map_err(AuthError::Invalid)?;
    if let Err(wait) = throttle.begin(Check::Account, &user.username, address)? {
        let message = AuthError::LockedOut { wait }.to_string();
        return Err(AuthError::Invalid(FieldErrors::one("current", message)));
    }
    let Some((_, hash)) = db.with_conn(|c| users::find_for_login(c, &user.username))? else {
        return Err(AuthError::NotFound);
    };
    if !password::verify_password(change.current, &hash) {
        return Err(AuthError::Invalid(FieldErrors::one(
            "current",
            "The current password is wrong.",
        )));
    }
    let updated = set_password(db, store, user.id, change.new_password, false)?;
    throttle.succeeded(Check::Account, &user.username, address)?;
    Ok(updated)
}

/// Sets a password (a super-admin resetting one, `backroom user passwd`): the user's
/// sessions end and their failed-login counters are cleared. `must_change`: they have to
/// choose their own at their next login.
pub fn set_password(
    db: &Db,
    store: &AuthStore,
    user_id: i64,
    new_password: &str,
    must_change: bool,
) -> Result<User, AuthError> {
    validate_password(new_password)?;
    let hash = password::hash_password(new_password)?;
    db.with_conn(|c| {
        let tx = c.transaction()?;
        users::set_password_hash(&tx, user_id, &hash)?;
        users::set_must_change(&tx, user_id, must_change)?;
        tx.commit()?;
        Ok::<_, AuthError>(())
    })?;
    let user = db
        .with_conn(|c| users::get(c, user_id))?
        .ok_or(AuthError::NotFound)?;
    store.end_user_sessions(user_id, None)?;
    unlock(store, &user.username)?;
    Ok(user)
}

/// Changes role and active flag (never leaving the shop without an active super-admin); the
/// user's sessions end when either changed.
pub fn set_access(
    db: &Db,
    store: &AuthStore,
    user_id: i64,
    role: Role,
    active: bool,
) -> Result<User, AuthError> {
    let before = db
        .with_conn(|c| users::get(c, user_id))?
        .ok_or(AuthError::NotFound)?;
    let after = db.with_conn(|c| users::update_access(c, user_id, role, active))?;
    if before.role != after.role || before.active != after.active {
        store.end_user_sessions(user_id, None)?;
    }
    Ok(after)
}

/// What the first-run page sends.
pub struct FirstAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub password2: &'a str,
}

/// Creates the first super-admin while nobody has an account. `Ok(None)`: someone else did
/// it a moment ago. Form problems come back as [`AuthError::Invalid`].
pub fn create_first_super_admin(
    db: &Db,
    form: &FirstAccount<'_>,
) -> Result<Option<User>, AuthError> {
    let username = form.username.trim();
    let mut errors = FieldErrors::default();
    if let Err(e) = validate_username(username) {
        errors.add("username", crate::error_chain::chain(&e));
    }
    if let Err(e) = validate_password(form.password) {
        errors.add("password", crate::error_chain::chain(&e));
    } else if form.password != form.password2 {
        errors.add("password", "The two passwords are different.");
    }
    errors.into_result(()).map_err(AuthError::Invalid)?;
    let hash = password::hash_password(form.password)?;
    db.with_conn(|c| users::create_first(c, username, &hash))
}

/// Adds a person (super-admin's users page, `backroom user add`). `must_change`: they
/// have to choose their own password at their first login.
pub fn add_user(
    db: &Db,
    username: &str,
    password_text: &str,
    role: Role,
    must_change: bool,
) -> Result<User, AuthError> {
    validate_username(username)?;
    validate_password(password_text)?;
    let hash = password::hash_password(password_text)?;
    db.with_conn(|c| {
        let user = users::create(c, username, &hash, role)?;
        if !must_change {
            return Ok(user);
        }
        users::set_must_change(c, user.id, true)?;
        Ok(User {
            must_change_password: true,
            ..user
        })
    })
}
