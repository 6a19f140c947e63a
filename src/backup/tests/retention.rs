//! Retention on real files: the cap, the newest of each kind, Keep marks.

use super::*;

#[test]
fn cap_keeps_exactly_the_ten_newest_with_their_sidecars() {
    let f = fixture();
    let mut made = Vec::new();
    for i in 0..15 {
        // A second apart on the engine's clock, so "newest" is well defined.
        f.clock.advance(chrono::Duration::seconds(1));
        made.push(
            f.engine
                .create(&CreateRequest::manual(&format!("n{i}"), "t"))
                .unwrap()
                .file_name,
        );
    }
    let mut names: Vec<String> = f
        .engine
        .list()
        .unwrap()
        .into_iter()
        .map(|e| e.file_name)
        .collect();
    names.sort();
    let mut expected: Vec<String> = made[5..].to_vec();
    expected.sort();
    assert_eq!(names, expected);
    let sidecars = std::fs::read_dir(&f.paths.backups)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".db.json"))
        .count();
    assert_eq!(sidecars, 10);
    let log = std::fs::read_to_string(f.paths.backups.join("backup.log")).unwrap();
    assert_eq!(log.matches("Backup removed by retention").count(), 5);
}

#[test]
fn retention_keeps_the_newest_of_each_kind_and_kept_backups_over_the_cap() {
    let f = fixture();
    f.set_max_backups(3);
    let startup = f.make(BackupKind::Startup, "");
    let automatic = f.make(BackupKind::Automatic, "");
    let safety = f.make(BackupKind::PreRestore, "");
    let one = f.make(BackupKind::Manual, "one");
    f.engine.set_keep(&one.file_name, true, "boss").unwrap();
    let two = f.make(BackupKind::Manual, "two");
    let three = f.make(BackupKind::Manual, "three");
    // Five in the history (the safety copy is counted apart) and a cap of three: only `two`
    // may go; the rest are the newest of their kind or kept, so the cap is exceeded instead.
    assert_eq!(
        f.names(),
        vec![
            three.file_name.clone(),
            one.file_name.clone(),
            safety.file_name.clone(),
            automatic.file_name.clone(),
            startup.file_name.clone(),
        ]
    );
    let log = f.log();
    assert!(log.contains(&format!("Backup removed by retention: {}", two.file_name)));
    assert_eq!(
        log.matches("Backup removed by retention").count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("1 more backups than the cap of 3 are kept"),
        "{log}"
    );
    // The next automatic backup replaces the automatic one as the newest of its kind.
    let outlook = f.engine.retention_outlook().unwrap();
    assert_eq!(
        outlook.next_automatic_pushes_out.as_deref(),
        Some(automatic.file_name.as_str())
    );
    assert_eq!(outlook.over_cap_by, 1);
    let next = f.make(BackupKind::Automatic, "");
    assert_eq!(
        f.names(),
        vec![
            next.file_name.clone(),
            three.file_name.clone(),
            one.file_name.clone(),
            safety.file_name.clone(),
            startup.file_name.clone(),
        ]
    );
}

#[test]
fn a_backup_an_operation_reads_is_not_removed_by_retention() {
    let f = fixture();
    f.set_max_backups(2);
    let first = f.make(BackupKind::Manual, "first");
    let second = f.make(BackupKind::Manual, "second");
    let pin = f.engine.pin(&first.file_name);
    let third = f.make(BackupKind::Manual, "third");
    // The one in use stays; the next oldest goes instead.
    assert_eq!(
        f.names(),
        vec![third.file_name.clone(), first.file_name.clone()]
    );
    assert!(!second.path.exists());
    drop(pin);
    let fourth = f.make(BackupKind::Manual, "fourth");
    assert_eq!(f.names(), vec![fourth.file_name, third.file_name]);
}
