//! A product's history as its page lists it: stock changes (`stock_adjustments`) and what
//! happened to the record itself, such as being brought back from a backup (`product_events`).

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::BusinessError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub what: String,
    pub username: String,
    #[serde(deserialize_with = "super::shown_time")]
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

/// A change of stock, as the product page lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Adjustment {
    pub delta: i64,
    pub reason: String,
    pub note: String,
    pub username: String,
    #[serde(deserialize_with = "super::shown_time")]
    pub created_at: String,
}

/// The newest `limit` lines of a product's history, newest first.
pub fn of_product(conn: &Connection, id: i64, limit: i64) -> Result<Vec<Event>, BusinessError> {
    super::all(
        conn,
        "SELECT e.what AS what, coalesce(u.username, '(deleted user)') AS username,
                e.created_at AS created_at
         FROM product_events e LEFT JOIN users u ON u.id = e.user_id
         WHERE e.product_id = ?1 ORDER BY e.id DESC LIMIT ?2",
        params![id, limit],
    )
}

/// The newest `limit` stock changes of a product, newest first.
pub fn adjustments(
    conn: &Connection,
    id: i64,
    limit: i64,
) -> Result<Vec<Adjustment>, BusinessError> {
    super::all(
        conn,
        "SELECT a.delta AS delta, a.reason AS reason, a.note AS note,
                coalesce(u.username, '(deleted user)') AS username, a.created_at AS created_at
         FROM stock_adjustments a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.product_id = ?1 ORDER BY a.id DESC LIMIT ?2",
        params![id, limit],
    )
}
