//! At the counter, over plain HTTP (the way the pages work without JavaScript): the sale
//! form's Find buttons, the search behind its suggestions, customers found by phone however
//! the number is written, and the quantity offered as a real 1.

use backroom::auth::Role;

use crate::support::*;

/// A sale form as a browser without JavaScript sends it: one search field, one product
/// list, a quantity and a price per line.
fn form<'a>(
    customer_q: &'a str,
    customer_id: &'a str,
    lines: &[(&'a str, &'a str, &'a str, &'a str)],
    find: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("customer_q", customer_q), ("customer_id", customer_id)];
    for (q, id, quantity, price) in lines {
        fields.extend([
            ("product_q", *q),
            ("product_id", *id),
            ("quantity", *quantity),
            ("unit_price", *price),
        ]);
    }
    if find {
        fields.push(("find", "1"));
    }
    fields
}

#[test]
fn the_sale_form_offers_a_real_quantity_of_one_and_searches_on_enter() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let page = staff.get("/sales/new");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.body
            .matches("autocomplete=\"off\" value=\"1\" aria-label=\"Quantity, line")
            .count(),
        5,
        "five lines, each with a quantity of 1 (a value, not a placeholder)"
    );
    assert!(!page.body.contains("placeholder=\"1\""));
    // Enter in a field presses the form's first submit button: the hidden Find, never Save.
    let form_start = page.body.find("id=\"sale-form\"").unwrap();
    let first_submit = page.body[form_start..].find("type=\"submit\"").unwrap();
    let save = page.body[form_start..].find("id=\"save-sale\"").unwrap();
    assert!(page.body[form_start + first_submit..].starts_with("type=\"submit\" name=\"find\""));
    assert!(first_submit < save);
    // No product list in the page: 300 products are not sent five times over.
    assert!(!page.body.contains("in stock</option>"));
}

#[test]
fn find_without_javascript_shows_matches_keeps_what_was_typed_and_saves_nothing() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let towel = staff.add_product("TT-01", "Tea Towel", "4.50", "10");
    let tin = staff.add_product("TT-02", "Tea Tin", "12.99", "5");
    staff.add_product("TB-02", "Travel Backpack", "49.00", "2");
    let ann = staff.add_customer("Ann Example", "+44 (0)20 7946 0958", "");
    staff.add_customer("Ann Example", "", "ann@example.com");

    let found = staff.post_form(
        "/sales",
        &form(
            "020-7946 0958",
            "",
            &[
                ("towel", "", "2", "3,99"),
                ("tt-02", "", "1", ""),
                ("", "", "1", ""),
            ],
            true,
        ),
    );
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM sales"),
        0,
        "Find saves nothing"
    );
    // Line 1: one match for a word inside the name, picked; what was typed is kept.
    assert!(found.body.contains(&format!(
        "<option value=\"{towel}\" data-price=\"450\" data-name=\"Tea Towel\" data-detail=\"TT-01 · 4.50 · 10 in stock\" selected>"
    )));
    assert!(found.body.contains("value=\"towel\""));
    assert!(found.body.contains("value=\"3,99\""));
    // Line 2: the exact SKU picked, with price and stock shown.
    assert!(
        found
            .body
            .contains(&format!("<option value=\"{tin}\" data-price=\"1299\""))
    );
    assert!(found.body.contains("TT-02 · 12.99 · 5 in stock"));
    // The customer found by phone, written another way; the phone tells the Anns apart.
    assert!(found.body.contains(&format!("<option value=\"{ann}\"")));
    assert!(found.body.contains("Ann Example · +44 (0)20 7946 0958"));
    // The total so far, as the server will save it: 2 × 3.99 + 12.99.
    assert!(
        found.body.contains("id=\"sale-total\">20.97<"),
        "total shown"
    );

    // Several matches: the person chooses; Save without a choice says so.
    let many = staff.post_form("/sales", &form("", "", &[("tea", "", "1", "")], false));
    assert_eq!(many.status, 400);
    assert!(
        many.body
            .contains("Line 1: choose a product for “tea” from the list.")
    );
    assert!(many.body.contains("— choose one of 2 —"));
    assert!(
        many.body
            .contains("2 products match: choose one from the list.")
    );
    assert!(
        many.body.contains("aria-invalid=\"true\""),
        "the line is marked"
    );
    let none = staff.post_form("/sales", &form("", "", &[("xyzzy", "", "1", "")], true));
    assert!(none.body.contains("No product matches “xyzzy”"));

    // A customer typed but never picked is not quietly a walk-in: the form says so.
    let unpicked = staff.post_form(
        "/sales",
        &form("Ann Example", "", &[("", &tin.to_string(), "1", "")], false),
    );
    assert_eq!(unpicked.status, 400);
    assert!(
        unpicked
            .body
            .contains("Choose the customer for “Ann Example” from the list")
    );
    assert!(
        unpicked
            .body
            .contains("2 customers match: choose one from the list.")
    );
    assert!(unpicked.body.contains("Ann Example · ann@example.com"));

    // Choosing from the list and saving: the sale as shown.
    let saved = staff.post_form(
        "/sales",
        &form(
            "Ann Example",
            &ann.to_string(),
            &[
                ("towel", &towel.to_string(), "2", "3,99"),
                ("Tea Tin", &tin.to_string(), "1", ""),
                ("", "", "1", ""),
            ],
            false,
        ),
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(app.query_i64("SELECT total_cents FROM sales"), 2097);
    assert_eq!(app.query_i64("SELECT customer_id FROM sales"), ann);
}

#[test]
fn suggestions_search_any_word_and_the_sku_and_show_price_and_stock() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let towel = staff.add_product("TT-01", "Tea Towel", "4.50", "10");
    staff.add_product("GT-03", "Green Tea 250g", "3.99", "0");
    let old = staff.add_product("OLD-1", "Old Towel", "1.00", "0");
    app.execute(&format!(
        "UPDATE products SET archived = 1 WHERE id = {old}"
    ));
    let res = staff.get("/api/products/search?q=towel");
    assert_eq!(res.status, 200);
    let json = res.json();
    let products = json["products"].as_array().unwrap();
    assert_eq!(
        products.len(),
        1,
        "archived products are not offered: {json}"
    );
    assert_eq!(products[0]["id"], towel);
    assert_eq!(products[0]["price"], "4.50");
    assert_eq!(products[0]["stock"], 10);
    assert_eq!(products[0]["detail"], "TT-01 · 4.50 · 10 in stock");
    let mut keys: Vec<&str> = products[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "detail",
            "id",
            "name",
            "price",
            "price_cents",
            "sku",
            "stock"
        ]
    );
    let by_sku = staff.get("/api/products/search?q=gt-0").json();
    assert_eq!(by_sku["products"][0]["name"], "Green Tea 250g");
    let both = staff.get("/api/products/search?q=tea").json();
    assert_eq!(both["products"].as_array().unwrap().len(), 2);
    // Not for strangers.
    assert_eq!(app.client().get("/api/products/search?q=tea").status, 401);
    assert_eq!(app.client().get("/api/customers/search?q=ann").status, 401);
    // The product list searches the same way: words in any order.
    let list = staff.get("/products?q=towel+tea");
    assert!(list.body.contains("1 product matching"), "{}", list.body);
}

#[test]
fn customers_are_found_by_phone_however_it_is_written_and_edits_keep_it_current() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let berlin = staff.add_customer("Anna Schmidt", "+49 30 1234567", "");
    let local = staff.add_customer("Anna Schmidt", "030/765-4321", "anna.s@example.com");
    staff.add_customer("Ben Okafor", "", "ben@example.com");
    let ids = |q: &str| -> Vec<i64> {
        let json = staff
            .get(&format!("/api/customers/search?q={}", urlencode(q)))
            .json();
        json["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    for q in [
        "030 1234567",
        "030-123 45 67",
        "+49 30 1234567",
        "0049301234567",
        "1234567",
    ] {
        assert_eq!(ids(q), [berlin], "{q}");
    }
    // Saved without the country code, typed with it.
    assert_eq!(ids("+49 30 7654321"), [local]);
    assert_eq!(ids("anna"), [berlin, local]);
    let json = staff.get("/api/customers/search?q=anna").json();
    assert_eq!(json["customers"][0]["detail"], "+49 30 1234567");
    assert_eq!(json["customers"][1]["detail"], "030/765-4321");
    // What the form needs, not the customer's notes.
    let first = json["customers"][0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["detail", "email", "id", "name", "phone"]);
    // The customer list finds them the same way.
    let list = staff.get("/customers?q=030+1234567");
    assert!(list.body.contains("1 customer matching"), "{}", list.body);
    // A new number is searchable at once; the old one no longer finds them.
    let res = staff.post_form(
        &format!("/customers/{berlin}"),
        &[
            ("name", "Anna Schmidt"),
            ("phone", "0171 5550199"),
            ("email", ""),
        ],
    );
    assert_eq!(res.status, 303);
    assert_eq!(ids("+49 171 555 0199"), [berlin]);
    assert!(ids("030 1234567").is_empty());
    assert_eq!(
        app.query_i64(&format!(
            "SELECT count(*) FROM customers WHERE id = {berlin} AND phone_digits = '1715550199'"
        )),
        1
    );
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)])
        .unwrap()
        .trim_start_matches("q=")
        .to_string()
}
