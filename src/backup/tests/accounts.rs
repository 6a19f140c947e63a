//! Accounts across a restore: today's passwords, roles and disabled flags are kept unless
//! the backup's are asked for; whose sign-in changed is reported; the confirmation page's
//! comparison; the command-line restore over a broken database.

use super::*;
use crate::auth::{AuthError, Role, users};
use crate::backup::restore::{OfflineTarget, restore_offline};

struct People {
    ann: i64,
    bob: i64,
    cy: i64,
}

fn add_people(db: &Db) -> People {
    db.with_conn(|c| {
        Ok::<_, AuthError>(People {
            ann: users::create(c, "ann", "hash-ann", Role::SuperAdmin)?.id,
            bob: users::create(c, "bob", "hash-bob", Role::Admin)?.id,
            cy: users::create(c, "cy", "hash-cy", Role::Staff)?.id,
        })
    })
    .unwrap()
}

/// After the backup: Bob changes his password, Cy becomes admin and is disabled, Dee joins.
fn change_people(db: &Db, p: &People) -> i64 {
    db.with_conn(|c| {
        users::set_password_hash(c, p.bob, "hash-bob-new")?;
        users::update_access(c, p.cy, Role::Admin, false)?;
        Ok::<_, AuthError>(users::create(c, "dee", "hash-dee", Role::Staff)?.id)
    })
    .unwrap()
}

/// (password hash, role, active, session generation) of a user, `None` if absent.
type Access = (String, String, bool);

fn access_in(conn: &rusqlite::Connection, name: &str) -> Option<Access> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT password_hash, role, active FROM users WHERE username = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? == 1)),
    )
    .optional()
    .unwrap()
}

fn access(db: &Db, name: &str) -> Option<Access> {
    db.with_conn(|c| Ok::<_, DbError>(access_in(c, name)))
        .unwrap()
}

fn owned(hash: &str, role: &str, active: bool) -> Option<Access> {
    Some((hash.into(), role.into(), active))
}

#[test]
fn keep_current_keeps_todays_passwords_roles_and_disabled_flags() {
    let f = fixture();
    let db = f.engine.db().clone();
    let p = add_people(&db);
    let backup = f.make(BackupKind::Manual, "accounts");
    let dee = change_people(&db, &p);
    let bob_today = access(&db, "bob");
    assert_eq!(bob_today, owned("hash-bob-new", "admin", true));
    add_customer(&db, "after the backup");

    let report = f
        .engine
        .restore(&backup.file_name, "ann", RestoreOptions::default())
        .unwrap();
    assert_eq!(report.accounts, Accounts::KeepCurrent);
    assert_eq!(count(&db, "customers"), 2, "the rest is the backup's data");
    assert_eq!(
        access(&db, "bob"),
        bob_today,
        "new password and its sessions"
    );
    assert_eq!(access(&db, "cy"), owned("hash-cy", "admin", false));
    assert_eq!(access(&db, "ann"), owned("hash-ann", "super-admin", true));
    assert_eq!(
        access(&db, "dee"),
        None,
        "only today's: as the backup has it"
    );
    assert_eq!(
        report.accounts_kept,
        vec!["bob".to_string(), "cy".to_string()]
    );
    assert_eq!(report.changed_user_ids, vec![dee]);
    // The backup file itself was not touched; the safety backup has today's accounts.
    let backup_now = f.engine.verify(&backup.file_name, false, "t").unwrap();
    assert_eq!(backup_now.state(), BackupState::Verified);
    let in_backup = crate::db::open_immutable(&backup.path).unwrap();
    assert_eq!(
        access_in(&in_backup, "bob"),
        owned("hash-bob", "admin", true)
    );
    let safety = f.engine.find(&report.safety_backup).unwrap();
    let in_safety = crate::db::open_immutable(&safety.path).unwrap();
    assert!(access_in(&in_safety, "dee").is_some());
    assert!(
        f.log()
            .contains("The restore kept today's password, role and disabled flag for: bob, cy"),
        "{}",
        f.log()
    );
    // The report is what the JSON API returns.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["accounts"], "keep_current");
    assert_eq!(json["changed_user_ids"], serde_json::json!([dee]));
}

#[test]
fn as_in_backup_brings_the_backup_accounts_back_and_names_whose_sign_in_changed() {
    let f = fixture();
    let db = f.engine.db().clone();
    let p = add_people(&db);
    let backup = f.make(BackupKind::Manual, "accounts");
    let dee = change_people(&db, &p);
    let options = RestoreOptions {
        accounts: Accounts::AsInBackup,
    };
    let report = f.engine.restore(&backup.file_name, "ann", options).unwrap();
    assert_eq!(report.accounts, Accounts::AsInBackup);
    assert_eq!(access(&db, "bob"), owned("hash-bob", "admin", true));
    assert_eq!(access(&db, "cy"), owned("hash-cy", "staff", true));
    assert_eq!(access(&db, "dee"), None);
    assert!(report.accounts_kept.is_empty());
    assert_eq!(report.changed_user_ids, vec![p.bob, p.cy, dee]);
    assert!(!report.changed_user_ids.contains(&p.ann));
}

#[test]
fn emergency_restore_keeps_todays_accounts_too() {
    let f = fixture();
    let db = f.engine.db().clone();
    let p = add_people(&db);
    f.make(BackupKind::Manual, "accounts");
    change_people(&db, &p);
    let report = f
        .engine
        .emergency_restore("ann", RestoreOptions::default())
        .unwrap();
    assert_eq!(
        report.accounts_kept,
        vec!["bob".to_string(), "cy".to_string()]
    );
    assert_eq!(access(&db, "bob"), owned("hash-bob-new", "admin", true));
}

#[test]
fn compare_accounts_lists_each_difference_without_hashes() {
    let f = fixture();
    let db = f.engine.db().clone();
    let p = add_people(&db);
    let backup = f.make(BackupKind::Manual, "accounts");
    change_people(&db, &p);
    let diff = f.engine.compare_accounts(&backup.file_name).unwrap();
    let lines: Vec<String> = diff
        .iter()
        .map(|d| format!("{}: {}", d.username, d.change))
        .collect();
    assert_eq!(
        lines,
        [
            "bob: password changed since",
            "cy: role now admin, in the backup staff; now disabled, in the backup enabled",
            "dee: added since the backup (staff): it will not exist after the restore",
        ]
    );
    assert!(
        matches!(
            diff[1].change,
            AccountChange::Differs {
                same_account: true,
                ..
            }
        ),
        "{diff:?}"
    );
    let json = serde_json::to_string(&diff).unwrap();
    assert!(!json.contains("hash-"), "{json}");
    assert!(matches!(
        f.engine.compare_accounts("backup_20000101_000000.db"),
        Err(BackupError::NotFound(_))
    ));
}

#[test]
fn an_older_backup_keeps_todays_accounts_too() {
    let f = fixture();
    let db = f.engine.db().clone();
    // Today: "old" changed their password once.
    let id = db
        .with_conn(|c| {
            let id = users::create(c, "old", "hash-new", Role::SuperAdmin)?.id;
            users::set_password_hash(c, id, "hash-newer")?;
            Ok::<_, AuthError>(id)
        })
        .unwrap();
    // A backup from schema version 1 with the same account and its old password.
    let report = f.restore_v1_backup_with((id, "OLD", "hash-old", "staff"));
    assert_eq!(report.schema_version_before_migration, 1);
    assert_eq!(report.accounts_kept, vec!["old".to_string()]);
    // Today's password and role: nothing about signing in changed.
    assert_eq!(access(&db, "old"), owned("hash-newer", "super-admin", true));
    assert!(
        report.changed_user_ids.is_empty(),
        "{:?}",
        report.changed_user_ids
    );
}

/// A data folder with three people, a manual backup of them, and Bob's password changed
/// after it; the program is stopped (nothing has the database open).
fn stopped_folder() -> (tempfile::TempDir, Paths, String) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    let db = Db::open(&paths.db, DbOptions::CLI).unwrap();
    let p = add_people(&db);
    let engine = BackupEngine::new(
        paths.clone(),
        db.clone(),
        Arc::new(RwLock::new(Settings::default())),
    );
    let backup = engine
        .create(&CreateRequest::manual("offline", "t"))
        .unwrap()
        .file_name;
    db.with_conn(|c| users::set_password_hash(c, p.bob, "hash-bob-new"))
        .unwrap();
    drop(engine);
    db.close().unwrap();
    drop(db);
    (dir, paths, backup)
}

/// Restores `backup` from the command line, as `backroom restore` does.
fn restore_stopped(paths: &Paths, backup: String) -> RestoreReport {
    restore_offline(
        paths,
        &OfflineTarget::Named(backup),
        "command line",
        RestoreOptions::default(),
    )
    .unwrap()
}

fn access_on_disk(paths: &Paths, name: &str) -> Option<Access> {
    access_in(&rusqlite::Connection::open(&paths.db).unwrap(), name)
}

#[test]
fn offline_restore_keeps_todays_accounts_when_the_live_database_reads() {
    let (_dir, paths, backup) = stopped_folder();
    let report = restore_stopped(&paths, backup);
    assert_eq!(report.accounts, Accounts::KeepCurrent);
    assert_eq!(report.accounts_not_kept, None);
    assert_eq!(report.accounts_kept, vec!["bob".to_string()]);
    assert!(report.changed_user_ids.is_empty());
    assert_eq!(
        access_on_disk(&paths, "bob"),
        owned("hash-bob-new", "admin", true)
    );
}

#[test]
fn offline_restore_over_a_broken_database_falls_back_to_the_backup_accounts() {
    let (_dir, paths, backup) = stopped_folder();
    std::fs::write(&paths.db, vec![0x42u8; 64 * 1024]).unwrap();
    let report = restore_stopped(&paths, backup);
    assert_eq!(report.accounts, Accounts::AsInBackup);
    let why = report.accounts_not_kept.clone().unwrap();
    assert!(
        why.starts_with("the current database could not be read"),
        "{why}"
    );
    assert!(report.accounts_kept.is_empty());
    assert_eq!(report.changed_user_ids.len(), 3, "every account may differ");
    assert_eq!(
        access_on_disk(&paths, "bob"),
        owned("hash-bob", "admin", true)
    );
    // The broken file was kept as it was.
    assert!(report.safety_backup.starts_with("broken_"));
    assert_eq!(
        std::fs::read(paths.backups.join(&report.safety_backup)).unwrap(),
        vec![0x42u8; 64 * 1024]
    );
    let log = std::fs::read_to_string(paths.backups.join("backup.log")).unwrap();
    assert!(
        log.contains(
            "WARNING - Restore from the command line: the current database could not be read"
        ),
        "{log}"
    );
}

#[test]
fn a_temporary_password_keeps_its_must_change_flag_across_a_restore() {
    let f = fixture();
    let db = f.engine.db().clone();
    let p = add_people(&db);
    let backup = f.make(BackupKind::Manual, "before the reset");
    // An admin gives Bob a temporary password that he must change at his next sign-in.
    db.with_conn(|c| {
        users::set_password_hash(c, p.bob, "hash-bob-temporary")?;
        c.execute(
            "UPDATE users SET must_change_password = 1 WHERE id = ?1",
            [p.bob],
        )?;
        Ok::<_, AuthError>(())
    })
    .unwrap();
    f.engine
        .restore(&backup.file_name, "ann", RestoreOptions::default())
        .unwrap();
    let (hash, flag): (String, i64) = db
        .with_conn(|c| {
            c.query_row(
                "SELECT password_hash, must_change_password FROM users WHERE id = ?1",
                [p.bob],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(DbError::from)
        })
        .unwrap();
    assert_eq!(hash, "hash-bob-temporary");
    assert_eq!(flag, 1, "the temporary password is still temporary");
}
