//! CSV downloads of products, customers and sales, so data can leave the app without SQLite
//! tools. Cells that a spreadsheet would run as a formula are prefixed with `'`.

use rusqlite::{Connection, Row};

use super::BusinessError;
use super::money::format_cents;

/// Stops `=cmd|...` style formula injection when the file is opened in a spreadsheet: any
/// cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, as
/// OWASP advises (even `-1-1` or `+49 30 1234`: a spreadsheet computes those too).
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A money cell: plain digits and a point, no thousands separator.
fn money(cents: i64) -> String {
    format_cents(cents).replace(',', "")
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_string()
}

/// The CSV of `sql`'s rows under `header`, each row made into cells by `cells`.
fn export(
    conn: &Connection,
    header: &[&str],
    sql: &str,
    cells: impl Fn(&Row<'_>) -> rusqlite::Result<Vec<String>>,
) -> Result<Vec<u8>, BusinessError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(BusinessError::Export)?;
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        w.write_record(cells(r)?).map_err(BusinessError::Export)?;
    }
    w.into_inner()
        .map_err(|e| BusinessError::Export(e.into_error().into()))
}

pub fn products_csv(conn: &Connection) -> Result<Vec<u8>, BusinessError> {
    export(
        conn,
        &[
            "id",
            "sku",
            "name",
            "price",
            "stock",
            "reorder_level",
            "archived",
        ],
        "SELECT id, sku, name, price_cents, stock, reorder_level, archived FROM products ORDER BY id",
        |r| {
            Ok(vec![
                r.get::<_, i64>(0)?.to_string(),
                cell(&r.get::<_, String>(1)?),
                cell(&r.get::<_, String>(2)?),
                money(r.get(3)?),
                r.get::<_, i64>(4)?.to_string(),
                r.get::<_, i64>(5)?.to_string(),
                yes_no(r.get::<_, i64>(6)? == 1),
            ])
        },
    )
}

pub fn customers_csv(conn: &Connection) -> Result<Vec<u8>, BusinessError> {
    export(
        conn,
        &["id", "name", "phone", "email", "notes"],
        "SELECT id, name, phone, email, notes FROM customers ORDER BY id",
        |r| {
            let mut row = vec![r.get::<_, i64>(0)?.to_string()];
            for i in 1..=4 {
                row.push(cell(&r.get::<_, String>(i)?));
            }
            Ok(row)
        },
    )
}

/// One row per sale line, with the sale's date, customer, seller and status.
pub fn sales_csv(conn: &Connection) -> Result<Vec<u8>, BusinessError> {
    export(
        conn,
        &[
            "sale_id",
            "date_utc",
            "customer",
            "sold_by",
            "sku",
            "product",
            "quantity",
            "unit_price",
            "line_total",
            "sale_total",
            "voided",
        ],
        "SELECT s.id, s.created_at, coalesce(c.name, ''), coalesce(u.username, ''), p.sku, p.name,
                l.quantity, l.unit_price_cents, l.line_total_cents, s.total_cents, s.voided_at IS NOT NULL
         FROM sales s JOIN sale_lines l ON l.sale_id = s.id JOIN products p ON p.id = l.product_id
         LEFT JOIN customers c ON c.id = s.customer_id LEFT JOIN users u ON u.id = s.user_id
         ORDER BY s.id, l.id",
        |r| {
            let mut row = vec![r.get::<_, i64>(0)?.to_string(), r.get::<_, String>(1)?];
            for i in 2..=5 {
                row.push(cell(&r.get::<_, String>(i)?));
            }
            row.push(r.get::<_, i64>(6)?.to_string());
            for i in 7..=9 {
                row.push(money(r.get(i)?));
            }
            row.push(yes_no(r.get(10)?));
            Ok(row)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("@cmd"), "'@cmd");
        assert_eq!(cell("Apple"), "Apple");
        assert_eq!(cell("+49 30 1234"), "'+49 30 1234");
        assert_eq!(cell("-1-1"), "'-1-1");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("49 30"), "49 30");
        assert_eq!(cell("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(cell("-2+3+cmd"), "'-2+3+cmd");
    }
}
