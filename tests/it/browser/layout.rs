//! Every page at a phone's (390 px), a tablet's (768 px) and a desktop's (1280 px) width:
//! none may scroll sideways. Screenshots of each go to `target/screenshots/layout/`.

use backroom::auth::Role;
use fantoccini::key::Key;

use super::*;

pub(super) const WIDTHS: [(u32, u32); 3] = [(390, 844), (768, 1024), (1280, 900)];

/// The page's width beyond the window, and the elements that stick out (for the message).
const OVERFLOW: &str = r##"
const root = document.documentElement;
const limit = root.clientWidth;
const out = [];
for (const el of document.querySelectorAll("body *")) {
  const box = el.getBoundingClientRect();
  if (box.width > 0 && box.right > limit + 1 && out.length < 5) {
    out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\s+/g, ".") : "") +
      " right=" + Math.round(box.right));
  }
}
// Boxes that scroll sideways inside the page hide their content just the same (a Restore
// link off to the right of a table).
const inner = [];
for (const el of document.querySelectorAll(".table-wrap, pre, table")) {
  if (el.scrollWidth > el.clientWidth + 1) {
    inner.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + el.scrollWidth + ">" + el.clientWidth);
  }
}
return {scroll: root.scrollWidth, client: limit, inner: window.innerWidth, out: out, boxes: inner};
"##;

/// Contrast (WCAG) of colours as the browser computed them, and what the page breaks of the
/// rules for fields and links: borders of at least 3:1, links in tables at least 24 px tall.
const COLOURS: &str = r##"
const rgb = c => c.match(/[\d.]+/g).slice(0, 3).map(Number);
const lum = ([r, g, b]) => {
  const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
window.contrast = (a, b) => { const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
window.backgroundOf = el => {
  for (; el; el = el.parentElement) {
    const c = getComputedStyle(el).backgroundColor;
    if (c !== "transparent" && c !== "rgba(0, 0, 0, 0)") { return c; }
  }
  return "rgb(255, 255, 255)";
};
const out = [];
for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]), select, textarea")) {
  const s = getComputedStyle(el);
  if (el.offsetParent === null) { continue; }
  const r = contrast(s.borderTopColor, backgroundOf(el.parentElement));
  if (r < 3) { out.push("border of " + (el.name || el.id) + ": " + r.toFixed(2)); }
}
for (const a of document.querySelectorAll("main table a")) {
  const h = a.getBoundingClientRect().height;
  if (h > 0 && h < 24) { out.push("link " + a.textContent.trim() + " is " + h + " px tall"); }
}
return out;
"##;

/// Where the focus is, and how well its ring stands out from what is around it.
const FOCUS_RING: &str = r##"
const el = document.activeElement;
const s = getComputedStyle(el);
return {
  what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + (el.textContent || el.name || "").trim().slice(0, 30),
  style: s.outlineStyle,
  width: parseFloat(s.outlineWidth),
  contrast: contrast(s.outlineColor, backgroundOf(el.parentElement)),
};
"##;

/// Checks the open page at the window's width; saves a screenshot as `name`.
pub(super) async fn check_page(browser: &Browser, width: u32, slug: &str) {
    wait_until(
        browser,
        "return document.readyState === 'complete';",
        "the page",
    )
    .await;
    let m = browser.execute(OVERFLOW, vec![]).await.unwrap();
    let (scroll, client) = (m["scroll"].as_i64().unwrap(), m["client"].as_i64().unwrap());
    let inner = m["inner"].as_i64().unwrap();
    assert_eq!(inner, i64::from(width), "the window is {width} px wide");
    let url = browser.current_url().await.unwrap();
    save_screenshot(browser, &format!("layout/{width}-{slug}.png")).await;
    assert!(
        scroll <= client,
        "{url} scrolls sideways at {width} px: {scroll} > {client}; sticking out: {}",
        m["out"]
    );
    assert_eq!(
        m["boxes"],
        serde_json::json!([]),
        "{url} at {width} px has boxes that scroll sideways"
    );
    let faults = browser.execute(COLOURS, vec![]).await.unwrap();
    assert_eq!(faults, serde_json::json!([]), "{url} at {width} px");
}

/// Tabs through the first fields and links of the page: each shows a ring of at least 3:1
/// against what is around it (on the dark sidebar too).
async fn check_focus_rings(browser: &Browser) {
    browser.execute(COLOURS, vec![]).await.unwrap();
    for _ in 0..16 {
        press(browser, &Key::Tab).await;
        let ring = browser.execute(FOCUS_RING, vec![]).await.unwrap();
        assert_eq!(ring["style"], "solid", "{ring}");
        assert!(ring["width"].as_f64().unwrap() >= 2.0, "{ring}");
        assert!(ring["contrast"].as_f64().unwrap() >= 3.0, "{ring}");
    }
}

async fn visit_all(browser: &Browser, url: &str, pages: &[(&str, String)]) {
    for (width, height) in WIDTHS {
        browser.set_window_size(width, height).await.unwrap();
        for (slug, path) in pages {
            browser.goto(&format!("{url}{path}")).await.unwrap();
            check_page(browser, width, slug).await;
        }
    }
}

/// The id at the end of a redirect (`/products/12` → "12").
fn id_of(res: &Resp) -> String {
    assert_eq!(res.status, 303, "{}", res.body);
    res.location().rsplit('/').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_page_scrolls_sideways_on_a_phone_a_tablet_or_a_desktop() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app().ready();
    let url = app.url.clone();

    // Before anyone has an account: the first-run page.
    visit_all(&browser, &url, &[("first-run", "/".to_string())]).await;

    let (product, customer, sale, backup, sam) = outside_async(|| {
        let boss = app.login_as(Role::SuperAdmin);
        {
            let mut conn = rusqlite::Connection::open(app.db_path()).unwrap();
            backroom::business::demo::fill(&mut conn, Some(1), 320, 30).unwrap();
        }
        // Long words that could push a page sideways: a SKU, a name, an e-mail, a description.
        let product = id_of(&boss.post_form(
            "/products",
            &[
                ("sku", "EXTRA-LONG-SKU-000000000001"),
                (
                    "name",
                    "Extraordinarily-long-product-name-without-any-spaces-at-all",
                ),
                ("price", "1234567.89"),
                ("stock", "1000"),
            ],
        ));
        let customer = id_of(&boss.post_form(
            "/customers",
            &[
                ("name", "Anna Schmidt"),
                ("phone", "+49 30 1234567"),
                (
                    "email",
                    "anna.schmidt.with.a.very.long.address@example-shop-domain.com",
                ),
                ("notes", "Prefers e-mail receipts."),
            ],
        ));
        let sale = id_of(&boss.post_form(
            "/sales",
            &[
                ("customer_id", &customer),
                ("product_id", &product),
                ("quantity", "3"),
                ("unit_price", ""),
            ],
        ));
        // Added before the backup, so the restore below keeps the account.
        app.add_user("sam", Role::Staff);
        let sam = app.query_i64("SELECT id FROM users WHERE username = 'sam'");
        let made = boss.api_post(
            "/api/backups",
            serde_json::json!({ "description": "before-the-stock-take-of-the-whole-shop-in-november" }),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        let backup = made.json()["backup"]["name"].as_str().unwrap().to_string();
        let restored = boss.api_post(
            &format!("/api/backups/{backup}/restore"),
            serde_json::json!({}),
        );
        assert_eq!(restored.status, 200, "{}", restored.body);
        (product, customer, sale, backup, sam)
    });

    // Logged out: the login page.
    visit_all(
        &browser,
        &url,
        &[("login", "/login?logged_out=1".to_string())],
    )
    .await;

    log_in(&browser, &url, "super-admin-user").await;
    let pages: Vec<(&str, String)> = vec![
        ("dashboard", "/".into()),
        ("products", "/products".into()),
        ("product-new", "/products/new".into()),
        ("product", format!("/products/{product}")),
        ("product-edit", format!("/products/{product}/edit")),
        ("customers", "/customers".into()),
        ("customer-new", "/customers/new".into()),
        ("customer", format!("/customers/{customer}")),
        ("customer-edit", format!("/customers/{customer}/edit")),
        ("sales", "/sales".into()),
        ("sale-new", "/sales/new".into()),
        (
            "sale-new-for-customer",
            format!("/sales/new?customer={customer}"),
        ),
        ("sale", format!("/sales/{sale}")),
        ("users", "/users".into()),
        ("user-new", "/users/new".into()),
        ("user", format!("/users/{sam}")),
        ("account", "/account".into()),
        ("alerts", "/alerts".into()),
        ("backup-status", "/backup/status".into()),
        ("backup-details", format!("/backup/{backup}")),
        (
            "backup-restore-confirm",
            format!("/backup/{backup}/restore"),
        ),
        ("backup-delete-confirm", format!("/backup/{backup}/delete")),
        (
            "emergency-restore-confirm",
            "/backup/emergency-restore".into(),
        ),
        ("not-found", "/no-such-page".into()),
    ];
    visit_all(&browser, &url, &pages).await;
    browser.set_window_size(1280, 900).await.unwrap();
    for path in ["/products/new", "/backup/status"] {
        browser.goto(&format!("{url}{path}")).await.unwrap();
        check_focus_rings(&browser).await;
    }
    // A form that comes back with errors puts the focus on the first field to fix.
    browser.goto(&format!("{url}/products/new")).await.unwrap();
    type_into(&browser, "#sku", "NEW-1").await;
    click(&browser, Locator::Css("main form button[type=submit]")).await;
    wait_for(&browser, ".flash-error").await;
    assert_eq!(focused_id(&browser).await, "name");

    // The sale form while suggestions are open, and the backup page: for the README.
    for (width, height) in WIDTHS {
        browser.set_window_size(width, height).await.unwrap();
        browser.goto(&format!("{url}/sales/new")).await.unwrap();
        wait_for(&browser, "#sale-form.enhanced").await;
        let suggestions = |n: u32| {
            format!(
                "return document.querySelectorAll('#product-q-{n}-list [role=option]').length > 0;"
            )
        };
        type_into(&browser, "#product-q-1", "tea").await;
        wait_until(&browser, &suggestions(1), "suggestions").await;
        let keys = [
            &*Key::Down,
            &*Key::Enter,
            &*Key::Enter,
            "2",
            &*Key::Enter,
            &*Key::Enter,
        ];
        press(&browser, &keys.concat()).await;
        press(&browser, "towel").await;
        wait_until(&browser, &suggestions(2), "suggestions").await;
        check_page(&browser, width, "sale-suggestions").await;
        full_page_screenshot(&browser, width, &format!("readme/sale-form-{width}.png")).await;
        browser.goto(&format!("{url}/backup/status")).await.unwrap();
        check_page(&browser, width, "backup-status-again").await;
        full_page_screenshot(
            &browser,
            width,
            &format!("readme/backup-status-{width}.png"),
        )
        .await;
        browser.set_window_size(width, height).await.unwrap();
    }
    browser.close().await.unwrap();
    println!("screenshots in {}", screenshots_dir().display());
}
