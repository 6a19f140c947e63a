//! Bringing a backup in from elsewhere (issue 14): uploads on Database Backup and the API, the
//! first-run page's "Bring back my data" (a file, or a copy on a folder target), the command
//! line's `backup upload` and `restore --file/--offsite`, and the bad input each refuses with
//! nothing changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use backroom::auth::Role;

use crate::support::*;

/// A shop with a few records of its own, and a manual backup of it; returns the backup's
/// file name.
fn shop_with_backup(app: &TestApp, boss: &Client) -> String {
    app.execute(
        "INSERT INTO products (sku, name, price_cents, stock, created_at, updated_at)
             VALUES ('BB-1', 'Brought back tea', 450, 7, '2026-11-30T10:00:00Z', '2026-11-30T10:00:00Z');
         INSERT INTO customers (name, phone, created_at, updated_at)
             VALUES ('Ada Back', '555-0101', '2026-11-30T10:00:00Z', '2026-11-30T10:00:00Z');",
    );
    // The startup backup may still be running: tried again with a deadline.
    make_backup(boss, "to move")
}

fn download(client: &Client, name: &str) -> Vec<u8> {
    client.download(name).bytes().unwrap().to_vec()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v = backup_files(dir);
    v.sort();
    v
}

#[test]
fn a_backup_file_uploaded_through_the_api_is_checked_added_and_restorable() {
    let a = spawn_app();
    let a_boss = a.login_as(Role::SuperAdmin);
    let name = shop_with_backup(&a, &a_boss);
    let bytes = download(&a_boss, &name);
    let a_dump = canonical_dump_sha(&a.backups_dir().join(&name));

    let (b, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let res = boss.upload_raw("/api/backups/upload?name=shop%20copy.db", bytes, None);
    assert_eq!(res.status, 201, "{}", res.body);
    let added = res.json()["backup"]["name"].as_str().unwrap().to_string();
    assert!(
        added.starts_with("uploaded_") && added.ends_with("_shop_copy.db"),
        "{added}"
    );
    assert_eq!(res.json()["record"]["kind"], "uploaded");
    assert_eq!(res.json()["record"]["created_by"], "super-admin-user");
    assert_eq!(canonical_dump_sha(&b.backups_dir().join(&added)), a_dump);
    let log = std::fs::read_to_string(b.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains(&format!("Backup brought in: {added}")),
        "{log}"
    );

    let restored = boss.api_post(
        &format!("/api/backups/{added}/restore"),
        serde_json::json!({}),
    );
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(
        b.query_i64("SELECT count(*) FROM products WHERE sku = 'BB-1'"),
        1
    );
    assert!(temp_files(&b.backups_dir()).is_empty());
}

/// A copy of `db` with `change` applied (through SQLite), as bytes.
fn changed_copy(db: &Path, change: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("x.db");
    std::fs::copy(db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(change).unwrap();
    drop(conn);
    std::fs::read(&copy).unwrap()
}

fn sealed_with(keys: &backroom::offsite::keys::Keyring, plain: &[u8]) -> Vec<u8> {
    let (_, out) = backroom::offsite::pipeline::seal(plain, &keys.recipient(), Vec::new()).unwrap();
    out
}

#[test]
fn bad_uploads_are_refused_with_a_reason_and_leave_nothing_behind() {
    let a = spawn_app();
    let a_boss = a.login_as(Role::SuperAdmin);
    let name = shop_with_backup(&a, &a_boss);
    let good = a.backups_dir().join(&name);
    let good_bytes = std::fs::read(&good).unwrap();

    let corrupted = {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("c.db");
        std::fs::copy(&good, &copy).unwrap();
        corrupt_table(&copy, "products");
        std::fs::read(&copy).unwrap()
    };
    let newer = changed_copy(
        &good,
        &format!(
            "PRAGMA user_version = {};",
            backroom::db::SCHEMA_VERSION + 1
        ),
    );
    let not_backroom = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO recipes (name) VALUES ('soup');")
            .unwrap();
        drop(conn);
        std::fs::read(&path).unwrap()
    };
    let stranger = backroom::offsite::keys::Keyring::generate(chrono::Utc::now());
    let sealed_for_stranger = sealed_with(&stranger, &good_bytes);
    let mut flipped_seal = sealed_for_stranger.clone();
    let mid = flipped_seal.len() / 2;
    flipped_seal[mid] ^= 0x01;
    let stranger_kit = stranger.to_file_text();
    let other = backroom::offsite::keys::Keyring::generate(chrono::Utc::now());

    let (b, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let before = names_in(&b.backups_dir());
    // (label, bytes, kit, status, the error says)
    type Case<'a> = (&'a str, Vec<u8>, Option<String>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "text",
            b"this is a shopping list, not a database".to_vec(),
            None,
            400,
            "not a Backroom backup",
        ),
        ("empty", Vec::new(), None, 400, "empty"),
        (
            "truncated",
            good_bytes[..good_bytes.len() / 2].to_vec(),
            None,
            400,
            "not a Backroom backup",
        ),
        ("damaged", corrupted, None, 400, "integrity check failed"),
        ("newer", newer, None, 400, "newer version of Backroom"),
        ("recipes", not_backroom, None, 400, "not a Backroom one"),
        (
            "no kit",
            sealed_for_stranger.clone(),
            None,
            400,
            "emergency kit",
        ),
        (
            "wrong kit",
            sealed_for_stranger.clone(),
            Some(other.to_file_text()),
            400,
            "",
        ),
        ("flipped", flipped_seal, Some(stranger_kit.clone()), 400, ""),
    ];
    for (label, bytes, kit, status, says) in cases {
        let key_line = kit.as_deref().map(|k| {
            k.lines()
                .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
                .unwrap()
                .to_string()
        });
        let res = boss.upload_raw(
            &format!("/api/backups/upload?name={label}.db"),
            bytes,
            key_line.as_deref(),
        );
        assert_eq!(res.status, status, "{label}: {}", res.body);
        let error = res.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(says), "{label}: {error}");
        if let Some(line) = &key_line {
            assert!(
                !error.contains(line.as_str()),
                "{label}: the key in {error}"
            );
        }
        assert_eq!(
            names_in(&b.backups_dir()),
            before,
            "{label} added something"
        );
        assert!(
            temp_files(&b.backups_dir()).is_empty(),
            "{label} left a temp file"
        );
    }
    // The same sealed copy with the right kit goes in.
    let res = boss.upload_form(
        "/api/backups/upload",
        "copy.db.zst.age",
        sealed_for_stranger,
        &[("key", &stranger_kit)],
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let added = res.json()["backup"]["name"].as_str().unwrap().to_string();
    assert!(added.ends_with("_copy.db"), "{added}");
    assert_eq!(
        std::fs::read(b.backups_dir().join(&added)).unwrap(),
        good_bytes
    );
}

#[test]
fn file_names_with_path_tricks_or_markup_become_plain_backup_names() {
    let a = spawn_app();
    let a_boss = a.login_as(Role::SuperAdmin);
    let name = shop_with_backup(&a, &a_boss);
    let bytes = download(&a_boss, &name);
    let b = spawn_app();
    let boss = b.login_as(Role::SuperAdmin);
    let res = boss.upload_form(
        "/backup/upload",
        "../../<script>alert(1)</script>.db",
        bytes,
        &[],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    let target = res.location();
    let added = target.trim_start_matches("/backup/").to_string();
    assert!(
        // Only the last part of a path counts: "script>.db".
        added.starts_with("uploaded_") && added.ends_with("_script.db"),
        "{added}"
    );
    assert!(b.backups_dir().join(&added).exists());
    assert!(
        !b.data_dir()
            .parent()
            .unwrap()
            .join("<script>alert(1)</script>.db")
            .exists()
    );
    let page = boss.get(&target);
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("<script>alert(1)"),
        "markup not escaped"
    );
    assert!(page.body.contains("checked and added"), "{}", page.body);
    // Staff and admins cannot upload.
    let admin = b.login_as(Role::Admin);
    let refused = admin.upload_raw("/api/backups/upload?name=x.db", b"x".to_vec(), None);
    assert_eq!(refused.status, 403);
}

#[test]
fn an_upload_cut_off_half_way_adds_nothing_and_removes_its_temp_file() {
    use reqwest::cookie::CookieStore;
    use std::io::Write;
    let (b, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let before = names_in(&b.backups_dir());
    let url: reqwest::Url = boss.base.parse().unwrap();
    let cookies = boss
        .jar()
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let token = boss.csrf();
    let mut stream =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    let head = format!(
        "POST /api/backups/upload?name=half.db HTTP/1.1\r\nHost: localhost\r\nCookie: {cookies}\r\nX-CSRF-Token: {token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 20000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&vec![7u8; 3 << 20]).unwrap();
    stream.flush().unwrap();
    // The temp file exists while the upload runs: the cut lands in the middle of it.
    wait_until(
        "the upload to start writing",
        Duration::from_secs(30),
        || !temp_files(&b.backups_dir()).is_empty(),
    );
    drop(stream);
    wait_until("the temp file to go", Duration::from_secs(30), || {
        temp_files(&b.backups_dir()).is_empty()
    });
    assert_eq!(names_in(&b.backups_dir()), before);
    // The server is fine afterwards.
    assert_eq!(boss.get("/backup/status").status, 200);
}

#[test]
fn an_upload_larger_than_the_disk_can_take_is_refused_before_it_fills_it() {
    let Some(disk) = SmallDisk::mount(48) else {
        eprintln!("skipped: cannot mount a small tmpfs here");
        return;
    };
    let (b, boss) = TestApp::in_dir(&disk.path).ready_as(Role::SuperAdmin);
    let before = names_in(&b.backups_dir());
    // 100 MB of zeros: a few hundred bytes once sealed (a decompression bomb for this disk).
    let stranger = backroom::offsite::keys::Keyring::generate(chrono::Utc::now());
    let bomb = sealed_with(&stranger, &vec![0u8; 100 << 20]);
    assert!(bomb.len() < 1 << 20);
    let key = stranger.to_file_text();
    let res = boss.upload_form(
        "/api/backups/upload",
        "bomb.db.zst.age",
        bomb,
        &[("kit", &key)],
    );
    assert_eq!(res.status, 413, "{}", res.body);
    assert!(
        res.json()["error"]
            .as_str()
            .unwrap()
            .contains("larger than this disk can take")
    );
    assert_eq!(names_in(&b.backups_dir()), before);
    assert!(temp_files(&b.backups_dir()).is_empty());
    drop(b);
}

/// The emergency kit of `app` (downloaded as a super-admin would).
fn kit_of(boss: &Client) -> String {
    let res = boss.get("/backup/offsite/kit/download");
    assert_eq!(res.status, 200);
    assert!(res.body.contains("AGE-SECRET-KEY-1"));
    res.body
}

/// Waits until `dir` holds a manifest whose source backup is `backup`; returns the copy name.
fn wait_for_copy(dir: &Path, backup: &str) -> String {
    let find = || {
        std::fs::read_dir(dir).unwrap().flatten().find_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            // Not a hidden partial file still being written.
            let copy = n.strip_suffix(".json").filter(|_| !n.starts_with('.'))?;
            let text = std::fs::read_to_string(e.path()).ok()?;
            text.contains(&format!("\"source_backup\": \"{backup}\""))
                .then(|| copy.to_string())
        })
    };
    wait_until(
        &format!("a copy of {backup}"),
        Duration::from_secs(60),
        || find().is_some(),
    );
    find().unwrap()
}

/// The manifests on a folder target, by file name.
fn manifests(dir: &Path) -> Vec<(String, serde_json::Value)> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path()).ok()?;
            (name.ends_with(".json") && !name.starts_with('.'))
                .then(|| serde_json::from_str(&text).ok())
                .flatten()
                .map(|m| (name, m))
        })
        .collect()
}

fn first_copy_on_page(page: &str) -> String {
    let marker = "data-copy=\"";
    let start = page.find(marker).expect("no copy listed") + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

/// Install A with data and a user, protected off-site in `target`: returns (A's dump at its
/// last backup, the copy of that backup, the kit).
pub fn install_a(a: &TestApp, target: &Path) -> (String, String, String) {
    a.protect_off_site(target);
    let boss = a.login_as(Role::SuperAdmin);
    let name = shop_with_backup(a, &boss);
    let dump = canonical_dump_sha(&a.backups_dir().join(&name));
    let copy = wait_for_copy(target, &name);
    (dump, copy, kit_of(&boss))
}

/// On a fresh install's first-run page: connect with `fields` and the kit, pick the newest
/// copy, and end on the login page. Returns the copy picked.
pub fn first_run_from_target(b: &TestApp, fields: &[(&str, &str)], kit: &str) -> String {
    let visitor = b.client();
    let page = visitor.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Bring back my data"), "{}", page.body);
    let mut all = fields.to_vec();
    all.push(("kit", kit));
    let listed = visitor.post_form("/first-run/connect", &all);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        !listed.body.contains("AGE-SECRET-KEY"),
        "the kit came back on the page"
    );
    let copy = first_copy_on_page(&listed.body);
    let token = hidden(&listed.body, "token");
    let done = visitor.post_form("/first-run/restore", &[("token", &token), ("copy", &copy)]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/login");
    let login = visitor.get("/login");
    assert!(login.body.contains("Your data is back"), "{}", login.body);
    copy
}

/// After a bring-back: A's user signs in on B, B holds exactly A's data, and B's own backup
/// reaches the target (copies continue from the new computer).
pub fn check_b_has_a(b: &TestApp, a_dump: &str, copy_seen_in: impl Fn() -> bool) {
    let client = b.client();
    let res = client.login("super-admin-user", PASSWORD);
    assert_eq!(
        res.status, 303,
        "A's user cannot sign in on B: {}",
        res.body
    );
    let uploaded: Vec<String> = b
        .backup_files()
        .into_iter()
        .filter(|n| n.starts_with("uploaded_"))
        .collect();
    assert_eq!(uploaded.len(), 1, "{:?}", b.backup_files());
    assert_eq!(
        canonical_dump_sha(&b.db_path()),
        a_dump,
        "B's data differs from A's"
    );
    wait_until(
        "B's backup on the target",
        Duration::from_secs(60),
        copy_seen_in,
    );
    let st = client.get("/api/offsite").json();
    assert_eq!(st["offsite"]["targets"][0]["name"], "usb", "{st}");
    // The kit just brought the data back: it is saved, nobody is asked to save it again.
    assert_eq!(st["offsite"]["kit_confirmed"], true, "{st}");
    assert_eq!(st["offsite"]["kit_places_changed"], false, "{st}");
}

#[test]
fn disaster_drill_with_a_folder_target_from_the_first_run_page() {
    let target = tempfile::tempdir().unwrap();
    let a_dir = tempfile::tempdir().unwrap();
    let mut a = TestApp::in_dir(a_dir.path());
    let (a_dump, _copy, kit) = install_a(&a, target.path());
    a.stop();
    drop(a);
    std::fs::remove_dir_all(a_dir.path()).unwrap();
    let before_b: Vec<String> = manifests(target.path())
        .into_iter()
        .map(|(n, _)| n)
        .collect();

    let b = spawn_app().ready();
    let path = target.path().to_str().unwrap().to_string();
    first_run_from_target(
        &b,
        &[("kind", "folder"), ("name", "usb"), ("path", &path)],
        &kit,
    );
    let dir = target.path().to_path_buf();
    // A finished manifest, not the hidden temp file it is written through (under load the
    // poll can see that one first).
    check_b_has_a(&b, &a_dump, || {
        manifests(&dir)
            .iter()
            .any(|(name, _)| name.contains("brought_back_on_this_computer"))
    });
    // The fresh install's empty startup backup was not sent beside the real copies: every
    // copy B sent holds accounts.
    let sent_by_b: Vec<serde_json::Value> = manifests(target.path())
        .into_iter()
        .filter(|(name, _)| !before_b.contains(name))
        .map(|(_, m)| m)
        .collect();
    assert!(!sent_by_b.is_empty());
    let empty_sent = sent_by_b
        .iter()
        .any(|m| m["row_counts"]["users"].as_i64() == Some(0));
    assert!(!empty_sent, "an empty shop's backup went to the target");
    // The first-run page is gone for good now.
    let again = b.client().post_form(
        "/first-run/connect",
        &[
            ("kind", "folder"),
            ("name", "x"),
            ("path", &path),
            ("kit", &kit),
        ],
    );
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.body.contains("already has accounts"),
        "{}",
        again.body
    );
}

#[test]
fn first_run_from_a_file_and_its_kit_then_a_second_attempt_is_refused() {
    let target = tempfile::tempdir().unwrap();
    let a = spawn_app();
    let (a_dump, copy, kit) = install_a(&a, target.path());
    let sealed = std::fs::read(target.path().join(format!("{copy}.db.zst.age"))).unwrap();

    // No wait for B's startup backup: a file brought in waits for it (on a loaded machine it
    // was once refused as "a backup is already running").
    let b = spawn_app();
    let visitor = b.client();
    // A wrong kit changes nothing and says why on the page.
    let wrong = backroom::offsite::keys::Keyring::generate(chrono::Utc::now()).to_file_text();
    let res = visitor.upload_form(
        "/first-run/upload",
        &format!("{copy}.db.zst.age"),
        sealed.clone(),
        &[("key", &wrong)],
    );
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(b.query_i64("SELECT count(*) FROM users"), 0);
    let res = visitor.upload_form(
        "/first-run/upload",
        &format!("{copy}.db.zst.age"),
        sealed.clone(),
        &[("key", &kit)],
    );
    // Checked and added; its numbers are shown before anything changes.
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("Bring back this data?"), "{}", res.body);
    assert!(res.body.contains("<td>products</td>"), "{}", res.body);
    assert_eq!(b.query_i64("SELECT count(*) FROM products"), 0);
    let name = hidden(&res.body, "name");
    assert!(name.starts_with("uploaded_"), "{name}");
    // Only a file brought in may be restored this way.
    let startup = visitor.post_form("/first-run/restore-file", &[("name", "startup_backup.db")]);
    assert_eq!(startup.status, 400, "{}", startup.body);
    let res = visitor.post_form("/first-run/restore-file", &[("name", &name)]);
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(res.location(), "/login");
    assert_eq!(canonical_dump_sha(&b.db_path()), a_dump);
    assert!(
        b.data_dir().join("offsite.key").exists(),
        "the kit's key was not kept"
    );
    let res = visitor.upload_form(
        "/first-run/upload",
        "again.db.zst.age",
        sealed,
        &[("key", &kit)],
    );
    assert_eq!(res.status, 400);
    assert!(res.body.contains("already has accounts"), "{}", res.body);
    assert_eq!(b.client().login("super-admin-user", PASSWORD).status, 303);
}

// Bringing data back from another machine is refused: see
// `server::first_run_is_refused_to_clients_on_other_machines`.

#[test]
fn the_command_line_brings_back_a_file_or_an_off_site_copy_into_a_fresh_folder() {
    let target = tempfile::tempdir().unwrap();
    let a = spawn_app();
    let (a_dump, copy, kit) = install_a(&a, target.path());
    let work = tempfile::tempdir().unwrap();
    let kit_file = work.path().join("kit.txt");
    std::fs::write(&kit_file, &kit).unwrap();
    let sealed = target.path().join(format!("{copy}.db.zst.age"));

    // 1. restore --file COPY --key KIT, in a folder that never had Backroom.
    let fresh = work.path().join("one");
    let said = cli_ok(
        &fresh,
        &[
            "restore",
            "--file",
            sealed.to_str().unwrap(),
            "--key",
            kit_file.to_str().unwrap(),
        ],
    );
    assert!(said.contains("Restored uploaded_"), "{said}");
    assert_eq!(canonical_dump_sha(&fresh.join("business_data.db")), a_dump);

    // 2. offsite add --key, then restore --offsite usb --latest.
    let fresh = work.path().join("two");
    cli_ok(
        &fresh,
        &[
            "offsite",
            "add",
            "usb",
            "--folder",
            target.path().to_str().unwrap(),
            "--key",
            kit_file.to_str().unwrap(),
        ],
    );
    let said = cli_ok(&fresh, &["restore", "--offsite", "usb", "--latest"]);
    assert!(said.contains("Restored uploaded_"), "{said}");
    assert_eq!(canonical_dump_sha(&fresh.join("business_data.db")), a_dump);

    // 3. backup upload of a plain .db adds it without restoring.
    let plain: PathBuf = fresh.join("business_data.db");
    let fresh = work.path().join("three");
    let said = cli_ok(&fresh, &["backup", "upload", plain.to_str().unwrap()]);
    assert!(said.contains("Added uploaded_"), "{said}");
    let listed = cli_ok(&fresh, &["backup", "list"]);
    assert!(listed.contains("uploaded"), "{listed}");

    // Not while a server runs on the folder: refused before anything is added.
    let before = names_in(&a.backups_dir());
    let out = run_cli(
        a.data_dir(),
        &[
            "restore",
            "--file",
            sealed.to_str().unwrap(),
            "--key",
            kit_file.to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("server is running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names_in(&a.backups_dir()), before);

    // Bad input: not a database, and a missing kit.
    let junk = work.path().join("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    let out = run_cli(&fresh, &["restore", "--file", junk.to_str().unwrap()], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Backroom backup"));
    let out = run_cli(
        &work.path().join("four"),
        &["backup", "upload", sealed.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("emergency kit"));
}

#[test]
fn a_copy_on_a_target_is_brought_in_from_its_list_and_restored_through_the_api() {
    let target = tempfile::tempdir().unwrap();
    let app = spawn_app();
    let (dump, copy, _kit) = install_a(&app, target.path());
    let boss = app.login_as(Role::SuperAdmin);
    // The target's page lists the copy with a Bring in button for super-admins only.
    let page = boss.get("/backup/offsite/usb");
    assert!(
        page.body
            .contains(&format!("/backup/offsite/usb/{copy}/bring-in")),
        "{}",
        page.body
    );
    let admin = app.login_as(Role::Admin);
    assert!(!admin.get("/backup/offsite/usb").body.contains("bring-in"));
    assert_eq!(
        admin
            .post_form(&format!("/backup/offsite/usb/{copy}/bring-in"), &[])
            .status,
        403
    );
    let res = boss.post_form(&format!("/backup/offsite/usb/{copy}/bring-in"), &[]);
    assert_eq!(res.status, 303, "{}", res.body);
    let added = res.location().trim_start_matches("/backup/").to_string();
    assert!(added.starts_with("uploaded_"), "{added}");
    assert_eq!(canonical_dump_sha(&app.backups_dir().join(&added)), dump);
    // The API twin brings it in and restores it in one call (with the safety backup).
    app.execute("DELETE FROM customers;");
    let res = boss.api_post(
        &format!("/api/offsite/usb/{copy}/restore"),
        serde_json::json!({}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let body = res.json();
    assert!(
        body["brought_in"]
            .as_str()
            .unwrap()
            .starts_with("uploaded_")
    );
    assert!(
        body["restore"]["safety_backup"]
            .as_str()
            .unwrap()
            .starts_with("pre_restore_")
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE name = 'Ada Back'"),
        1
    );
    // A copy that is not there is a 404; staff may not restore.
    assert_eq!(
        boss.api_post(
            "/api/offsite/usb/nothing-here/restore",
            serde_json::json!({})
        )
        .status,
        404
    );
    let staff = app.login_as(Role::Staff);
    assert_eq!(
        staff
            .api_post(
                &format!("/api/offsite/usb/{copy}/restore"),
                serde_json::json!({})
            )
            .status,
        403
    );
}
