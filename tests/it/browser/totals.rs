//! The total the sale form shows is the total that is saved: for amounts typed in every way
//! people type them (sales saved through the page), and for thousands of amounts and
//! quantities read by the page's script and by the server side by side.

use backroom::auth::Role;
use backroom::business::money::{format_cents, parse_cents};
use backroom::business::sale_form::{LineText, check_line};
use fantoccini::key::Key;

use super::sale::attribute;
use super::*;

/// One line of a test sale: SKU, quantity and unit price as typed.
type Typed = (&'static str, &'static str, &'static str);

/// Fills the form's lines with the keyboard (the product by its SKU from the suggestions).
async fn fill_lines(browser: &Browser, lines: &[Typed]) {
    for (i, (sku, quantity, price)) in lines.iter().enumerate() {
        let n = i + 1;
        if n > 5 {
            click(browser, Locator::Css("#add-line")).await;
        }
        let field = format!("product-q-{n}");
        type_into(browser, &format!("#{field}"), sku).await;
        wait_until(
            browser,
            &format!(
                "return document.querySelectorAll('#{field}-list [role=option]').length === 1;"
            ),
            &format!("{sku} offered"),
        )
        .await;
        if n == 1 {
            // A tap or a click picks a suggestion too.
            click(
                browser,
                Locator::Css(&format!("#{field}-list [role=option]")),
            )
            .await;
        } else {
            press(browser, &Key::Enter).await;
        }
        assert_eq!(
            attribute(browser, &format!("#{field}"), "aria-expanded").await,
            "false",
            "{sku} picked"
        );
        let row = format!("#sale-lines tr:nth-child({n})");
        for (name, text) in [("quantity", quantity), ("unit_price", price)] {
            let input = browser
                .find(Locator::Css(&format!("{row} input[name={name}]")))
                .await
                .unwrap();
            input.clear().await.unwrap();
            if !text.is_empty() {
                input.send_keys(text).await.unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_total_on_the_page_is_the_total_saved() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app().ready();
    let prices = [("TRK-A", 1999), ("TRK-B", 10), ("TRK-C", 123_456)];
    outside_async(|| {
        let boss = app.login_as(Role::SuperAdmin);
        boss.add_product("TRK-A", "Alpha Widget", "19.99", "5000000");
        boss.add_product("TRK-B", "Beta Gadget", "0.10", "1000000");
        boss.add_product("TRK-C", "Gamma Gizmo", "1,234.56", "100");
    });
    let url = app.url.clone();
    log_in(&browser, &url, "super-admin-user").await;
    let cases: &[&[Typed]] = &[
        // An empty quantity is 1, an empty price the product's.
        &[("TRK-A", "", ""), ("TRK-B", "3", "")],
        // Decimal commas and dots.
        &[("TRK-A", "2", "12,50"), ("TRK-B", "1", "0.99")],
        // Thousands written three ways.
        &[
            ("TRK-A", "1", "1,234.50"),
            ("TRK-C", "2", "1 234,50"),
            ("TRK-C", "1", "1,234"),
        ],
        // Signs, leading zeros, spaces around, a bare decimal part.
        &[("TRK-A", "+2", " 7 "), ("TRK-B", "007", ".5")],
        // What floating point gets wrong: 0.1 and 0.2, many times over.
        &[
            ("TRK-B", "10", "0,1"),
            ("TRK-B", "20", "0.2"),
            ("TRK-A", "3", ""),
        ],
        // Beyond what a JavaScript number holds exactly (2^53 cents).
        &[
            ("TRK-A", "1000000", "99 999 999,99"),
            ("TRK-B", "1", "0,01"),
        ],
        // Six lines: one added with the button.
        &[
            ("TRK-A", "1", "0.01"),
            ("TRK-B", "1", "0.02"),
            ("TRK-C", "1", "0.03"),
            ("TRK-A", "1", "0.04"),
            ("TRK-B", "1", "0.05"),
            ("TRK-C", "1", "0.06"),
        ],
        // Refused by the server, so no total on the page either.
        &[("TRK-A", "1", "1.234")],
        &[("TRK-A", "0", "")],
        &[("TRK-A", "1", "12,5,0")],
        &[("TRK-A", "1.5", "")],
        &[],
    ];
    for lines in cases {
        browser.goto(&format!("{url}/sales/new")).await.unwrap();
        wait_for(&browser, "#sale-form.enhanced").await;
        fill_lines(&browser, lines).await;
        // What the server makes of the same text, line by line.
        let expected: Option<i64> = lines
            .iter()
            .map(|(sku, quantity, price)| {
                let quantity = match quantity.trim() {
                    "" => 1,
                    q => q
                        .parse::<i64>()
                        .ok()
                        .filter(|q| (1..=1_000_000).contains(q))?,
                };
                let unit = match price.trim() {
                    "" => prices.iter().find(|(s, _)| s == sku)?.1,
                    p => parse_cents(p).ok()?,
                };
                Some(quantity * unit)
            })
            .sum::<Option<i64>>()
            .filter(|_| !lines.is_empty());
        let shown = text_of(&browser, "#sale-total").await;
        let before = app.query_i64("SELECT count(*) FROM sales");
        click(&browser, Locator::Css("#save-sale")).await;
        match expected {
            Some(total) => {
                wait_for(&browser, ".flash-ok").await;
                let saved = app.query_i64("SELECT total_cents FROM sales ORDER BY id DESC LIMIT 1");
                assert_eq!(saved, total, "{lines:?}");
                assert_eq!(shown, format_cents(saved), "{lines:?}: shown = saved");
                assert_eq!(text_of(&browser, "#sale-total").await, shown, "{lines:?}");
            }
            None => {
                assert_eq!(
                    shown, "–",
                    "{lines:?}: no total for a sale the server refuses"
                );
                wait_for(&browser, "#sale-error").await;
                assert_eq!(
                    app.query_i64("SELECT count(*) FROM sales"),
                    before,
                    "{lines:?}"
                );
                // The focus is on the field to fix, or on the message.
                let focused = focused_id(&browser).await;
                let on_field = attribute(&browser, &format!("#{focused}"), "aria-invalid").await;
                assert!(
                    on_field == "true" || focused == "sale-error",
                    "{lines:?}: focus on {focused:?}"
                );
            }
        }
    }
    browser.close().await.unwrap();
}

/// Deterministic text made of what people type into an amount, and some of what they
/// should not.
fn generated_amounts(count: usize) -> Vec<String> {
    const ALPHABET: [char; 16] = [
        '0', '1', '2', '5', '9', '0', '3', '.', ',', ',', '.', ' ', '\u{a0}', '\u{202f}', '-', 'x',
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    (0..count)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 11) as usize;
            (0..len)
                .map(|i| ALPHABET[((seed >> (i * 4)) % 16) as usize])
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_reads_amounts_and_quantities_exactly_like_the_server() {
    let Some((_driver, browser)) = start_browser().await else {
        return;
    };
    let app = spawn_app();
    outside_async(|| app.add_user("staff-user", Role::Staff));
    let url = app.url.clone();
    log_in(&browser, &url, "staff-user").await;
    browser.goto(&format!("{url}/sales/new")).await.unwrap();
    wait_for(&browser, "#sale-form.enhanced").await;

    let mut amounts: Vec<String> = [
        "12",
        "12.5",
        "12.05",
        " 1,234.50 ",
        ".99",
        "0",
        "0,99",
        "12,50",
        "12,5",
        "1,234",
        "1,234,567",
        "1 234,50",
        "1\u{a0}234.50",
        "1\u{202f}234,50",
        "",
        "-1",
        "1.234",
        "abc",
        "1.2.3",
        "1e5",
        ".",
        ",",
        "99999999999999",
        "1.234,50",
        "12,5,0",
        "0,999",
        "12,3456",
        "1,23,456",
        "12 5",
        "1 234,567",
        "1,234 567",
        "€12",
        "12,",
        "100000000",
        "100000000.01",
        "\u{feff}5",
        "5\u{85}",
        "\t7\n",
        "٣",
        "1,\u{a0}5",
        ",50",
        "1,.5",
        "01,234",
        "0 123",
        "999999999999",
        "9999999999999",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    amounts.extend(generated_amounts(1500));
    let js = browser
        .execute(
            "return arguments[0].map(t => window.BackroomMoney.parseCents(t));",
            vec![serde_json::json!(amounts)],
        )
        .await
        .unwrap();
    for (text, js) in amounts.iter().zip(js.as_array().unwrap()) {
        let page = js["ok"]
            .as_bool()
            .unwrap()
            .then(|| js["cents"].as_i64().unwrap());
        assert_eq!(page, parse_cents(text).ok(), "{text:?}: page {js}");
    }

    // Whole lines: the quantity rules and the product's price when none is typed.
    let quantities = [
        "",
        "1",
        "2",
        "+2",
        "-1",
        "0",
        "007",
        "1000000",
        "1000001",
        " 5 ",
        "1.0",
        "1e3",
        "٣",
        "99999999999999999999",
        "+",
        "1 000",
    ];
    let prices = ["", "2,50", "1.234", "0.01", "99 999 999,99"];
    let mut lines = Vec::new();
    for q in quantities {
        for p in prices {
            lines.push((q, p));
        }
    }
    let js = browser
        .execute(
            "return arguments[0].map(([q, p]) => { const r = window.BackroomMoney.checkLine(1,
               {productId: '7', productQuery: '', quantity: q, unitPrice: p, productPriceCents: '150'});
               return r.ok ? {ok: true, cents: String(r.cents)} : {ok: false}; });",
            vec![serde_json::json!(lines)],
        )
        .await
        .unwrap();
    for ((q, p), js) in lines.iter().zip(js.as_array().unwrap()) {
        let text = LineText {
            product_id: "7".into(),
            product_q: String::new(),
            quantity: q.to_string(),
            unit_price: p.to_string(),
        };
        let server = check_line(1, &text)
            .ok()
            .flatten()
            .map(|l| (l.quantity * l.unit_price_cents.unwrap_or(150)).to_string());
        let page = js["ok"]
            .as_bool()
            .unwrap()
            .then(|| js["cents"].as_str().unwrap().to_string());
        assert_eq!(page, server, "quantity {q:?}, price {p:?}");
    }
    let formatted = browser
        .execute(
            "return ['0', '5', '-5', '123456789', '9999999999000000'].map(c => window.BackroomMoney.formatCents(BigInt(c)));",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<String> = [0, 5, -5, 123_456_789, 9_999_999_999_000_000]
        .into_iter()
        .map(format_cents)
        .collect();
    assert_eq!(formatted, serde_json::json!(expected));
    browser.close().await.unwrap();
}
