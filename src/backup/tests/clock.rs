//! The engine reads the time from its clock: names, records and ages follow it, so no test
//! waits for the wall clock to move.

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
