//! A record changed after the person looked is not overwritten by a bring-back (issue 23
//! item 10): the live record is read again (before the safety backup and inside the
//! transaction) and compared with what the page or the API answer showed.

use backroom::auth::Role;

use crate::records::{shop, the_day_after};
use crate::support::*;

/// The value of the hidden field `name` on a page, as a browser would send it.
fn hidden(page: &str, name: &str) -> String {
    let start = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} on the page: {page}"))
        + name.len()
        + 15;
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

#[test]
fn a_record_changed_after_the_page_was_read_is_refused_with_both_versions() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let staff = app.login_as(Role::Staff);
    let backup = shop(&app, &boss);
    the_day_after(&app, &staff);
    let page = boss.get(&format!("/backup/{backup}/diff/customers"));
    assert_eq!(page.status, 200);
    let seen = hidden(&page.body, "seen_3");
    assert!(seen.contains("new@example.com"), "{seen}");

    // Someone else changes customer 3 while the owner reads the page.
    app.execute("UPDATE customers SET email = 'newest@example.com' WHERE id = 3;");
    let backups_before = app.backup_files();
    let res = boss.post_form(
        &format!("/backup/{backup}/bring-back"),
        &[("table", "customers"), ("id", "3"), ("seen_3", &seen)],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    let after = boss.get(&res.location());
    let flash = after.body.replace("&#64;", "@");
    assert!(
        flash.contains("was changed since you looked")
            && flash.contains("new@example.com")
            && flash.contains("newest@example.com"),
        "{}",
        after.body
    );
    assert_eq!(
        app.query_i64(
            "SELECT count(*) FROM customers WHERE id = 3 AND email = 'newest@example.com'"
        ),
        1,
        "the newer change stays"
    );
    assert_eq!(
        app.backup_files(),
        backups_before,
        "a stale page changes nothing, not even a safety backup"
    );

    // Read again, the page shows the newest version and the bring-back goes through.
    let page = boss.get(&format!("/backup/{backup}/diff/customers"));
    let seen = hidden(&page.body, "seen_3");
    let res = boss.post_form(
        &format!("/backup/{backup}/bring-back"),
        &[("table", "customers"), ("id", "3"), ("seen_3", &seen)],
    );
    assert_eq!(res.status, 303);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE id = 3 AND email = 'old@example.com'"),
        1
    );
}

#[test]
fn a_deleted_record_someone_else_brought_back_is_not_brought_back_twice() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let staff = app.login_as(Role::Staff);
    let backup = shop(&app, &boss);
    the_day_after(&app, &staff);
    let d = boss
        .get(&format!("/api/backups/{backup}/diff/products"))
        .json();
    let seen = d["seen"].clone();
    assert_eq!(seen["1"], "not there", "{d}");
    assert!(seen["2"].as_str().unwrap().contains("New name"), "{d}");

    // Product 2 is changed again and product 1 is brought back by another tab.
    app.execute("UPDATE products SET price_cents = 999 WHERE id = 2;");
    let first = boss.api_post(
        &format!("/api/backups/{backup}/bring-back"),
        serde_json::json!({"table": "products", "ids": [1]}),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let products_before = app.query_i64("SELECT count(*) FROM products");
    for (id, now) in [(1, "Deleted <b>tea</b>"), (2, "9.99")] {
        let res = boss.api_post(
            &format!("/api/backups/{backup}/bring-back"),
            serde_json::json!({"table": "products", "ids": [id], "seen": seen}),
        );
        assert_eq!(res.status, 409, "{}", res.body);
        let error = res.json()["error"].as_str().unwrap().to_string();
        assert!(
            error.contains(&format!("product #{id} was changed since you looked"))
                && error.contains(now),
            "{error}"
        );
    }
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products"),
        products_before
    );
    assert_eq!(
        app.query_i64("SELECT price_cents FROM products WHERE id = 2"),
        999
    );
}
