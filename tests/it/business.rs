//! The shop: products, customers, sales, users, export — per page and role.

use std::sync::{Arc, Barrier};

use backroom::auth::Role;

use crate::support::*;

fn sale(client: &Client, lines: &[(i64, &str, &str)]) -> Resp {
    let ids: Vec<String> = lines.iter().map(|(id, _, _)| id.to_string()).collect();
    let mut fields: Vec<(&str, &str)> = vec![("customer_id", "")];
    for (i, (_, qty, price)) in lines.iter().enumerate() {
        fields.push(("product_id", &ids[i]));
        fields.push(("quantity", qty));
        fields.push(("unit_price", price));
    }
    client.post_form("/sales", &fields)
}

#[test]
fn product_validation_shows_each_error_next_to_its_field_and_keeps_input() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    staff.add_product("TEA-1", "Green tea", "3.50", "10");
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("sku", "X1"), ("name", " "), ("price", "1")],
            "name",
            "Name is required.",
        ),
        (
            &[("sku", ""), ("name", "A"), ("price", "1")],
            "sku",
            "SKU is required.",
        ),
        (
            &[("sku", "tea-1"), ("name", "Dup"), ("price", "1")],
            "sku",
            "already used by another product",
        ),
        (
            &[("sku", "X2"), ("name", "A"), ("price", "-1")],
            "price",
            "cannot be negative",
        ),
        (
            &[("sku", "X3"), ("name", "A"), ("price", "1.999")],
            "price",
            "at most two decimals",
        ),
        (
            &[("sku", "X4"), ("name", "A"), ("price", "abc")],
            "price",
            "Enter an amount",
        ),
        (
            &[
                ("sku", "X5"),
                ("name", "A"),
                ("price", "1"),
                ("stock", "2.5"),
            ],
            "stock",
            "whole number",
        ),
        (
            &[
                ("sku", "X6"),
                ("name", "A"),
                ("price", "1"),
                ("reorder_level", "-3"),
            ],
            "reorder_level",
            "whole number",
        ),
    ];
    for (fields, field, message) in cases {
        let res = staff.post_form("/products", fields);
        assert_eq!(res.status, 400, "{field}");
        assert!(res.body.contains(message), "{field}: expected {message:?}");
        assert!(res.body.contains(&format!("id=\"{field}\"")), "{field}");
        let name = fields.iter().find(|(k, _)| *k == "name").unwrap().1;
        if !name.trim().is_empty() {
            assert!(
                res.body.contains(&format!("value=\"{name}\"")),
                "{field}: input kept"
            );
        }
    }
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products"),
        1,
        "nothing invalid was saved"
    );
}

#[test]
fn product_search_pages_and_treats_sql_characters_as_text() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    staff.add_product("P-1", "50% off_deal", "1", "1");
    staff.add_product("P-2", "Plain mug", "2", "1");
    for i in 0..30 {
        staff.add_product(
            &format!("BULK-{i:02}"),
            &format!("Bulk item {i:02}"),
            "1",
            "5",
        );
    }
    let percent = staff.get("/products?q=%25");
    assert!(percent.body.contains("50% off_deal"));
    assert!(
        !percent.body.contains("Plain mug"),
        "% is a literal, not a wildcard"
    );
    let underscore = staff.get("/products?q=_");
    assert!(underscore.body.contains("1 product matching"));
    let injection = staff.get("/products?q=%27%3B+DROP+TABLE+products%3B--");
    assert_eq!(injection.status, 200);
    assert!(injection.body.contains("0 products matching"));
    assert_eq!(app.query_i64("SELECT count(*) FROM products"), 32);
    let first = staff.get("/products");
    assert!(first.body.contains("Page 1 of 2"));
    assert!(
        first.body.contains("href=\"/products?page=2\""),
        "next link"
    );
    let searched = staff.get("/products?q=Bulk");
    assert!(
        searched
            .body
            .contains("href=\"/products?q=Bulk&amp;page=2\"")
            || searched
                .body
                .contains("href=\"/products?q=Bulk&#38;page=2\""),
        "the next page keeps the search"
    );
    let second = staff.get("/products?page=2");
    assert!(second.body.contains("Page 2 of 2"));
    assert!(second.body.contains("Plain mug"));
    assert!(!first.body.contains("Plain mug"));
}

#[test]
fn stock_adjustments_are_admin_only_recorded_and_never_negative() {
    let app = spawn_app();
    let admin = app.login_as(Role::Admin);
    let staff = app.login_as(Role::Staff);
    let id = admin.add_product("ADJ", "Adjustable", "1", "5");
    let path = format!("/products/{id}/adjust");
    assert_eq!(
        staff
            .post_form(&path, &[("delta", "3"), ("reason", "received goods")])
            .status,
        403
    );
    let res = admin.post_form(
        &path,
        &[
            ("delta", "12"),
            ("reason", "received goods"),
            ("note", "delivery #7"),
        ],
    );
    assert_eq!(res.status, 303);
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {id}")),
        17
    );
    let bad = admin.post_form(&path, &[("delta", "-100"), ("reason", "correction")]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Stock cannot go below zero"));
    assert_eq!(
        admin
            .post_form(&path, &[("delta", "two"), ("reason", "correction")])
            .status,
        400
    );
    assert_eq!(
        admin
            .post_form(&path, &[("delta", "1"), ("reason", "because")])
            .status,
        400
    );
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {id}")),
        17
    );
    let page = admin.get(&format!("/products/{id}"));
    assert!(page.body.contains("delivery #7"));
    assert!(page.body.contains("admin-user"), "who");
    assert!(page.body.contains("received goods"), "why");
    assert!(page.body.contains("+12"));
}

#[test]
fn customer_validation_and_page_with_their_sales() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("name", "")], "Name is required."),
        (
            &[("name", "Ann"), ("email", "ann-at-example")],
            "not a valid e-mail address",
        ),
        (
            &[("name", "Ann"), ("phone", "call me maybe")],
            "A phone number has digits",
        ),
    ];
    for (fields, message) in cases {
        let res = staff.post_form("/customers", fields);
        assert_eq!(res.status, 400);
        assert!(res.body.contains(message), "{message}");
    }
    let long_notes = "n".repeat(2001);
    assert_eq!(
        staff
            .post_form("/customers", &[("name", "Ann"), ("notes", &long_notes)])
            .status,
        400
    );
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 0);

    let res = staff.post_form(
        "/customers",
        &[
            ("name", "Ann Example"),
            ("email", "ann@example.com"),
            ("phone", "+49 30 123"),
        ],
    );
    assert_eq!(res.status, 303);
    let customer = res.location();
    let customer_id = customer.rsplit('/').next().unwrap().to_string();
    let pid = staff.add_product("C-1", "Candle", "4.00", "10");
    let pid_text = pid.to_string();
    let res = staff.post_form(
        "/sales",
        &[
            ("customer_id", &customer_id),
            ("product_id", &pid_text),
            ("quantity", "2"),
            ("unit_price", ""),
        ],
    );
    assert_eq!(res.status, 303);
    let page = staff.get(&customer);
    assert!(page.body.contains("Ann Example"));
    assert!(page.body.contains("8.00"), "their sale is listed");
    let edit = staff.post_form(&customer, &[("name", "Ann Renamed"), ("email", "")]);
    assert_eq!(edit.status, 303);
    assert!(staff.get(&customer).body.contains("Ann Renamed"));
}

#[test]
fn sales_take_stock_refuse_negative_and_voids_give_it_back() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let admin = app.login_as(Role::Admin);
    let tea = staff.add_product("T", "Tea", "0.10", "5");
    let mug = staff.add_product("M", "Mug", "0.20", "1");

    // 3 × 0.10 + 1 × 0.20 = 0.50 exactly (integer cents).
    let res = sale(&staff, &[(tea, "3", ""), (mug, "1", "")]);
    assert_eq!(res.status, 303, "{}", res.body);
    let sale_page = res.location();
    assert!(staff.get(&sale_page).body.contains("0.50"));
    assert_eq!(app.query_i64("SELECT total_cents FROM sales"), 50);
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {tea}")),
        2
    );
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {mug}")),
        0
    );

    // Not enough mugs: clear message, nothing saved, input kept.
    let refused = sale(&staff, &[(tea, "1", ""), (mug, "1", "")]);
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .body
            .contains("Not enough stock of Mug: 0 left, 1 wanted. Nothing was saved."),
        "{}",
        refused.body
    );
    assert_eq!(app.query_i64("SELECT count(*) FROM sales"), 1);
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {tea}")),
        2,
        "tea line rolled back"
    );

    assert_eq!(sale(&staff, &[]).status, 400);
    assert_eq!(sale(&staff, &[(tea, "0", "")]).status, 400);
    assert_eq!(sale(&staff, &[(tea, "1", "-1")]).status, 400);

    // Void: admin only, gives the stock back once.
    let void = format!("{sale_page}/void");
    assert_eq!(staff.post_form(&void, &[]).status, 403);
    assert_eq!(admin.post_form(&void, &[]).status, 303);
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {tea}")),
        5
    );
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {mug}")),
        1
    );
    admin.post_form(&void, &[]);
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {tea}")),
        5,
        "not twice"
    );
    assert!(admin.get(&sale_page).body.contains("(voided)"));
    let list = admin.get("/sales");
    assert!(
        list.body.contains("id=\"sales-total\">0.00<"),
        "voided sales are not counted"
    );
}

#[test]
fn concurrent_sales_of_the_last_item_exactly_one_succeeds() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let last = staff.add_product("LAST", "The last one", "9.99", "1");
    let clients: Vec<Client> = (0..8).map(|_| app.login_as(Role::Staff)).collect();
    let barrier = Arc::new(Barrier::new(clients.len()));
    let handles: Vec<_> = clients
        .into_iter()
        .map(|c| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                sale(&c, &[(last, "1", "")]).status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(
        app.query_i64(&format!("SELECT stock FROM products WHERE id = {last}")),
        0
    );
    assert_eq!(app.query_i64("SELECT count(*) FROM sales"), 1);
}

#[test]
fn products_with_sales_are_archived_not_deleted() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let sold = staff.add_product("S", "Sold once", "1", "3");
    let never = staff.add_product("N", "Never sold", "1", "3");
    assert_eq!(sale(&staff, &[(sold, "1", "")]).status, 303);
    assert_eq!(
        staff
            .post_form(&format!("/products/{never}/remove"), &[])
            .status,
        303
    );
    assert_eq!(
        app.query_i64(&format!("SELECT count(*) FROM products WHERE id = {never}")),
        0
    );
    assert_eq!(
        staff
            .post_form(&format!("/products/{sold}/remove"), &[])
            .status,
        303
    );
    assert_eq!(
        app.query_i64(&format!("SELECT archived FROM products WHERE id = {sold}")),
        1
    );
    assert!(
        !staff.get("/sales/new").body.contains("Sold once"),
        "archived products are not for sale"
    );
    let offered = staff.get("/api/products/search?q=Sold").json();
    assert_eq!(offered["products"], serde_json::json!([]), "nor offered");
    assert_eq!(sale(&staff, &[(sold, "1", "")]).status, 400);
    assert!(staff.get("/products?archived=1").body.contains("Sold once"));
}

#[test]
fn csv_exports_are_admin_only_and_complete() {
    let app = spawn_app();
    let admin = app.login_as(Role::Admin);
    let pid = admin.add_product("=HYPERLINK(\"x\")", "Tea, \"green\"", "1234.5", "9");
    admin.post_form(
        "/customers",
        &[
            ("name", "Ann"),
            ("email", "ann@example.com"),
            ("notes", "line1\nline2"),
        ],
    );
    assert_eq!(sale(&admin, &[(pid, "2", "")]).status, 303);
    let staff = app.login_as(Role::Staff);
    for kind in ["products", "customers", "sales"] {
        assert_eq!(staff.get(&format!("/{kind}/export.csv")).status, 403);
    }
    let products = admin.get("/products/export.csv");
    assert_eq!(products.status, 200);
    assert!(products.header("content-type").starts_with("text/csv"));
    assert!(
        products
            .header("content-disposition")
            .contains("attachment; filename=\"products_")
    );
    assert!(
        products.body.starts_with('\u{feff}'),
        "a byte-order mark, so Excel reads UTF-8"
    );
    let mut reader = csv::Reader::from_reader(products.body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "sku",
            "name",
            "price",
            "stock",
            "reorder_level",
            "archived"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "'=HYPERLINK(\"x\")", "formula neutralised");
    assert_eq!(&rows[0][2], "Tea, \"green\"");
    assert_eq!(&rows[0][3], "1234.50");
    assert_eq!(&rows[0][4], "7");

    let customers = admin.get("/customers/export.csv").body;
    let mut reader = csv::Reader::from_reader(customers.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[1], "Ann");
    assert_eq!(&row[4], "line1\nline2");

    let sales = admin.get("/sales/export.csv").body;
    let mut reader = csv::Reader::from_reader(sales.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[6], "2", "quantity");
    assert_eq!(&row[8], "2469.00", "line total");
    assert_eq!(&row[10], "no");
}

#[test]
fn the_last_super_admin_cannot_demote_or_disable_themselves() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let id = app
        .query_i64("SELECT id FROM users WHERE username = 'super-admin-user'")
        .to_string();
    let demote = boss.post_form(
        &format!("/users/{id}"),
        &[("role", "admin"), ("active", "1")],
    );
    assert_eq!(demote.status, 400);
    assert!(demote.body.contains("last active super-admin"));
    let disable = boss.post_form(&format!("/users/{id}"), &[("role", "super-admin")]);
    assert_eq!(disable.status, 400);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM users WHERE role = 'super-admin' AND active = 1"),
        1
    );

    // Add a second super-admin through the page; then the first may step down.
    let res = boss.post_form(
        "/users",
        &[
            ("username", "deputy"),
            ("role", "super-admin"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    );
    assert_eq!(res.status, 303);
    let res = boss.post_form(
        "/users",
        &[
            ("username", "deputy"),
            ("role", "staff"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    );
    assert_eq!(res.status, 400, "names are unique");
    assert!(res.body.contains("already taken"));
    assert_eq!(
        boss.post_form(
            &format!("/users/{id}"),
            &[("role", "admin"), ("active", "1")]
        )
        .status,
        303
    );
    // The demoted user's session ends (role changed) on the next request.
    assert_eq!(boss.get("/users").status, 303);
    let deputy = app.client();
    assert_eq!(deputy.login("deputy", PASSWORD).status, 303);
    assert_eq!(deputy.get("/users").status, 200);
}

#[test]
fn super_admin_resets_passwords_and_everyone_can_change_their_own() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let staff = app.login_as(Role::Staff);
    let wrong = staff.post_form(
        "/account",
        &[
            ("current", "nope-nope"),
            ("new_password", "new-password-1"),
            ("confirm", "new-password-1"),
        ],
    );
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("The current password is wrong."));
    let mismatch = staff.post_form(
        "/account",
        &[
            ("current", PASSWORD),
            ("new_password", "new-password-1"),
            ("confirm", "other-pass-2"),
        ],
    );
    assert_eq!(mismatch.status, 400);
    let ok = staff.post_form(
        "/account",
        &[
            ("current", PASSWORD),
            ("new_password", "new-password-1"),
            ("confirm", "new-password-1"),
        ],
    );
    assert_eq!(ok.status, 303);
    assert_eq!(
        app.client().login("staff-user", "new-password-1").status,
        303
    );
    assert_eq!(app.client().login("staff-user", PASSWORD).status, 401);

    let id = app.query_i64("SELECT id FROM users WHERE username = 'staff-user'");
    assert_eq!(
        boss.post_form(
            &format!("/users/{id}/password"),
            &[("password", "reset-by-boss")]
        )
        .status,
        303
    );
    assert_eq!(
        app.client().login("staff-user", "reset-by-boss").status,
        303
    );
}

#[test]
fn dashboard_shows_todays_sales_and_low_stock() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let id = staff.add_product("D", "Dashboard item", "2.25", "3");
    assert_eq!(sale(&staff, &[(id, "2", "")]).status, 303);
    let home = staff.get("/");
    assert!(
        home.body.contains("id=\"today-total\">4.50<"),
        "today's total"
    );
    assert!(home.body.contains("1 sale<"), "count today");
    assert!(
        home.body.contains("Dashboard item"),
        "low stock (1 left, reorder at 1) and recent sale"
    );
    assert!(home.body.contains("health-line"), "backup health line");
}

#[test]
fn demo_data_fills_a_living_shop() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(
        dir.path(),
        &["demo-data", "--products", "50", "--days", "30"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = TestApp::in_dir(dir.path());
    assert_eq!(app.query_i64("SELECT count(*) FROM products"), 50);
    assert!(app.query_i64("SELECT count(*) FROM customers") > 20);
    assert!(app.query_i64("SELECT count(*) FROM sales") > 30 * 8 - 30);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products WHERE stock < 0"),
        0
    );
    let again = run_cli(dir.path(), &["demo-data"], None);
    assert!(!again.status.success(), "not twice");
    drop(app);
}

#[test]
fn products_with_stock_history_are_archived_and_huge_page_numbers_are_fine() {
    let app = spawn_app();
    let admin = app.login_as(Role::Admin);
    let staff = app.login_as(Role::Staff);
    let id = admin.add_product("H", "Has history", "1", "5");
    admin.post_form(
        &format!("/products/{id}/adjust"),
        &[("delta", "3"), ("reason", "received goods")],
    );
    assert_eq!(
        staff
            .post_form(&format!("/products/{id}/remove"), &[])
            .status,
        303
    );
    assert_eq!(
        app.query_i64(&format!("SELECT archived FROM products WHERE id = {id}")),
        1
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM stock_adjustments"),
        2,
        "history kept"
    );
    for path in [
        "/products?page=9223372036854775807",
        "/customers?page=99999999999",
        "/sales?page=4611686018427387904",
    ] {
        assert_eq!(staff.get(path).status, 200, "{path}");
    }
}
