//! A product's history beyond its stock changes (those are `stock_adjustments`): what happened
//! to the record itself, such as being brought back from a backup.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::BusinessError;

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub what: String,
    pub username: String,
    pub created_at: String,
}

/// Writes one line of a product's history.
pub fn record(
    conn: &Connection,
    product_id: i64,
    what: &str,
    user_id: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO product_events (product_id, what, user_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![product_id, what, user_id, super::now_text()],
    )?;
    Ok(())
}

/// The newest `limit` lines of a product's history, newest first.
pub fn of_product(conn: &Connection, id: i64, limit: i64) -> Result<Vec<Event>, BusinessError> {
    let mut stmt = conn.prepare(
        "SELECT e.what, coalesce(u.username, '(deleted user)'), e.created_at
         FROM product_events e LEFT JOIN users u ON u.id = e.user_id
         WHERE e.product_id = ?1 ORDER BY e.id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![id, limit], |r| {
            Ok(Event {
                what: r.get(0)?,
                username: r.get(1)?,
                created_at: super::display_time(&r.get::<_, String>(2)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
