//! Restores on real files: in place, refused, emergency, older schemas.

use super::*;

#[test]
fn restore_puts_the_backup_in_place_and_keeps_a_safety_backup() {
    let f = fixture();
    let db = f.engine.db().clone();
    let entry = f
        .engine
        .create(&CreateRequest::manual("two customers", "t"))
        .unwrap();
    add_customer(&db, "Cy");
    assert_eq!(count(&db, "customers"), 3);
    let report = f
        .engine
        .restore(&entry.file_name, "boss", RestoreOptions::default())
        .unwrap();
    assert_eq!(count(&db, "customers"), 2);
    assert!(report.safety_backup.starts_with("pre_restore_"));
    let safety = f.engine.find(&report.safety_backup).unwrap();
    assert_eq!(safety.state(), BackupState::Verified);
    assert_eq!(safety.sidecar.unwrap().row_counts["customers"], 3);
    let bytes = std::fs::read(&safety.path).unwrap();
    assert_eq!(
        (bytes[18], bytes[19]),
        (1, 1),
        "safety backup is a single-file database"
    );
    // The live database is healthy and in WAL mode again.
    assert!(f.engine.check_live_db(true).ok);
    let log = std::fs::read_to_string(f.paths.backups.join("backup.log")).unwrap();
    assert!(log.contains(&format!(
        "Database restored from {} by boss (safety backup: pre_restore_",
        entry.file_name
    )));
}

#[test]
fn restore_refuses_a_corrupted_backup_before_changing_anything() {
    let f = fixture();
    let db = f.engine.db().clone();
    let entry = f.engine.create(&CreateRequest::manual("c", "t")).unwrap();
    add_customer(&db, "Cy");
    let mut bytes = std::fs::read(&entry.path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5A;
    }
    std::fs::write(&entry.path, bytes).unwrap();
    let before: Vec<String> = backup_looking_files(&f.paths.backups);
    let err = f
        .engine
        .restore(&entry.file_name, "boss", RestoreOptions::default())
        .unwrap_err();
    assert!(matches!(err, BackupError::VerifyFailed { .. }), "{err}");
    assert_eq!(count(&db, "customers"), 3);
    assert_eq!(
        backup_looking_files(&f.paths.backups),
        before,
        "no safety backup was added"
    );
    assert!(!std::fs::read_dir(&f.paths.data_dir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(crate::backup::restore::RESTORE_TEMP_PREFIX)
    }));
}

#[test]
fn emergency_restore_skips_a_corrupted_newest_backup() {
    let f = fixture();
    let db = f.engine.db().clone();
    let good = f
        .engine
        .create(&CreateRequest::manual("good", "t"))
        .unwrap();
    add_customer(&db, "Cy");
    // Newer by a second on the engine's clock, so it is the one emergency restore tries first.
    f.clock.advance(chrono::Duration::seconds(1));
    let bad = f.engine.create(&CreateRequest::manual("bad", "t")).unwrap();
    let len = std::fs::metadata(&bad.path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&bad.path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let report = f
        .engine
        .emergency_restore("boss", RestoreOptions::default())
        .unwrap();
    assert_eq!(report.restored, good.file_name);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].0, bad.file_name);
    assert_eq!(count(&db, "customers"), 2);
}

#[test]
fn restore_of_an_older_schema_is_migrated_forward() {
    let f = fixture();
    let report = f.restore_v1_backup_with((1, "old", "h", "super-admin"));
    assert_eq!(report.schema_version_before_migration, 1);
    let version = f
        .engine
        .db()
        .with_conn(|c| crate::db::user_version(c).map_err(DbError::from))
        .unwrap();
    assert_eq!(version, crate::db::SCHEMA_VERSION);
    assert_eq!(count(f.engine.db(), "users"), 1);
    assert_eq!(count(f.engine.db(), "customers"), 0);
}
