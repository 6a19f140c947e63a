//! Putting chosen records from a backup back into the live data, as one normal change: a
//! safety backup `pre_restore_…_before_bring_back` first, then one transaction with the live pages' rules
//! (validation, unique SKUs, foreign keys). A deleted record returns with its id when that id
//! is free, else as a new record (said so). A changed product gets its old fields; its stock
//! is left as it is unless the person asks for a stock adjustment to the backup's number
//! (reason "brought back from <backup>"). Every record brought back is written to `backup.log`,
//! and a product's to its history.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::diff::{Diff, diff};
use super::recheck::unchanged;
use super::{RecordsError, Snapshot, Table};
use crate::backup::{BackupEngine, CreateRequest};
use crate::business::customers::{self, CustomerForm};
use crate::business::now_text;
use crate::business::products::{self, ProductForm};
use crate::db::Db;

/// What a person does about stock when a product comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockChoice {
    /// Stock stays what it is now (0 for a product that was deleted).
    #[default]
    Keep,
    /// A stock adjustment to the backup's number, with the reason in the history.
    Adjust,
}

pub struct BringBack {
    pub table: Table,
    pub ids: Vec<i64>,
    pub stock: StockChoice,
    /// What the person saw of each live record (`seen_text`), when the form sent it: the
    /// bring-back is refused when the record is no longer that.
    pub seen: BTreeMap<i64, String>,
}

/// One record brought back.
#[derive(Debug, Clone, Serialize)]
pub struct Brought {
    /// Its id in the backup.
    pub id: i64,
    /// Its id now.
    pub live_id: i64,
    pub what: String,
}

/// Brings the chosen records back (see the module docs); `user` is who asked.
pub fn bring_back(
    engine: &BackupEngine,
    live: &Db,
    backup: &str,
    ask: &BringBack,
    user: (i64, &str),
) -> Result<Vec<Brought>, RecordsError> {
    if ask.table == Table::Sales {
        return Err(RecordsError::SalesStayInTheBackup);
    }
    if ask.ids.is_empty() {
        return Err(RecordsError::NothingChosen);
    }
    let snapshot = Snapshot::open(engine, backup)?;
    let name = snapshot.entry.file_name.clone();
    let found = live.with_conn(|c| diff(&snapshot.conn, c, ask.table))?;
    for id in &ask.ids {
        if found.backup_side(*id).is_none() {
            return Err(RecordsError::NotDifferent {
                table: ask.table.one(),
                id: *id,
            });
        }
    }
    // Checked before the safety backup so a stale page changes nothing, and again inside
    // the transaction for a change made while the safety backup was written.
    live.with_conn(|c| {
        for id in &ask.ids {
            unchanged(
                c,
                ask.table,
                &found,
                *id,
                ask.seen.get(id).map(String::as_str),
            )?;
        }
        Ok::<_, RecordsError>(())
    })?;
    // A safety copy, not a day of history: it has the extras' own allowance.
    engine.create(&CreateRequest {
        kind: crate::backup::BackupKind::PreRestore,
        description: "before bring back".into(),
        created_by: user.1.to_string(),
    })?;
    let brought = live.with_conn(|c| apply(c, &snapshot.conn, &found, ask, &name, user.0))?;
    for b in &brought {
        engine.log().info(&format!(
            "Brought back {} #{} from {name} by {}: {}",
            ask.table.one(),
            b.id,
            user.1,
            b.what
        ));
    }
    engine.backups_changed();
    Ok(brought)
}

fn apply(
    conn: &mut Connection,
    backup: &Connection,
    found: &Diff,
    ask: &BringBack,
    name: &str,
    user_id: i64,
) -> Result<Vec<Brought>, RecordsError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut brought = Vec::new();
    for id in &ask.ids {
        unchanged(
            &tx,
            ask.table,
            found,
            *id,
            ask.seen.get(id).map(String::as_str),
        )?;
        let deleted = found.only_in_backup.iter().any(|r| r.id == *id);
        let b = match ask.table {
            Table::Customers => customer(&tx, backup, *id, deleted)?,
            _ => product(&tx, backup, *id, deleted, ask.stock, name, user_id)?,
        };
        brought.push(b);
    }
    tx.commit()?;
    Ok(brought)
}

/// When the backup's record was first made: it keeps that when it comes back with its id, so
/// it is the same record again (see `diff`).
fn created_at(backup: &Connection, table: &str, id: i64) -> rusqlite::Result<String> {
    backup.query_row(
        &format!("SELECT created_at FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
}

fn id_free(conn: &Connection, table: &str, id: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
        [id],
        |r| r.get(0),
    )
}

fn customer(
    tx: &Connection,
    backup: &Connection,
    id: i64,
    deleted: bool,
) -> Result<Brought, RecordsError> {
    let old = customers::get(backup, id)?;
    let form = customers::validate(&CustomerForm::from_customer(&old)).map_err(|e| {
        RecordsError::Invalid {
            id,
            problem: e.joined(),
        }
    })?;
    if !deleted {
        customers::update(tx, id, &form)?;
        return Ok(Brought {
            id,
            live_id: id,
            what: "its fields as in the backup".into(),
        });
    }
    if id_free(tx, "customers", id)? {
        tx.execute(
            "INSERT INTO customers (id, name, phone, phone_digits, email, notes, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                form.name,
                form.phone,
                crate::text::phone_digits(&form.phone),
                form.email,
                form.notes,
                created_at(backup, "customers", id)?,
                now_text()
            ],
        )?;
        return Ok(Brought {
            id,
            live_id: id,
            what: "added back with its id".into(),
        });
    }
    let new_id = customers::create(tx, &form)?;
    Ok(Brought {
        id,
        live_id: new_id,
        what: format!("added back as #{new_id} (its id #{id} is used by another customer now)"),
    })
}

#[allow(clippy::too_many_arguments)]
fn product(
    tx: &Connection,
    backup: &Connection,
    id: i64,
    deleted: bool,
    stock: StockChoice,
    name: &str,
    user_id: i64,
) -> Result<Brought, RecordsError> {
    let old = products::get(backup, id)?;
    let form = ProductForm::from_product(&old);
    let valid = products::validate(&form, false).map_err(|e| RecordsError::Invalid {
        id,
        problem: e.joined(),
    })?;
    let taken: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, name FROM products WHERE sku = ?1 AND id <> ?2",
            params![old.sku, if deleted { -1 } else { id }],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((other, other_name)) = taken {
        return Err(RecordsError::SkuTaken {
            sku: old.sku,
            id,
            other,
            other_name,
        });
    }
    let now = now_text();
    let (live_id, mut what) = if deleted {
        let use_id = id_free(tx, "products", id)?;
        let made = if use_id {
            created_at(backup, "products", id)?
        } else {
            now.clone()
        };
        tx.execute(
            "INSERT INTO products (id, sku, name, price_cents, stock, reorder_level, archived, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)",
            params![
                use_id.then_some(id),
                valid.sku,
                valid.name,
                valid.price_cents,
                valid.reorder_level,
                old.archived,
                made,
                now
            ],
        )?;
        let live_id = tx.last_insert_rowid();
        let what = if use_id {
            "added back with its id".to_string()
        } else {
            format!("added back as #{live_id} (its id #{id} is used by another product now)")
        };
        (live_id, what)
    } else {
        tx.execute(
            "UPDATE products SET sku = ?1, name = ?2, price_cents = ?3, reorder_level = ?4, archived = ?5, updated_at = ?6 WHERE id = ?7",
            params![valid.sku, valid.name, valid.price_cents, valid.reorder_level, old.archived, now, id],
        )?;
        (id, "its fields as in the backup".to_string())
    };
    let current: i64 =
        tx.query_row("SELECT stock FROM products WHERE id = ?1", [live_id], |r| {
            r.get(0)
        })?;
    let delta = old.stock - current;
    match stock {
        StockChoice::Adjust if delta != 0 => {
            tx.execute(
                "UPDATE products SET stock = ?1 WHERE id = ?2",
                params![old.stock, live_id],
            )?;
            tx.execute(
                "INSERT INTO stock_adjustments (product_id, delta, reason, note, user_id, created_at)
                 VALUES (?1, ?2, ?3, '', ?4, ?5)",
                params![live_id, delta, format!("brought back from {name}"), user_id, now],
            )?;
            what.push_str(&format!("; stock {current} → {} (adjusted)", old.stock));
        }
        _ if delta != 0 => {
            what.push_str(&format!(
                "; stock left at {current} (the backup had {})",
                old.stock
            ));
        }
        _ => {}
    }
    crate::business::history::record(
        tx,
        live_id,
        &format!("brought back from {name}: {what}"),
        user_id,
    )?;
    Ok(Brought { id, live_id, what })
}
