//! Issue 22: the health line compares the live data with the backups; an empty backup is
//! never the emergency choice while one with shop records exists.

use super::*;
use crate::backup::health::HealthLevel;
use crate::clock::Clock;

fn live(f: &Fixture, sql: &str) {
    f.engine
        .db()
        .with_conn(|c| c.execute_batch(sql).map_err(DbError::from))
        .unwrap();
}

fn health(f: &Fixture) -> health::Health {
    f.engine.invalidate_health();
    f.engine.health(f.clock.now())
}

#[test]
fn the_health_line_never_says_protected_for_changes_in_no_backup() {
    let f = fixture();
    f.make(BackupKind::Manual, "now");
    let h = health(&f);
    assert_eq!(h.level, HealthLevel::Green, "{}", h.message);
    assert!(h.message.starts_with("Protected"), "{}", h.message);

    // An edit (no new row) is a change too.
    live(&f, "UPDATE customers SET name = 'Anne' WHERE name = 'Ann'");
    let h = health(&f);
    assert!(!h.message.contains("Protected"), "{}", h.message);
    assert!(h.message.contains("in no backup"), "{}", h.message);

    // Backed up again: protected again.
    f.make(BackupKind::Manual, "after the edit");
    assert!(health(&f).message.starts_with("Protected"));

    // Back to data an older backup holds (a restore): in a backup, so protected.
    let older = f.engine.list().unwrap()[1].file_name.clone();
    f.engine
        .restore(&older, "boss", RestoreOptions::default())
        .unwrap();
    let h = health(&f);
    assert!(h.message.starts_with("Protected"), "{}", h.message);
}

#[test]
fn a_shop_whose_only_backup_is_empty_is_amber() {
    let f = fixture();
    live(&f, "DELETE FROM customers");
    f.make(BackupKind::Startup, "");
    assert_eq!(health(&f).level, HealthLevel::Green);
    live(
        &f,
        "INSERT INTO products (sku, name, price_cents, created_at, updated_at) VALUES ('T', 'Tea', 100, 'x', 'x')",
    );
    let h = health(&f);
    assert_eq!(h.level, HealthLevel::Amber, "{}", h.message);
    assert!(
        h.message
            .starts_with("Your shop's data is in no backup yet"),
        "{}",
        h.message
    );
}

#[test]
fn an_empty_backup_is_never_the_emergency_choice_while_one_with_records_exists() {
    let f = fixture();
    let with_records = f.make(BackupKind::Manual, "with customers");
    live(&f, "DELETE FROM customers");
    let empty = f.make(BackupKind::Manual, "empty");
    let entries = f.engine.list().unwrap();
    assert_eq!(entries[0].file_name, empty.file_name);
    assert_eq!(
        catalog::emergency_choice(&entries).map(|e| e.file_name.clone()),
        Some(with_records.file_name.clone())
    );
    let report = f
        .engine
        .emergency_restore("boss", RestoreOptions::default())
        .unwrap();
    assert_eq!(report.restored, with_records.file_name);

    // With no backup holding records, the newest empty one is the choice.
    let g = fixture();
    g.engine
        .db()
        .with_conn(|c| {
            c.execute_batch("DELETE FROM customers")
                .map_err(DbError::from)
        })
        .unwrap();
    let only = g.make(BackupKind::Manual, "empty");
    let entries = g.engine.list().unwrap();
    assert_eq!(
        catalog::emergency_choice(&entries).map(|e| e.file_name.clone()),
        Some(only.file_name)
    );
}
