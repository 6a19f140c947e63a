//! The `users` table. Functions take a connection so callers choose the transaction; password
//! hashing happens before, outside any connection.

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{AuthError, Role, User};

fn now_text() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: row.get("id")?,
        username: row.get("username")?,
        role: Role::parse(&role).unwrap_or(Role::Staff),
        active: row.get::<_, i64>("active")? == 1,
        created_at: row.get("created_at")?,
        must_change_password: row.get::<_, i64>("must_change_password")? == 1,
    })
}

const COLUMNS: &str = "id, username, role, active, created_at, must_change_password";

pub fn count(conn: &Connection) -> Result<i64, AuthError> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn list(conn: &Connection) -> Result<Vec<User>, AuthError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM users ORDER BY username COLLATE NOCASE"
    ))?;
    let users = stmt
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(users)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<User>, AuthError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The user and their password hash, for logging in.
pub fn find_for_login(
    conn: &Connection,
    username: &str,
) -> Result<Option<(User, String)>, AuthError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS}, password_hash FROM users WHERE username = ?1"),
            [username],
            |r| Ok((from_row(r)?, r.get::<_, String>("password_hash")?)),
        )
        .optional()?)
}

/// Names of accounts whose stored hash is not one this program verifies (e.g. a backup's
/// hash with a huge cost): they need a new password.
pub fn needing_new_password(conn: &Connection) -> Result<Vec<String>, AuthError> {
    let mut stmt =
        conn.prepare("SELECT username, password_hash FROM users ORDER BY username COLLATE NOCASE")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, hash)| !super::password::hash_is_usable(hash))
        .map(|(name, _)| name)
        .collect())
}

pub fn find_by_name(conn: &Connection, username: &str) -> Result<Option<User>, AuthError> {
    Ok(find_for_login(conn, username)?.map(|(u, _)| u))
}

pub fn create(
    conn: &Connection,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<User, AuthError> {
    super::validate_username(username)?;
    let now = now_text();
    let inserted = conn.execute(
        "INSERT INTO users (username, password_hash, role, active, created_at, updated_at)
         VALUES (?1, ?2, ?3, 1, ?4, ?4)",
        params![username, password_hash, role.as_str(), now],
    );
    match inserted {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Err(AuthError::UsernameTaken(username.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    get(conn, conn.last_insert_rowid())?.ok_or(AuthError::NotFound)
}

/// Creates the first super-admin, only while there are no users at all (one transaction, so
/// two racing first-run forms cannot both succeed).
pub fn create_first(
    conn: &mut Connection,
    username: &str,
    password_hash: &str,
) -> Result<Option<User>, AuthError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if count(&tx)? > 0 {
        return Ok(None);
    }
    let user = create(&tx, username, password_hash, Role::SuperAdmin)?;
    tx.commit()?;
    Ok(Some(user))
}

/// Sets a new password (the caller ends the user's sessions in the session store).
pub fn set_password_hash(conn: &Connection, id: i64, password_hash: &str) -> Result<(), AuthError> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
        params![password_hash, now_text(), id],
    )?;
    if n == 0 {
        return Err(AuthError::NotFound);
    }
    Ok(())
}

/// Asks (or stops asking) the person to choose a new password at their next login.
pub fn set_must_change(conn: &Connection, id: i64, must_change: bool) -> Result<(), AuthError> {
    let n = conn.execute(
        "UPDATE users SET must_change_password = ?1, updated_at = ?2 WHERE id = ?3",
        params![i64::from(must_change), now_text(), id],
    )?;
    if n == 0 {
        return Err(AuthError::NotFound);
    }
    Ok(())
}

fn active_super_admins(conn: &Connection) -> Result<i64, AuthError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users WHERE role = 'super-admin' AND active = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Changes role and/or active flag, refusing to leave the shop without an active super-admin.
pub fn update_access(
    conn: &mut Connection,
    id: i64,
    role: Role,
    active: bool,
) -> Result<User, AuthError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user = get(&tx, id)?.ok_or(AuthError::NotFound)?;
    let loses_super_admin =
        user.role == Role::SuperAdmin && user.active && (role != Role::SuperAdmin || !active);
    if loses_super_admin && active_super_admins(&tx)? <= 1 {
        return Err(AuthError::LastSuperAdmin);
    }
    tx.execute(
        "UPDATE users SET role = ?1, active = ?2, updated_at = ?3 WHERE id = ?4",
        params![role.as_str(), i64::from(active), now_text(), id],
    )?;
    let updated = get(&tx, id)?.ok_or(AuthError::NotFound)?;
    tx.commit()?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations;

    fn conn() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.db");
        let mut c = Connection::open(&path).unwrap();
        migrations::migrate(&mut c, &path).unwrap();
        (dir, c)
    }

    #[test]
    fn first_user_only_once_and_names_unique() {
        let (_d, mut c) = conn();
        assert!(create_first(&mut c, "boss", "h").unwrap().is_some());
        assert!(create_first(&mut c, "boss2", "h").unwrap().is_none());
        assert!(matches!(
            create(&c, "BOSS", "h", Role::Staff),
            Err(AuthError::UsernameTaken(_))
        ));
    }

    #[test]
    fn last_super_admin_cannot_be_demoted_or_disabled() {
        let (_d, mut c) = conn();
        let boss = create_first(&mut c, "boss", "h").unwrap().unwrap();
        assert!(matches!(
            update_access(&mut c, boss.id, Role::Admin, true),
            Err(AuthError::LastSuperAdmin)
        ));
        assert!(matches!(
            update_access(&mut c, boss.id, Role::SuperAdmin, false),
            Err(AuthError::LastSuperAdmin)
        ));
        let other = create(&c, "other", "h", Role::SuperAdmin).unwrap();
        update_access(&mut c, boss.id, Role::Admin, true).unwrap();
        assert!(matches!(
            update_access(&mut c, other.id, Role::Staff, true),
            Err(AuthError::LastSuperAdmin)
        ));
    }
}
