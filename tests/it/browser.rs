//! A real browser (Debian's Chromium through chromedriver) using the app as staff and as a
//! super-admin. Screenshots of /backup/status go to `target/screenshots/`.
//! Set BACKROOM_SKIP_BROWSER=1 to skip where Chromium is not installed (CI installs it).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backroom::auth::Role;
use fantoccini::{Client as Browser, ClientBuilder, Locator};

use crate::support::*;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_browser() -> Option<(Driver, Browser)> {
    if std::env::var_os("BACKROOM_SKIP_BROWSER").is_some() {
        println!("browser test skipped (BACKROOM_SKIP_BROWSER is set)");
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: apt-get install chromium chromium-driver (or set BACKROOM_SKIP_BROWSER=1)");
    let driver = Driver(child);
    let profile = tempfile::tempdir().unwrap().keep();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1366,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let connected = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match connected {
            Ok(browser) => return Some((driver, browser)),
            Err(e) if Instant::now() > deadline => {
                panic!("cannot start Chromium through chromedriver: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn click(browser: &Browser, locator: Locator<'_>) {
    browser.find(locator).await.unwrap().click().await.unwrap();
}

async fn wait_for(browser: &Browser, css: &str) {
    browser.wait().for_element(Locator::Css(css)).await.unwrap();
}

async fn type_into(browser: &Browser, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn log_in(browser: &Browser, url: &str, user: &str) {
    browser.goto(&format!("{url}/login")).await.unwrap();
    type_into(browser, "#username", user).await;
    type_into(browser, "#password", PASSWORD).await;
    click(browser, Locator::Css("form button[type=submit]")).await;
    wait_for(browser, "nav.sidebar").await;
}

async fn log_out(browser: &Browser) {
    click(browser, Locator::Css(".me form button")).await;
    wait_for(browser, "#username").await;
}

async fn page_text(browser: &Browser) -> String {
    browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn save_screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(screenshots_dir().join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_and_super_admin_use_the_backup_page_in_a_real_browser() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app();
    app.wait_for_startup_backup();
    app.add_user("sam", Role::Staff);
    app.add_user("boss", Role::SuperAdmin);
    app.execute("INSERT INTO customers (name, created_at, updated_at) VALUES ('Original Customer', 'x', 'x');");
    let url = app.url.clone();

    // Staff: sees that the data is safe, no restore buttons, can make a backup.
    log_in(&browser, &url, "sam").await;
    click(&browser, Locator::LinkText("Database Backup")).await;
    wait_for(&browser, "#health").await;
    let text = page_text(&browser).await;
    assert!(text.contains("— last backup"), "{text}");
    assert!(text.contains("1 of 10"));
    let source = browser.source().await.unwrap();
    assert!(
        !source.contains("/restore\""),
        "staff sees no restore buttons"
    );
    assert!(!source.contains("Danger zone"));
    save_screenshot(&browser, "backup-status-staff.png").await;
    type_into(&browser, "#description", "browser checkpoint").await;
    click(&browser, Locator::Css("#create-button")).await;
    wait_for(&browser, ".flash-ok").await;
    let text = page_text(&browser).await;
    assert!(text.contains("created and verified"), "{text}");
    assert!(
        text.contains("browser checkpoint"),
        "the new backup is listed: {text}"
    );
    assert!(text.contains("2 of 10"));
    log_out(&browser).await;

    // Data changes after the backup.
    app.execute("INSERT INTO customers (name, created_at, updated_at) VALUES ('Added After Backup', 'x', 'x');");

    // Super-admin: restores the staff member's backup and sees the data as it was.
    log_in(&browser, &url, "boss").await;
    browser.goto(&format!("{url}/backup/status")).await.unwrap();
    wait_for(&browser, ".danger-zone").await;
    save_screenshot(&browser, "backup-status-super-admin.png").await;
    let row = browser
        .find(Locator::XPath(
            "//tr[.//td[contains(., 'browser checkpoint')]]",
        ))
        .await
        .unwrap();
    row.find(Locator::LinkText("Restore"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&browser, "table caption").await;
    let confirm = page_text(&browser).await;
    assert!(confirm.contains("browser checkpoint"), "{confirm}");
    assert!(confirm.contains("Customers"), "row counts shown: {confirm}");
    click(
        &browser,
        Locator::XPath("//button[contains(., 'Restore this backup')]"),
    )
    .await;
    wait_for(&browser, ".flash-ok").await;
    assert!(page_text(&browser).await.contains("Restored manual_"));
    click(&browser, Locator::LinkText("Customers")).await;
    wait_for(&browser, "#customer-list").await;
    let customers = page_text(&browser).await;
    assert!(customers.contains("Original Customer"), "{customers}");
    assert!(!customers.contains("Added After Backup"), "{customers}");
    save_screenshot(&browser, "customers-after-restore.png").await;
    browser.close().await.unwrap();
    println!("screenshots in {}", screenshots_dir().display());
}
