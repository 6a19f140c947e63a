//! The backup page in a real browser: staff and super-admin, restore and undo, and the
//! banner while automatic backups are off.

use backroom::auth::Role;
use fantoccini::Locator;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn staff_and_super_admin_use_the_backup_page_in_a_real_browser() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let mut app = spawn_app().ready();
    app.add_user("sam", Role::Staff);
    app.add_user("boss", Role::SuperAdmin);
    app.execute("INSERT INTO customers (name, created_at, updated_at) VALUES ('Original Customer', 'x', 'x');");
    // A restart backs the shop up (the empty first start's backup stays in the history), so
    // the line says the data is in a backup.
    app.restart();
    app.wait_for_startup_backup_attempt();
    let url = app.url.clone();

    // Staff: sees that the data is safe, no restore buttons, can make a backup.
    log_in(&browser, &url, "sam").await;
    click(&browser, Locator::LinkText("Database Backup")).await;
    wait_for(&browser, "#health").await;
    let text = page_text(&browser).await;
    assert!(text.contains("— last backup"), "{text}");
    assert!(text.contains("2 of 10"), "{text}");
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
    assert!(text.contains("made and verified"), "{text}");
    assert!(
        text.contains("browser checkpoint"),
        "the new backup is listed: {text}"
    );
    assert!(text.contains("3 of 10"), "{text}");
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
    let said = page_text(&browser).await;
    assert!(
        said.contains("Restored “browser checkpoint — ") && said.contains("(file manual_"),
        "{said}"
    );
    click(&browser, Locator::LinkText("Customers")).await;
    wait_for(&browser, "#customer-list").await;
    let customers = page_text(&browser).await;
    assert!(customers.contains("Original Customer"), "{customers}");
    assert!(!customers.contains("Added After Backup"), "{customers}");
    save_screenshot(&browser, "customers-after-restore.png").await;
    browser.close().await.unwrap();
    println!("screenshots in {}", screenshots_dir().display());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_is_undone_from_its_message_and_from_the_backup_page() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app().ready();
    app.execute(
        "INSERT INTO customers (name, created_at, updated_at) VALUES ('Kept Customer', 'x', 'x');",
    );
    let backup = outside_async(|| {
        let boss = app.login_as(Role::SuperAdmin);
        let made = boss.api_post(
            "/api/backups",
            serde_json::json!({ "description": "before the mistake" }),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        made.json()["backup"]["name"].as_str().unwrap().to_string()
    });
    app.execute(
        "INSERT INTO customers (name, created_at, updated_at) VALUES ('Added Later', 'x', 'x');",
    );
    let url = app.url.clone();
    log_in(&browser, &url, "super-admin-user").await;

    // The restore: through its confirmation, as usual.
    browser
        .goto(&format!("{url}/backup/{backup}/restore"))
        .await
        .unwrap();
    click(
        &browser,
        Locator::XPath("//button[contains(., 'Restore this backup')]"),
    )
    .await;
    wait_for(&browser, ".flash-ok").await;
    let flash = text_of(&browser, ".flash-ok").await;
    assert!(
        flash.contains("Restored “before the mistake — ")
            && flash.contains(&format!("(file {backup})")),
        "{flash}"
    );
    // The page offers the undo too, saying which restore it is about.
    let card = text_of(&browser, "#undo-restore").await;
    assert!(
        card.contains("Made before restoring “before the mistake — ")
            && card.contains("by super-admin-user"),
        "{card}"
    );
    let safety_row = text_of(&browser, "#backup-list tr[data-name^='pre_restore_']").await;
    assert!(
        safety_row.contains("safety copy before a restore — ")
            && safety_row.contains("Made before restoring “before the mistake — ")
            && safety_row.contains("pre_restore_"),
        "{safety_row}"
    );
    save_screenshot(&browser, "backup-after-restore.png").await;
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE name = 'Added Later'"),
        0
    );

    // Undo, from the message: the normal confirmation, for the safety backup.
    click(&browser, Locator::LinkText("Undo this restore")).await;
    wait_for(&browser, ".confirm-form").await;
    let confirm = page_text(&browser).await;
    assert!(
        confirm.contains("Undo the restore: put back the safety copy before a restore — ")
            && confirm.contains("file pre_restore_"),
        "{confirm}"
    );
    assert!(confirm.contains("undoes that restore"), "{confirm}");
    click(
        &browser,
        Locator::XPath("//button[contains(., 'Restore this backup')]"),
    )
    .await;
    wait_for(&browser, ".flash-ok").await;
    assert!(
        text_of(&browser, ".flash-ok")
            .await
            .contains("Restored “safety copy before a restore — ")
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE name = 'Added Later'"),
        1,
        "the data from before the restore is back"
    );
    // The undo itself can be undone, from the card.
    let card = text_of(&browser, "#undo-restore").await;
    assert!(
        card.contains("Made before restoring “safety copy before a restore — "),
        "{card}"
    );
    click(&browser, Locator::Css("#undo-link")).await;
    wait_for(&browser, ".confirm-form").await;
    assert!(page_text(&browser).await.contains("Undo the restore"));
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_banner_turns_amber_while_automatic_backups_are_off() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app().ready();
    let usb = tempfile::tempdir().unwrap();
    // A green line needs an off-site copy; the blocking client must not run on a worker.
    tokio::task::block_in_place(|| app.protect_off_site(usb.path()));
    app.add_user("boss", Role::SuperAdmin);
    let url = app.url.clone();
    log_in(&browser, &url, "boss").await;
    wait_for(&browser, ".health-line").await;
    assert!(
        browser.find(Locator::Css(".banner")).await.is_err(),
        "no banner while protected"
    );
    browser.goto(&format!("{url}/backup/status")).await.unwrap();
    let interval = browser.find(Locator::Css("#interval_hours")).await.unwrap();
    interval.clear().await.unwrap();
    interval.send_keys("0").await.unwrap();
    click(
        &browser,
        Locator::XPath("//button[contains(., 'Save settings')]"),
    )
    .await;
    wait_for(&browser, ".flash-ok").await;
    let health = browser.find(Locator::Css("#health")).await.unwrap();
    assert_eq!(
        health.attr("class").await.unwrap().unwrap_or_default(),
        "health health-amber"
    );
    assert!(
        health
            .text()
            .await
            .unwrap()
            .starts_with("Automatic backups are off")
    );
    // Every page says so, once: the dashboard in its own health line, the others in the
    // banner.
    for (path, css) in [
        ("/", ".health-line.health-amber"),
        ("/products", ".banner.banner-amber"),
        ("/sales/new", ".banner.banner-amber"),
    ] {
        browser.goto(&format!("{url}{path}")).await.unwrap();
        let shown = browser
            .execute(
                "return document.querySelectorAll('main .banner, main .health-line, main .health').length;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(shown, 1, "{path}: the health message once");
        let banner = text_of(&browser, css).await;
        assert!(
            banner.contains("Automatic backups are off"),
            "{path}: {banner}"
        );
    }
    save_screenshot(&browser, "banner-automatic-backups-off.png").await;
    // On again: green, and the banner is gone.
    browser.goto(&format!("{url}/backup/status")).await.unwrap();
    let interval = browser.find(Locator::Css("#interval_hours")).await.unwrap();
    interval.clear().await.unwrap();
    interval.send_keys("6").await.unwrap();
    click(
        &browser,
        Locator::XPath("//button[contains(., 'Save settings')]"),
    )
    .await;
    wait_for(&browser, ".flash-ok").await;
    let class = browser
        .find(Locator::Css("#health"))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(class, "health health-green");
    assert!(browser.find(Locator::Css(".banner")).await.is_err());
    browser.close().await.unwrap();
}
