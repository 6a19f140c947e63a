//! Off-site copies to folder targets, driven through the real app: setup from the page, the
//! emergency kit followed literally with Debian's `age` and `zstd`, retention on an injected
//! clock, the drill passing and failing, a tampered copy, a wrong key, foreign files in the
//! folder, a target that goes away and comes back, a full disk, and the health line in each
//! state. (S3 targets on Garage: `offsite_s3.rs`.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use backroom::auth::Role;
use backroom::clock::ManualClock;

use crate::support::*;

/// Adds a folder target from the page; returns the response.
pub(crate) fn add_folder(client: &Client, name: &str, path: &Path) -> Resp {
    client.post_form(
        "/backup/offsite/targets",
        &[
            ("kind", "folder"),
            ("name", name),
            ("path", path.to_str().unwrap()),
        ],
    )
}

/// The copies (manifest names without `.json`) in a folder target, sorted.
pub(crate) fn copies_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Adds the folder target "usb" at `path` from the page and waits for its first copy.
pub(crate) fn add_usb_with_a_copy(boss: &Client, path: &Path) {
    assert_eq!(add_folder(boss, "usb", path).status, 303);
    wait_until("the first copy", Duration::from_secs(60), || {
        !copies_in(path).is_empty()
    });
}

/// Waits for the first target's failure and returns it in words.
fn wait_for_last_error(boss: &Client) -> String {
    let last_error =
        || boss.get("/api/offsite").json()["offsite"]["targets"][0]["last_error"].clone();
    wait_until("the failure", Duration::from_secs(60), || {
        last_error().is_string()
    });
    last_error().as_str().unwrap().to_string()
}

pub(crate) fn health(client: &Client) -> (String, String) {
    let h = client.get("/api/offsite").json()["health"].clone();
    (
        h["level"].as_str().unwrap().to_string(),
        h["message"].as_str().unwrap().to_string(),
    )
}

fn tool(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{name} is not installed (apt-get install {name}; .ci/run does)"
    );
    path
}

/// The kit's commands for the standard tools, word by word as written, with `copy` for NAME:
/// the lines of its "without Backroom" part that start with a tool (after "on Linux:").
fn kit_commands(kit: &str, copy: &str) -> Vec<Vec<String>> {
    let part = kit
        .split("WITHOUT BACKROOM")
        .nth(1)
        .expect("the kit's standard-tool part");
    part.lines()
        .map(|l| l.trim_start_matches('#').trim())
        .map(|l| l.strip_prefix("on Linux:").map_or(l, str::trim))
        .filter(|l| {
            ["age ", "zstd ", "sha256sum "]
                .iter()
                .any(|t| l.starts_with(t))
        })
        .map(|l| {
            l.replace("NAME", copy)
                .split_whitespace()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// Follows the kit's standard-tool recovery literally in a new folder: the kit saved as
/// kit.txt, the copy and its manifest beside it, then each command as written, run without a
/// shell (no pipes, no redirection). Returns the recovered file and what the check printed.
fn recover_with_standard_tools(
    kit: &str,
    target: &Path,
    copy: &str,
    work: &Path,
) -> (PathBuf, String) {
    std::fs::write(work.join("kit.txt"), kit).unwrap();
    for file in [format!("{copy}.db.zst.age"), format!("{copy}.json")] {
        std::fs::copy(target.join(&file), work.join(&file)).unwrap();
    }
    let commands = kit_commands(kit, copy);
    let tools: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(tools, ["age", "zstd", "sha256sum"], "{kit}");
    let mut printed = String::new();
    for words in &commands {
        assert!(
            !words
                .iter()
                .any(|w| ["|", ">", ">>", "<"].contains(&w.as_str())),
            "no pipes or redirection: {words:?}"
        );
        let out = Command::new(tool(&words[0]))
            .args(&words[1..])
            .current_dir(work)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{words:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        printed = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    (work.join("business_data.db"), printed)
}

#[test]
fn a_super_admin_sets_up_a_folder_target_and_the_kit_opens_the_copy_with_standard_tools() {
    let app = spawn_app().ready();
    let target = tempfile::tempdir().unwrap();
    // Others may not set targets up.
    for role in [Role::Staff, Role::Admin] {
        assert_eq!(
            add_folder(&app.login_as(role), "usb", target.path()).status,
            403
        );
    }
    let boss = app.login_as(Role::SuperAdmin);
    let (level, message) = health(&boss);
    assert_eq!(level, "amber");
    assert!(
        message.starts_with("Backups only on this computer"),
        "{message}"
    );
    app.execute(
        "INSERT INTO customers (name, created_at, updated_at) VALUES ('Anna Fox', 'x', 'x');",
    );
    let manual = make_backup(&boss, "before the trip");

    let res = add_folder(&boss, "usb", target.path());
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(res.location(), "/backup/offsite/kit");
    let kit_page = boss.get("/backup/offsite/kit").body;
    assert!(kit_page.contains("AGE-SECRET-KEY-1"), "the kit is shown");
    assert!(kit_page.contains("I have saved the kit"));
    // Copies of the existing backups appear off-site within a minute, verified (not the
    // startup backup of the shop before it had accounts: an empty shop is not worth a copy
    // once there is a backup with data).
    let copy = manual.strip_suffix(".db").unwrap().to_string();
    wait_until("the copies", Duration::from_secs(60), || {
        copies_in(target.path()).contains(&copy)
    });
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.path().join(format!("{copy}.json"))).unwrap())
            .unwrap();
    let object = target.path().join(format!("{copy}.db.zst.age"));
    assert_eq!(
        manifest["object_size"].as_u64().unwrap(),
        std::fs::metadata(&object).unwrap().len()
    );
    assert_eq!(manifest["kind"], "manual");
    assert!(
        !std::fs::read_to_string(target.path().join(format!("{copy}.json")))
            .unwrap()
            .contains("Anna"),
        "no business data in the manifest"
    );
    // Until the kit is confirmed the health line says so.
    wait_until("the drill", Duration::from_secs(30), || {
        boss.get("/api/offsite").json()["offsite"]["targets"][0]["last_drill"]["ok"] == true
    });
    // The API shows how sending went, not the sender's own bookkeeping (upload ids).
    let shown = boss.get("/api/offsite").json()["offsite"]["targets"][0].clone();
    assert!(shown["copies_sent"].as_u64().unwrap() >= 1, "{shown}");
    assert!(shown.get("in_flight").is_none(), "{shown}");
    assert!(shown.get("failures").is_none(), "{shown}");
    let (level, message) = health(&boss);
    assert_eq!(level, "amber");
    assert!(message.contains("emergency kit"), "{message}");
    assert_eq!(
        boss.post_form("/backup/offsite/kit/confirm", &[]).status,
        303
    );
    let (level, message) = health(&boss);
    assert_eq!(level, "green", "{message}");
    assert!(message.contains("off-site copy on usb"), "{message}");

    // The kit, downloaded, opens the copy with Debian's age and zstd exactly as written.
    let kit = boss.get("/backup/offsite/kit/download");
    assert!(
        kit.header("content-disposition")
            .contains("backroom-emergency-kit.txt")
    );
    assert!(
        kit.body
            .contains("age -d -i kit.txt -o NAME.db.zst NAME.db.zst.age\n")
    );
    let work = tempfile::tempdir().unwrap();
    let (recovered, checked) =
        recover_with_standard_tools(&kit.body, target.path(), &copy, work.path());
    let plain_sha256 = manifest["plain_sha256"].as_str().unwrap();
    // The kit's check prints the manifest's checksum, and it is the file's.
    assert_eq!(
        checked.split_whitespace().next(),
        Some(plain_sha256),
        "{checked}"
    );
    assert_eq!(
        backroom::backup::copy::sha256_file(&recovered).unwrap().0,
        plain_sha256
    );
    let conn = rusqlite::Connection::open(&recovered).unwrap();
    let name: String = conn
        .query_row("SELECT name FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "Anna Fox");

    // The page shows the card; the log says what happened.
    let page = boss.get("/backup/status").body;
    assert!(page.contains("data-target=\"usb\""), "{page}");
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(log.contains("Off-site target added: usb"), "{log}");
    assert!(log.contains("Off-site copy sent to usb"), "{log}");
    assert!(log.contains("Restore drill on usb passed"), "{log}");
    assert!(
        !log.contains("AGE-SECRET-KEY"),
        "the key never reaches the log"
    );
    // New backups follow.
    let next = make_backup(&boss, "after setup");
    let next_copy = next.strip_suffix(".db").unwrap().to_string();
    wait_until("the next copy", Duration::from_secs(60), || {
        copies_in(target.path()).contains(&next_copy)
    });
    assert!(backroom::platform::is_owner_only(&app.data_dir().join("offsite.key")).unwrap());
}

#[test]
fn bad_targets_are_refused_with_a_message_and_nothing_is_saved() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let res = boss.post_form(
        "/backup/offsite/targets",
        &[
            ("kind", "folder"),
            ("name", "usb"),
            ("path", "relative/dir"),
        ],
    );
    assert_eq!(res.status, 400);
    assert!(res.body.contains("whole path"), "{}", res.body);
    let res = add_folder(&boss, "Bad Name!", Path::new("/tmp"));
    assert_eq!(res.status, 400);
    assert!(res.body.contains("lower-case"), "{}", res.body);
    // A folder that cannot be written: the test write fails, nothing is saved.
    let file = tempfile::NamedTempFile::new().unwrap();
    let res = add_folder(&boss, "usb", &file.path().join("inside-a-file"));
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(
        res.body.contains("The target was not saved"),
        "{}",
        res.body
    );
    let settings =
        std::fs::read_to_string(app.data_dir().join("backroom.toml")).unwrap_or_default();
    assert!(!settings.contains("usb"), "{settings}");
    assert!(
        !app.data_dir().join("offsite.key").exists(),
        "no key made for nothing"
    );
    // An S3 target with a bad endpoint: refused field by field, the secret never shown back.
    let res = boss.post_form(
        "/backup/offsite/targets",
        &[
            ("kind", "s3"),
            ("name", "cloud"),
            ("endpoint", "s3.example.com"),
            ("bucket", "b"),
            ("access_key_id", "AKIAEXAMPLE"),
            ("secret_access_key", "super-secret-value-123"),
        ],
    );
    assert_eq!(res.status, 400);
    assert!(res.body.contains("https://"), "{}", res.body);
    assert!(
        !res.body.contains("super-secret-value-123"),
        "the secret is never shown back"
    );
}

#[test]
fn a_target_that_goes_away_is_retried_and_caught_up_when_it_returns() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("usb");
    std::fs::create_dir(&target).unwrap();
    add_usb_with_a_copy(&boss, &target);
    // The drive is pulled (its folder is a file now: nothing can be written).
    let away = parent.path().join("unplugged");
    std::fs::rename(&target, &away).unwrap();
    std::fs::write(&target, b"not a folder").unwrap();
    let queued = make_backup(&boss, "while away");
    wait_until("the failure", Duration::from_secs(30), || {
        boss.get("/api/offsite").json()["offsite"]["targets"][0]["failing_since"].is_string()
    });
    let (level, message) = health(&boss);
    assert_eq!(level, "amber", "failing briefly is amber: {message}");
    assert!(message.contains("failing"), "{message}");
    // Back again: the queued copy is sent on the next try.
    std::fs::remove_file(&target).unwrap();
    std::fs::rename(&away, &target).unwrap();
    let copy = queued.strip_suffix(".db").unwrap().to_string();
    wait_until("the queued copy", Duration::from_secs(30), || {
        copies_in(&target).contains(&copy)
    });
    wait_until("the failure to clear", Duration::from_secs(30), || {
        boss.get("/api/offsite").json()["offsite"]["targets"][0]["failing_since"].is_null()
    });
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains("Off-site copy to usb failed (trying again in"),
        "{log}"
    );
}

#[test]
fn failures_for_more_than_a_day_and_a_failed_drill_turn_the_health_line_red() {
    let clock = ManualClock::new();
    let (app, boss) = spawn_app_with_clock(&clock, None).ready_as(Role::SuperAdmin);
    let target = tempfile::tempdir().unwrap();
    assert_eq!(add_folder(&boss, "usb", target.path()).status, 303);
    boss.post_form("/backup/offsite/kit/confirm", &[]);
    wait_until("the drill", Duration::from_secs(30), || {
        boss.get("/api/offsite").json()["offsite"]["targets"][0]["last_drill"]["ok"] == true
    });
    assert_eq!(health(&boss).0, "green");

    // A tampered copy: the drill names why it fails, the line turns red on every page.
    let copy = copies_in(target.path()).pop().unwrap();
    flip_middle(&target.path().join(format!("{copy}.db.zst.age")));
    let res = boss.api_post("/api/offsite/usb/drill", serde_json::json!({}));
    assert_eq!(res.status, 200, "{}", res.body);
    let drill = res.json();
    assert_eq!(drill["ok"], false);
    let why = drill["message"].as_str().unwrap();
    assert!(why.contains("damaged") || why.contains("checksum"), "{why}");
    let (level, message) = health(&boss);
    assert_eq!(level, "red");
    assert!(message.contains("restore drill on usb failed"), "{message}");
    assert!(boss.get("/products").body.contains("banner banner-red"));
    let leftovers: Vec<_> = std::fs::read_dir(app.data_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".offsite-"))
        .collect();
    assert!(leftovers.is_empty(), "the drill's temp file is removed");
}

#[test]
fn a_backup_deleted_here_before_its_turn_is_skipped_not_counted_as_a_failure() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    // Random hex compresses only by half: sending one copy takes a moment.
    app.execute(
        "INSERT INTO customers (name, notes, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
         SELECT 'filler', hex(randomblob(100000)), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;",
    );
    let older = make_backup(&boss, "older");
    let newer = make_backup(&boss, "newer");
    let target = tempfile::tempdir().unwrap();
    // The first round lists what to send, then sends the newest first.
    assert_eq!(add_folder(&boss, "usb", target.path()).status, 303);
    let sending_newer = format!("sending {}", newer.strip_suffix(".db").unwrap());
    wait_until("the newer copy on its way", Duration::from_secs(60), || {
        boss.get("/api/offsite").json()["offsite"]["activity"]["what"] == sending_newer.as_str()
    });
    assert_eq!(
        boss.api_delete(&format!("/api/backups/{older}")).status,
        200
    );
    // The round records the copy before it writes the log line: wait for both.
    let sent_line = format!(
        "Off-site copy sent to usb: {}",
        newer.strip_suffix(".db").unwrap()
    );
    let log_path = app.backups_dir().join("backup.log");
    wait_until("the round", Duration::from_secs(60), || {
        let status = boss.get("/api/offsite").json()["offsite"].clone();
        status["activity"].is_null()
            && status["targets"][0]["last_copy"].is_string()
            && std::fs::read_to_string(&log_path).is_ok_and(|log| log.contains(&sent_line))
    });
    // The deletion landed while the newer copy was being sent, after the list was read.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let deleted = log.find(&format!("Backup deleted: {older}")).unwrap();
    let newer_sent = log.find(&sent_line).unwrap();
    assert!(deleted < newer_sent, "{log}");
    let shown = boss.get("/api/offsite").json()["offsite"]["targets"][0].clone();
    assert!(shown["last_error"].is_null(), "{shown}");
    assert!(shown["failing_since"].is_null(), "{shown}");
    let copies = copies_in(target.path());
    assert!(
        copies.contains(&newer.strip_suffix(".db").unwrap().to_string()),
        "{copies:?}"
    );
    assert!(
        !copies.iter().any(|c| older.starts_with(c.as_str())),
        "{copies:?}"
    );
}

#[test]
fn a_wrong_key_is_refused_and_says_so() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let target = tempfile::tempdir().unwrap();
    add_usb_with_a_copy(&boss, target.path());
    // The key file is replaced by an unrelated key (as if the wrong kit was imported).
    let other = backroom::offsite::keys::Keyring::generate(chrono::Utc::now());
    other.save(app.data_dir()).unwrap();
    let drill = boss
        .api_post("/api/offsite/usb/drill", serde_json::json!({}))
        .json();
    assert_eq!(drill["ok"], false);
    assert!(
        drill["message"]
            .as_str()
            .unwrap()
            .contains("cannot be decrypted with this key"),
        "{drill}"
    );
}

#[test]
fn foreign_files_in_the_folder_are_never_touched_and_retention_keeps_the_tiers() {
    let clock = ManualClock::new();
    let (app, boss) = spawn_app_with_clock(&clock, LONG_INTERVAL).ready_as(Role::SuperAdmin);
    let target = tempfile::tempdir().unwrap();
    let foreign = [
        "holiday.jpg",
        "notes.json",
        "backup_fake.db.zst.age",
        "pre_restore_20200101_000000.json",
    ];
    for f in foreign {
        std::fs::write(target.path().join(f), b"not Backroom's").unwrap();
    }
    assert_eq!(add_folder(&boss, "usb", target.path()).status, 303);
    // A tight policy: the newest 2, one a day for 3 days.
    let settings_path = app.data_dir().join("backroom.toml");
    let text = std::fs::read_to_string(&settings_path).unwrap();
    let text = text
        .replace("keep_last = 10", "keep_last = 2")
        .replace("keep_daily = 14", "keep_daily = 3")
        .replace("keep_weekly = 8", "keep_weekly = 0")
        .replace("keep_monthly = 12", "keep_monthly = 0");
    std::fs::write(&settings_path, text).unwrap();
    let mut made = Vec::new();
    // Two backups a day for five days (logging in again: the clock jumps past the idle limit).
    for day in 0..5 {
        for half in 0..2 {
            let admin = app.login_as(Role::Admin);
            let name = make_backup(&admin, &format!("day {day} half {half}"));
            made.push(name.strip_suffix(".db").unwrap().to_string());
            let copy = made.last().unwrap().clone();
            wait_until("the copy", Duration::from_secs(60), || {
                copies_in(target.path()).contains(&copy)
            });
            clock.advance(chrono::Duration::hours(12));
        }
    }
    let boss = app.login_as(Role::SuperAdmin);
    boss.api_post("/api/offsite/usb/push", serde_json::json!({}));
    wait_until("retention", Duration::from_secs(60), || {
        copies_in(target.path()).len() <= 5
    });
    let kept = copies_in(target.path());
    let newest = made.last().unwrap();
    assert!(kept.contains(newest), "the newest stays: {kept:?}");
    assert!(!kept.contains(&made[0]), "the oldest goes: {kept:?}");
    for f in foreign {
        assert!(target.path().join(f).exists(), "{f} was touched");
    }
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(log.contains("Off-site retention removed"), "{log}");
}

#[test]
fn a_read_only_folder_is_refused_at_setup_and_one_that_turns_read_only_fails_plainly() {
    let Some(disk) = SmallDisk::mount(16) else {
        println!("read-only folder target: mounting a tmpfs is not permitted here; skipped");
        return;
    };
    let (_app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let before = make_backup(&boss, "before the stick");
    assert_eq!(add_folder(&boss, "stick", &disk.path).status, 303);
    let first = before.strip_suffix(".db").unwrap().to_string();
    wait_until("the first copy", Duration::from_secs(60), || {
        copies_in(&disk.path).contains(&first)
    });
    // The stick's lock switch goes on: the next copy fails with the reason, nothing partial.
    assert!(disk.remount_read_only(), "remount read-only failed");
    let after = make_backup(&boss, "after the switch");
    let error = wait_for_last_error(&boss);
    assert!(error.to_lowercase().contains("read-only"), "{error}");
    assert_eq!(copies_in(&disk.path), vec![first.clone()]);
    assert!(!copies_in(&disk.path).contains(&after.strip_suffix(".db").unwrap().to_string()));
    // A new target on a read-only folder is not saved at all.
    let res = add_folder(&boss, "locked", &disk.path);
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(
        res.body.contains("The target was not saved"),
        "{}",
        res.body
    );
    let targets = boss.get("/api/offsite").json()["offsite"]["targets"].clone();
    assert_eq!(targets.as_array().unwrap().len(), 1, "{targets}");
}

#[test]
fn the_api_sets_up_a_target_like_the_page_and_refuses_what_the_page_refuses() {
    let app = spawn_app();
    let target = tempfile::tempdir().unwrap();
    let admin = app.login_as(Role::Admin);
    let body = serde_json::json!({"kind": "folder", "name": "usb", "path": target.path()});
    assert_eq!(
        admin.api_post("/api/offsite/targets", body.clone()).status,
        403
    );
    let boss = app.login_as(Role::SuperAdmin);
    let bad = boss.api_post(
        "/api/offsite/targets",
        serde_json::json!({"kind": "folder", "name": "no good!", "path": ""}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(!bad.json()["error"].as_str().unwrap().is_empty());
    let res = boss.api_post("/api/offsite/targets", body.clone());
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.json()["target"], "usb");
    assert_eq!(res.json()["new_key"], true);
    let again = boss.api_post("/api/offsite/targets", body);
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.json()["error"]
            .as_str()
            .unwrap()
            .contains("already a target")
    );
    assert_eq!(boss.api_delete("/api/offsite/usb").status, 200);
    let targets = boss.get("/api/offsite").json()["offsite"]["targets"].clone();
    assert!(targets.as_array().unwrap().is_empty(), "{targets}");
}

#[test]
fn a_full_folder_target_fails_cleanly_and_keeps_no_partial_copy() {
    let Some(disk) = SmallDisk::mount(2) else {
        println!("full folder target: mounting a tmpfs is not permitted here; skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    make_big_database(&db, 8);
    add_user_to(&db, "boss", Role::SuperAdmin);
    let app = TestApp::in_dir(dir.path()).ready();
    let boss = app.client();
    assert_eq!(boss.login("boss", PASSWORD).status, 303);
    // The setup's test file fits; the 8 MB copy (random data, incompressible) does not.
    assert_eq!(add_folder(&boss, "small", &disk.path).status, 303);
    let error = wait_for_last_error(&boss);
    assert!(
        error.contains("disk is full") || error.contains("quota"),
        "{error}"
    );
    let left: Vec<String> = std::fs::read_dir(&disk.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "nothing partial is left: {left:?}");
}

#[test]
fn the_command_line_sets_up_lists_pushes_verifies_drills_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let _app = TestApp::in_dir(dir.path()).ready();
    let target = tempfile::tempdir().unwrap();
    let add = cli_ok(
        dir.path(),
        &[
            "offsite",
            "add",
            "usb",
            "--folder",
            target.path().to_str().unwrap(),
        ],
    );
    assert!(add.contains("new off-site key"), "{add}");
    let push = run_cli(dir.path(), &["offsite", "push"], None);
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let out = String::from_utf8_lossy(&push.stdout).into_owned();
    assert!(
        out.contains("sent") || out.contains("Nothing to send"),
        "{out}"
    );
    assert!(!copies_in(target.path()).is_empty());
    let list = run_cli(dir.path(), &["offsite", "list"], None);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(listed.contains("startup_"), "{listed}");
    let verify = run_cli(dir.path(), &["offsite", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let drill = run_cli(dir.path(), &["offsite", "drill", "usb"], None);
    assert!(
        drill.status.success(),
        "{}",
        String::from_utf8_lossy(&drill.stdout)
    );
    assert!(String::from_utf8_lossy(&drill.stdout).starts_with("passed usb"));
    let kit = run_cli(dir.path(), &["offsite", "kit"], None);
    assert!(String::from_utf8_lossy(&kit.stdout).contains("AGE-SECRET-KEY-1"));
    let remove = run_cli(dir.path(), &["offsite", "remove", "usb"], None);
    assert!(remove.status.success());
    assert!(
        !copies_in(target.path()).is_empty(),
        "nothing on the target is deleted"
    );
    let unknown = run_cli(dir.path(), &["offsite", "drill", "nope"], None);
    assert!(!unknown.status.success());
}

#[test]
fn staff_do_not_read_where_the_copies_go() {
    let app = spawn_app();
    let target = tempfile::tempdir().unwrap();
    let place = target.path().join("hidden-place");
    std::fs::create_dir(&place).unwrap();
    app.protect_off_site(&place);
    let shown = place.display().to_string();
    let staff = app.login_as(Role::Staff);
    let res = staff.get("/api/offsite");
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(!res.body.contains("hidden-place"), "{}", res.body);
    let page = staff.get("/backup/status");
    assert_eq!(page.status, 200);
    let at = page
        .body
        .find("hidden-place")
        .map(|i| &page.body[i.saturating_sub(300)..i + 20]);
    assert!(at.is_none(), "the page hides it too: {at:?}");
    let admin = app.login_as(Role::Admin);
    assert_eq!(admin.get("/api/offsite").status, 200);
    assert!(admin.get("/backup/status").body.contains(&shown));
}
