//! Sign-in data across a restore. By default a restore keeps today's password, role and
//! disabled flag for everyone who exists both now and in the backup, so it never brings back
//! an old password, a role that was taken away or an account that was disabled. The change
//! is made on the prepared copy while database work is paused, after today's rows were read,
//! so a password changed a moment before the restore is not lost either.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

use super::Accounts;
use crate::backup::{BackupEngine, BackupError};
use crate::db::{self, DbError};
use crate::fsutil;

/// One row of `users`, as far as signing in is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Account {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    active: bool,
    /// "Must choose a new password at next sign-in"; `None` in databases from before the
    /// column existed. It travels with the password: a temporary password keeps its flag.
    must_change: Option<bool>,
}

impl Account {
    /// The same account: same id and the same name (names compare like SQLite's NOCASE).
    fn same_account(&self, other: &Account) -> bool {
        self.id == other.id && self.username.eq_ignore_ascii_case(&other.username)
    }

    fn access_differs(&self, other: &Account) -> bool {
        self.password_hash != other.password_hash
            || self.role != other.role
            || self.active != other.active
            || (self.must_change.is_some()
                && other.must_change.is_some()
                && self.must_change != other.must_change)
    }
}

/// The accounts in a database; none when it has no `users` table yet.
pub(super) fn read_accounts(conn: &Connection) -> rusqlite::Result<Vec<Account>> {
    let has_users: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users')",
        [],
        |r| r.get(0),
    )?;
    if !has_users {
        return Ok(Vec::new());
    }
    let flag = if has_must_change(conn)? {
        "must_change_password"
    } else {
        "NULL"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, username, password_hash, role, active, {flag} FROM users ORDER BY id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(Account {
            id: r.get(0)?,
            username: r.get(1)?,
            password_hash: r.get(2)?,
            role: r.get(3)?,
            active: r.get::<_, i64>(4)? != 0,
            must_change: r.get::<_, Option<i64>>(5)?.map(|v| v != 0),
        })
    })?;
    rows.collect()
}

fn has_must_change(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('users') WHERE name = 'must_change_password')",
        [],
        |r| r.get(0),
    )
}

/// Today's accounts from a live database file nobody else has open (the command-line
/// restore), read-only so the raw file stays as it is.
pub(super) fn read_live_file(path: &Path) -> rusqlite::Result<Vec<Account>> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    read_accounts(&conn)
}

/// What carrying the accounts into a prepared copy did.
pub(super) struct Carried {
    pub(super) kept: Vec<String>,
    pub(super) changed_user_ids: Vec<i64>,
}

/// Gives the prepared copy at `copy` today's sign-in data where `wanted` says so, and works
/// out whose sign-in changes. `today` is `None` when today's accounts could not be read:
/// the copy keeps the backup's, and every account in it counts as changed.
pub(super) fn carry_into(
    copy: &Path,
    today: Option<&[Account]>,
    wanted: Accounts,
) -> Result<Carried, BackupError> {
    let Some(today) = today else {
        let restored = read_accounts(&db::open_immutable(copy)?)?;
        return Ok(Carried {
            kept: Vec::new(),
            changed_user_ids: restored.iter().map(|a| a.id).collect(),
        });
    };
    let (after, kept) = match wanted {
        Accounts::AsInBackup => (read_accounts(&db::open_immutable(copy)?)?, Vec::new()),
        Accounts::KeepCurrent => {
            let carried = keep_current(copy, today).map_err(BackupError::Accounts)?;
            fsutil::sync_file(copy)
                .map_err(BackupError::io("cannot flush the restored data to disk"))?;
            carried
        }
    };
    Ok(Carried {
        kept,
        changed_user_ids: changed_user_ids(today, &after),
    })
}

/// Writes today's password hash, role and active flag into the copy for every account in
/// both; returns the accounts after, and who differed.
fn keep_current(copy: &Path, today: &[Account]) -> rusqlite::Result<(Vec<Account>, Vec<String>)> {
    let mut conn = Connection::open(copy)?;
    // A single file like every backup: nothing of this change may stay in a -wal beside it.
    conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0))?;
    let restored = read_accounts(&conn)?;
    let by_id: HashMap<i64, &Account> = restored.iter().map(|a| (a.id, a)).collect();
    let mut kept = Vec::new();
    let tx = conn.transaction()?;
    for now in today {
        let Some(old) = by_id.get(&now.id).filter(|old| old.same_account(now)) else {
            continue;
        };
        if old.access_differs(now) {
            kept.push(now.username.clone());
            tx.execute(
                "UPDATE users SET password_hash = ?1, role = ?2, active = ?3 WHERE id = ?4",
                params![now.password_hash, now.role, i64::from(now.active), now.id],
            )?;
            if let (Some(flag), Some(_)) = (now.must_change, old.must_change) {
                tx.execute(
                    "UPDATE users SET must_change_password = ?1 WHERE id = ?2",
                    params![i64::from(flag), now.id],
                )?;
            }
        }
    }
    tx.commit()?;
    let after = read_accounts(&conn)?;
    conn.close().map_err(|(_, e)| e)?;
    Ok((after, kept))
}

/// Accounts whose sign-in is not the same after as before: gone, another account under the
/// id, or a different password hash, role or active flag; and accounts that only exist after.
fn changed_user_ids(before: &[Account], after: &[Account]) -> Vec<i64> {
    let after_by_id: HashMap<i64, &Account> = after.iter().map(|a| (a.id, a)).collect();
    let before_by_id: HashMap<i64, &Account> = before.iter().map(|a| (a.id, a)).collect();
    let mut ids = BTreeSet::new();
    for b in before {
        let unchanged = after_by_id
            .get(&b.id)
            .is_some_and(|a| a.same_account(b) && !a.access_differs(b));
        if !unchanged {
            ids.insert(b.id);
        }
    }
    for a in after {
        if !before_by_id.get(&a.id).is_some_and(|b| b.same_account(a)) {
            ids.insert(a.id);
        }
    }
    ids.into_iter().collect()
}

/// How one account differs between now and a backup (never the password hash itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountDifference {
    pub username: String,
    pub change: AccountChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountChange {
    /// Only the backup has it: a restore brings it back as the backup has it.
    OnlyInBackup { role: String, disabled: bool },
    /// Only today's data has it: a restore removes it.
    OnlyNow { role: String, disabled: bool },
    /// Both have the name. `same_account` is false when the backup's account under that
    /// name is another record (another id): then a restore cannot keep today's and the
    /// backup's comes back.
    Differs {
        same_account: bool,
        password_differs: bool,
        role: Option<Change<String>>,
        disabled: Option<Change<bool>>,
    },
}

/// In plain words, as the restore page lists it: "password changed since; role now staff, in
/// the backup admin".
impl std::fmt::Display for AccountChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let disabled = |d: bool| if d { "disabled" } else { "enabled" };
        match self {
            AccountChange::OnlyInBackup { role, disabled: d } => write!(
                f,
                "only in the backup ({role}, {}): it comes back as it was",
                disabled(*d)
            ),
            AccountChange::OnlyNow { role, .. } => write!(
                f,
                "added since the backup ({role}): it will not exist after the restore"
            ),
            AccountChange::Differs {
                password_differs,
                role,
                disabled: d,
                ..
            } => {
                let mut parts = Vec::new();
                if *password_differs {
                    parts.push("password changed since".to_string());
                }
                if let Some(r) = role {
                    parts.push(format!("role now {}, in the backup {}", r.now, r.in_backup));
                }
                if let Some(d) = d {
                    parts.push(format!(
                        "now {}, in the backup {}",
                        disabled(d.now),
                        disabled(d.in_backup)
                    ));
                }
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// A value now and in the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    pub now: T,
    pub in_backup: T,
}

fn changed<T: PartialEq>(now: T, in_backup: T) -> Option<Change<T>> {
    (now != in_backup).then_some(Change { now, in_backup })
}

/// One entry per user name that differs, sorted by name.
fn differences(now: &[Account], in_backup: &[Account]) -> Vec<AccountDifference> {
    let by_name = |accounts: &[Account]| -> BTreeMap<String, Account> {
        accounts
            .iter()
            .map(|a| (a.username.to_ascii_lowercase(), a.clone()))
            .collect()
    };
    let now = by_name(now);
    let in_backup = by_name(in_backup);
    let names: BTreeSet<&String> = now.keys().chain(in_backup.keys()).collect();
    let mut out = Vec::new();
    for name in names {
        let (username, change) = match (now.get(name), in_backup.get(name)) {
            (Some(n), None) => (
                n.username.clone(),
                AccountChange::OnlyNow {
                    role: n.role.clone(),
                    disabled: !n.active,
                },
            ),
            (None, Some(b)) => (
                b.username.clone(),
                AccountChange::OnlyInBackup {
                    role: b.role.clone(),
                    disabled: !b.active,
                },
            ),
            (Some(n), Some(b)) => {
                let same_account = n.id == b.id;
                let password_differs = n.password_hash != b.password_hash;
                let role = changed(n.role.clone(), b.role.clone());
                let disabled = changed(!n.active, !b.active);
                if same_account && !password_differs && role.is_none() && disabled.is_none() {
                    continue;
                }
                (
                    n.username.clone(),
                    AccountChange::Differs {
                        same_account,
                        password_differs,
                        role,
                        disabled,
                    },
                )
            }
            (None, None) => continue,
        };
        out.push(AccountDifference { username, change });
    }
    out
}

impl BackupEngine {
    /// How the accounts in backup `name` differ from today's, for the restore confirmation
    /// page. Reads the backup file read-only.
    pub(crate) fn compare_accounts(
        &self,
        name: &str,
    ) -> Result<Vec<AccountDifference>, BackupError> {
        let entry = self.find(name)?;
        let _pin = self.pin(&entry.file_name);
        let conn = db::open_immutable(&entry.path)?;
        // Its `users` is read only once it is known to be Backroom's (not a view of its own).
        crate::backup::schema::check(&conn).map_err(|source| BackupError::Foreign {
            name: entry.file_name.clone(),
            source,
        })?;
        let in_backup = read_accounts(&conn)?;
        let now = self
            .db
            .with_conn(|c| read_accounts(c).map_err(DbError::from))?;
        Ok(differences(&now, &in_backup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: i64, name: &str, hash: &str, role: &str, active: bool) -> Account {
        Account {
            id,
            username: name.into(),
            password_hash: hash.into(),
            role: role.into(),
            active,
            must_change: Some(false),
        }
    }

    #[test]
    fn changed_ids_cover_access_changes_and_accounts_that_come_or_go() {
        let before = vec![
            account(1, "ann", "h1", "admin", true),
            account(2, "bob", "h2", "staff", true),
            account(3, "cy", "h3", "staff", true),
            account(4, "dee", "h4", "staff", true),
        ];
        let mut bob_older = before[1].clone();
        bob_older.password_hash = "old".into();
        let mut cy_demoted = before[2].clone();
        cy_demoted.role = "admin".into();
        let after = vec![
            account(1, "ANN", "h1", "admin", true),
            bob_older,
            before[2].clone(),
            account(5, "eve", "h5", "staff", true),
        ];
        // Ann: unchanged (names compare without case). Bob: password. Cy: unchanged. Dee:
        // gone. Eve: back from the backup.
        assert_eq!(changed_user_ids(&before, &after), vec![2, 4, 5]);
        let mut before_cy_admin = before.clone();
        before_cy_admin[2] = cy_demoted;
        assert_eq!(changed_user_ids(&before_cy_admin, &after), vec![2, 3, 4, 5]);
    }

    #[test]
    fn differences_name_each_differing_account_once_without_hashes() {
        let now = vec![
            account(1, "ann", "h1", "super-admin", true),
            account(2, "bob", "new", "staff", false),
            account(3, "cy", "h3", "staff", true),
        ];
        let in_backup = vec![
            account(1, "Ann", "h1", "super-admin", true),
            account(2, "bob", "old", "admin", true),
            account(9, "dee", "h9", "staff", true),
        ];
        let diff = differences(&now, &in_backup);
        assert_eq!(
            diff,
            vec![
                AccountDifference {
                    username: "bob".into(),
                    change: AccountChange::Differs {
                        same_account: true,
                        password_differs: true,
                        role: Some(Change {
                            now: "staff".into(),
                            in_backup: "admin".into()
                        }),
                        disabled: Some(Change {
                            now: true,
                            in_backup: false
                        }),
                    },
                },
                AccountDifference {
                    username: "cy".into(),
                    change: AccountChange::OnlyNow {
                        role: "staff".into(),
                        disabled: false
                    },
                },
                AccountDifference {
                    username: "dee".into(),
                    change: AccountChange::OnlyInBackup {
                        role: "staff".into(),
                        disabled: false
                    },
                },
            ]
        );
        let json = serde_json::to_string(&diff).unwrap();
        assert!(!json.contains("new") && !json.contains("old"), "{json}");
        assert!(json.contains("\"kind\":\"differs\""), "{json}");
    }
}
