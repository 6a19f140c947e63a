//! The engine reads the time from its clock: names, records and ages follow it, so no test
//! waits for the wall clock to move.

use std::time::Duration;

use chrono::{Local, TimeZone, Utc};

use super::*;
use crate::clock::Clock;

fn automatic() -> CreateRequest {
    CreateRequest {
        kind: BackupKind::Automatic,
        description: String::new(),
        created_by: "scheduler".into(),
    }
}

#[test]
fn names_and_records_follow_the_engine_clock() {
    let f = fixture();
    let at = Local
        .with_ymd_and_hms(2025, 9, 22, 14, 30, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    f.clock.set(at);
    let first = f.engine.create(&automatic()).unwrap();
    assert_eq!(first.file_name, "backup_20250922_143000.db");
    assert_eq!(first.created_at(), at);
    assert_eq!(first.sidecar.unwrap().verification.checked_at, at);
    // The same second again: a sequence number, not a wait.
    let second = f.engine.create(&automatic()).unwrap();
    assert_eq!(second.file_name, "backup_20250922_143000-2.db");
    f.clock.advance(chrono::Duration::seconds(1));
    let third = f.engine.create(&automatic()).unwrap();
    assert_eq!(third.file_name, "backup_20250922_143001.db");
    assert_eq!(
        f.names(),
        vec![
            third.file_name.clone(),
            second.file_name.clone(),
            first.file_name.clone()
        ],
        "newest first, by the clock and the sequence number"
    );
    assert_eq!(
        f.engine.last_attempt().unwrap().at,
        at + chrono::Duration::seconds(1)
    );
}

#[test]
fn health_ages_count_from_the_clock() {
    let f = fixture();
    f.make(BackupKind::Manual, "now");
    let now = f.clock.now();
    assert_eq!(f.engine.health(now).level, health::HealthLevel::Green);
    // Automatic backups every 6 hours: more than two intervals without one is amber.
    f.engine.invalidate_health();
    let health = f.engine.health(now + chrono::Duration::hours(13));
    assert_eq!(
        health.level,
        health::HealthLevel::Amber,
        "{}",
        health.message
    );
    assert!(
        health.message.starts_with("Last backup is"),
        "{}",
        health.message
    );
}

#[test]
fn health_is_amber_while_automatic_backups_are_off() {
    let f = fixture();
    f.make(BackupKind::Manual, "now");
    f.settings.write().unwrap().interval_hours = 0;
    f.engine.invalidate_health();
    let health = f.engine.health(f.clock.now());
    assert_eq!(health.level, health::HealthLevel::Amber);
    assert!(
        health.message.starts_with("Automatic backups are off"),
        "{}",
        health.message
    );
}

#[test]
fn the_progress_of_an_operation_starts_at_the_clock_time() {
    let f = fixture();
    let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).single().unwrap();
    f.clock.set(at);
    let guard = f.engine.begin(Operation::Verification, "x").unwrap();
    let progress = f.engine.progress().unwrap();
    assert_eq!(progress.started_at, at);
    assert_eq!(progress.operation, Operation::Verification);
    assert_eq!(progress.phase, Phase::Starting);
    drop(guard);
    assert!(f.engine.progress().is_none());
}

#[test]
fn a_backup_made_while_the_clock_was_ahead_never_stays_the_newest() {
    let f = fixture();
    let today = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap();
    f.clock.set(today);
    let before = f.engine.create(&automatic()).unwrap();
    // A week with the clock a year ahead, then put right.
    f.clock.set(today + chrono::Duration::days(365));
    let ahead = f.engine.create(&automatic()).unwrap();
    f.clock.set(today + chrono::Duration::hours(1));
    add_customer(f.engine.db(), "Made after the clock was put right");
    let after = f.engine.create(&automatic()).unwrap();
    assert_eq!(
        f.names(),
        vec![
            after.file_name.clone(),
            ahead.file_name.clone(),
            before.file_name.clone()
        ],
        "newest first by the order they were made in, not by date"
    );
    let entries = f.engine.list().unwrap();
    assert_eq!(
        catalog::emergency_choice(&entries).map(|e| e.file_name.clone()),
        Some(after.file_name.clone()),
        "emergency restore and --latest take the last one made"
    );
    let now = f.clock.now();
    assert!(entries[1].dated_in_future(now), "flagged");
    assert!(!entries[0].dated_in_future(now));
    // Retention removes the oldest made first: with a cap of two the one made before goes,
    // never today's.
    f.set_max_backups(2);
    f.clock.advance(chrono::Duration::minutes(1));
    let last = f.engine.create(&automatic()).unwrap();
    assert_eq!(
        f.names(),
        vec![last.file_name.clone(), after.file_name.clone()],
        "the backup dated a year ahead goes before today's"
    );
}

#[test]
fn an_automatic_backup_that_fell_due_while_stopped_runs_at_once() {
    let f = fixture();
    let made = f.make(BackupKind::Manual, "before closing");
    // Two hours later: due four hours from now, six after the last backup.
    f.clock.advance(chrono::Duration::hours(2));
    let interval = Duration::from_secs(6 * 3600);
    let scheduler = scheduler::Scheduler::start(f.engine.clone(), Some(interval)).unwrap();
    assert_eq!(
        scheduler.info().next_run,
        Some(made.created_at() + chrono::Duration::hours(6))
    );
    scheduler.stop();
    // Seven hours after the last backup: overdue, so it runs now, not six hours from start.
    f.clock.advance(chrono::Duration::hours(5));
    let scheduler = scheduler::Scheduler::start(f.engine.clone(), Some(interval)).unwrap();
    assert!(
        scheduler
            .info()
            .next_run
            .is_some_and(|t| t <= f.clock.now())
    );
    wait_until(
        "the overdue automatic backup",
        Duration::from_secs(15),
        || {
            f.engine
                .list()
                .unwrap()
                .iter()
                .any(|e| e.kind() == BackupKind::Automatic)
        },
    );
    let made_at = f.clock.now();
    wait_until(
        "the next run worked out again",
        Duration::from_secs(15),
        || scheduler.info().next_run == Some(made_at + chrono::Duration::hours(6)),
    );
    scheduler.stop();
}

#[test]
fn a_backup_whose_record_is_lost_keeps_its_place_by_date() {
    let f = fixture();
    let a = f.make(BackupKind::Manual, "a");
    let b = f.make(BackupKind::Manual, "b");
    let c = f.make(BackupKind::Manual, "c");
    std::fs::remove_file(catalog::sidecar_path(&c.path)).unwrap();
    assert_eq!(
        f.names(),
        vec![c.file_name, b.file_name, a.file_name],
        "the newest by date stays first though its place in the order is gone"
    );
}
