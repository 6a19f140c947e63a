//! A real browser (Debian's Chromium through chromedriver) using the app: the backup page as
//! staff and as a super-admin (`backup`), bringing the data back on a fresh install (`first_run`), a sale at the counter by keyboard with the page's
//! total checked against the saved one (`sale`, `totals`), and every page at phone, tablet and
//! desktop widths (`layout`), and what comes first on a tablet and a phone (`small_screens`). Screenshots go to `target/screenshots/`.
//! Set BACKROOM_SKIP_BROWSER=1 to skip where Chromium is not installed (CI installs it).

mod backup;
mod first_run;
mod layout;
mod sale;
mod small_screens;
mod totals;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client as Browser, ClientBuilder, Locator};

use crate::support::*;

/// One Chromium at a time: the tests share two CPU cores with everything else, and a
/// browser starved of CPU makes waits time out.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Driver {
    child: Child,
    /// Chromium's profile, removed when the test ends.
    _profile: tempfile::TempDir,
    /// Held until chromedriver is gone, then the next test's browser may start.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in a process group of its own: the whole group goes, so a test
        // that fails before closing its browser leaves no Chromium behind.
        // SAFETY: signalling a process group this test created.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    start_browser_with(true).await
}

/// `javascript: false` starts a browser that runs no page scripts (the pages must work
/// without them).
async fn start_browser_with(javascript: bool) -> Option<(Driver, Browser)> {
    if std::env::var_os("BACKROOM_SKIP_BROWSER").is_some() {
        println!("browser test skipped (BACKROOM_SKIP_BROWSER is set)");
        return None;
    }
    let turn = ONE_BROWSER.lock().await;
    // The WebDriver client speaks rustls too; name its provider as the HTTP clients do.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: apt-get install chromium chromium-driver (or set BACKROOM_SKIP_BROWSER=1)");
    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1366,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {
                "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 }
            }
        }
    });
    let driver = Driver {
        child,
        _profile: profile,
        _turn: turn,
    };
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
    let text = page_text(browser).await;
    assert!(text.contains("You are logged out"), "{text}");
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
    let path = screenshots_dir().join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, png).unwrap();
}

/// A screenshot of the whole page: the window is made as tall as the page first (the caller
/// sets the size back).
async fn full_page_screenshot(browser: &Browser, width: u32, name: &str) {
    // The window is taller than the page's viewport by the browser's own frame.
    let height = browser
        .execute(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    let height = u32::try_from(height).unwrap().clamp(600, 4000);
    browser.set_window_size(width, height).await.unwrap();
    save_screenshot(browser, name).await;
}

/// Runs set-up that uses the blocking HTTP client (it has its own runtime, which may neither
/// run nor be dropped on an async worker).
fn outside_async<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Waits (polling, with a deadline) until `script` returns true.
async fn wait_until(browser: &Browser, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // A page being replaced has no document to ask for a moment: ask again.
        let done = browser
            .execute(script, vec![])
            .await
            .is_ok_and(|v| v.as_bool().unwrap_or(false));
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Presses keys on whatever has the focus, like a person at the keyboard (no clicks).
async fn press(browser: &Browser, keys: &str) {
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    browser.perform_actions(actions).await.unwrap();
}

/// The id of the element that has the focus ("" for none).
async fn focused_id(browser: &Browser) -> String {
    browser
        .execute(
            "return document.activeElement ? document.activeElement.id : '';",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Presses Tab until the element `id` has the focus.
async fn tab_to(browser: &Browser, id: &str) {
    for _ in 0..80 {
        if focused_id(browser).await == id {
            return;
        }
        press(browser, &fantoccini::key::Key::Tab).await;
    }
    panic!("Tab never reached #{id}");
}

async fn text_of(browser: &Browser, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the element's text is `text` (the page may be reloading meanwhile).
async fn wait_until_text(browser: &Browser, css: &str, text: &str) {
    let script = format!(
        "const e = document.querySelector({css:?}); return !!e && e.textContent === {text:?};"
    );
    wait_until(browser, &script, &format!("{css} to say {text:?}")).await;
}
