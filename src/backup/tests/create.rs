//! Making, checking and cleaning up backups.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use super::*;

#[test]
fn manual_backup_has_a_complete_sidecar() {
    let f = fixture();
    let entry = f
        .engine
        .create(&CreateRequest::manual("Before stock-take! ../x", "anna"))
        .unwrap();
    assert!(entry.file_name.starts_with("manual_"));
    assert!(
        entry.file_name.ends_with("_before_stock_take_x.db"),
        "{}",
        entry.file_name
    );
    let sidecar = entry.sidecar.clone().unwrap();
    assert_eq!(sidecar.kind, BackupKind::Manual);
    assert_eq!(sidecar.description, "Before stock-take! ../x");
    assert_eq!(sidecar.created_by, "anna");
    assert_eq!(sidecar.row_counts.get("customers"), Some(&2));
    assert_eq!(sidecar.schema_version, crate::db::SCHEMA_VERSION);
    assert_eq!(sidecar.size, std::fs::metadata(&entry.path).unwrap().len());
    assert_eq!(sidecar.sha256, copy::sha256_file(&entry.path).unwrap().0);
    assert_eq!(sidecar.page_count * sidecar.page_size, sidecar.size as i64);
    assert!(sidecar.verification.ok);
    assert_eq!(entry.state(), BackupState::Verified);
    // A self-contained file: rollback-journal header (bytes 18/19 == 1), no -wal beside it.
    let bytes = std::fs::read(&entry.path).unwrap();
    assert_eq!((bytes[18], bytes[19]), (1, 1));
    assert_eq!(
        backup_looking_files(&f.paths.backups),
        vec![entry.file_name.clone()]
    );
    let log = std::fs::read_to_string(f.paths.backups.join("backup.log")).unwrap();
    assert!(
        log.contains(&format!(
            "INFO - Database backup created: {}",
            entry.file_name
        )),
        "{log}"
    );
}

#[test]
fn copy_is_the_snapshot_while_another_thread_keeps_writing() {
    let f = fixture();
    let db = f.engine.db().clone();
    db.with_conn(|c| {
        c.execute_batch("CREATE TABLE filler (id INTEGER PRIMARY KEY, pad BLOB);")?;
        let tx = c.transaction()?;
        for _ in 0..20_000 {
            tx.execute("INSERT INTO filler (pad) VALUES (zeroblob(500))", [])?;
        }
        tx.commit().map_err(DbError::from)
    })
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicI64::new(0));
    let writer = {
        let (db, stop, written) = (db.clone(), stop.clone(), written.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                db.with_conn(|c| {
                    c.execute("INSERT INTO filler (pad) VALUES (zeroblob(100))", [])
                        .map_err(DbError::from)
                })
                .unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while written.load(Ordering::Relaxed) < 50 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer made no progress"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let guard = f.engine.begin(Operation::Backup, "test").unwrap();
    let before = written.load(Ordering::SeqCst);
    let mut at_snapshot = None;
    let db_for_snapshot = db.clone();
    let entry = f
        .engine
        .create_locked(
            &guard,
            &CreateRequest::manual("under load", "test"),
            &mut || at_snapshot = Some(written.load(Ordering::SeqCst)),
        )
        .unwrap();
    drop(guard);
    let during = written.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let _ = db_for_snapshot;
    assert!(
        during > at_snapshot.unwrap(),
        "the writer kept committing during the backup"
    );
    let copy = crate::db::open_immutable(&entry.path).unwrap();
    let copied: i64 = copy
        .query_row("SELECT count(*) FROM filler", [], |r| r.get(0))
        .unwrap();
    // The copy is one snapshot, taken between the start of the call and the snapshot callback
    // (one insert may have been committing at that instant).
    let low = 20_000 + before;
    let high = 20_000 + at_snapshot.unwrap() + 1;
    assert!(
        (low..=high).contains(&copied),
        "copy has {copied}, expected {low}..={high}"
    );
    let ids: i64 = copy
        .query_row("SELECT max(id) FROM filler", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ids, copied, "no gaps: the copy is a prefix of the history");
    assert_eq!(entry.sidecar.unwrap().row_counts["filler"], copied);
    assert!(count(&db, "filler") > copied);
}

#[test]
fn same_second_backups_get_distinct_names() {
    let f = fixture();
    let a = f
        .engine
        .create(&CreateRequest::manual("same", "t"))
        .unwrap();
    let b = f
        .engine
        .create(&CreateRequest::manual("same", "t"))
        .unwrap();
    let c = f
        .engine
        .create(&CreateRequest::manual("same", "t"))
        .unwrap();
    assert_ne!(a.file_name, b.file_name);
    assert_ne!(b.file_name, c.file_name);
    assert_eq!(f.engine.list().unwrap().len(), 3);
}

#[test]
fn second_operation_is_refused_while_one_runs() {
    let f = fixture();
    let guard = f.engine.begin(Operation::Backup, "x").unwrap();
    let err = f
        .engine
        .create(&CreateRequest::manual("", "t"))
        .unwrap_err();
    assert!(err.is_busy());
    assert!(
        err.to_string().starts_with("a backup is already running"),
        "{err}"
    );
    // Another engine (another process would be the same) sees the folder lock.
    let other = BackupEngine::new(f.paths.clone(), f.engine.db().clone(), f.settings.clone());
    assert!(matches!(
        other.create(&CreateRequest::manual("", "t")),
        Err(BackupError::BusyElsewhere { .. })
    ));
    drop(guard);
    assert!(f.engine.create(&CreateRequest::manual("", "t")).is_ok());
}

#[cfg(unix)]
#[test]
fn read_only_folder_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture();
    f.engine.create(&CreateRequest::manual("ok", "t")).unwrap();
    let before = backup_looking_files(&f.paths.backups);
    let mount = if unsafe_is_root() {
        // Permission bits do not stop root: put a read-only file system over the folder.
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&f.paths.backups)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("read-only folder: cannot mount here as root; skipped");
            return;
        }
        true
    } else {
        std::fs::set_permissions(&f.paths.backups, std::fs::Permissions::from_mode(0o555)).unwrap();
        false
    };
    let err = f.engine.create(&CreateRequest::manual("fails", "t"));
    let listed_while_read_only = backup_looking_files(&f.paths.backups);
    if mount {
        let _ = std::process::Command::new("umount")
            .arg(&f.paths.backups)
            .status();
    } else {
        std::fs::set_permissions(&f.paths.backups, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let err = err.unwrap_err();
    // Said in words (the OS's "Read-only file system" / "Permission denied" become these).
    let said = err.to_string().to_lowercase();
    assert!(
        said.contains("read-only") || said.contains("not allowed"),
        "{err}"
    );
    assert!(!said.contains("os error"), "{err}");
    assert!(
        !f.engine.last_attempt().unwrap().ok,
        "recorded as a failed backup"
    );
    assert!(listed_while_read_only.is_empty() || listed_while_read_only == before);
    assert_eq!(
        backup_looking_files(&f.paths.backups),
        before,
        "nothing new, nothing lost"
    );
}

#[cfg(unix)]
fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn integrity_failure_leaves_no_backup_and_keeps_the_old_startup_backup() {
    let f = fixture();
    let startup = CreateRequest {
        kind: BackupKind::Startup,
        description: String::new(),
        created_by: "startup".into(),
    };
    let good = f.engine.create(&startup).unwrap();
    let good_sha = good.sidecar.unwrap().sha256;
    // Corrupt the live database underneath a closed pool, then reopen it.
    {
        let mut ex = f.engine.db().exclusive();
        ex.close_all(Duration::from_secs(5)).unwrap();
        corrupt_table_pages(&f.paths.db);
        ex.reopen().unwrap();
    }
    let err = f.engine.create(&startup).unwrap_err();
    assert!(matches!(err, BackupError::Integrity(_)), "{err}");
    let kept = f.engine.find("startup_backup.db").unwrap();
    assert_eq!(kept.sidecar.unwrap().sha256, good_sha);
    assert_eq!(
        backup_looking_files(&f.paths.backups),
        vec!["startup_backup.db".to_string()]
    );
    let last = f.engine.last_attempt().unwrap();
    assert!(!last.ok);
    assert_eq!(
        f.engine.health(chrono::Utc::now()).level,
        health::HealthLevel::Red
    );
    let log = std::fs::read_to_string(f.paths.backups.join("backup.log")).unwrap();
    assert!(
        log.contains(
            "ERROR - Database backup (startup) failed: the copy failed its integrity check"
        ),
        "{log}"
    );
}

#[test]
fn leftover_temp_files_are_removed_at_start() {
    let f = fixture();
    std::fs::create_dir_all(&f.paths.backups).unwrap();
    let leftover = f.paths.backups.join(".tmp-deadbeef.db");
    std::fs::write(&leftover, b"partial").unwrap();
    let restore_leftover = f.paths.data_dir.join(".restore-cafe.db");
    std::fs::write(&restore_leftover, b"partial").unwrap();
    f.engine.clean_leftovers();
    assert!(!leftover.exists());
    assert!(!restore_leftover.exists());
    // Not while another holder of the lock might be writing them.
    std::fs::write(&leftover, b"partial").unwrap();
    let guard = f.engine.begin(Operation::Backup, "x").unwrap();
    let other = BackupEngine::new(f.paths.clone(), f.engine.db().clone(), f.settings.clone());
    other.clean_leftovers();
    assert!(leftover.exists());
    drop(guard);
}

#[test]
fn free_space_check_passes_on_a_roomy_disk() {
    // The refusal itself is tested on a real small file system in the fault suite.
    let f = fixture();
    f.engine.ensure_dir().unwrap();
    assert!(f.engine.check_free_space().is_ok());
}

#[test]
fn verify_detects_a_flipped_byte_and_rebuilds_a_lost_sidecar() {
    let f = fixture();
    let entry = f.engine.create(&CreateRequest::manual("v", "t")).unwrap();
    // Lost sidecar: listed as unverified, verify makes a new record.
    std::fs::remove_file(catalog::sidecar_path(&entry.path)).unwrap();
    let listed = f.engine.find(&entry.file_name).unwrap();
    assert!(matches!(listed.state(), BackupState::Unverified(_)));
    let verified = f.engine.verify(&entry.file_name, false, "t").unwrap();
    assert_eq!(verified.state(), BackupState::Verified);
    // Flip one byte in the middle.
    let mut bytes = std::fs::read(&entry.path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&entry.path, bytes).unwrap();
    let checked = f.engine.verify(&entry.file_name, false, "t").unwrap();
    assert!(
        matches!(checked.state(), BackupState::Failed(_)),
        "{:?}",
        checked.state()
    );
    assert!(checked.state().reason().contains("SHA-256"));
}

#[test]
fn scheduler_fires_and_logs() {
    let f = fixture();
    let scheduler =
        scheduler::Scheduler::start(f.engine.clone(), Some(Duration::from_secs(1))).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while f
        .engine
        .list()
        .unwrap()
        .iter()
        .all(|e| e.kind() != BackupKind::Automatic)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no automatic backup within 15 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let info = scheduler.info();
    assert!(info.active);
    assert!(info.next_run.is_some());
    scheduler.reschedule(None);
    assert!(!scheduler.info().active);
    scheduler.stop();
    let log = std::fs::read_to_string(f.paths.backups.join("backup.log")).unwrap();
    assert!(log.contains("Automatic backup scheduler started"));
    assert!(log.contains("Database backup created: backup_"));
    assert!(log.contains("by scheduler"));
    assert!(log.contains("Automatic backup scheduler stopped"));
}
