//! Keep marks: set and removed under the operation lock, recorded in the sidecar, logged, and
//! respected by deletion.

use super::*;

#[test]
fn set_keep_round_trip_is_recorded_and_logged() {
    let f = fixture();
    let entry = f.make(BackupKind::Manual, "keep me");
    assert!(!entry.keep());
    let kept = f.engine.set_keep(&entry.file_name, true, "anna").unwrap();
    assert!(kept.keep());
    // In the record on disk, and a re-verification leaves it there.
    let verified = f.engine.verify(&entry.file_name, false, "t").unwrap();
    assert!(verified.keep());
    assert_eq!(verified.state(), BackupState::Verified);
    assert!(
        f.log().contains(&format!(
            "INFO - Backup marked Keep: {} by anna",
            entry.file_name
        )),
        "{}",
        f.log()
    );
    // Marking it again changes nothing and logs nothing.
    f.engine.set_keep(&entry.file_name, true, "anna").unwrap();
    assert_eq!(f.log().matches("Backup marked Keep").count(), 1);
    let unkept = f.engine.set_keep(&entry.file_name, false, "boss").unwrap();
    assert!(!unkept.keep());
    assert!(!f.engine.find(&entry.file_name).unwrap().keep());
    assert!(
        f.log().contains(&format!(
            "INFO - Keep mark removed from {} by boss",
            entry.file_name
        )),
        "{}",
        f.log()
    );
}

#[test]
fn a_backup_without_a_record_is_verified_before_it_is_kept() {
    let f = fixture();
    let entry = f.make(BackupKind::Manual, "lost record");
    std::fs::remove_file(catalog::sidecar_path(&entry.path)).unwrap();
    let kept = f.engine.set_keep(&entry.file_name, true, "anna").unwrap();
    assert!(kept.keep());
    assert_eq!(kept.state(), BackupState::Verified);
    assert_eq!(kept.created_by(), "unknown", "a rebuilt record");
    assert!(f.log().contains("Backup verified:"), "{}", f.log());
}

#[test]
fn the_startup_backup_cannot_be_kept() {
    let f = fixture();
    let startup = f.make(BackupKind::Startup, "");
    let err = f
        .engine
        .set_keep(&startup.file_name, true, "anna")
        .unwrap_err();
    assert!(matches!(err, BackupError::StartupCannotBeKept), "{err}");
    assert!(!f.engine.find(&startup.file_name).unwrap().keep());
    // Removing a mark is always allowed.
    assert!(
        !f.engine
            .set_keep(&startup.file_name, false, "anna")
            .unwrap()
            .keep()
    );
}

#[test]
fn records_from_before_the_keep_mark_read_as_not_kept() {
    let f = fixture();
    let entry = f.make(BackupKind::Manual, "old record");
    let path = catalog::sidecar_path(&entry.path);
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(json.as_object_mut().unwrap().remove("keep").is_some());
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let read = f.engine.find(&entry.file_name).unwrap();
    assert!(read.sidecar.is_some(), "{:?}", read.sidecar_problem);
    assert!(!read.keep());
    assert_eq!(read.state(), BackupState::Verified);
    assert!(
        f.engine
            .set_keep(&entry.file_name, true, "anna")
            .unwrap()
            .keep()
    );
}

#[test]
fn a_kept_backup_cannot_be_deleted_until_the_mark_is_removed() {
    let f = fixture();
    let older = f.make(BackupKind::Manual, "older");
    let newer = f.make(BackupKind::Manual, "newer");
    f.engine.set_keep(&older.file_name, true, "boss").unwrap();
    let err = f.engine.delete(&older.file_name, "admin").unwrap_err();
    assert!(matches!(&err, BackupError::Kept(name) if *name == older.file_name));
    assert_eq!(
        err.to_string(),
        format!(
            "{} is marked Keep: a super-admin must remove the mark before it can be deleted",
            older.file_name
        )
    );
    assert!(older.path.exists());
    // The newest backup stays whatever its mark.
    assert!(matches!(
        f.engine.delete(&newer.file_name, "admin"),
        Err(BackupError::NewestCannotBeDeleted)
    ));
    f.engine.set_keep(&older.file_name, false, "boss").unwrap();
    f.engine.delete(&older.file_name, "admin").unwrap();
    assert!(!older.path.exists());
    assert!(!catalog::sidecar_path(&older.path).exists());
}
