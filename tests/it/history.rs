//! The history a shop keeps as it really lives (issue 22, item 1 and 6): short opening days,
//! restarts, restores, and a clock that was wrong — all on an injected clock, no waiting.

use std::collections::BTreeSet;
use std::time::Duration;

use backroom::auth::Role;
use backroom::clock::ManualClock;
use chrono::{Local, TimeZone, Utc};

use crate::support::{TestApp, spawn_app_with_clock, wait_until};

/// 09:00 local on day `day` of a week in the past.
fn opening(day: u32) -> chrono::DateTime<Utc> {
    Local
        .with_ymd_and_hms(2026, 3, day, 9, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// The number of customers each regular backup holds, by file name (from the records).
fn customers_per_backup(app: &TestApp) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    for name in app.backup_files() {
        let record = app.backups_dir().join(format!("{name}.json"));
        let Ok(text) = std::fs::read_to_string(&record) else {
            continue;
        };
        let sidecar: serde_json::Value = serde_json::from_str(&text).unwrap();
        if ["startup", "automatic", "manual"].contains(&sidecar["kind"].as_str().unwrap()) {
            found.push((name, sidecar["row_counts"]["customers"].as_i64().unwrap()));
        }
    }
    found
}

fn states(app: &TestApp) -> BTreeSet<i64> {
    customers_per_backup(app)
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}

/// Starts the day at `at`: a restart on the clock, the startup backup awaited.
fn open_shop(app: &mut TestApp, clock: &ManualClock, at: chrono::DateTime<Utc>) {
    app.stop();
    clock.set(at);
    app.restart();
    app.wait_for_startup_backup_attempt();
}

/// Automatic backups made so far (from the log: retention may remove old files meanwhile).
fn automatic_count(app: &TestApp) -> usize {
    std::fs::read_to_string(app.backups_dir().join("backup.log"))
        .unwrap_or_default()
        .matches("by scheduler)")
        .count()
}

#[test]
fn five_five_hour_days_keep_each_days_opening_state() {
    let clock = ManualClock::at(opening(2));
    let (mut app, boss) = spawn_app_with_clock(&clock, None).ready_as(Role::Admin);
    for day in 2..=6 {
        if day > 2 {
            open_shop(&mut app, &clock, opening(day));
        }
        let boss = app.login_as(Role::Admin);
        boss.add_customer(&format!("Customer of day {day}"), "", "");
        // Five hours of trade: the next automatic backup (six hours after the startup one)
        // is never reached.
        clock.advance(chrono::Duration::hours(5));
        std::thread::yield_now();
    }
    drop(boss);
    let seen = customers_per_backup(&app);
    assert_eq!(
        states(&app),
        (0..5).collect::<BTreeSet<i64>>(),
        "each day's opening state is kept: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(n, c)| n == "startup_backup.db" && *c == 4),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|(n, _)| n.starts_with("startup_2026") && n.ends_with(".db"))
            .count(),
        4,
        "the earlier startup backups carry their dates: {seen:?}"
    );
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(log.contains("The previous startup backup joins the history as startup_2026"));
}

#[test]
fn a_week_of_eight_hour_days_keeps_ten_distinct_states() {
    let clock = ManualClock::at(opening(2));
    let mut app = spawn_app_with_clock(&clock, None).ready();
    for day in 2..=8 {
        if day > 2 {
            open_shop(&mut app, &clock, opening(day));
        }
        let boss = app.login_as(Role::Admin);
        boss.add_customer(&format!("Morning customer {day}"), "", "");
        // Six hours after the startup backup the automatic one is due, on the shop's clock.
        let before = automatic_count(&app);
        clock.advance(chrono::Duration::hours(6) + chrono::Duration::seconds(1));
        wait_until("the automatic backup", Duration::from_secs(30), || {
            automatic_count(&app) > before
        });
        app.wait_for_startup_backup_attempt();
        boss.add_customer(&format!("Afternoon customer {day}"), "", "");
        clock.advance(chrono::Duration::hours(2));
    }
    let seen = customers_per_backup(&app);
    assert_eq!(seen.len(), 10, "the cap of ten: {seen:?}");
    assert_eq!(
        states(&app),
        (4..14).collect::<BTreeSet<i64>>(),
        "ten distinct states, the newest ten of fourteen: {seen:?}"
    );
}

#[test]
fn the_schedule_counts_from_the_last_backup_across_restarts() {
    let clock = ManualClock::at(opening(2));
    let (mut app, boss) = spawn_app_with_clock(&clock, None).ready_as(Role::SuperAdmin);
    let next_run = |boss: &crate::support::Client| {
        boss.get("/api/backups/status").json()["schedule"]["next_run"]
            .as_str()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .unwrap()
                    .with_timezone(&Utc)
            })
    };
    wait_until(
        "the schedule from the startup backup",
        Duration::from_secs(10),
        || next_run(&boss) == Some(opening(2) + chrono::Duration::hours(6)),
    );
    // Seven hours later, the startup backup gone: the next start counts from the backup it
    // makes (the newest in the folder), read from the folder on the shop's clock.
    app.stop();
    std::fs::remove_file(app.backups_dir().join("startup_backup.db")).unwrap();
    clock.advance(chrono::Duration::hours(7));
    app.restart();
    app.wait_for_startup_backup_attempt();
    let boss = app.login_as(Role::SuperAdmin);
    // Worked out again once this start's backup is in the folder (the scheduler's next tick).
    wait_until(
        "six hours after this start's backup",
        Duration::from_secs(10),
        || next_run(&boss) == Some(opening(2) + chrono::Duration::hours(13)),
    );
}

#[test]
fn restores_and_uploads_never_push_a_day_out_of_the_history() {
    let clock = ManualClock::at(opening(2));
    let (app, boss) = spawn_app_with_clock(&clock, None).ready_as(Role::SuperAdmin);
    for i in 0..10 {
        clock.advance(chrono::Duration::minutes(10));
        boss.add_customer(&format!("C{i}"), "", "");
        let res = boss.api_post(
            "/api/backups",
            serde_json::json!({"description": format!("day {i}")}),
        );
        assert!(res.status == 200 || res.status == 201, "{}", res.body);
    }
    let history_before: Vec<String> = customers_per_backup(&app)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(history_before.len(), 10);
    // Six restores (each makes a safety copy): the ten stay, the safety copies have their own
    // allowance.
    let oldest_manual = history_before
        .iter()
        .filter(|n| n.starts_with("manual_"))
        .min()
        .unwrap()
        .clone();
    for _ in 0..6 {
        clock.advance(chrono::Duration::minutes(1));
        let res = boss.api_post(
            &format!("/api/backups/{oldest_manual}/restore"),
            serde_json::json!({}),
        );
        assert_eq!(res.status, 200, "{}", res.body);
    }
    let history_after: Vec<String> = customers_per_backup(&app)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    // The next regular backup trims the safety copies to their allowance.
    clock.advance(chrono::Duration::minutes(1));
    let res = boss.api_post("/api/backups", serde_json::json!({"description": "after"}));
    assert!(res.status == 200 || res.status == 201, "{}", res.body);
    let status = boss.get("/api/backups/status").json();
    assert_eq!(status["backups"]["extra_allowance"], 5);
    assert_eq!(status["backups"]["extras"], 5, "{status}");
    assert_eq!(
        history_after, history_before,
        "six restores pushed nothing out of the history"
    );
    let page = boss.get("/backup/status").body;
    assert!(
        page.contains("kept apart and never push a backup out"),
        "{page}"
    );
}
