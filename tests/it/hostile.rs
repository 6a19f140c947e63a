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
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
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
        format!("/sales/new?customer={cid}"),
        sale.clone(),
        "/backup/status".to_string(),
    ] {
        let res = boss.get(&page);
        assert_eq!(res.status, 200, "{page}");
        assert_escaped(&res.body, &page);
    }
    // The sale form's Find shows the matches and what was typed, escaped.
    let res = boss.post_form(
        "/sales",
        &[
            ("customer_q", EVIL),
            ("customer_id", ""),
            ("product_q", "EVIL-1"),
            ("product_id", ""),
            ("quantity", EVIL),
            ("unit_price", EVIL),
            ("find", "1"),
        ],
    );
    assert_eq!(res.status, 200);
    assert_escaped(&res.body, "sale form after Find");
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
    let (app, staff) = spawn_app().ready_as(Role::Staff);
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

fn new_product(client: &Client, sku: &str, name: &str, price: &str) -> Resp {
    client.post_form(
        "/products",
        &[
            ("sku", sku),
            ("name", name),
            ("price", price),
            ("stock", "5"),
        ],
    )
}

#[test]
fn amounts_are_read_as_meant_or_refused_with_what_was_understood() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    for (sku, typed, cents) in [
        ("C1", "0,99", 99),
        ("C2", "12,50", 1250),
        ("C3", "1,234.50", 123_450),
        ("C4", "1 234,50", 123_450),
        ("C5", "12.5", 1250),
    ] {
        assert_eq!(new_product(&staff, sku, sku, typed).status, 303, "{typed}");
        let stored = app.query_i64(&format!(
            "SELECT price_cents FROM products WHERE sku = '{sku}'"
        ));
        assert_eq!(stored, cents, "{typed} must be stored as {cents} cents");
    }
    for (sku, typed, says) in [
        ("D1", "1.234,50", "could mean two amounts"),
        ("D2", "12,5,0", "wrong places"),
        ("D3", "1.234", "3 decimals"),
    ] {
        let res = new_product(&staff, sku, sku, typed);
        assert_eq!(res.status, 400, "{typed}");
        assert!(res.body.contains(says), "{typed}: {}", res.body);
        assert_eq!(
            app.query_i64(&format!(
                "SELECT count(*) FROM products WHERE sku = '{sku}'"
            )),
            0,
            "{typed} changed nothing"
        );
    }
}

#[test]
fn control_and_bidi_characters_are_refused_in_text_fields() {
    let app = spawn_app();
    let admin = app.login_as(Role::Admin);
    for (field, value) in [
        ("name", "Tea\u{0}Towel"),
        ("name", "Invoice\u{202e}fdp.exe"),
        ("sku", "SKU\u{2066}1"),
    ] {
        let (sku, name) = if field == "sku" {
            (value, "Fine name")
        } else {
            ("FINE-1", value)
        };
        let res = new_product(&admin, sku, name, "1");
        assert_eq!(res.status, 400, "{value:?}");
        assert!(
            res.body.contains("invisible control character"),
            "{value:?}"
        );
    }
    assert_eq!(app.query_i64("SELECT count(*) FROM products"), 0);
    let res = admin.post_form("/customers", &[("name", "Ann\u{1b}[31m"), ("notes", "")]);
    assert_eq!(res.status, 400);
    let res = admin.post_form(
        "/customers",
        &[("name", "Ann"), ("notes", "line one\r\nline two")],
    );
    assert_eq!(res.status, 303, "line breaks are fine in notes");
    let res = admin.post_form(
        "/backup/create",
        &[("description", "before \u{202e}stock-take")],
    );
    assert_eq!(res.status, 303);
    assert!(
        admin
            .get("/backup/status")
            .body
            .contains("invisible control character")
    );
}

#[test]
fn csv_cells_starting_like_a_formula_are_escaped() {
    let app = spawn_app();
    let admin = app.login_as(Role::Admin);
    for (sku, name) in [("F1", "-1-1"), ("F2", "+cmd"), ("F3", "@SUM(A1)")] {
        assert_eq!(new_product(&admin, sku, name, "1").status, 303);
    }
    let csv = admin.get("/products/export.csv").body;
    for escaped in ["'-1-1", "'+cmd", "'@SUM(A1)"] {
        assert!(csv.contains(escaped), "{escaped} in {csv}");
    }
}

#[test]
fn stock_changes_stay_within_the_limit_enforced_on_create() {
    let app = spawn_app();
    let admin = app.login_as(Role::Admin);
    let res = new_product(&admin, "BIG", "Big", "1");
    let product = res.location();
    for delta in ["1000000001", "999999999", "-1000000001"] {
        let res = admin.post_form(
            &format!("{product}/adjust"),
            &[("delta", delta), ("reason", "correction"), ("note", "")],
        );
        assert_eq!(res.status, 400, "{delta}");
    }
    assert_eq!(
        app.query_i64("SELECT stock FROM products WHERE sku = 'BIG'"),
        5
    );
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    for path in ["/", "/products", "/static/app.css"] {
        let res = staff
            .http
            .head(format!("{}{path}", app.url))
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "HEAD {path}");
        assert!(res.text().unwrap().is_empty(), "HEAD {path} has no body");
    }
    let anonymous = app.client();
    let res = anonymous
        .http
        .head(format!("{}/products", app.url))
        .send()
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        303,
        "HEAD follows the same rules as GET"
    );
}

#[test]
fn a_five_thousand_character_name_is_cut_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&binary(), Some(dir.path()), dir.path(), &[]);
    let client = Client::new(&server.url);
    let long = "n".repeat(5000);
    assert_eq!(client.login(&long, "whatever-pass").status, 401);
    wait_until("the log line", std::time::Duration::from_secs(10), || {
        server.errors().contains("failed login")
    });
    let log = server.errors();
    let line = log.lines().find(|l| l.contains("failed login")).unwrap();
    assert!(line.len() < 400, "{} characters", line.len());
    assert!(line.contains('…'), "{line}");
}
