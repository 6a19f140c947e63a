//! A realistic sample shop (hundreds of products and customers, a year of sales) so a
//! newcomer sees a living dashboard and the backup page has real numbers. Deterministic: the
//! same seed gives the same shop.

use chrono::{Duration, Local, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rusqlite::{Connection, TransactionBehavior, params};

use super::BusinessError;

const ADJECTIVES: &[&str] = &[
    "Classic", "Organic", "Deluxe", "Everyday", "Mini", "Large", "Vintage", "Fresh", "Handmade",
    "Eco", "Premium", "Compact", "Family", "Travel", "Garden", "Kitchen", "Smart", "Cosy",
    "Bright", "Rustic",
];
const NOUNS: &[&str] = &[
    "Coffee Beans",
    "Green Tea",
    "Notebook",
    "Ballpoint Pen",
    "Candle",
    "Mug",
    "Tote Bag",
    "Scarf",
    "Soap Bar",
    "Olive Oil",
    "Honey Jar",
    "Chocolate Bar",
    "Puzzle",
    "Plant Pot",
    "Watering Can",
    "Tea Towel",
    "Water Bottle",
    "Phone Case",
    "Desk Lamp",
    "Picture Frame",
    "Cutting Board",
    "Apron",
    "Jam",
    "Biscuits",
    "Greeting Card",
    "Socks",
    "Umbrella",
    "Backpack",
    "Sunglasses",
    "Lip Balm",
];
const VARIANTS: &[&str] = &[
    "",
    " (red)",
    " (blue)",
    " (green)",
    " 250g",
    " 500g",
    " 1kg",
    " set of 3",
    " XL",
    " S",
];
const FIRST: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wim", "Xenia", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Schmidt", "Rossi", "Okafor", "Nguyen", "Martin", "Kowalski", "Jensen", "Ivanova", "Haddad",
    "Garcia", "Fischer", "Evans", "Dubois", "Costa", "Brown", "Andersen", "Yilmaz", "Tanaka",
    "Silva", "Patel",
];

/// Fills the shop: about `products` products, two thirds as many customers, and `days` days
/// of sales up to today. Runs in one transaction.
pub fn fill(
    conn: &mut Connection,
    user_id: Option<i64>,
    products: usize,
    days: u32,
) -> Result<(), BusinessError> {
    let mut rng = StdRng::seed_from_u64(20_250_922);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = super::now_text();
    let first_product: i64 =
        tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM products", [], |r| {
            r.get(0)
        })?;
    let mut prices = Vec::with_capacity(products);
    {
        let mut insert = tx.prepare(
            "INSERT INTO products (sku, name, price_cents, stock, reorder_level, archived, created_at, updated_at)
             VALUES (?1, ?2, ?3, 0, ?4, 0, ?5, ?5)",
        )?;
        for i in 0..products {
            let name = format!(
                "{} {}{}",
                ADJECTIVES.choose(&mut rng).copied().unwrap_or("Classic"),
                NOUNS.choose(&mut rng).copied().unwrap_or("Mug"),
                VARIANTS.choose(&mut rng).copied().unwrap_or("")
            );
            let price: i64 = rng.random_range(99..9_999) / 10 * 10 + 9;
            prices.push(price);
            insert.execute(params![
                format!("DEMO-{:05}", i + 1),
                name,
                price,
                rng.random_range(2..15),
                now
            ])?;
        }
    }
    let customer_count = products * 2 / 3;
    let first_customer: i64 =
        tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM customers", [], |r| {
            r.get(0)
        })?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO customers (name, phone, phone_digits, email, notes, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        )?;
        for i in 0..customer_count {
            let first = FIRST.choose(&mut rng).copied().unwrap_or("Anna");
            let last = LAST.choose(&mut rng).copied().unwrap_or("Schmidt");
            let notes = if rng.random_bool(0.1) {
                "Prefers e-mail receipts."
            } else {
                ""
            };
            let phone = format!("+49 30 {:07}", rng.random_range(1_000_000..9_999_999));
            insert.execute(params![
                format!("{first} {last}"),
                &phone,
                crate::text::phone_digits(&phone),
                format!(
                    "{}.{}{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    i
                ),
                notes,
                now
            ])?;
        }
    }
    let mut sold = vec![0i64; products];
    {
        let mut insert_sale = tx.prepare(
            "INSERT INTO sales (customer_id, user_id, total_cents, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut insert_line = tx.prepare(
            "INSERT INTO sale_lines (sale_id, product_id, quantity, unit_price_cents, line_total_cents) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let today = Local::now().date_naive();
        for day_back in (0..days).rev() {
            let date = today - Duration::days(i64::from(day_back));
            let sales_today = rng.random_range(8..30);
            for _ in 0..sales_today {
                let minute = rng.random_range(9 * 60..19 * 60);
                let local = date
                    .and_hms_opt(minute / 60, minute % 60, rng.random_range(0..60))
                    .unwrap_or_default();
                let at = Local
                    .from_local_datetime(&local)
                    .earliest()
                    .map(|d| d.with_timezone(&Utc));
                let Some(at) = at.filter(|t| *t <= Utc::now()) else {
                    continue;
                };
                let customer = rng
                    .random_bool(0.6)
                    .then(|| first_customer + rng.random_range(0..customer_count.max(1) as i64));
                let mut lines = Vec::new();
                for _ in 0..rng.random_range(1..5) {
                    let index = rng.random_range(0..products);
                    let quantity: i64 = rng.random_range(1..4);
                    lines.push((index, quantity));
                }
                let total: i64 = lines.iter().map(|(i, q)| prices[*i] * q).sum();
                insert_sale.execute(params![
                    customer,
                    user_id,
                    total,
                    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
                ])?;
                let sale_id = tx.last_insert_rowid();
                for (index, quantity) in lines {
                    sold[index] += quantity;
                    insert_line.execute(params![
                        sale_id,
                        first_product + index as i64,
                        quantity,
                        prices[index],
                        prices[index] * quantity
                    ])?;
                }
            }
        }
    }
    {
        // Stock that was received over the year, minus what was sold: a few end up low.
        let mut update = tx.prepare("UPDATE products SET stock = ?1 WHERE id = ?2")?;
        let mut record = tx.prepare(
            "INSERT INTO stock_adjustments (product_id, delta, reason, note, user_id, created_at)
             VALUES (?1, ?2, 'received goods', 'demo data', ?3, ?4)",
        )?;
        for (index, sold) in sold.iter().enumerate() {
            let left: i64 = if rng.random_bool(0.08) {
                rng.random_range(0..3)
            } else {
                rng.random_range(5..60)
            };
            let id = first_product + index as i64;
            update.execute(params![left, id])?;
            record.execute(params![id, sold + left.max(1), user_id, now])?;
        }
    }
    tx.commit()?;
    Ok(())
}
