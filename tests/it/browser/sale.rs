//! The sale form at the counter in a real browser: a sale made with the keyboard alone,
//! products found by part of a name and by SKU, a customer found by phone; and without
//! JavaScript, Enter searches and only Save saves.

use backroom::auth::Role;
use fantoccini::key::Key;

use super::*;

/// Waits until the suggestions of the field `input` are open and the first one names `name`.
async fn first_suggestion_is(browser: &Browser, input: &str, name: &str) {
    let script = format!(
        "const o = document.querySelector('#{input}-list [role=option] .combo-name');
         return document.getElementById('{input}').getAttribute('aria-expanded') === 'true'
           && !!o && o.textContent === {name:?};"
    );
    wait_until(browser, &script, &format!("{name} offered for #{input}")).await;
}

pub(super) async fn attribute(browser: &Browser, css: &str, name: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn value_of(browser: &Browser, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_of_three_products_found_by_name_and_sku_with_the_keyboard_alone() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app().ready();
    let (cinnamon, knocker, napkins, anna) = outside_async(|| {
        let boss = app.login_as(Role::SuperAdmin);
        // A shop of 300+ products, and customers who share a name with another.
        let mut conn = rusqlite::Connection::open(app.db_path()).unwrap();
        backroom::business::demo::fill(&mut conn, Some(1), 320, 3).unwrap();
        let anna = boss.add_customer("Anna Schmidt", "+49 30 765 4321", "");
        boss.add_customer("Anna Schmidt", "", "anna@example.com");
        (
            boss.add_product("SPICE-7", "Zanzibar Cinnamon Sticks", "3.50", "20"),
            boss.add_product("BDK-1", "Brass Door Knocker", "24.90", "4"),
            boss.add_product("LN-6", "Linen Napkins set of 6", "8.75", "9"),
            anna,
        )
    });
    let demo_sales = app.query_i64("SELECT count(*) FROM sales");
    let url = app.url.clone();
    log_in(&browser, &url, "super-admin-user").await;
    browser.goto(&format!("{url}/sales/new")).await.unwrap();
    wait_for(&browser, "#sale-form.enhanced").await;
    assert_eq!(
        value_of(&browser, "#sale-lines input[name=quantity]").await,
        "1"
    );

    // The customer, by phone typed another way than it was saved.
    tab_to(&browser, "customer-q").await;
    assert_eq!(attribute(&browser, "#customer-q", "role").await, "combobox");
    press(&browser, "030-7654321").await;
    first_suggestion_is(&browser, "customer-q", "Anna Schmidt").await;
    let detail = text_of(&browser, "#customer-q-list [role=option] .combo-detail").await;
    assert_eq!(
        detail, "+49 30 765 4321",
        "the phone tells the two Annas apart"
    );
    press(&browser, &[&*Key::Down, &*Key::Enter].concat()).await;
    assert_eq!(
        value_of(&browser, "input[name=customer_id]").await,
        anna.to_string()
    );

    // Line 1: part of a name; Enter moves on to the quantity, then the price.
    press(&browser, &Key::Enter).await;
    assert_eq!(focused_id(&browser).await, "product-q-1");
    press(&browser, "cinnam").await;
    first_suggestion_is(&browser, "product-q-1", "Zanzibar Cinnamon Sticks").await;
    let detail = text_of(&browser, "#product-q-1-list [role=option] .combo-detail").await;
    assert_eq!(
        detail, "SPICE-7 · 3.50 · 20 in stock",
        "price and stock shown"
    );
    press(&browser, &Key::Down).await;
    let active = attribute(&browser, "#product-q-1", "aria-activedescendant").await;
    assert_eq!(active, "product-q-1-list-0");
    press(&browser, &Key::Enter).await;
    assert_eq!(
        attribute(&browser, "#product-q-1", "aria-expanded").await,
        "false"
    );
    press(
        &browser,
        &[&*Key::Enter, "2", &*Key::Enter, "3,50", &*Key::Enter].concat(),
    )
    .await;

    // Line 2: the SKU; the offered quantity of 1 and the product's price stay.
    assert_eq!(focused_id(&browser).await, "product-q-2");
    press(&browser, "bdk-1").await;
    first_suggestion_is(&browser, "product-q-2", "Brass Door Knocker").await;
    press(
        &browser,
        &[
            &*Key::Down,
            &*Key::Enter,
            &*Key::Enter,
            &*Key::Enter,
            &*Key::Enter,
        ]
        .concat(),
    )
    .await;

    // Line 3: part of another name.
    assert_eq!(focused_id(&browser).await, "product-q-3");
    press(&browser, "napkin").await;
    first_suggestion_is(&browser, "product-q-3", "Linen Napkins set of 6").await;
    press(
        &browser,
        &[&*Key::Down, &*Key::Enter, &*Key::Enter, "3"].concat(),
    )
    .await;

    // Line 4: Escape closes the suggestions, a second one empties the line again.
    for _ in 0..2 {
        press(&browser, &Key::Tab).await;
    }
    assert_eq!(focused_id(&browser).await, "product-q-4");
    press(&browser, "tea").await;
    wait_until(
        &browser,
        "return document.getElementById('product-q-4').getAttribute('aria-expanded') === 'true';",
        "suggestions for line 4",
    )
    .await;
    press(&browser, &Key::Escape).await;
    assert_eq!(
        attribute(&browser, "#product-q-4", "aria-expanded").await,
        "false"
    );
    press(&browser, &Key::Escape).await;
    assert_eq!(value_of(&browser, "#product-q-4").await, "");

    // 2 × 3.50 + 24.90 + 3 × 8.75
    let shown = text_of(&browser, "#sale-total").await;
    assert_eq!(shown, "58.15");
    assert_eq!(
        app.query_i64("SELECT count(*) FROM sales"),
        demo_sales,
        "none of the Enters sent the form"
    );
    tab_to(&browser, "save-sale").await;
    press(&browser, &Key::Enter).await;
    wait_for(&browser, ".flash-ok").await;
    assert!(page_text(&browser).await.contains("saved"));
    assert_eq!(
        text_of(&browser, "#sale-total").await,
        shown,
        "saved as shown"
    );
    let sale = app.query_i64("SELECT max(id) FROM sales");
    assert_eq!(
        app.query_i64(&format!("SELECT customer_id FROM sales WHERE id = {sale}")),
        anna
    );
    let lines = app.query_i64(&format!(
        "SELECT count(*) FROM sale_lines WHERE sale_id = {sale} AND (
            (product_id = {cinnamon} AND quantity = 2 AND unit_price_cents = 350) OR
            (product_id = {knocker} AND quantity = 1 AND unit_price_cents = 2490) OR
            (product_id = {napkins} AND quantity = 3 AND unit_price_cents = 875))"
    ));
    assert_eq!(lines, 3);
    save_screenshot(&browser, "sale-saved-by-keyboard.png").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_enter_searches_and_only_save_saves() {
    let Some((_driver, browser)) = start_browser_with(false).await else {
        return;
    };
    let app = spawn_app();
    let cinnamon = outside_async(|| {
        let boss = app.login_as(Role::SuperAdmin);
        boss.add_product("TEA-9", "Tea Towel", "4.50", "10");
        boss.add_product("SPICE-7", "Zanzibar Cinnamon Sticks", "3.50", "20")
    });
    let url = app.url.clone();
    log_in(&browser, &url, "super-admin-user").await;
    browser.goto(&format!("{url}/sales/new")).await.unwrap();
    assert!(
        browser
            .find(Locator::Css("#sale-form.enhanced"))
            .await
            .is_err(),
        "no script ran"
    );
    // Enter in a search field: the form comes back with the match chosen, nothing saved.
    type_into(&browser, "#product-q-1", &["cinnam", &*Key::Enter].concat()).await;
    wait_for(&browser, "#product-note-1").await;
    wait_until_text(&browser, "#product-note-1", "SPICE-7 · 3.50 · 20 in stock").await;
    assert_eq!(app.query_i64("SELECT count(*) FROM sales"), 0);
    let chosen = browser
        .find(Locator::Css(
            "#sale-lines tr:nth-child(1) select[name=product_id]",
        ))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(chosen, cinnamon.to_string());
    // Enter in the quantity is a search again, still not a sale.
    let quantity = browser.find(Locator::Css("#quantity-1")).await.unwrap();
    quantity.clear().await.unwrap();
    quantity
        .send_keys(&["4", &*Key::Enter].concat())
        .await
        .unwrap();
    wait_for(&browser, "#quantity-1[value='4']").await;
    assert_eq!(app.query_i64("SELECT count(*) FROM sales"), 0);
    assert_eq!(text_of(&browser, "#sale-total").await, "14.00");
    click(&browser, Locator::Css("#save-sale")).await;
    wait_for(&browser, ".flash-ok").await;
    assert_eq!(app.query_i64("SELECT total_cents FROM sales"), 1400);
    browser.close().await.unwrap();
}
