//! Sales: saving one takes the stock in the same transaction and refuses (saving nothing)
//! when any line would take stock below zero; voiding one gives the stock back.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::money::{format_cents, line_total};
use super::{BusinessError, FieldErrors, MAX_PAGE, Page, display_time, now_text};

/// One line as entered: unit price defaults to the product's price.
#[derive(Debug, Clone)]
pub struct LineInput {
    pub product_id: i64,
    pub quantity: i64,
    pub unit_price_cents: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewSale {
    pub customer_id: Option<i64>,
    pub lines: Vec<LineInput>,
}

pub use super::sale_form::{LineText, MAX_QUANTITY, SaleForm};

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SaleSummary {
    pub id: i64,
    #[serde(deserialize_with = "super::shown_time")]
    pub created_at: String,
    pub customer: String,
    pub customer_id: Option<i64>,
    pub seller: String,
    pub total_cents: i64,
    pub items: i64,
    pub voided: bool,
}

impl SaleSummary {
    pub fn total(&self) -> String {
        format_cents(self.total_cents)
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SaleLine {
    pub product_id: i64,
    pub sku: String,
    pub product: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

impl SaleLine {
    pub fn unit_price(&self) -> String {
        format_cents(self.unit_price_cents)
    }
    pub fn line_total(&self) -> String {
        format_cents(self.line_total_cents)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SaleDetail {
    pub summary: SaleSummary,
    pub lines: Vec<SaleLine>,
    pub voided_at: String,
    pub voided_by: String,
}

/// Saves a sale. All lines or nothing: stock is taken line by line inside one IMMEDIATE
/// transaction, so two tills selling the last item cannot both succeed.
pub fn create(conn: &mut Connection, sale: &NewSale, user_id: i64) -> Result<i64, BusinessError> {
    let lines: Vec<&LineInput> = sale.lines.iter().filter(|l| l.quantity != 0).collect();
    if lines.is_empty() {
        return Err(BusinessError::EmptySale);
    }
    let mut errors = FieldErrors::default();
    if lines
        .iter()
        .any(|l| l.quantity < 0 || l.quantity > MAX_QUANTITY)
    {
        errors.add(
            "lines",
            "Quantities must be whole numbers from 1 to 1,000,000.",
        );
    }
    if lines
        .iter()
        .any(|l| l.unit_price_cents.is_some_and(|p| p < 0))
    {
        errors.add("lines", "Prices cannot be negative.");
    }
    if !errors.is_empty() {
        return Err(BusinessError::Invalid(errors));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(customer_id) = sale.customer_id {
        super::customers::get(&tx, customer_id)?;
    }
    let now = now_text();
    tx.execute(
        "INSERT INTO sales (customer_id, user_id, total_cents, created_at) VALUES (?1, ?2, 0, ?3)",
        params![sale.customer_id, user_id, now],
    )?;
    let sale_id = tx.last_insert_rowid();
    let mut total: i64 = 0;
    for line in lines {
        let product = super::products::get(&tx, line.product_id)?;
        if product.archived {
            return Err(BusinessError::Archived(product.name));
        }
        let taken = tx.execute(
            "UPDATE products SET stock = stock - ?1, updated_at = ?2 WHERE id = ?3 AND stock >= ?1",
            params![line.quantity, now, product.id],
        )?;
        if taken == 0 {
            let available = super::products::get(&tx, product.id)?.stock;
            return Err(BusinessError::InsufficientStock {
                product: product.name,
                available,
                wanted: line.quantity,
            });
        }
        let unit = line.unit_price_cents.unwrap_or(product.price_cents);
        let line_cents = line_total(line.quantity, unit).ok_or(BusinessError::Overflow)?;
        total = total
            .checked_add(line_cents)
            .ok_or(BusinessError::Overflow)?;
        tx.execute(
            "INSERT INTO sale_lines (sale_id, product_id, quantity, unit_price_cents, line_total_cents)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sale_id, product.id, line.quantity, unit, line_cents],
        )?;
    }
    tx.execute(
        "UPDATE sales SET total_cents = ?1 WHERE id = ?2",
        params![total, sale_id],
    )?;
    tx.commit()?;
    Ok(sale_id)
}

/// Voids a sale and gives its stock back (recorded as stock adjustments).
pub fn void(conn: &mut Connection, sale_id: i64, user_id: i64) -> Result<(), BusinessError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let voided: Option<Option<String>> = tx
        .query_row(
            "SELECT voided_at FROM sales WHERE id = ?1",
            [sale_id],
            |r| r.get(0),
        )
        .optional()?;
    match voided {
        None => return Err(BusinessError::NotFound),
        Some(Some(_)) => return Err(BusinessError::AlreadyVoided),
        Some(None) => {}
    }
    let now = now_text();
    tx.execute(
        "UPDATE sales SET voided_at = ?1, voided_by = ?2 WHERE id = ?3",
        params![now, user_id, sale_id],
    )?;
    let lines: Vec<(i64, i64)> = tx
        .prepare("SELECT product_id, quantity FROM sale_lines WHERE sale_id = ?1")?
        .query_map([sale_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (product_id, quantity) in lines {
        tx.execute(
            "UPDATE products SET stock = stock + ?1, updated_at = ?2 WHERE id = ?3",
            params![quantity, now, product_id],
        )?;
        tx.execute(
            "INSERT INTO stock_adjustments (product_id, delta, reason, note, user_id, created_at)
             VALUES (?1, ?2, 'sale voided', ?3, ?4, ?5)",
            params![
                product_id,
                quantity,
                format!("sale #{sale_id}"),
                user_id,
                now
            ],
        )?;
    }
    tx.commit()?;
    Ok(())
}

const SUMMARY_SELECT: &str = "SELECT s.id AS id, s.created_at AS created_at,
        coalesce(c.name, '') AS customer, s.customer_id AS customer_id,
        coalesce(u.username, '') AS seller, s.total_cents AS total_cents,
        (SELECT coalesce(sum(quantity), 0) FROM sale_lines WHERE sale_id = s.id) AS items,
        s.voided_at IS NOT NULL AS voided
    FROM sales s LEFT JOIN customers c ON c.id = s.customer_id LEFT JOIN users u ON u.id = s.user_id";

/// Sales between two stored timestamps (`from` inclusive, `to` exclusive), newest first, with
/// the total of the ones not voided.
pub fn list(
    conn: &Connection,
    from: &str,
    to: &str,
    page: i64,
    per_page: i64,
) -> Result<(Page<SaleSummary>, i64), BusinessError> {
    let (total, sum): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(CASE WHEN voided_at IS NULL THEN total_cents END), 0)
         FROM sales WHERE created_at >= ?1 AND created_at < ?2",
        params![from, to],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let page = page.clamp(1, MAX_PAGE);
    let items = super::all(
        conn,
        &format!(
            "{SUMMARY_SELECT} WHERE s.created_at >= ?1 AND s.created_at < ?2 ORDER BY s.created_at DESC, s.id DESC LIMIT ?3 OFFSET ?4"
        ),
        params![from, to, per_page, (page - 1) * per_page],
    )?;
    Ok((
        Page {
            items,
            page,
            per_page,
            total,
        },
        sum,
    ))
}

pub fn recent(conn: &Connection, limit: i64) -> Result<Vec<SaleSummary>, BusinessError> {
    super::all(
        conn,
        &format!("{SUMMARY_SELECT} ORDER BY s.created_at DESC, s.id DESC LIMIT ?1"),
        [limit],
    )
}

pub fn for_customer(
    conn: &Connection,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<SaleSummary>, BusinessError> {
    super::all(
        conn,
        &format!(
            "{SUMMARY_SELECT} WHERE s.customer_id = ?1 ORDER BY s.created_at DESC, s.id DESC LIMIT ?2"
        ),
        params![customer_id, limit],
    )
}

pub fn get(conn: &Connection, id: i64) -> Result<SaleDetail, BusinessError> {
    let summary: SaleSummary =
        super::one(conn, &format!("{SUMMARY_SELECT} WHERE s.id = ?1"), [id])?;
    let (voided_at, voided_by): (Option<String>, Option<String>) = conn.query_row(
        "SELECT s.voided_at, u.username FROM sales s LEFT JOIN users u ON u.id = s.voided_by WHERE s.id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let lines = super::all(
        conn,
        "SELECT l.product_id AS product_id, p.sku AS sku, p.name AS product, l.quantity AS quantity,
                l.unit_price_cents AS unit_price_cents, l.line_total_cents AS line_total_cents
         FROM sale_lines l JOIN products p ON p.id = l.product_id WHERE l.sale_id = ?1 ORDER BY l.id",
        [id],
    )?;
    Ok(SaleDetail {
        summary,
        lines,
        voided_at: voided_at.map(|v| display_time(&v)).unwrap_or_default(),
        voided_by: voided_by.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business::products::{self, ValidProduct};
    use crate::db::{Db, DbError, DbOptions};

    fn setup() -> (tempfile::TempDir, Db, i64) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("s.db"), DbOptions::SERVER).unwrap();
        let pid = db
            .with_conn(|c| {
                c.execute(
                    "INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES ('u','h','staff','x','x')",
                    [],
                )
                .map_err(DbError::from)?;
                products::create(
                    c,
                    &ValidProduct {
                        sku: "A1".into(),
                        name: "Apple".into(),
                        price_cents: 125,
                        stock: 3,
                        reorder_level: 1,
                    },
                    1,
                )
            })
            .unwrap();
        (dir, db, pid)
    }

    fn stock(db: &Db, id: i64) -> i64 {
        db.with_conn(|c| products::get(c, id)).unwrap().stock
    }

    #[test]
    fn sale_takes_stock_and_void_gives_it_back() {
        let (_d, db, pid) = setup();
        let sale = NewSale {
            customer_id: None,
            lines: vec![LineInput {
                product_id: pid,
                quantity: 2,
                unit_price_cents: None,
            }],
        };
        let id = db.with_conn(|c| create(c, &sale, 1)).unwrap();
        assert_eq!(stock(&db, pid), 1);
        let detail = db.with_conn(|c| get(c, id)).unwrap();
        assert_eq!(detail.summary.total_cents, 250);
        db.with_conn(|c| void(c, id, 1)).unwrap();
        assert_eq!(stock(&db, pid), 3);
        assert!(matches!(
            db.with_conn(|c| void(c, id, 1)),
            Err(BusinessError::AlreadyVoided)
        ));
    }

    #[test]
    fn sale_that_would_go_negative_saves_nothing() {
        let (_d, db, pid) = setup();
        let sale = NewSale {
            customer_id: None,
            lines: vec![
                LineInput {
                    product_id: pid,
                    quantity: 2,
                    unit_price_cents: Some(100),
                },
                LineInput {
                    product_id: pid,
                    quantity: 2,
                    unit_price_cents: Some(100),
                },
            ],
        };
        let err = db.with_conn(|c| create(c, &sale, 1)).unwrap_err();
        assert!(
            matches!(
                err,
                BusinessError::InsufficientStock {
                    available: 1,
                    wanted: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(stock(&db, pid), 3);
        let n: i64 = db
            .with_conn(|c| {
                c.query_row("SELECT count(*) FROM sales", [], |r| r.get(0))
                    .map_err(DbError::from)
            })
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn concurrent_sales_of_the_last_item_exactly_one_succeeds() {
        let (_d, db, pid) = setup();
        db.with_conn(|c| products::adjust_stock(c, pid, -2, "correction", "", 1))
            .unwrap();
        assert_eq!(stock(&db, pid), 1);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (db, barrier) = (db.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let sale = NewSale {
                        customer_id: None,
                        lines: vec![LineInput {
                            product_id: pid,
                            quantity: 1,
                            unit_price_cents: None,
                        }],
                    };
                    db.with_conn(|c| create(c, &sale, 1)).is_ok()
                })
            })
            .collect();
        let ok = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(ok, 1);
        assert_eq!(stock(&db, pid), 0);
    }
}
