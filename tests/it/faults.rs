//! Faults on real processes and real file systems: `kill -9` during backups and restores,
//! a full disk, damaged backup files, and graceful shutdown. Iteration counts come from
//! `BACKROOM_FAULT_ITERATIONS` (10 by default; `scripts/stress.sh` runs more).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backroom::auth::Role;
use rand::RngExt;

use crate::support::*;

fn iterations() -> usize {
    std::env::var("BACKROOM_FAULT_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn big_mb() -> usize {
    std::env::var("BACKROOM_FAULT_DB_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn keep_backups(dir: &Path, max: u32) {
    std::fs::write(
        dir.join("backroom.toml"),
        format!("interval_hours = 6\nmax_backups = {max}\n"),
    )
    .unwrap();
}

fn login(url: &str) -> Client {
    let client = Client::new(url);
    assert_eq!(client.login("boss", PASSWORD).status, 303);
    client
}

/// Waits until no backup/restore is running in the server.
fn wait_idle(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = client.get("/api/backups/status").json();
        if status["operation"].is_null() {
            return;
        }
        assert!(Instant::now() < deadline, "still busy: {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// With the server stopped: every file named like a backup verifies (the CLI rebuilds lost
/// records), and nothing partial is left under a backup's name.
fn assert_backups_all_verify(dir: &Path) {
    let out = run_cli(dir, &["backup", "verify", "--all"], None);
    assert!(
        out.status.success(),
        "a backup failed verification:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn random_ms(max: u64) -> u64 {
    rand::rng().random_range(0..max)
}

/// The note the server's running operation last wrote into the backup lock file ("backup 42
/// copying", "restore 90 swapping"); empty when none was running. A killed server never
/// clears it, so after a kill it says where the kill landed.
fn lock_note(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("database_backups/.backup.lock"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Polls the lock note until `wanted` holds (or fails after a deadline).
fn wait_for_note(dir: &Path, what: &str, wanted: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !wanted(&lock_note(dir)) {
        assert!(
            Instant::now() < deadline,
            "never saw {what}: {:?}",
            lock_note(dir)
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Counts where kills landed, by the note they left ("backup copying", "none", ...).
#[derive(Default)]
struct Landings(std::collections::BTreeMap<String, usize>);

impl Landings {
    fn record(&mut self, note: &str) {
        let words: Vec<&str> = note.split_whitespace().collect();
        let key = match words.as_slice() {
            [] => "after it finished".to_string(),
            [op @ .., _percent, phase] => format!("{} {phase}", op.join(" ")),
            other => other.join(" "),
        };
        *self.0.entry(key).or_default() += 1;
    }

    fn count(&self, prefix: &str) -> usize {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn kill_9_during_backups_never_leaves_a_partial_backup() {
    let dir = tempfile::tempdir().unwrap();
    make_big_database(&dir.path().join("business_data.db"), big_mb());
    add_user_to(
        &dir.path().join("business_data.db"),
        "boss",
        Role::SuperAdmin,
    );
    keep_backups(dir.path(), 4);
    // How long one backup takes here, so the kills land while backups run.
    let window = {
        let server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
        let client = login(&server.url);
        wait_idle(&client);
        let started = Instant::now();
        assert_eq!(
            client
                .api_post("/api/backups", serde_json::json!({}))
                .status,
            201
        );
        started.elapsed()
    };
    let window_ms = u64::try_from(window.as_millis()).unwrap().max(50);
    let mut landed = Landings::default();
    for i in 0..iterations() {
        let mut server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
        if i % 2 == 0 {
            // Kill during a manual backup: wait until it is running, then a random moment.
            let client = login(&server.url);
            wait_idle(&client);
            let worker = login(&server.url);
            std::thread::spawn(move || {
                worker.try_api_post("/api/backups", serde_json::json!({"description": "killed"}))
            });
        }
        // Odd rounds: the startup backup, which runs right after the start.
        wait_for_note(dir.path(), "a backup running", |n| n.starts_with("backup "));
        std::thread::sleep(Duration::from_millis(random_ms(window_ms)));
        server.kill9();
        landed.record(&lock_note(dir.path()));
        assert!(
            integrity_ok(&dir.path().join("business_data.db")),
            "iteration {i}: live database damaged"
        );
        assert_backups_all_verify(dir.path());
    }
    let inside = landed.count("backup");
    assert!(
        inside * 2 >= iterations(),
        "most kills must land inside a backup: {:?}",
        landed.0
    );
    assert!(landed.count("backup copying") > 0, "{:?}", landed.0);
    let server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
    let client = login(&server.url);
    assert_eq!(client.get("/backup/status").status, 200);
    wait_idle(&client);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path().join("database_backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files survived a restart: {leftovers:?}"
    );
    println!(
        "kill -9 during backup: survived {} kills on a {} MB database at random moments within {window_ms} ms (one backup takes {} ms here); where they landed: {:?}",
        iterations(),
        big_mb(),
        window.as_millis(),
        landed.0
    );
}

/// The two states a killed restore may leave: ("backup", rows) or ("live", rows + 1000).
fn database_state(db: &Path) -> (String, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let marker: String = conn
        .query_row(
            "SELECT notes FROM customers WHERE name = 'marker'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let rows: i64 = conn.query_row(FILLER_ROWS, [], |r| r.get(0)).unwrap();
    (marker, rows)
}

fn make_live_state(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "UPDATE customers SET notes = 'live' WHERE name = 'marker'; {}",
        pad_sql(1000)
    ))
    .unwrap();
}

#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn kill_9_during_restores_leaves_the_old_or_the_new_data_never_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    make_big_database(&db, big_mb());
    add_user_to(&db, "boss", Role::SuperAdmin);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        // Which data is in place: a customer of Backroom's own schema says so.
        conn.execute_batch(
            "INSERT INTO customers (name, notes, created_at, updated_at)
             VALUES ('marker', 'backup', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
        )
        .unwrap();
    }
    // Room for every safety backup, so retention never removes the backup being restored.
    keep_backups(dir.path(), u32::try_from(iterations()).unwrap() + 5);
    let backup_rows = database_state(&db).1;
    // The backup to restore, made by the real program.
    let out = run_cli(dir.path(), &["backup", "create", "-d", "target"], None);
    assert!(out.status.success());
    let target = backup_files(&dir.path().join("database_backups"))
        .into_iter()
        .find(|n| n.ends_with("_target.db"))
        .unwrap();
    make_live_state(&db);
    // How long one restore takes here, so the kills land while restores run.
    let window = {
        let mut server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
        let client = login(&server.url);
        wait_idle(&client);
        let started = Instant::now();
        let res = client.api_post(
            &format!("/api/backups/{target}/restore"),
            serde_json::json!({}),
        );
        assert_eq!(res.status, 200, "{}", res.body);
        let took = started.elapsed();
        server.kill9();
        make_live_state(&db);
        took
    };
    let window_ms = u64::try_from(window.as_millis()).unwrap().max(50);
    let (mut old, mut new) = (0, 0);
    let mut landed = Landings::default();
    for i in 0..iterations() {
        let mut server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
        let client = login(&server.url);
        wait_idle(&client);
        let worker = login(&server.url);
        let path = format!("/api/backups/{target}/restore");
        std::thread::spawn(move || worker.try_api_post(&path, serde_json::json!({})));
        if i % 2 == 0 {
            // Aim at the swap itself: kill the moment it starts. The swap lasts milliseconds;
            // on a loaded machine the poll can miss it, and then the restore is simply over
            // (the note is cleared): that kill lands after it, and the check below that some
            // kill landed inside a swap still has to pass.
            wait_for_note(dir.path(), "a restore running", |n| {
                n.starts_with("restore ")
            });
            wait_for_note(dir.path(), "the swap or the restore's end", |n| {
                n.ends_with("swapping") || n.is_empty()
            });
        } else {
            wait_for_note(dir.path(), "a restore running", |n| {
                n.starts_with("restore ")
            });
            std::thread::sleep(Duration::from_millis(random_ms(window_ms)));
        }
        server.kill9();
        landed.record(&lock_note(dir.path()));
        assert!(integrity_ok(&db), "iteration {i}: live database damaged");
        match database_state(&db) {
            (m, rows) if m == "backup" && rows == backup_rows => {
                new += 1;
                make_live_state(&db);
            }
            (m, rows) if m == "live" && rows == backup_rows + 1000 => old += 1,
            other => panic!("iteration {i}: a mix of old and new data: {other:?}"),
        }
        assert_backups_all_verify(dir.path());
    }
    let server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
    let client = login(&server.url);
    assert_eq!(client.get("/customers").status, 200);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".restore-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(
        landed.count("restore swapping") > 0,
        "no kill landed inside a swap: {:?}",
        landed.0
    );
    assert!(
        landed.count("restore") * 2 >= iterations(),
        "{:?}",
        landed.0
    );
    println!(
        "kill -9 during restore: survived {} kills on a {} MB database (half aimed at the swap, half at random moments within {window_ms} ms; one restore takes {} ms here): {old} left the old data, {new} the restored data, 0 mixed; where they landed: {:?}",
        iterations(),
        big_mb(),
        window.as_millis(),
        landed.0
    );
}

#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn a_backup_that_does_not_fit_fails_cleanly_on_a_small_file_system() {
    let Some(disk) = SmallDisk::mount(24) else {
        println!(
            "disk full (tmpfs): mounting is not permitted here; the RLIMIT_FSIZE test covers the failure path"
        );
        return;
    };
    let data = disk.path.join("data");
    std::fs::create_dir_all(&data).unwrap();
    make_big_database(&data.join("business_data.db"), 6);
    add_user_to(&data.join("business_data.db"), "boss", Role::SuperAdmin);
    let app = TestApp::in_dir(&data).ready();
    let client = login(&app.url);
    // The live data grows until a copy no longer fits.
    app.execute(&pad_sql(5000));
    let before = app.backup_files();
    let res = client.api_post(
        "/api/backups",
        serde_json::json!({"description": "too big"}),
    );
    assert_eq!(res.status, 503, "{}", res.body);
    let message = res.json()["error"].as_str().unwrap().to_string();
    assert!(message.contains("not enough free disk space"), "{message}");
    assert!(
        message.contains("older backups are never deleted"),
        "{message}"
    );
    assert_eq!(
        app.backup_files(),
        before,
        "no partial file, no older backup deleted"
    );
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains("ERROR - Database backup (manual) failed: not enough free disk space"),
        "{log}"
    );
    let page = client.get("/backup/status");
    assert!(page.body.contains("Last backup failed"));
    assert_eq!(client.get("/customers").status, 200, "still serving");
    assert_eq!(app.query_i64(FILLER_ROWS), 6 * 1024 + 5000);
    println!("disk full: ran on a 24 MiB tmpfs (refused before copying)");
}

#[cfg(unix)]
#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn a_write_failure_in_the_middle_of_a_copy_leaves_nothing_behind() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    make_big_database(&db, 12);
    add_user_to(&db, "boss", Role::SuperAdmin);
    let out = run_cli(
        dir.path(),
        &["backup", "create", "-d", "before the limit"],
        None,
    );
    assert!(out.status.success());
    let before = backup_files(&dir.path().join("database_backups"));
    assert_eq!(before.len(), 1);
    // Every file this server writes may be at most 8 MB: copies of the 12 MB database fail
    // part-way, while the live file (already larger) keeps working in place.
    let mut cmd = Command::new(binary());
    cmd.arg("--data-dir")
        .arg(dir.path())
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 8 * 1024 * 1024,
                rlim_max: 8 * 1024 * 1024,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let server = ServerProcess::from_command(cmd);
    let client = login(&server.url);
    wait_idle(&client);
    let res = client.api_post(
        "/api/backups",
        serde_json::json!({"description": "will not fit"}),
    );
    assert_eq!(res.status, 503, "{}", res.body);
    let message = res.json()["error"].as_str().unwrap().to_string();
    assert!(message.contains("could not be written"), "{message}");
    let all: Vec<String> = std::fs::read_dir(dir.path().join("database_backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !all.iter().any(|n| n.starts_with(".tmp-")),
        "temp file left: {all:?}"
    );
    assert_eq!(
        backup_files(&dir.path().join("database_backups")),
        before,
        "only the older backup, untouched"
    );
    let status = client.get("/api/backups/status").json();
    assert_eq!(status["health"]["level"], "red");
    assert_eq!(client.get("/products").status, 200);
    let log = std::fs::read_to_string(dir.path().join("database_backups/backup.log")).unwrap();
    assert!(
        log.contains("ERROR - Database backup (startup) failed"),
        "{log}"
    );
    assert!(
        log.contains(
            "ERROR - Database backup (manual) failed: the backup file could not be written"
        ),
        "{log}"
    );
    drop(server);
    assert!(integrity_ok(&db));
    println!(
        "disk full: RLIMIT_FSIZE of 8 MB on the server process (copy failed part-way, cleaned up)"
    );
}

#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn damaged_backup_files_are_marked_refused_and_skipped() {
    let clock = backroom::clock::ManualClock::new();
    let (mut app, boss) = spawn_app_with_clock(&clock, None).ready_as(Role::SuperAdmin);
    let make = |d: &str| {
        let res = boss.api_post("/api/backups", serde_json::json!({ "description": d }));
        assert_eq!(res.status, 201);
        clock.advance(chrono::Duration::seconds(2));
        res.json()["backup"]["name"].as_str().unwrap().to_string()
    };
    boss.post_form(
        "/backup/settings",
        &[("interval_hours", "6"), ("max_backups", "20")],
    );
    let good = make("good");
    let truncated = make("truncated");
    let flipped = make("flipped");
    let not_sqlite = make("not sqlite");
    let bad_hash = make("bad hash");
    let bad_json = make("bad json");
    let no_record = make("no record");
    let dir = app.backups_dir();
    let len = std::fs::metadata(dir.join(&truncated)).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(&truncated))
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    flip_middle(&dir.join(&flipped));
    std::fs::write(
        dir.join(&not_sqlite),
        b"%PDF-1.4 this is a pdf, not a database",
    )
    .unwrap();
    let record_path = dir.join(format!("{bad_hash}.json"));
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
    record["sha256"] = serde_json::Value::String("0".repeat(64));
    std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
    std::fs::write(dir.join(format!("{bad_json}.json")), b"{ this is not json").unwrap();
    std::fs::remove_file(dir.join(format!("{no_record}.json"))).unwrap();

    let list = boss.get("/api/backups").json();
    let state = |name: &str| {
        list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"))["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state(&good), "verified");
    assert_eq!(state(&truncated), "failed");
    assert_eq!(state(&not_sqlite), "failed");
    assert_eq!(
        state(&flipped),
        "unverified",
        "changed since it was verified"
    );
    assert_eq!(state(&bad_json), "unverified", "its record is unreadable");
    assert_eq!(state(&no_record), "unverified", "its record is missing");
    let page = boss.get("/backup/status");
    assert_eq!(page.status, 200, "the page still renders");
    assert!(page.body.contains("its record is not valid JSON"));
    assert!(page.body.contains("not an SQLite database file"));

    for bad in [&truncated, &flipped, &not_sqlite, &bad_hash] {
        let res = boss.api_post(
            &format!("/api/backups/{bad}/restore"),
            serde_json::json!({}),
        );
        assert_eq!(res.status, 409, "{bad}: {}", res.body);
        assert_eq!(
            state_after(&boss, bad),
            "failed",
            "{bad} is marked after the refusal"
        );
    }
    assert_eq!(
        app.query_i64("SELECT count(*) FROM users"),
        1,
        "nothing was restored"
    );

    // The two without a usable record are damaged too now: emergency restore must skip all
    // six and use the newest good one.
    let len = std::fs::metadata(dir.join(&no_record)).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(&no_record))
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    std::fs::write(dir.join(&bad_json), b"GIF89a not a database").unwrap();
    let res = boss.api_post("/api/backups/emergency-restore", serde_json::json!({}));
    assert_eq!(res.status, 200, "{}", res.body);
    let report = res.json();
    assert_eq!(report["restored"], good.as_str());
    let skipped: Vec<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap().to_string())
        .collect();
    for bad in [
        &truncated,
        &flipped,
        &not_sqlite,
        &bad_hash,
        &bad_json,
        &no_record,
    ] {
        assert!(skipped.contains(bad), "{bad} not skipped: {skipped:?}");
    }
    app.stop();
    assert!(integrity_ok(&app.db_path()));
}

fn state_after(client: &Client, name: &str) -> String {
    let list = client.get("/api/backups").json();
    list["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .map(|b| b["state"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[cfg(unix)]
#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn sigterm_and_ctrl_c_during_a_backup_shut_down_cleanly() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        make_big_database(&dir.path().join("business_data.db"), 150);
        add_user_to(
            &dir.path().join("business_data.db"),
            "boss",
            Role::SuperAdmin,
        );
        let mut server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
        let client = login(&server.url);
        wait_idle(&client);
        // Start backups until one is seen running (a fast one may finish between two polls).
        let deadline = Instant::now() + Duration::from_secs(60);
        'caught: loop {
            let worker = login(&server.url);
            let running = std::thread::spawn(move || {
                worker.try_api_post(
                    "/api/backups",
                    serde_json::json!({"description": "interrupted"}),
                )
            });
            while !running.is_finished() {
                if !client.get("/api/backups/status").json()["operation"].is_null() {
                    break 'caught;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            assert!(Instant::now() < deadline, "never caught a backup running");
        }
        server.signal(signal);
        let status = server
            .wait_exit(Duration::from_secs(60))
            .expect("the server did not stop");
        assert!(
            status.success(),
            "exit status {status:?} after signal {signal}"
        );
        let backups = dir.path().join("database_backups");
        let names: Vec<String> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with(".tmp-")),
            "temp file left: {names:?}"
        );
        let log = std::fs::read_to_string(backups.join("backup.log")).unwrap();
        let finished = names.iter().any(|n| n.ends_with("_interrupted.db"));
        let cancelled = log.contains("cancelled: the program is shutting down");
        assert!(
            finished || cancelled,
            "neither finished nor cleaned up: {log}"
        );
        // The lock is released and the next start is clean.
        assert!(
            backroom::fsutil::FileLock::try_acquire(&dir.path().join("backroom.lock"))
                .unwrap()
                .is_some()
        );
        assert_backups_all_verify(dir.path());
        let again = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
        let client = login(&again.url);
        wait_idle(&client);
        drop(again);
        let log = std::fs::read_to_string(backups.join("backup.log")).unwrap();
        assert!(!log.contains("Removed an unfinished temp file"), "{log}");
        println!(
            "signal {signal} during a backup: {}",
            if finished {
                "the backup finished first"
            } else {
                "the backup was cancelled and its temp file removed"
            }
        );
    }
}
