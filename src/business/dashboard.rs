//! The figures on the home page.

use chrono::{Datelike, Local, NaiveDate};
use rusqlite::{Connection, params};

use super::products::{self, Product};
use super::sales::{self, SaleSummary};
use super::{BusinessError, local_midnight_utc};

pub struct Dashboard {
    pub today_cents: i64,
    pub today_count: i64,
    pub month_cents: i64,
    pub low_stock_count: i64,
    pub low_stock: Vec<Product>,
    pub recent: Vec<SaleSummary>,
}

fn totals(conn: &Connection, from: &str, to: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(
        "SELECT coalesce(sum(total_cents), 0), count(*) FROM sales
         WHERE voided_at IS NULL AND created_at >= ?1 AND created_at < ?2",
        params![from, to],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub fn load(conn: &Connection) -> Result<Dashboard, BusinessError> {
    let today = Local::now().date_naive();
    let tomorrow = today.succ_opt().unwrap_or(today);
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let (today_cents, today_count) = totals(
        conn,
        &local_midnight_utc(today),
        &local_midnight_utc(tomorrow),
    )?;
    let (month_cents, _) = totals(
        conn,
        &local_midnight_utc(month_start),
        &local_midnight_utc(tomorrow),
    )?;
    Ok(Dashboard {
        today_cents,
        today_count,
        month_cents,
        low_stock_count: products::count_low_stock(conn)?,
        low_stock: products::low_stock(conn, 10)?,
        recent: sales::recent(conn, 5)?,
    })
}
