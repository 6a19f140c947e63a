//! Hostile input: markup in every text field, oversized and malformed bodies.

use backroom::auth::Role;

use crate::support::*;

const EVIL: &str = "<script>alert(1)</script>\"'{{ 7*7 }}{% if true %}x{% endif %}";

fn assert_escaped(body: &str, where_: &str) {
    if let Some(at) = body.find("<script>alert(1)") {
        panic!(
            "{where_}: unescaped markup: {}",
            &body[at.saturating_sub(200)..(at + 60).min(body.len())]
        );
    }
    assert!(
        !body.contains(">49<") && !body.contains(" 49 "),
        "{where_}: template syntax was evaluated"
    );
}

#[test]
fn markup_and_template_syntax_are_shown_as_text_everywhere() {
    let app = spawn_app();
    app.wait_for_startup_backup();
    let boss = app.login_as(Role::SuperAdmin);
    let res = boss.post_form(
        "/products",
        &[
            ("sku", "EVIL-1"),
            ("name", EVIL),
            ("price", "1"),
            ("stock", "1"),
            ("reorder_level", "5"),
        ],
    );
    assert_eq!(res.status, 303);
    let product = res.location();
    let pid = product.rsplit('/').next().unwrap().to_string();
    let res = boss.post_form(
        "/customers",
        &[("name", EVIL), ("notes", EVIL), ("email", "")],
    );
    assert_eq!(res.status, 303);
    let customer = res.location();
    let cid = customer.rsplit('/').next().unwrap().to_string();
    let res = boss.post_form(
        "/sales",
        &[
            ("customer_id", &cid),
            ("product_id", &pid),
            ("quantity", "1"),
            ("unit_price", ""),
        ],
    );
    assert_eq!(res.status, 303);
    let sale = res.location();
    boss.post_form(
        &format!("{product}/adjust"),
        &[("delta", "3"), ("reason", "correction"), ("note", EVIL)],
    );
    boss.api_post("/api/backups", serde_json::json!({ "description": EVIL }));
    // A failed login with markup as the user name lands in the form and the server log.
    let stranger = app.client();
    let failed = stranger.login(EVIL, "x");
    assert_escaped(&failed.body, "login");
    for page in [
        "/".to_string(),
        "/products".to_string(),
        product.clone(),
        format!("{product}/edit"),
        "/customers".to_string(),
        customer.clone(),
        "/sales".to_string(),
        "/sales/new".to_string(),
        sale.clone(),
        "/backup/status".to_string(),
    ] {
        let res = boss.get(&page);
        assert_eq!(res.status, 200, "{page}");
        assert_escaped(&res.body, &page);
    }
    // The invalid form shown again keeps the input, escaped.
    let res = boss.post_form(
        "/products",
        &[("sku", "EVIL-1"), ("name", EVIL), ("price", "1")],
    );
    assert_eq!(res.status, 400);
    assert_escaped(&res.body, "product form with errors");
    // JSON is JSON: the text comes back as a string, not markup.
    let list = boss.get("/api/backups").json();
    assert!(
        list["backups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["description"] == EVIL)
    );
}

#[test]
fn oversized_bodies_are_refused() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let huge = "x".repeat(600 * 1024);
    let res = staff.post_form("/customers", &[("name", "Big"), ("notes", &huge)]);
    assert_eq!(res.status, 413);
    assert!(res.body.contains("too large"));
    let res = staff.api_post("/api/backups", serde_json::json!({ "description": huge }));
    assert_eq!(res.status, 413);
    assert_eq!(res.json()["error"], "The request is too large.");
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 0);
}

#[test]
fn malformed_forms_and_json_get_400_with_a_message() {
    let app = spawn_app();
    app.wait_for_startup_backup();
    let staff = app.login_as(Role::Staff);
    let token = staff.csrf();
    let send = |path: &str, content_type: &str, body: &str| {
        let res = staff
            .http
            .post(format!("{}{path}", app.url))
            .header("content-type", content_type)
            .header("x-csrf-token", &token)
            .body(body.to_string())
            .send()
            .unwrap();
        let status = res.status().as_u16();
        (status, res.text().unwrap())
    };
    let (status, body) = send("/api/backups", "application/json", "{not json");
    assert_eq!(status, 400);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with("The request was not understood"),
        "{body}"
    );
    let (status, body) = send("/api/backups", "application/json", "{\"description\": 5}");
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        "/products/abc",
        "application/x-www-form-urlencoded",
        "name=x",
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(
        "/backup/settings",
        "application/x-www-form-urlencoded",
        "interval_hours=%ZZ",
    );
    assert!(status == 400 || status == 403, "{status} {body}");
    let (status, body) = send(
        "/products",
        "application/x-www-form-urlencoded",
        "sku=%E0%A4%A&name=x",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Please correct the highlighted fields"),
        "{body}"
    );
    let (status, body) = send(
        "/account",
        "application/x-www-form-urlencoded",
        "current=only-one-field",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("The request was not understood"), "{body}");
    let (status, body) = send("/customers", "text/plain", "name=plain");
    assert_eq!(status, 415, "unsupported media type: {body}");
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 0);
}
