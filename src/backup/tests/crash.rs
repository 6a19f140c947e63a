//! Crash windows: a safety backup that cannot be named, an offline restore whose swap fails,
//! and a hot `-journal` left beside the live file. Each failure is forced (a refused rename)
//! or crafted (the files a crash leaves), and the test proves what survives.

use std::path::{Path, PathBuf};

use super::*;
use crate::backup::restore::{OfflineTarget, SAFETY_TEMP_PREFIX, restore_offline};
use crate::fsutil::faults::refuse_renames_to;

fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn customers_in(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    crate::db::check_integrity(&conn, true).unwrap();
    conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap()
}

/// A stopped data folder (for the command-line restore) holding a copy of `entry` and its
/// record; its live database is for the test to craft.
fn stopped_folder(entry: &BackupEntry) -> (tempfile::TempDir, Paths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    std::fs::create_dir_all(&paths.backups).unwrap();
    let name = &entry.file_name;
    std::fs::copy(&entry.path, paths.backups.join(name)).unwrap();
    let record = beside(&entry.path, ".json");
    std::fs::copy(&record, paths.backups.join(format!("{name}.json"))).unwrap();
    (dir, paths)
}

/// What a crash in the middle of a rollback-journal transaction leaves at `dest` (the file
/// was out of WAL mode, e.g. after `sqlite3` use): the database with uncommitted pages
/// written into it, and the hot `-journal` that undoes them. Committed: the data of `src`.
fn crash_with_hot_journal(src: &Path, dest: &Path) {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("w.db");
    std::fs::copy(src, &db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    // A tiny cache makes SQLite write changed pages into the file before the commit.
    conn.execute_batch(
        "PRAGMA cache_size=2; BEGIN;
         INSERT INTO customers (name, created_at, updated_at)
           WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
           SELECT 'never committed ' || hex(randomblob(100)), 'x', 'x' FROM n;
         UPDATE customers SET name = name || ' (changed)';",
    )
    .unwrap();
    let journal = beside(&db, "-journal");
    assert!(
        std::fs::metadata(&journal).unwrap().len() > 0,
        "a hot journal"
    );
    std::fs::copy(&journal, beside(dest, "-journal")).unwrap();
    std::fs::copy(&db, dest).unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn a_safety_backup_that_cannot_be_named_survives_the_start_up_sweep() {
    let f = fixture();
    let entry = f.make(BackupKind::Manual, "two customers");
    // An interrupted restore's safety link that is no longer the live file: the only copy
    // of the data before that restore.
    let safety = f
        .paths
        .backups
        .join(format!("{SAFETY_TEMP_PREFIX}0123abcd.db"));
    std::fs::copy(&entry.path, &safety).unwrap();
    // Its (empty) -wal, and the -wal of one named before a crash.
    std::fs::write(beside(&safety, "-wal"), b"").unwrap();
    let orphan = f
        .paths
        .backups
        .join(format!("{SAFETY_TEMP_PREFIX}ffff0000.db-wal"));
    std::fs::write(&orphan, b"").unwrap();
    {
        let _refused = refuse_renames_to("pre_restore_");
        f.engine.clean_leftovers();
    }
    assert!(
        safety.exists(),
        "the sweep removed the only pre-restore copy"
    );
    assert!(
        f.log()
            .contains("It stays as it is and is tried again at the next start"),
        "{}",
        f.log()
    );
    // The next start names it.
    f.engine.clean_leftovers();
    assert!(!safety.exists());
    assert!(!beside(&safety, "-wal").exists());
    let kept: Vec<String> = f
        .names()
        .into_iter()
        .filter(|n| n.starts_with("pre_restore_"))
        .collect();
    assert_eq!(kept.len(), 1, "{:?}", f.names());
    assert_eq!(customers_in(&f.paths.backups.join(&kept[0])), 2);
}

#[test]
fn an_offline_restore_whose_swap_fails_keeps_the_commits_still_in_the_wal() {
    let f = fixture();
    let db = f.engine.db().clone();
    let entry = f.make(BackupKind::Manual, "two customers");
    add_customer(&db, "Cy");
    let (_dir, paths) = stopped_folder(&entry);
    // The live files as a crash leaves them: Cy is committed, but only in the -wal.
    std::fs::copy(&f.paths.db, &paths.db).unwrap();
    std::fs::copy(f.paths.db_sidecar("-wal"), paths.db_sidecar("-wal")).unwrap();
    let alone = paths.data_dir.join("main-file-alone.db");
    std::fs::copy(&paths.db, &alone).unwrap();
    let in_main_file = rusqlite::Connection::open(&alone)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM customers WHERE name = 'Cy'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0);
    assert_eq!(in_main_file, 0, "Cy is not in the main file yet");
    std::fs::remove_file(&alone).unwrap();

    let err = {
        let _refused = refuse_renames_to(crate::config::DB_FILE);
        restore_offline(
            &paths,
            &OfflineTarget::Named(entry.file_name.clone()),
            "boss",
            RestoreOptions::default(),
        )
        .unwrap_err()
    };
    assert!(
        err.to_string().contains("cannot put the backup in place"),
        "{err}"
    );
    assert_eq!(customers_in(&paths.db), 3, "the failed swap lost Cy");
}

#[test]
fn an_offline_restore_never_lets_an_old_journal_roll_back_onto_the_restored_file() {
    let f = fixture();
    let db = f.engine.db().clone();
    let two = f.make(BackupKind::Manual, "two customers");
    for i in 0..300 {
        add_customer(&db, &format!("Customer {i}"));
    }
    let more = f.make(BackupKind::Manual, "302 customers");
    let (_dir, paths) = stopped_folder(&two);
    crash_with_hot_journal(&more.path, &paths.db);

    let report = restore_offline(
        &paths,
        &OfflineTarget::Named(two.file_name.clone()),
        "boss",
        RestoreOptions::default(),
    )
    .unwrap();
    assert!(!beside(&paths.db, "-journal").exists());
    assert_eq!(customers_in(&paths.db), 2, "exactly the backup's data");
    // The raw copy kept the journal beside it: opened, it is the data as committed.
    let raw = paths.backups.join(&report.safety_backup);
    assert!(report.safety_backup.starts_with("broken_"), "{report:?}");
    assert!(beside(&raw, "-journal").exists());
    assert_eq!(customers_in(&raw), 302);
}

#[test]
fn a_hot_journal_left_by_a_crash_is_rolled_back_at_start_never_removed() {
    let f = fixture();
    let entry = f.make(BackupKind::Manual, "two customers");
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    crash_with_hot_journal(&entry.path, &paths.db);
    BackupFolder::new(paths.clone(), f.settings.clone()).clean_leftovers();
    assert!(
        beside(&paths.db, "-journal").exists(),
        "the start-up sweep leaves the journal to SQLite"
    );
    let db = Db::open(&paths.db, DbOptions::SERVER).unwrap();
    assert_eq!(count(&db, "customers"), 2, "the crashed change was undone");
    db.close().unwrap();
    assert!(!beside(&paths.db, "-journal").exists());
    assert_eq!(customers_in(&paths.db), 2);
}
