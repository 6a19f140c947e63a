//! `/backup/status`, its actions and the JSON API, per role.

use std::time::{Duration, Instant};

use backroom::auth::Role;

use crate::support::*;

/// Rewrites a backup's recorded creation time (to make it look old).
fn age_backup(app: &TestApp, name: &str, hours: i64) {
    let path = app.backups_dir().join(format!("{name}.json"));
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let when = chrono::Utc::now() - chrono::Duration::hours(hours);
    record["created_at"] = serde_json::Value::String(when.to_rfc3339());
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
}

/// Makes a backup through the API (it must be made) and returns the health line after it.
fn health_after_a_backup(client: &Client) -> serde_json::Value {
    let res = client.api_post("/api/backups", serde_json::json!({}));
    assert_eq!(res.status, 201, "{}", res.body);
    client.get("/api/backups/status").json()["health"].clone()
}

#[test]
fn status_page_shows_each_role_only_the_buttons_it_may_use() {
    let (app, admin) = spawn_app().ready_as(Role::Admin);
    assert_eq!(
        admin
            .post_form("/backup/create", &[("description", "older")])
            .status,
        303
    );
    assert_eq!(
        admin
            .post_form("/backup/create", &[("description", "newest")])
            .status,
        303
    );
    let files = app.backup_files();
    let newest = files.iter().find(|n| n.contains("newest")).unwrap().clone();
    let older = files.iter().find(|n| n.contains("older")).unwrap().clone();

    let staff = app.login_as(Role::Staff).get("/backup/status");
    assert_eq!(staff.status, 200);
    assert!(
        staff.body.contains("— last backup"),
        "the health line says when"
    );
    assert!(staff.body.contains("3 of 10"), "count and cap");
    assert!(
        staff
            .body
            .contains(&app.backups_dir().display().to_string()),
        "folder path shown"
    );
    assert!(staff.body.contains("id=\"create-form\""));
    for hidden in [
        "/download",
        "/delete",
        "/restore\"",
        "Danger zone",
        "name=\"max_backups\"",
    ] {
        assert!(!staff.body.contains(hidden), "staff sees {hidden}");
    }

    let admin_page = admin.get("/backup/status");
    assert!(admin_page.body.contains(&format!("/backup/{older}/delete")));
    assert!(
        !admin_page
            .body
            .contains(&format!("/backup/{newest}/delete")),
        "newest cannot be deleted"
    );
    assert!(
        admin_page
            .body
            .contains(&format!("/backup/{newest}/download"))
    );
    assert!(!admin_page.body.contains("Danger zone"));
    assert!(!admin_page.body.contains("/restore\""));

    let boss = app.login_as(Role::SuperAdmin).get("/backup/status");
    assert!(boss.body.contains(&format!("/backup/{newest}/download")));
    assert!(boss.body.contains(&format!("/backup/{older}/restore")));
    assert!(boss.body.contains("Danger zone"));
    assert!(boss.body.contains("name=\"max_backups\""));
    // Newest first, and the log shows what happened.
    let pos_newest = boss.body.find(&newest).unwrap();
    let pos_older = boss.body.find(&older).unwrap();
    assert!(pos_newest < pos_older);
    assert!(boss.body.contains("Database backup created: "));
}

#[test]
fn create_by_form_and_api_and_conflict_while_one_runs() {
    let (app, staff) = spawn_app().ready_as(Role::Staff);
    let res = staff.post_form("/backup/create", &[("description", "before stock-take")]);
    assert_eq!(res.status, 303);
    let page = staff.get("/backup/status");
    assert!(page.body.contains("made and verified"), "flash message");
    assert!(
        app.backup_files()
            .iter()
            .any(|n| n.ends_with("_before_stock_take.db"))
    );

    // Staff get one manual backup per ten minutes (each one can push an old one out).
    let again = staff.api_post("/api/backups", serde_json::json!({"description": "again"}));
    assert_eq!(again.status, 429, "{}", again.body);
    assert!(
        again.json()["error"]
            .as_str()
            .unwrap()
            .contains("one manual backup every 10 minutes"),
        "{}",
        again.body
    );
    let staff = app.login_as(Role::Admin);
    let api = staff.api_post(
        "/api/backups",
        serde_json::json!({"description": "from the API"}),
    );
    assert_eq!(api.status, 201, "{}", api.body);
    let made = api.json();
    assert_eq!(made["backup"]["description"], "from the API");
    assert_eq!(made["backup"]["state"], "verified");
    assert_eq!(made["backup"]["kind"], "manual");

    // Another program holds the backup lock: a clear 409, no second copy.
    let lock = backroom::fsutil::FileLock::try_acquire(&app.backups_dir().join(".backup.lock"))
        .unwrap()
        .unwrap();
    lock.write_note("backup 42").unwrap();
    let busy = staff.api_post("/api/backups", serde_json::json!({}));
    assert_eq!(busy.status, 409);
    assert!(
        busy.json()["error"]
            .as_str()
            .unwrap()
            .contains("running a backup right now (42%)"),
        "{}",
        busy.body
    );
    let busy_form = staff.post_form("/backup/create", &[("description", "x")]);
    assert_eq!(busy_form.status, 303);
    assert!(
        staff
            .get("/backup/status")
            .body
            .contains("The backup was not made")
    );
    drop(lock);

    let too_long = "x".repeat(201);
    assert_eq!(
        staff
            .api_post("/api/backups", serde_json::json!({"description": too_long}))
            .status,
        400
    );
}

#[test]
fn health_goes_amber_when_the_last_backup_is_old_and_shows_on_every_page() {
    // The scheduler runs on a long interval here: with the usual six hours it makes an overdue
    // backup at once when the newest one is aged (a fresh-clone CI run caught that race), while
    // the health line still judges age against the six hours in Settings.
    let app = spawn_app_with(LONG_INTERVAL).ready();
    age_backup(&app, "startup_backup.db", 13);
    let client = app.login_as(Role::Staff);
    let status = client.get("/api/backups/status").json();
    assert_eq!(status["health"]["level"], "amber");
    let message = status["health"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Last backup is 13 hours old"),
        "{message}"
    );
    // Once on every page: in the banner, or where the page shows health itself.
    for (page, class) in [
        ("/", "health-line health-amber"),
        ("/products", "banner banner-amber"),
        ("/backup/status", "health health-amber"),
    ] {
        let body = client.get(page).body;
        assert!(body.contains(class), "{page}");
        assert_eq!(
            body.matches("Last backup is 13 hours old").count(),
            1,
            "{page}"
        );
    }
    // A new backup clears the age warning; what is left is that there is no off-site copy.
    let health = health_after_a_backup(&client);
    let message = health["message"].as_str().unwrap();
    assert!(
        message.starts_with("Backups only on this computer"),
        "{message}"
    );
    assert!(!client.get("/products").body.contains("13 hours old"));
}

#[test]
fn health_goes_red_when_a_backup_fails() {
    let (app, client) = spawn_app().ready_as(Role::Staff);
    // The backup folder is replaced by a file: nothing can be written there.
    let moved = app.data_dir().join("moved_backups");
    std::fs::rename(app.backups_dir(), &moved).unwrap();
    std::fs::write(app.backups_dir(), b"not a folder").unwrap();
    let res = client.api_post("/api/backups", serde_json::json!({}));
    assert!(res.status >= 500, "{}", res.body);
    let status = client.get("/api/backups/status").json();
    assert_eq!(status["health"]["level"], "red");
    assert!(
        status["health"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Last backup failed:")
    );
    assert!(client.get("/products").body.contains("banner banner-red"));
    std::fs::remove_file(app.backups_dir()).unwrap();
    std::fs::rename(&moved, app.backups_dir()).unwrap();
    // Not red any more (amber only because there is no off-site copy).
    let health = health_after_a_backup(&client);
    assert_eq!(health["level"], "amber", "{health}");
    assert!(
        health["message"]
            .as_str()
            .unwrap()
            .starts_with("Backups only on this computer")
    );
}

#[test]
fn health_goes_red_when_the_database_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut app = TestApp::in_dir(dir.path());
        app.add_user("boss", Role::SuperAdmin);
        app.execute(
            "INSERT INTO customers (name, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             SELECT 'customer ' || i, 'x', 'x' FROM n;",
        );
        app.wait_for_startup_backup();
        app.stop();
    }
    corrupt_table(&dir.path().join("business_data.db"), "customers");
    let good_startup =
        std::fs::read(dir.path().join("database_backups/startup_backup.db")).unwrap();
    let app = TestApp::in_dir(dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = app.client();
    assert_eq!(client.login("boss", PASSWORD).status, 303);
    loop {
        let status = client.get("/api/backups/status").json();
        if status["health"]["level"] == "red" {
            assert!(
                status["health"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Database check failed"),
                "{status}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never turned red: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    app.wait_for_startup_backup_attempt();
    let kept = std::fs::read(dir.path().join("database_backups/startup_backup.db")).unwrap();
    assert!(kept == good_startup, "the previous startup backup was kept");
}

#[test]
fn progress_is_reported_while_a_big_backup_runs() {
    let dir = tempfile::tempdir().unwrap();
    make_big_database(&dir.path().join("business_data.db"), 150);
    let (app, client) = TestApp::in_dir(dir.path()).ready_as(Role::Staff);
    let worker_client = app.login_as(Role::Admin);
    let worker = std::thread::spawn(move || {
        worker_client.api_post("/api/backups", serde_json::json!({"description": "big"}))
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !worker.is_finished() && Instant::now() < deadline {
        let status = client.get("/api/backups/status").json();
        if let Some(p) = status["operation"]["percent"].as_u64() {
            assert_eq!(status["operation"]["operation"], "backup");
            seen.push(p);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let res = worker.join().unwrap();
    assert_eq!(res.status, 201);
    assert!(!seen.is_empty(), "no progress was ever reported");
    assert!(seen.iter().any(|p| *p > 0 && *p < 100), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {seen:?}"
    );
    assert!(client.get("/api/backups/status").json()["operation"].is_null());
}

#[test]
fn settings_are_validated_saved_and_applied_without_restart() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let settings_file = app.data_dir().join("backroom.toml");
    for (interval, max) in [
        ("abc", "10"),
        ("6", "0"),
        ("6", "101"),
        ("169", "10"),
        ("-1", "10"),
    ] {
        let res = boss.post_form(
            "/backup/settings",
            &[("interval_hours", interval), ("max_backups", max)],
        );
        assert_eq!(res.status, 303);
        assert!(
            boss.get("/backup/status")
                .body
                .contains("Settings not saved"),
            "{interval}/{max}"
        );
        assert!(!settings_file.exists(), "{interval}/{max} was saved");
    }
    let res = boss.post_form(
        "/backup/settings",
        &[("interval_hours", "2"), ("max_backups", "2")],
    );
    assert_eq!(res.status, 303);
    let saved = std::fs::read_to_string(&settings_file).unwrap();
    assert!(
        saved.contains("interval_hours = 2") && saved.contains("max_backups = 2"),
        "{saved}"
    );
    let status = boss.get("/api/backups/status").json();
    assert_eq!(status["schedule"]["interval_hours"], 2.0);
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(status["schedule"]["next_run"].clone()).unwrap();
    let in_two_hours = chrono::Utc::now() + chrono::Duration::hours(2);
    assert!(
        (next - in_two_hours).num_seconds().abs() < 60,
        "rescheduled: {next}"
    );
    // Retention uses the new cap on the next backup.
    for _ in 0..3 {
        assert_eq!(
            boss.api_post("/api/backups", serde_json::json!({})).status,
            201
        );
    }
    assert_eq!(app.backup_files().len(), 2);
    assert!(
        boss.get("/backup/status")
            .body
            .contains("Backup settings changed by super-admin-user")
    );
    // Off.
    boss.post_form(
        "/backup/settings",
        &[("interval_hours", "0"), ("max_backups", "10")],
    );
    let status = boss.get("/api/backups/status").json();
    assert_eq!(status["schedule"]["active"], false);
    assert!(status["schedule"]["next_run"].is_null());
    // Not "Protected" any more: only startup and manual backups are made now.
    assert_eq!(status["health"]["level"], "amber");
    let message = status["health"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Automatic backups are off"),
        "{message}"
    );
    assert!(boss.get("/products").body.contains("banner banner-amber"));
}

#[test]
fn a_super_admin_downloads_the_file_byte_for_byte_and_an_admin_a_copy_without_hashes() {
    let (app, admin) = spawn_app().ready_as(Role::Admin);
    let boss = app.login_as(Role::SuperAdmin);
    let name = make_backup(&boss, "with accounts");
    let original = std::fs::read(app.backups_dir().join(&name)).unwrap();
    assert!(
        original.windows(8).any(|w| w == b"$argon2i"),
        "hashes in it"
    );
    // The file holds every password hash: an admin's copy has none.
    let res = admin.download(&name);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("admin.db");
    std::fs::write(&copy, res.bytes().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let hashes: Vec<String> = conn
        .prepare("SELECT password_hash FROM users")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!hashes.is_empty());
    for hash in &hashes {
        assert!(!backroom::auth::password::hash_is_usable(hash), "{hash}");
        assert!(!hash.starts_with("$argon2"), "{hash}");
    }
    let raw = std::fs::read(&copy).unwrap();
    assert!(
        !raw.windows(8).any(|w| w == b"$argon2i"),
        "no hash left in the file's free pages"
    );
    let res = boss.download(&name);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(disposition.contains(&name));
    let bytes = res.bytes().unwrap();
    assert_eq!(bytes.as_ref(), original.as_slice());
}

#[test]
fn delete_refuses_the_newest_and_removes_others_with_their_record() {
    let (app, admin) = spawn_app().ready_as(Role::Admin);
    let first = admin
        .api_post("/api/backups", serde_json::json!({"description": "first"}))
        .json();
    let second = admin
        .api_post("/api/backups", serde_json::json!({"description": "second"}))
        .json();
    let first = first["backup"]["name"].as_str().unwrap().to_string();
    let second = second["backup"]["name"].as_str().unwrap().to_string();

    let refused = admin.api_delete(&format!("/api/backups/{second}"));
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.json()["error"],
        "the newest backup cannot be deleted"
    );
    assert_eq!(admin.get(&format!("/backup/{second}/delete")).status, 409);
    assert_eq!(
        admin
            .post_form(&format!("/backup/{second}/delete"), &[])
            .status,
        409
    );
    assert!(app.backups_dir().join(&second).exists());

    let confirm = admin.get(&format!("/backup/{first}/delete"));
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete this backup"));
    assert_eq!(
        admin
            .post_form(&format!("/backup/{first}/delete"), &[])
            .status,
        303
    );
    assert!(!app.backups_dir().join(&first).exists());
    assert!(!app.backups_dir().join(format!("{first}.json")).exists());
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(log.contains(&format!("Backup deleted: {first} by admin-user")));
}

#[test]
fn details_page_compares_row_counts_and_verify_now_works() {
    let (app, staff) = spawn_app().ready_as(Role::Staff);
    app.execute("INSERT INTO customers (name, created_at, updated_at) VALUES ('Ann', 'x', 'x'), ('Bo', 'x', 'x');");
    let page = staff.get("/backup/startup_backup.db");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("sha256"), "the whole record is shown");
    assert!(
        page.body.contains(
            "<td data-label=\"Table\">Customers</td><td data-label=\"In backup\" class=\"num\">0</td><td data-label=\"Now\" class=\"num\">2</td><td data-label=\"Difference\">2 more now</td>"
        ),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("sale_lines</td>"),
        "tables are named in words"
    );
    let res = staff.post_form("/backup/startup_backup.db/verify", &[]);
    assert_eq!(res.status, 303);
    assert!(
        staff
            .get(&res.location())
            .body
            .contains("is good: checksum and SQLite check passed")
    );
    flip_middle(&app.backups_dir().join("startup_backup.db"));
    staff.post_form("/backup/startup_backup.db/verify", &[]);
    let page = staff.get("/backup/startup_backup.db");
    assert!(page.body.contains("failed verification"));
    assert!(page.body.contains("state-failed"));
}

#[test]
fn hostile_descriptions_are_shown_escaped_everywhere() {
    let (_app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let evil = "<script>alert('x')</script> {{ 7*7 }} \"quoted\"";
    let made = boss.api_post("/api/backups", serde_json::json!({"description": evil}));
    assert_eq!(made.status, 201);
    let name = made.json()["backup"]["name"].as_str().unwrap().to_string();
    assert!(name.starts_with("manual_") && !name.contains('<'));
    for path in [
        "/backup/status".to_string(),
        format!("/backup/{name}"),
        format!("/backup/{name}/restore"),
    ] {
        let body = boss.get(&path).body;
        if let Some(at) = body.find("<script>alert") {
            panic!(
                "{path}: {}",
                &body[at.saturating_sub(300)..(at + 100).min(body.len())]
            );
        }
        assert!(
            body.contains("&lt;script&gt;") || body.contains("&#60;script&#62;"),
            "{path}: the description is shown, escaped"
        );
    }
}

#[test]
fn staff_cannot_evict_backups_and_kept_backups_survive_the_cap() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    boss.post_form(
        "/backup/settings",
        &[("interval_hours", "6"), ("max_backups", "4")],
    );
    let make = |client: &Client, d: &str| {
        let res = client.api_post("/api/backups", serde_json::json!({ "description": d }));
        assert_eq!(res.status, 201, "{}", res.body);
        res.json()["backup"]["name"].as_str().unwrap().to_string()
    };
    let stock_take = make(&boss, "before stock-take");
    // Staff and admin may not pin; a super-admin may.
    for role in [Role::Staff, Role::Admin] {
        let res = app.login_as(role).api_post(
            &format!("/api/backups/{stock_take}/keep"),
            serde_json::json!({"keep": true}),
        );
        assert_eq!(res.status, 403, "{role:?}");
    }
    let res = boss.api_post(
        &format!("/api/backups/{stock_take}/keep"),
        serde_json::json!({"keep": true}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["backup"]["keep"], true);
    assert!(
        boss.get(&format!("/backup/{stock_take}"))
            .body
            .contains("Kept")
    );
    let restored = boss.api_post(
        &format!("/api/backups/{stock_take}/restore"),
        serde_json::json!({}),
    );
    let safety = restored.json()["safety_backup"]
        .as_str()
        .unwrap()
        .to_string();

    // Ten quick backups by staff: one is made, the rest are refused with a plain message.
    let staff = app.login_as(Role::Staff);
    let mut made = 0;
    for _ in 0..10 {
        let res = staff.api_post("/api/backups", serde_json::json!({}));
        if res.status == 201 {
            made += 1;
        } else {
            assert_eq!(res.status, 429, "{}", res.body);
        }
    }
    assert_eq!(made, 1);

    // An admin fills the cap many times over: the startup backup, the safety copy and the
    // kept backup all stay.
    let admin = app.login_as(Role::Admin);
    for i in 0..8 {
        make(&admin, &format!("round {i}"));
    }
    let files = app.backup_files();
    for must_stay in ["startup_backup.db", stock_take.as_str(), safety.as_str()] {
        assert!(
            files.iter().any(|f| f == must_stay),
            "{must_stay} was evicted: {files:?}"
        );
    }
    let list = boss.get("/api/backups").json();
    let kept: Vec<&serde_json::Value> = list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["keep"] == true)
        .collect();
    assert_eq!(kept.len(), 1);
    // A kept backup cannot be deleted, even by an admin.
    let res = admin.api_delete(&format!("/api/backups/{stock_take}"));
    assert_eq!(res.status, 409, "{}", res.body);
    assert!(res.body.contains("marked Keep"), "{}", res.body);
    // The history is startup, kept, and the two newest rounds (the safety copy is counted
    // apart): the next automatic backup pushes out the older round.
    let rounds: Vec<String> = app
        .backup_files()
        .into_iter()
        .filter(|f| f.contains("_round_"))
        .collect();
    assert_eq!(rounds.len(), 2, "{rounds:?}");
    let last_round = rounds.iter().min().unwrap().clone();
    let status = boss.get("/backup/status").body;
    assert!(
        status.contains(&format!(
            "The next automatic backup will replace {last_round}"
        )),
        "{status}"
    );
    // Room for two more: the oldest unprotected one is still what the next automatic pushes
    // out.
    boss.post_form(
        "/backup/settings",
        &[("interval_hours", "6"), ("max_backups", "6")],
    );
    make(&admin, "extra one");
    make(&admin, "extra two");
    let status = boss.get("/backup/status").body;
    assert!(
        status.contains(&format!(
            "The next automatic backup will replace {last_round}"
        )),
        "{status}"
    );
    let api = boss.get("/api/backups/status").json();
    assert_eq!(
        api["backups"]["next_automatic_pushes_out"],
        last_round.as_str()
    );

    // With the cap at 1, only protected backups are left over it: the page says so.
    boss.post_form(
        "/backup/settings",
        &[("interval_hours", "6"), ("max_backups", "1")],
    );
    make(&boss, "one more");
    let status = boss.get("/backup/status").body;
    assert!(status.contains("over the limit"), "{status}");
}
