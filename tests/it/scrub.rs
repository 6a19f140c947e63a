//! A backup that rots on disk (issue 22): a byte flipped, same size and time, still looks
//! verified until the check of stored backups (at start-up, then daily) re-hashes it; then it
//! is failed in the list and the API, and the health line is red.

use std::time::{Duration, SystemTime};

use backroom::auth::Role;
use backroom::clock::ManualClock;

use crate::support::*;

fn state_of(client: &Client, name: &str) -> (String, String) {
    let list = client.get("/api/backups").json();
    let row = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
        .clone();
    (
        row["state"].as_str().unwrap().to_string(),
        row["state_reason"].as_str().unwrap_or("").to_string(),
    )
}

/// Flips one byte in the middle and puts the modification time back: rot, not an edit.
fn rot(path: &std::path::Path) {
    let modified: SystemTime = std::fs::metadata(path).unwrap().modified().unwrap();
    flip_middle(path);
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(modified).unwrap();
}

#[test]
fn a_backup_that_rots_on_disk_is_found_by_the_daily_check_and_turns_the_line_red() {
    let clock = ManualClock::new();
    let (app, boss) = spawn_app_with_clock(&clock, LONG_INTERVAL).ready_as(Role::SuperAdmin);
    let good = make_backup(&boss, "good");
    let rotten = make_backup(&boss, "rotten");
    rot(&app.backups_dir().join(&rotten));
    // Nothing looks at it yet: it still says verified.
    assert_eq!(state_of(&boss, &rotten).0, "verified");
    let level = |c: &Client| c.get("/api/offsite").json()["health"].clone();
    assert_ne!(level(&boss)["level"], "red");

    // A day later the check of stored backups re-hashes every one.
    clock.advance(chrono::Duration::hours(25));
    let boss = app.login_as(Role::SuperAdmin);
    wait_until("the daily check", Duration::from_secs(60), || {
        state_of(&boss, &rotten).0 == "failed"
    });
    let (_, reason) = state_of(&boss, &rotten);
    assert!(reason.contains("damaged on disk"), "{reason}");
    assert_eq!(state_of(&boss, &good).0, "verified", "the good one stays");
    // The line is cached for two seconds.
    wait_until("a red line", Duration::from_secs(10), || {
        level(&boss)["level"] == "red"
    });
    let health = level(&boss);
    assert!(
        health["message"].as_str().unwrap().contains(&rotten),
        "{health}"
    );
    let page = boss.get(&format!("/backup/{rotten}")).body;
    assert!(page.contains("state-failed"), "the page says so");
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains(&format!("Backup {rotten} is damaged on disk")),
        "{log}"
    );
    assert!(
        !log.contains(&format!("Backup {good} is damaged")),
        "the good one is not named: {log}"
    );
}

#[test]
fn the_check_also_runs_at_start_up() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let rotten = make_backup(&boss, "rotten");
    app.stop();
    rot(&app.backups_dir().join(&rotten));
    app.restart();
    let boss = app.login_as(Role::SuperAdmin);
    wait_until("the start-up check", Duration::from_secs(60), || {
        state_of(&boss, &rotten).0 == "failed"
    });
}
