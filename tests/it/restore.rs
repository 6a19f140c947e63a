//! Restore, emergency restore and recovery when the app will not start.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use backroom::auth::Role;

use crate::support::*;

fn customer_names(db: &Path) -> BTreeSet<String> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM customers").unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn add_customer(client: &Client, name: &str) -> u16 {
    client.post_form("/customers", &[("name", name)]).status
}

#[test]
fn restore_while_another_client_keeps_writing() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    for i in 0..20 {
        assert_eq!(add_customer(&boss, &format!("kept {i}")), 303);
    }
    let backup = make_backup(&boss, "twenty customers");
    let in_backup = customer_names(&app.backups_dir().join(&backup));
    assert_eq!(in_backup.len(), 20);

    // A second person keeps adding customers before, during and after the restore.
    let writer = app.login_as(Role::Staff);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicI64::new(0));
    let handle = {
        let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let status = add_customer(&writer, &format!("w-{n:05}"));
                assert!(status == 303, "a write failed during the restore: {status}");
                acknowledged.store(n, Ordering::SeqCst);
                n += 1;
            }
            n
        })
    };
    wait_until("ten writes", Duration::from_secs(60), || {
        acknowledged.load(Ordering::SeqCst) >= 10
    });
    let before_restore = acknowledged.load(Ordering::SeqCst);
    let res = boss.api_post(
        &format!("/api/backups/{backup}/restore"),
        serde_json::json!({}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let report = res.json();
    // Let the writer go on for a few more writes after the restore.
    let after_restore = acknowledged.load(Ordering::SeqCst);
    wait_until(
        "the writer after the restore",
        Duration::from_secs(30),
        || acknowledged.load(Ordering::SeqCst) >= after_restore + 5,
    );
    stop.store(true, Ordering::Relaxed);
    let written = handle.join().unwrap();
    assert!(
        written > before_restore + 1,
        "the writer kept working across the restore"
    );

    let safety = report["safety_backup"].as_str().unwrap().to_string();
    assert_eq!(report["restored"], backup.as_str());
    assert!(safety.starts_with("pre_restore_"));

    // The live data is the backup plus only what was written after the swap.
    app.stop();
    assert!(integrity_ok(&app.db_path()));
    let live = customer_names(&app.db_path());
    assert!(
        in_backup.is_subset(&live),
        "every row of the backup is back"
    );
    let in_safety = customer_names(&app.backups_dir().join(&safety));
    assert!(integrity_ok(&app.backups_dir().join(&safety)));
    for name in &live {
        if !in_backup.contains(name) {
            assert!(
                name.starts_with("w-") && !in_safety.contains(name),
                "{name} came from before the restore"
            );
        }
    }
    // The safety backup holds everything acknowledged before the restore was asked for.
    for n in 0..=before_restore {
        assert!(
            in_safety.contains(&format!("w-{n:05}")),
            "w-{n:05} missing from the safety backup"
        );
    }
    assert!(in_backup.is_subset(&in_safety));
}

#[test]
fn staff_and_admin_are_refused_and_nothing_changes() {
    let (app, staff) = spawn_app().ready_as(Role::Staff);
    add_customer(&staff, "after startup");
    for role in [Role::Staff, Role::Admin] {
        let client = app.login_as(role);
        assert_eq!(client.get("/backup/startup_backup.db/restore").status, 403);
        assert_eq!(
            client
                .post_form("/backup/startup_backup.db/restore", &[])
                .status,
            403
        );
        assert_eq!(
            client.post_form("/backup/emergency-restore", &[]).status,
            403
        );
        let api = client.api_post(
            "/api/backups/startup_backup.db/restore",
            serde_json::json!({}),
        );
        assert_eq!(api.status, 403);
        assert_eq!(
            api.json()["error"],
            "Only a super-admin can restore backups."
        );
        assert_eq!(
            client
                .api_post("/api/backups/emergency-restore", serde_json::json!({}))
                .status,
            403
        );
    }
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 1);
    assert!(
        !app.backup_files()
            .iter()
            .any(|n| n.starts_with("pre_restore_"))
    );
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains("Restore of startup_backup.db refused for staff-user (role staff)"),
        "{log}"
    );
    assert!(log.contains("refused for admin-user (role admin)"), "{log}");
}

#[test]
fn restore_without_csrf_token_is_refused() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "stays");
    assert_eq!(
        boss.post_form_raw("/backup/startup_backup.db/restore", &[])
            .status,
        403
    );
    let api = boss
        .http
        .post(format!("{}/api/backups/startup_backup.db/restore", app.url))
        .send()
        .unwrap();
    assert_eq!(api.status().as_u16(), 403);
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 1);
}

#[test]
fn path_tricks_and_unknown_names_touch_nothing() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "stays");
    let before = app.backup_files();
    let names = [
        "..",
        "..%2fbusiness_data.db",
        "%2e%2e%2fbusiness_data.db",
        "..%5cbusiness_data.db",
        "%2fetc%2fpasswd",
        "backup.log",
        "RECOVERY.txt",
        "startup_backup.db.json",
        "business_data.db",
        "manual_20990101_000000.db",
        "startup_backup.db%00",
        "x%00.db",
    ];
    let long = "a".repeat(5000);
    for name in names.iter().copied().chain([long.as_str()]) {
        for (method, path) in [
            ("GET", format!("/backup/{name}")),
            ("GET", format!("/backup/{name}/restore")),
            ("GET", format!("/backup/{name}/download")),
            ("GET", format!("/api/backups/{name}")),
            ("POST", format!("/backup/{name}/restore")),
            ("POST", format!("/backup/{name}/delete")),
            ("POST", format!("/backup/{name}/verify")),
            ("POST", format!("/api/backups/{name}/restore")),
            ("DELETE", format!("/api/backups/{name}")),
        ] {
            let status = boss.raw(method, &path);
            assert!(status == 404 || status == 400, "{method} {path}: {status}");
        }
    }
    // The same through a normal client (which normalises the URL first).
    assert_eq!(
        boss.get("/backup/..%2f..%2fetc%2fpasswd/download").status,
        404
    );
    assert_eq!(app.backup_files(), before);
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 1);
    assert!(app.backups_dir().join("backup.log").exists());
    assert!(app.backups_dir().join("RECOVERY.txt").exists());
}

#[test]
fn a_corrupted_backup_is_refused_before_anything_changes() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "one");
    let backup = make_backup(&boss, "to be damaged");
    add_customer(&boss, "two");
    flip_middle(&app.backups_dir().join(&backup));
    let before = app.backup_files();
    let res = boss.api_post(
        &format!("/api/backups/{backup}/restore"),
        serde_json::json!({}),
    );
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(
        res.json()["error"].as_str().unwrap().contains("SHA-256"),
        "{}",
        res.body
    );
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 2);
    assert_eq!(
        app.backup_files(),
        before,
        "no safety backup, nothing removed"
    );
    // The form route says so too.
    boss.post_form(&format!("/backup/{backup}/restore"), &[]);
    assert!(boss.get("/backup/status").body.contains("Restore failed"));
}

#[test]
fn emergency_restore_skips_a_corrupted_newest_backup() {
    let clock = backroom::clock::ManualClock::new();
    let (app, boss) = spawn_app_with_clock(&clock, None).ready_as(Role::SuperAdmin);
    add_customer(&boss, "in good backup");
    let good = make_backup(&boss, "good");
    add_customer(&boss, "in bad backup");
    clock.advance(chrono::Duration::seconds(2));
    let bad = make_backup(&boss, "bad");
    add_customer(&boss, "after both");
    let bad_path = app.backups_dir().join(&bad);
    let len = std::fs::metadata(&bad_path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&bad_path)
        .unwrap()
        .set_len(len - 4096)
        .unwrap();

    let page = boss.get("/backup/emergency-restore");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Run emergency restore"));
    let res = boss.api_post("/api/backups/emergency-restore", serde_json::json!({}));
    assert_eq!(res.status, 200, "{}", res.body);
    let report = res.json();
    assert_eq!(report["restored"], good.as_str());
    assert_eq!(report["skipped"][0][0], bad.as_str());
    let names = customer_names(&app.db_path());
    assert_eq!(names, BTreeSet::from(["in good backup".to_string()]));
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(log.contains(&format!("Emergency restore skipped {bad}")));
}

#[test]
fn emergency_restore_with_no_good_backup_is_refused_clearly() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    std::fs::write(
        app.backups_dir().join("startup_backup.db"),
        b"not a database at all",
    )
    .unwrap();
    let res = boss.api_post("/api/backups/emergency-restore", serde_json::json!({}));
    assert_eq!(res.status, 409);
    assert!(
        res.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("no backup passed verification"),
        "{}",
        res.body
    );
}

#[test]
fn a_session_ends_when_the_restored_data_lacks_the_user() {
    let app = spawn_app().ready();
    // The startup backup was taken before this super-admin existed.
    let boss = app.login_as(Role::SuperAdmin);
    app.add_user("old-timer", Role::Staff);
    assert_eq!(boss.get("/products").status, 200);
    let res = boss.post_form("/backup/startup_backup.db/restore", &[]);
    assert_eq!(res.status, 303);
    let next = boss.get("/backup/status");
    assert_eq!(next.status, 303);
    assert!(next.location().starts_with("/login"), "{}", next.location());
    assert!(next.location().contains("ended=1"));
    assert!(
        boss.get(&next.location())
            .body
            .contains("Your session ended")
    );
    assert_eq!(app.query_i64("SELECT count(*) FROM users"), 0);
}

#[test]
fn restored_data_keeps_a_user_whose_account_is_in_the_backup() {
    let (_app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let backup = make_backup(&boss, "with boss");
    add_customer(&boss, "to be undone");
    let res = boss.post_form(&format!("/backup/{backup}/restore"), &[]);
    assert_eq!(res.status, 303);
    let page = boss.get("/backup/status");
    assert_eq!(page.status, 200, "still logged in");
    // Called by what was written ("with boss — …"), the file name after it.
    assert!(
        page.body.contains("Restored “with boss — ")
            && page.body.contains(&format!("(file {backup})")),
        "{}",
        page.body
    );
    // Emergency restore (and the page that announces it) passes over the safety copy.
    assert!(
        page.body.contains("(now: <strong>"),
        "the danger zone names a backup"
    );
    assert!(
        !page.body.contains("(now: <strong>safety copy"),
        "not the safety copy"
    );
    assert_eq!(
        boss.get("/customers").body.matches("to be undone").count(),
        0
    );
}

#[test]
fn cli_restore_handles_stale_wal_and_shm_files() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "in backup");
    let backup = make_backup(&boss, "cli");
    add_customer(&boss, "not in backup");
    app.stop();
    // A -wal from another database, with real frames, left beside the live file.
    let other = tempfile::tempdir().unwrap();
    let other_db = other.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other_db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE junk(x); INSERT INTO junk VALUES (randomblob(5000));",
        )
        .unwrap();
        std::fs::copy(
            other.path().join("other.db-wal"),
            app.data_dir().join("business_data.db-wal"),
        )
        .unwrap();
        std::fs::copy(
            other.path().join("other.db-shm"),
            app.data_dir().join("business_data.db-shm"),
        )
        .unwrap();
    }
    let out = run_cli(app.data_dir(), &["restore", &backup], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Restored {backup}")), "{text}");
    assert!(integrity_ok(&app.db_path()));
    assert_eq!(
        customer_names(&app.db_path()),
        BTreeSet::from(["in backup".to_string()])
    );
    assert!(
        app.backup_files().iter().any(|n| n.starts_with("broken_")),
        "the previous file was kept"
    );
    app.restart();
    let boss = app.client();
    assert_eq!(boss.login("super-admin-user", PASSWORD).status, 303);
    assert!(boss.get("/customers").body.contains("in backup"));
}

#[test]
fn cli_restore_is_refused_while_the_server_runs() {
    let app = spawn_app().ready();
    let out = run_cli(app.data_dir(), &["restore", "--latest"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the server is running; stop it first"),
        "{err}"
    );
}

#[test]
fn cli_restore_latest_recovers_a_database_that_will_not_open() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "saved");
    make_backup(&boss, "latest");
    app.stop();
    std::fs::write(app.db_path(), vec![0x42; 64 * 1024]).unwrap();
    let refused = run_cli(app.data_dir(), &["--port", "0"], None);
    assert!(!refused.status.success());
    let out = run_cli(app.data_dir(), &["restore", "--latest"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        customer_names(&app.db_path()),
        BTreeSet::from(["saved".to_string()])
    );
    let broken = app
        .backup_files()
        .into_iter()
        .find(|n| n.starts_with("broken_"))
        .unwrap();
    assert_eq!(
        std::fs::read(app.backups_dir().join(broken)).unwrap(),
        vec![0x42; 64 * 1024]
    );
}

/// Writes to `journal` the hot journal a crash leaves in the middle of a big transaction on
/// a copy of `db` (pages already written into the file, their originals in the journal).
fn hot_journal_of(db: &Path, journal: &Path) {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("w.db");
    std::fs::copy(db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0))
        .unwrap();
    conn.execute_batch(
        "PRAGMA cache_size=2; BEGIN;
         INSERT INTO customers (name, created_at, updated_at)
           WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
           SELECT hex(randomblob(100)), 'x', 'x' FROM n;",
    )
    .unwrap();
    std::fs::copy(work.path().join("w.db-journal"), journal).unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn the_recovery_note_procedure_works_when_followed_literally() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "precious");
    let backup = make_backup(&boss, "for the manual copy");
    add_customer(&boss, "later");
    app.stop();
    let note = std::fs::read_to_string(app.backups_dir().join("RECOVERY.txt")).unwrap();
    assert!(note.contains(&backup), "the note names the newest backup");
    assert!(note.contains("business_data.db-wal") && note.contains("business_data.db-shm"));
    assert!(note.contains("business_data.db-journal"));
    assert!(note.contains("backroom restore --latest"));
    // A hot rollback journal of the live file (a crash while it was out of WAL mode): rolled
    // back onto the copy, it would damage it.
    hot_journal_of(
        &app.db_path(),
        &app.data_dir().join("business_data.db-journal"),
    );
    // Simulate a live database that is damaged, with a leftover journal.
    std::fs::write(app.db_path(), b"garbage").unwrap();
    std::fs::write(
        app.data_dir().join("business_data.db-wal"),
        vec![1u8; 10_000],
    )
    .unwrap();
    std::fs::write(
        app.data_dir().join("business_data.db-shm"),
        vec![2u8; 32_768],
    )
    .unwrap();
    // Steps 3-6: copy the newest backup next to the data file, rename it, delete the three files.
    let copy = app.data_dir().join("copy of backup.db");
    std::fs::copy(app.backups_dir().join(&backup), &copy).unwrap();
    std::fs::rename(&copy, app.db_path()).unwrap();
    for suffix in ["-wal", "-shm", "-journal"] {
        std::fs::remove_file(app.data_dir().join(format!("business_data.db{suffix}"))).unwrap();
    }
    // Step 7: start the app.
    app.restart();
    let boss = app.client();
    assert_eq!(boss.login("super-admin-user", PASSWORD).status, 303);
    let customers = boss.get("/customers").body;
    assert!(customers.contains("precious"));
    assert!(!customers.contains("later"));
}

#[test]
fn startup_with_a_corrupt_database_exits_without_touching_the_backups() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    make_backup(&boss, "before the disaster");
    app.stop();
    let snapshot = folder_bytes;
    let before = snapshot(&app.backups_dir());
    std::fs::write(
        app.db_path(),
        b"this is not a database, it is a shopping list",
    )
    .unwrap();
    let out = run_cli(app.data_dir(), &["--port", "0"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("backroom restore --latest"), "{err}");
    assert!(err.contains("RECOVERY.txt"), "{err}");
    assert_eq!(
        snapshot(&app.backups_dir()),
        before,
        "database_backups/ untouched"
    );
}

#[test]
fn restore_waits_for_no_one_else_using_the_data() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    add_customer(&boss, "stays");
    // Another Backroom command (say, `backroom backup create`) has the database open.
    let other = std::fs::File::open(app.data_dir().join("business_data.db.lock")).unwrap();
    other.try_lock_shared().unwrap();
    let res = boss.api_post(
        "/api/backups/startup_backup.db/restore",
        serde_json::json!({}),
    );
    assert_eq!(res.status, 503, "{}", res.body);
    assert!(
        res.json()["error"]
            .as_str()
            .unwrap()
            .contains("is using the data right now"),
        "{}",
        res.body
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers"),
        1,
        "nothing changed"
    );
    assert!(
        !app.backup_files()
            .iter()
            .any(|n| n.starts_with("pre_restore_"))
    );
    assert_eq!(boss.get("/customers").status, 200, "still serving");
    drop(other);
    let res = boss.api_post(
        "/api/backups/startup_backup.db/restore",
        serde_json::json!({}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
}

#[test]
fn backups_can_be_listed_and_verified_while_the_live_database_is_broken() {
    let mut app = spawn_app().ready();
    app.stop();
    std::fs::write(app.db_path(), b"broken beyond repair").unwrap();
    let list = run_cli(app.data_dir(), &["backup", "list"], None);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert!(String::from_utf8_lossy(&list.stdout).contains("startup_backup.db"));
    let verify = run_cli(app.data_dir(), &["backup", "verify", "--all"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert_eq!(
        std::fs::read(app.db_path()).unwrap(),
        b"broken beyond repair",
        "not touched"
    );
}

#[test]
fn an_older_database_is_backed_up_before_it_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        backroom::db::migrations::migrate_to(&mut conn, &db, 3).unwrap();
        conn.execute(
            "INSERT INTO customers (name, created_at, updated_at) VALUES ('Old Timer', 'x', 'x')",
            [],
        )
        .unwrap();
    }
    let app = TestApp::in_dir(dir.path());
    let name = app
        .backup_files()
        .into_iter()
        .find(|n| n.starts_with("manual_") && n.contains("_before_upgrading_the_data_from_schema"))
        .expect("a backup made before the upgrade");
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(app.backups_dir().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["created_by"], "upgrade");
    assert_eq!(
        record["schema_version"], 3,
        "the backup holds the data before the upgrade"
    );
    assert!(
        record["description"]
            .as_str()
            .unwrap()
            .starts_with("Before upgrading the data from schema version 3")
    );
    assert_eq!(
        app.query_i64("PRAGMA user_version"),
        backroom::db::SCHEMA_VERSION
    );
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 1);
}
