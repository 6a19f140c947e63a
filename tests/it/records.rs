//! Looking inside a backup and bringing back single records (issue 15): browse, compare,
//! export, bring back (ids, conflicts, stock choice, the log and the product's history), an
//! older backup read through a migrated copy, roles, and hostile names rendered escaped.

use backroom::auth::Role;

use crate::support::*;

const AT: &str = "2026-11-30T10:00:00Z";

/// A shop with three products, three customers and one sale, and a backup of it; returns the
/// backup's name.
pub(crate) fn shop(app: &TestApp, boss: &Client) -> String {
    app.execute(&format!(
        "INSERT INTO products (id, sku, name, price_cents, stock, reorder_level, created_at, updated_at) VALUES
            (1, 'DEL-1', 'Deleted <b>tea</b>', 450, 7, 1, '{AT}', '{AT}'),
            (2, 'CHG-1', 'Old name', 300, 5, 1, '{AT}', '{AT}'),
            (3, 'SELL-1', 'Sold since', 200, 9, 1, '{AT}', '{AT}');
         INSERT INTO customers (id, name, phone, email, created_at, updated_at) VALUES
            (1, 'Ada Deleted', '555-0101', 'ada@example.com', '{AT}', '{AT}'),
            (2, 'Bob Buyer', '', '', '{AT}', '{AT}'),
            (3, 'Cy Changed', '', 'old@example.com', '{AT}', '{AT}');"
    ));
    // The startup backup may still be running: tried again with a deadline.
    make_backup(boss, "tuesday")
}

/// What happens after the backup: a product and a customer deleted, others changed, a sale.
pub(crate) fn the_day_after(app: &TestApp, staff: &Client) {
    app.execute(
        "DELETE FROM products WHERE id = 1;
         UPDATE products SET name = 'New name', price_cents = 350, stock = 2 WHERE id = 2;
         DELETE FROM customers WHERE id = 1;
         UPDATE customers SET email = 'new@example.com' WHERE id = 3;",
    );
    let sold = staff.post_form(
        "/sales",
        &[
            ("customer_id", "2"),
            ("product_id", "3"),
            ("quantity", "2"),
            ("unit_price", "2.00"),
        ],
    );
    assert_eq!(sold.status, 303, "{}", sold.body);
}

fn ids(list: &serde_json::Value) -> Vec<i64> {
    let mut v: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn deleted_and_changed_records_come_back_and_the_sales_since_stay() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let staff = app.login_as(Role::Staff);
    let backup = shop(&app, &boss);
    the_day_after(&app, &staff);
    let sales_before = app.query_i64("SELECT count(*) FROM sales");

    // Browse: the backup's records as they were, marked against now.
    let listed = boss.get(&format!("/api/backups/{backup}/records/products"));
    assert_eq!(listed.status, 200, "{}", listed.body);
    let l = listed.json();
    assert_eq!(l["total"], 3);
    let one = l["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == 1)
        .unwrap()
        .clone();
    assert_eq!(one["sku"], "DEL-1");
    assert_eq!(one["compared_with_now"], "only in the backup");
    let found = boss.get(&format!("/api/backups/{backup}/records/customers?q=ada"));
    assert_eq!(found.json()["total"], 1);

    // Compare.
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/products"))
        .json();
    assert_eq!(ids(&d["only_in_backup"]), vec![1]);
    // Product 3 was sold since: its stock changed too.
    assert_eq!(ids(&d["changed"]), vec![2, 3]);
    assert_eq!(
        d["changed"][1]["fields"]["stock"],
        serde_json::json!(["9", "7"])
    );
    assert_eq!(
        d["changed"][0]["fields"]["name"],
        serde_json::json!(["Old name", "New name"])
    );
    assert_eq!(
        d["changed"][0]["fields"]["stock"],
        serde_json::json!(["5", "2"])
    );
    assert!(ids(&d["only_now"]).is_empty());
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/customers"))
        .json();
    assert_eq!(ids(&d["only_in_backup"]), vec![1]);
    assert_eq!(ids(&d["changed"]), vec![3]);
    // The sale made since is live, so no backup sale is "no longer live".
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/sales"))
        .json();
    assert!(d["no_longer_live"].as_array().unwrap().is_empty(), "{d}");

    // Bring back the deleted customer (its id is free) and the changed one.
    let res = boss.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "customers", "ids": [1, 3]}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let brought = res.json()["brought_back"].clone();
    assert_eq!(brought[0]["live_id"], 1, "{brought}");
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE id = 1 AND name = 'Ada Deleted' AND phone = '555-0101'"),
        1
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE id = 3 AND email = 'old@example.com'"),
        1
    );
    // Products: the deleted one with its id, the changed one with its old fields; stock set
    // to the backup's numbers as adjustments in the history.
    let res = boss.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "products", "ids": [1, 2], "stock": "adjust"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products WHERE id = 1 AND sku = 'DEL-1' AND stock = 7"),
        1
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products WHERE id = 2 AND name = 'Old name' AND price_cents = 300 AND stock = 5"),
        1
    );
    let reason = format!("brought back from {backup}");
    // The product's page shows it in its history (and the stock change in its stock history).
    let page = boss.get("/products/2");
    assert!(
        page.body.contains(&format!(
            "brought back from {backup}: its fields as in the backup"
        )),
        "{}",
        page.body
    );
    assert_eq!(
        app.query_i64(&format!(
            "SELECT count(*) FROM stock_adjustments WHERE reason = '{reason}' AND ((product_id = 1 AND delta = 7) OR (product_id = 2 AND delta = 3))"
        )),
        2
    );
    // The sales since are untouched; a safety backup came first (apart from the history); the log says who.
    assert_eq!(app.query_i64("SELECT count(*) FROM sales"), sales_before);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM sales WHERE customer_id = 2"),
        1
    );
    assert!(
        app.backup_files()
            .iter()
            .any(|n| n.starts_with("pre_restore_") && n.ends_with("_before_bring_back.db")),
        "{:?}",
        app.backup_files()
    );
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains(&format!(
            "Brought back customer #1 from {backup} by super-admin-user"
        )),
        "{log}"
    );
    assert!(log.contains(&format!(
        "Brought back product #2 from {backup} by super-admin-user"
    )));
    // Nothing differs any more for those.
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/customers"))
        .json();
    assert!(
        ids(&d["only_in_backup"]).is_empty() && ids(&d["changed"]).is_empty(),
        "{d}"
    );
    // Asking again for a record that no longer differs is refused.
    let again = boss.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "customers", "ids": [1]}),
    );
    assert_eq!(again.status, 400, "{}", again.body);
}

#[test]
fn conflicts_a_taken_id_and_a_taken_sku_are_said_plainly() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let backup = shop(&app, &boss);
    // Customer 1 is deleted and its id taken by someone new; product 1 is deleted and its SKU
    // given to another product.
    app.execute(&format!(
        "DELETE FROM customers WHERE id = 1;
         INSERT INTO customers (id, name, created_at, updated_at) VALUES (1, 'Newcomer', '2026-12-01T09:00:00Z', '2026-12-01T09:00:00Z');
         DELETE FROM products WHERE id = 1;
         INSERT INTO products (sku, name, price_cents, stock, created_at, updated_at) VALUES ('DEL-1', 'Took the SKU', 100, 1, '{AT}', '{AT}');"
    ));
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/customers"))
        .json();
    assert_eq!(ids(&d["only_in_backup"]), vec![1], "{d}");
    assert_eq!(ids(&d["only_now"]), vec![1], "{d}");
    let res = boss.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "customers", "ids": [1]}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let b = res.json()["brought_back"][0].clone();
    assert_ne!(b["live_id"], 1);
    assert!(
        b["what"]
            .as_str()
            .unwrap()
            .contains("used by another customer"),
        "{b}"
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE name = 'Newcomer' AND id = 1"),
        1
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE name = 'Ada Deleted'"),
        1
    );

    let products_before = app.query_i64("SELECT count(*) FROM products");
    let backups_before = app.backup_files();
    let res = boss.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "products", "ids": [1]}),
    );
    assert_eq!(res.status, 409, "{}", res.body);
    let error = res.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("SKU DEL-1") && error.contains("Took the SKU"),
        "{error}"
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products"),
        products_before
    );
    // Sales are not brought back one by one; nothing chosen is refused.
    for body in [
        serde_json::json!({"table": "sales", "ids": [1]}),
        serde_json::json!({"table": "customers", "ids": []}),
        serde_json::json!({"table": "users", "ids": [1]}),
    ] {
        let res = boss.api_post(&format!("/api/backups/{backup}/bring-back"), body.clone());
        assert_eq!(res.status, 400, "{body}: {}", res.body);
    }
    // A refused bring-back made one manual backup at most (the SKU conflict is found inside
    // the transaction, after the backup before it).
    assert!(app.backup_files().len() <= backups_before.len() + 1);
}

#[test]
fn roles_staff_cannot_look_admins_browse_and_export_only_super_admins_bring_back() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let backup = shop(&app, &boss);
    let staff = app.login_as(Role::Staff);
    for path in [
        format!("/backup/{backup}/records/products"),
        format!("/backup/{backup}/diff/customers"),
        format!("/api/backups/{backup}/records/customers"),
        format!("/backup/{backup}/records/products/export.csv"),
    ] {
        assert_eq!(staff.get(&path).status, 403, "{path}");
    }
    let admin = app.login_as(Role::Admin);
    let page = admin.get(&format!("/backup/{backup}/records/products"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("In backup <strong>")
            && page.body.contains(&format!("(file {backup})</small>")),
        "{}",
        page.body
    );
    // Hostile names render escaped.
    assert!(
        page.body.contains("Deleted &#60;b&#62;tea&#60;/b&#62;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<b>tea</b>"));
    let csv = admin.get(&format!("/backup/{backup}/records/products/export.csv"));
    assert_eq!(csv.status, 200);
    assert!(csv.body.contains("DEL-1") && csv.body.contains("Deleted <b>tea</b>"));
    app.execute("DELETE FROM customers WHERE id = 1;");
    let diff = admin.get(&format!("/backup/{backup}/diff/customers"));
    assert_eq!(diff.status, 200);
    assert!(diff.body.contains("Ada Deleted"));
    assert!(
        !diff.body.contains("name=\"id\""),
        "an admin sees no bring-back boxes"
    );
    let res = admin.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "customers", "ids": [1]}),
    );
    assert_eq!(res.status, 403);
    // The super-admin's page has the boxes and the form works.
    let diff = boss.get(&format!("/backup/{backup}/diff/customers"));
    assert!(
        diff.body.contains("name=\"id\" value=\"1\""),
        "{}",
        diff.body
    );
    let res = boss.post_form(
        &format!("/backup/{backup}/bring-back"),
        &[("table", "customers"), ("id", "1")],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    let page = boss.get(&res.location());
    assert!(
        page.body.contains("Brought back 1 customers"),
        "{}",
        page.body
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE id = 1"),
        1
    );
}

#[test]
fn an_older_backup_is_read_through_a_migrated_copy_and_the_file_is_untouched() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    // A backup of the schema before the newest migration, brought in as a file.
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&old).unwrap();
        backroom::db::migrations::migrate_to(&mut conn, &old, backroom::db::SCHEMA_VERSION - 1)
            .unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO products (sku, name, price_cents, stock, created_at, updated_at) VALUES ('OLD-1', 'From long ago', 100, 1, '{AT}', '{AT}');"
        ))
        .unwrap();
    }
    let res = boss.upload_raw(
        "/api/backups/upload?name=old.db",
        std::fs::read(&old).unwrap(),
        None,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let name = res.json()["backup"]["name"].as_str().unwrap().to_string();
    let path = app.backups_dir().join(&name);
    let before = std::fs::read(&path).unwrap();
    let page = boss.get(&format!("/backup/{name}/records/products"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("From long ago"));
    assert!(
        page.body.contains("older version of Backroom"),
        "{}",
        page.body
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the backup file changed"
    );
    assert!(temp_files(&app.backups_dir()).is_empty());
    // A backup that is being read cannot be deleted underneath; unknown names are 404.
    assert_eq!(
        boss.get("/api/backups/nope.db/records/products").status,
        404
    );
    assert_eq!(
        boss.get(&format!("/api/backups/{name}/records/users"))
            .status,
        404
    );
}

#[test]
fn sales_in_the_backup_that_were_voided_or_lost_since_are_listed() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let staff = app.login_as(Role::Staff);
    app.execute(&format!(
        "INSERT INTO products (id, sku, name, price_cents, stock, created_at, updated_at) VALUES (1, 'T-1', 'Tea', 200, 50, '{AT}', '{AT}');"
    ));
    let sell = || {
        let res = staff.post_form(
            "/sales",
            &[
                ("customer_id", ""),
                ("product_id", "1"),
                ("quantity", "1"),
                ("unit_price", "2.00"),
            ],
        );
        assert_eq!(res.status, 303, "{}", res.body);
        res.location()
            .rsplit('/')
            .next()
            .unwrap()
            .parse::<i64>()
            .unwrap()
    };
    let (kept, voided, lost) = (sell(), sell(), sell());
    let made = boss.api_post(
        "/api/backups",
        serde_json::json!({"description": "with sales"}),
    );
    let backup = made.json()["backup"]["name"].as_str().unwrap().to_string();
    assert_eq!(
        boss.post_form(&format!("/sales/{voided}/void"), &[]).status,
        303
    );
    app.execute(&format!("DELETE FROM sales WHERE id = {lost};"));
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/sales"))
        .json();
    let listed = d["no_longer_live"].as_array().unwrap().clone();
    let status_of = |id: i64| {
        listed
            .iter()
            .find(|s| s["id"] == id)
            .map(|s| s["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status_of(voided).as_deref(), Some("voided since"), "{d}");
    assert_eq!(
        status_of(lost).as_deref(),
        Some("not in the live data"),
        "{d}"
    );
    assert_eq!(status_of(kept), None);
    let page = boss.get(&format!("/backup/{backup}/diff/sales"));
    assert!(
        page.body.contains("restore the backup to get them back"),
        "{}",
        page.body
    );
}
