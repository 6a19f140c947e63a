//! Issue 22, "Protection that never quietly thins out": a missing data file never becomes an
//! empty shop while backups exist (items 2), and the first account's data, sample data and
//! data brought in are in a backup at once (item 9).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use backroom::auth::Role;

use crate::support::*;

/// Every file in `dir` with its SHA-256.
fn hash_folder(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (sha, _) = backroom::backup::copy::sha256_file(&e.path()).unwrap();
            (name, sha)
        })
        .collect()
}

/// A shop with a product, a manual backup of it and the startup backup; stopped, and then
/// its data file gone (with its journal files). Returns the manual backup's name.
fn shop_whose_data_file_is_gone(dir: &Path) -> String {
    let (mut app, boss) = TestApp::in_dir(dir).ready_as(Role::SuperAdmin);
    boss.add_product("TEA-1", "Green tea", "3.50", "10");
    let res = boss.post_form("/backup/create", &[("description", "with the tea")]);
    assert_eq!(res.status, 303, "{}", res.body);
    app.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("business_data.db{suffix}")));
    }
    app.backup_files()
        .into_iter()
        .find(|n| n.starts_with("manual_"))
        .unwrap()
}

/// A page from the server, with a fresh connection each time (the server behind the address
/// changes from the missing-data page to the shop).
fn get(url: &str, path: &str) -> Resp {
    Client::new(url).get(path)
}

#[test]
fn a_missing_data_file_starts_into_the_page_that_brings_the_newest_backup_back() {
    let dir = tempfile::tempdir().unwrap();
    let manual = shop_whose_data_file_is_gone(dir.path());
    let backups = dir.path().join("database_backups");
    let before = hash_folder(&backups);

    let app = TestApp::in_dir(dir.path());
    let client = app.client();
    let page = client.get("/");
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains("The data file is missing"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&manual), "offers the newest good backup");
    assert!(page.body.contains("backroom restore --latest"));
    assert!(page.body.contains("Start over with an empty shop"));
    // No shop behind it.
    let products = client.get("/products");
    assert!(products.body.contains("The data file is missing"));
    assert!(!app.db_path().exists(), "no empty shop was made");

    // A form that did not come from the page changes nothing.
    let forged = client.post_form_raw("/missing-data/new-empty-shop", &[("token", "guess")]);
    assert_eq!(forged.status, 403);
    let forged = client.post_form_raw("/missing-data/restore", &[("token", "guess")]);
    assert_eq!(forged.status, 403);
    assert!(!app.db_path().exists());
    assert_eq!(
        hash_folder(&backups),
        before,
        "nothing in database_backups/ changed"
    );

    let token = extract_csrf(&page.body).unwrap();
    let res = client.post_form_raw("/missing-data/restore", &[("token", &token)]);
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("Your data is back"), "{}", res.body);
    assert!(res.body.contains(&manual), "{}", res.body);

    // The shop starts on the same address, with the data and accounts from the backup.
    wait_until("the shop", Duration::from_secs(60), || {
        get(&app.url, "/login").body.contains("name=\"password\"")
    });
    assert_eq!(app.query_i64("SELECT count(*) FROM products"), 1);
    let boss = app.client();
    assert_eq!(boss.login("super-admin-user", PASSWORD).status, 303);
    // Every backup from before is still there.
    let after = hash_folder(&backups);
    for name in before.keys().filter(|n| n.starts_with("manual_")) {
        assert_eq!(after.get(name), before.get(name), "{name}");
    }
}

#[test]
fn starting_over_empty_is_a_choice_on_the_page_and_the_backups_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    shop_whose_data_file_is_gone(dir.path());
    let backups = dir.path().join("database_backups");
    let before = hash_folder(&backups);

    let app = TestApp::in_dir(dir.path());
    let page = app.client().get("/");
    let token = extract_csrf(&page.body).unwrap();
    let res = app
        .client()
        .post_form_raw("/missing-data/new-empty-shop", &[("token", &token)]);
    assert_eq!(res.status, 303);
    wait_until("the first-run page", Duration::from_secs(60), || {
        get(&app.url, "/").body.contains("Welcome to Backroom")
    });
    assert!(app.db_path().exists());
    // The startup backup of the old shop is not replaced by the empty one; all are kept.
    let after = hash_folder(&backups);
    for (name, sha) in before.iter().filter(|(n, _)| n.ends_with(".db")) {
        assert_eq!(after.get(name), Some(sha), "{name} kept as it was");
    }
}

#[cfg(unix)]
#[test]
fn the_console_names_restore_latest_and_new_empty_shop_is_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let manual = shop_whose_data_file_is_gone(dir.path());
    let backups = dir.path().join("database_backups");
    let before = hash_folder(&backups);

    // Commands that open the data refuse too (they would make an empty database).
    let out = run_cli(dir.path(), &["backup", "create"], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("restore --latest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("business_data.db").exists());

    let mut server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
    let out = server.output();
    assert!(out.contains("is missing"), "{out}");
    assert!(out.contains(&manual), "{out}");
    assert!(out.contains("backroom restore --latest"), "{out}");
    assert!(out.contains("--new-empty-shop"), "{out}");
    assert_eq!(get(&server.url, "/").status, 503);
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(30)).unwrap();
    assert!(
        !status.success(),
        "stopping without the data is not a success"
    );
    assert!(
        server.errors().contains("restore --latest"),
        "{}",
        server.errors()
    );
    assert!(!dir.path().join("business_data.db").exists());
    assert_eq!(
        hash_folder(&backups),
        before,
        "nothing in database_backups/ changed"
    );

    // Asked for on the command line: an empty shop, the backups kept.
    let mut cmd = Command::new(binary());
    cmd.arg("--data-dir")
        .arg(dir.path())
        .args(["--port", "0", "--new-empty-shop"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let server = ServerProcess::from_command(cmd);
    assert!(server.output().contains("First run"), "{}", server.output());
    assert!(backups.join(&manual).exists());
    let log = std::fs::read_to_string(backups.join("backup.log")).unwrap();
    assert!(log.contains("Started over with an empty shop"), "{log}");
}

#[test]
fn in_process_the_start_is_refused_and_the_page_is_only_for_this_computer() {
    use actix_web::test::{TestRequest, call_service, init_service};
    let dir = tempfile::tempdir().unwrap();
    shop_whose_data_file_is_gone(dir.path());
    let opts = options(dir.path(), None);
    let err = backroom::server::Backroom::open(&opts).err().unwrap();
    assert!(
        matches!(err, backroom::server::StartError::DataMissing { .. }),
        "{err}"
    );
    assert!(!dir.path().join("business_data.db").exists());

    let paths = backroom::config::Paths::new(dir.path());
    let lock = backroom::fsutil::FileLock::try_acquire(&paths.server_lock)
        .unwrap()
        .unwrap();
    let missing = std::sync::Arc::new(backroom::server::missing::Missing::new(paths, lock));
    actix_web::rt::System::new().block_on(async move {
        let app = init_service(backroom::web::missing_data::build(missing)).await;
        let remote: std::net::SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let res = call_service(
            &app,
            TestRequest::get().uri("/").peer_addr(remote).to_request(),
        )
        .await;
        assert_eq!(res.status(), 403);
        let local: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let res = call_service(
            &app,
            TestRequest::get().uri("/").peer_addr(local).to_request(),
        )
        .await;
        assert_eq!(res.status(), 503);
    });
}

#[test]
fn the_first_account_and_its_sample_data_are_backed_up_at_once() {
    let app = spawn_app();
    let client = app.client();
    let res = client.post_form(
        "/first-run",
        &[
            ("username", "boss"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
            ("demo_data", "1"),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    let products = app.query_i64("SELECT count(*) FROM products");
    assert!(products > 0);
    let manual = app
        .backup_files()
        .into_iter()
        .find(|n| n.starts_with("manual_"))
        .expect("a backup of the first account");
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(app.backups_dir().join(format!("{manual}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["row_counts"]["products"], products);
    assert_eq!(record["row_counts"]["users"], 1);
    // Emergency restore would take it, not the empty startup backup.
    let status = client.get("/backup/status").body;
    let description = record["description"].as_str().unwrap();
    assert!(
        status.contains(&format!("(now: <strong>{description} — ")),
        "{status}"
    );
    let confirm = client.get("/backup/emergency-restore").body;
    assert!(confirm.contains(&format!("file {manual}")), "{confirm}");
    // The health line says nothing about changes in no backup: there are none.
    let health = client.get("/api/offsite").json()["health"]["message"].clone();
    assert!(!health.to_string().contains("no backup"), "{health}");

    // A change after it: the line no longer says protected for it.
    client.add_product("NEW-1", "New thing", "1.00", "1");
    wait_until(
        "the health line to see the change",
        Duration::from_secs(30),
        || {
            client.get("/api/offsite").json()["health"]["message"]
                .to_string()
                .contains("in no backup")
        },
    );
}

#[test]
fn the_command_line_backs_up_sample_data_and_data_brought_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(
        dir.path(),
        &["demo-data", "--products", "5", "--days", "2"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = backup_files(&dir.path().join("database_backups"));
    let sample = names
        .iter()
        .find(|n| n.starts_with("manual_") && n.contains("sample"))
        .unwrap_or_else(|| panic!("no backup of the sample data in {names:?}"))
        .clone();

    // That backup, brought into a folder that only has an empty shop's startup backup.
    let fresh = tempfile::tempdir().unwrap();
    let mut app = TestApp::in_dir(fresh.path()).ready();
    app.stop();
    let file = dir.path().join("database_backups").join(&sample);
    let out = run_cli(
        fresh.path(),
        &["restore", "--file", file.to_str().unwrap()],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Backed it up as manual_"), "{text}");

    // restore --latest now takes that backup, not the empty startup one made after it.
    app.restart();
    app.wait_for_startup_backup();
    app.execute("DELETE FROM sale_lines; DELETE FROM sales; DELETE FROM stock_adjustments; DELETE FROM product_events; DELETE FROM products; DELETE FROM customers;");
    app.stop();
    // The next start's startup backup is empty now and the newest.
    app.restart();
    app.wait_for_startup_backup();
    app.stop();
    let out = run_cli(fresh.path(), &["restore", "--latest"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // The newest backup with shop records: the manual one, or the start after it (its state,
    // kept in the history as startup_YYYYMMDD_HHMMSS.db).
    assert!(
        text.contains("Restored manual_") || text.contains("Restored startup_2"),
        "{text}"
    );
    assert!(!text.contains("Restored startup_backup.db"), "{text}");
    let conn = rusqlite::Connection::open(fresh.path().join("business_data.db")).unwrap();
    let products: i64 = conn
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .unwrap();
    assert!(products > 0, "the restored data has the shop's records");
}

#[test]
fn the_page_brings_back_the_newest_off_site_copy_when_no_local_backup_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let usb = tempfile::tempdir().unwrap();
    let (mut app, boss) = TestApp::in_dir(dir.path()).ready_as(Role::SuperAdmin);
    boss.add_product("TEA-1", "Green tea", "3.50", "10");
    assert_eq!(
        boss.post_form("/backup/create", &[("description", "with the tea")])
            .status,
        303
    );
    app.protect_off_site(usb.path());
    wait_until("the copy of the tea", Duration::from_secs(60), || {
        std::fs::read_dir(usb.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains("with_the_tea"))
    });
    app.stop();
    // The disk lost the data file and every local backup; backroom.toml names the target.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("business_data.db{suffix}")));
    }
    std::fs::remove_dir_all(app.backups_dir()).unwrap();

    app.restart();
    let client = app.client();
    let page = client.get("/").expect_status(503);
    page.assert_shows("Bring back the newest copy from usb");
    let token = extract_csrf(&page.body).unwrap();
    let res = client.post_form_raw(
        "/missing-data/offsite",
        &[("token", &token), ("target", "usb")],
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("Your data is back"), "{}", res.body);
    wait_until("the shop", Duration::from_secs(60), || {
        get(&app.url, "/login").body.contains("name=\"password\"")
    });
    assert_eq!(app.query_i64("SELECT count(*) FROM products"), 1);
    // What came in is backed up as a regular backup.
    assert!(
        app.backup_files()
            .iter()
            .any(|n| n.starts_with("manual_") && n.contains("brought_back")),
        "{:?}",
        app.backup_files()
    );
}
