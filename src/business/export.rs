//! CSV downloads of products, customers and sales, so data can leave the app without SQLite
//! tools. Cells that a spreadsheet would run as a formula are prefixed with `'`.

use rusqlite::Connection;

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

fn finish(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, BusinessError> {
    writer
        .into_inner()
        .map_err(|e| BusinessError::Export(e.to_string()))
}

fn write_row(writer: &mut csv::Writer<Vec<u8>>, row: &[String]) -> Result<(), BusinessError> {
    writer
        .write_record(row)
        .map_err(|e| BusinessError::Export(e.to_string()))
}

pub fn products_csv(conn: &Connection) -> Result<Vec<u8>, BusinessError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    write_row(
        &mut w,
        &[
            "id",
            "sku",
            "name",
            "price",
            "stock",
            "reorder_level",
            "archived",
        ]
        .map(String::from),
    )?;
    let mut stmt = conn.prepare("SELECT id, sku, name, price_cents, stock, reorder_level, archived FROM products ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        write_row(
            &mut w,
            &[
                r.get::<_, i64>(0)?.to_string(),
                cell(&r.get::<_, String>(1)?),
                cell(&r.get::<_, String>(2)?),
                format_cents(r.get(3)?).replace(',', ""),
                r.get::<_, i64>(4)?.to_string(),
                r.get::<_, i64>(5)?.to_string(),
                if r.get::<_, i64>(6)? == 1 {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
            ],
        )?;
    }
    finish(w)
}

pub fn customers_csv(conn: &Connection) -> Result<Vec<u8>, BusinessError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    write_row(
        &mut w,
        &["id", "name", "phone", "email", "notes"].map(String::from),
    )?;
    let mut stmt =
        conn.prepare("SELECT id, name, phone, email, notes FROM customers ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        write_row(
            &mut w,
            &[
                r.get::<_, i64>(0)?.to_string(),
                cell(&r.get::<_, String>(1)?),
                cell(&r.get::<_, String>(2)?),
                cell(&r.get::<_, String>(3)?),
                cell(&r.get::<_, String>(4)?),
            ],
        )?;
    }
    finish(w)
}

/// One row per sale line, with the sale's date, customer, seller and status.
pub fn sales_csv(conn: &Connection) -> Result<Vec<u8>, BusinessError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    write_row(
        &mut w,
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
        ]
        .map(String::from),
    )?;
    let mut stmt = conn.prepare(
        "SELECT s.id, s.created_at, coalesce(c.name, ''), coalesce(u.username, ''), p.sku, p.name,
                l.quantity, l.unit_price_cents, l.line_total_cents, s.total_cents, s.voided_at IS NOT NULL
         FROM sales s JOIN sale_lines l ON l.sale_id = s.id JOIN products p ON p.id = l.product_id
         LEFT JOIN customers c ON c.id = s.customer_id LEFT JOIN users u ON u.id = s.user_id
         ORDER BY s.id, l.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        write_row(
            &mut w,
            &[
                r.get::<_, i64>(0)?.to_string(),
                r.get::<_, String>(1)?,
                cell(&r.get::<_, String>(2)?),
                cell(&r.get::<_, String>(3)?),
                cell(&r.get::<_, String>(4)?),
                cell(&r.get::<_, String>(5)?),
                r.get::<_, i64>(6)?.to_string(),
                format_cents(r.get(7)?).replace(',', ""),
                format_cents(r.get(8)?).replace(',', ""),
                format_cents(r.get(9)?).replace(',', ""),
                if r.get::<_, bool>(10)? { "yes" } else { "no" }.to_string(),
            ],
        )?;
    }
    finish(w)
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
