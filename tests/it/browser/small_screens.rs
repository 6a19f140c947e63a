//! A tablet (768 px) and a phone (390 px), with the desktop (1280 px) for comparison: the top
//! bar as tall as its content on a short page, the health message once and short on a phone,
//! the list of backups before the off-site setup, *Next sale* after a sale, and the records
//! inside a backup as cards on a phone. Screenshots go to `target/screenshots/small/`.

use backroom::auth::Role;
use fantoccini::key::Key;

use super::layout::{WIDTHS, check_page};
use super::*;

/// Where the things that matter are on the open page (null for what is not there).
const MEASURE: &str = r##"
const box = css => { const el = document.querySelector(css); if (!el || el.offsetParent === null) { return null; } const r = el.getBoundingClientRect(); return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, height: r.height}; };
return {
  bar: box("nav.sidebar"),
  health: document.querySelectorAll("main .banner, main .health, main .health-line").length,
  banner: box("main .banner") || box("main .health-line") || box("main .health"),
  list: box("#backup-list"),
  setup: box("#offsite-setup"),
  setup_open: document.querySelector("#offsite-setup") ? document.querySelector("#offsite-setup").open : null,
  sale_button: box("main a.button.primary[href='/sales/new']"),
  viewport: window.innerHeight,
};
"##;

async fn measure(browser: &Browser) -> serde_json::Value {
    browser.execute(MEASURE, vec![]).await.unwrap()
}

/// Waits until a message of the (new) page says `text`.
async fn wait_until_says(browser: &Browser, text: &str) {
    let script = format!(
        "const e = document.querySelector('main .flash-ok'); return !!e && e.textContent.includes({text:?});"
    );
    wait_until(browser, &script, &format!("a message saying {text:?}")).await;
}

fn num(v: &serde_json::Value, what: &str, field: &str) -> f64 {
    v[what][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not on the page: {v}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_tablet_and_a_phone_what_matters_comes_first() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app().ready();
    let url = app.url.clone();
    let backup = outside_async(|| {
        let boss = app.login_as(Role::SuperAdmin);
        {
            let mut conn = rusqlite::Connection::open(app.db_path()).unwrap();
            backroom::business::demo::fill(&mut conn, Some(1), 40, 10).unwrap();
        }
        app.add_user("sam", Role::Staff);
        // A cap of 3, reached (the startup backup and two manual ones stay: the newest of
        // each kind is never removed): the older manual one is the next to go.
        let saved = boss.post_form(
            "/backup/settings",
            &[("interval_hours", "0"), ("max_backups", "3")],
        );
        assert_eq!(saved.status, 303, "{}", saved.body);
        let mut name = String::new();
        for description in ["morning", "before the stock-take", "after the stock-take"] {
            let made = boss.api_post(
                "/api/backups",
                serde_json::json!({ "description": description }),
            );
            assert_eq!(made.status, 201, "{}", made.body);
            name = made.json()["backup"]["name"].as_str().unwrap().to_string();
        }
        name
    });

    log_in(&browser, &url, "super-admin-user").await;
    for (width, height) in WIDTHS {
        browser.set_window_size(width, height).await.unwrap();

        // A short page: the top bar is as tall as its content, not stretched by the grid.
        browser.goto(&format!("{url}/account")).await.unwrap();
        check_page(&browser, width, "account-short").await;
        let m = measure(&browser).await;
        if width <= 900 {
            let bar = num(&m, "bar", "height");
            assert!(bar <= 120.0, "the top bar at {width} px is {bar} px tall");
        }
        // No off-site copy yet: the health message is amber, shown once.
        assert_eq!(m["health"], 1, "{m}");
        if width < 700 {
            let banner = num(&m, "banner", "height");
            assert!(
                banner <= 80.0,
                "the health banner at {width} px is {banner} px tall"
            );
        }
        save_screenshot(&browser, &format!("small/{width}-account.png")).await;

        // The backup page: the message once, the list of backups before the setup, which is
        // closed until asked for.
        browser.goto(&format!("{url}/backup/status")).await.unwrap();
        check_page(&browser, width, "backup-status-order").await;
        let m = measure(&browser).await;
        assert_eq!(m["health"], 1, "{m}");
        assert!(
            num(&m, "list", "top") < num(&m, "setup", "top"),
            "the list comes before the off-site setup at {width} px: {m}"
        );
        assert_eq!(m["setup_open"], false, "{m}");
        // The row the next backup pushes out is marked, and said why; every row has Keep.
        let marked = browser
            .execute(
                "return [...document.querySelectorAll('#backup-list tr.next-to-go')].map(r => r.dataset.name);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(marked.as_array().unwrap().len(), 1, "{marked}");
        assert_ne!(
            marked[0],
            serde_json::json!(backup),
            "the newest is not next"
        );
        assert!(
            text_of(&browser, "#next-to-go-note")
                .await
                .contains("safety backup")
        );
        let rows_without_keep = browser
            .execute(
                "return [...document.querySelectorAll('#backup-list tbody tr')].filter(r => r.dataset.name !== 'startup_backup.db' && !r.querySelector('.keep-toggle')).length;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(rows_without_keep, 0);
        full_page_screenshot(&browser, width, &format!("small/{width}-backup-status.png")).await;
        browser.set_window_size(width, height).await.unwrap();

        // Opened, the setup shows only the chosen kind's fields.
        browser.goto(&format!("{url}/backup/status")).await.unwrap();
        click(&browser, Locator::Css("#offsite-setup > summary")).await;
        let shown =
            |css: &str| format!("return document.querySelector('{css}').offsetParent !== null;");
        wait_until(&browser, &shown("#offsite-path"), "the folder field").await;
        let s3 = browser
            .execute(&shown("#offsite-endpoint"), vec![])
            .await
            .unwrap();
        assert_eq!(s3, false, "S3 fields hidden while a folder is chosen");
        click(
            &browser,
            Locator::Css("#offsite-form input[name=kind][value=s3]"),
        )
        .await;
        wait_until(&browser, &shown("#offsite-endpoint"), "the S3 fields").await;
        let folder = browser
            .execute(&shown("#offsite-path"), vec![])
            .await
            .unwrap();
        assert_eq!(folder, false, "the folder field hidden once S3 is chosen");

        // The records inside a backup: cards on a phone, nothing scrolls sideways.
        browser
            .goto(&format!("{url}/backup/{backup}/records/customers"))
            .await
            .unwrap();
        wait_for(&browser, "#records").await;
        check_page(&browser, width, "records").await;
        save_screenshot(&browser, &format!("small/{width}-records.png")).await;
    }

    // "Keep" from the list: the row is kept, the page comes back to the list.
    browser.set_window_size(390, 844).await.unwrap();
    browser.goto(&format!("{url}/backup/status")).await.unwrap();
    click(
        &browser,
        Locator::Css(&format!(
            "#backup-list tr[data-name='{backup}'] .keep-toggle"
        )),
    )
    .await;
    wait_until_says(&browser, "marked Keep").await;
    let pressed = browser
        .execute(
            &format!("return document.querySelector(\"#backup-list tr[data-name='{backup}'] .keep-toggle\").getAttribute('aria-pressed');"),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(pressed, "true");
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/backup/status#backups")
    );

    // "Backup made" offers Keep right in its message.
    type_into(&browser, "#description", "end of the day").await;
    click(&browser, Locator::Css("#create-button")).await;
    wait_until_says(&browser, "made and verified").await;
    click(&browser, Locator::Css(".flash-ok .flash-form button")).await;
    wait_until_says(&browser, "marked Keep").await;
    let kept = browser
        .execute(
            "return document.querySelectorAll('#backup-list .keep-toggle[aria-pressed=true]').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        kept, 2,
        "the one kept from the list and the one kept from the message"
    );

    // Staff on a phone: Record a sale on the first screen; after Save sale, Next sale.
    log_out(&browser).await;
    log_in(&browser, &url, "sam").await;
    let m = measure(&browser).await;
    let button = num(&m, "sale_button", "bottom");
    assert!(
        button <= m["viewport"].as_f64().unwrap(),
        "Record a sale is below the fold on a phone: {m}"
    );
    save_screenshot(&browser, "small/390-dashboard-staff.png").await;
    browser.goto(&format!("{url}/sales/new")).await.unwrap();
    wait_for(&browser, "#sale-form.enhanced").await;
    type_into(&browser, "#product-q-1", "a").await;
    wait_until(
        &browser,
        "return document.querySelectorAll('#product-q-1-list [role=option]').length > 0;",
        "suggestions",
    )
    .await;
    press(&browser, &[&*Key::Down, &*Key::Enter].concat()).await;
    wait_until(
        &browser,
        "return document.getElementById('sale-total').textContent.trim() !== '0.00';",
        "a total",
    )
    .await;
    // The total sits under the lines, not under a stack of empty ones.
    let gap = browser
        .execute(
            "const rows = [...document.querySelectorAll('#sale-lines tr.sale-line')].filter(r => r.offsetParent !== null); return document.getElementById('sale-total').getBoundingClientRect().top - rows[rows.length - 1].getBoundingClientRect().bottom;",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        gap < 200.0,
        "the total is {gap} px below the last line on a phone"
    );
    save_screenshot(&browser, "small/390-sale-form.png").await;
    click(&browser, Locator::Css("#save-sale")).await;
    wait_for(&browser, ".flash-ok a.flash-action").await;
    let next = browser
        .find(Locator::Css(".flash-ok a.flash-action"))
        .await
        .unwrap();
    assert_eq!(next.text().await.unwrap(), "Next sale");
    assert_eq!(
        next.attr("href").await.unwrap().as_deref(),
        Some("/sales/new")
    );
    save_screenshot(&browser, "small/390-sale-saved.png").await;
    browser.close().await.unwrap();
}
