//! Products and stock. Stock only changes through recorded adjustments (who, when, why) and
//! sales, never by editing the product.

use rusqlite::{Connection, TransactionBehavior, params};
use serde::Serialize;

use super::money::{format_cents, parse_cents};
use super::{BusinessError, FieldErrors, Page, now_text};

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub stock: i64,
    pub reorder_level: i64,
    pub archived: bool,
}

impl Product {
    pub fn price(&self) -> String {
        format_cents(self.price_cents)
    }

    pub fn is_low(&self) -> bool {
        !self.archived && self.stock <= self.reorder_level
    }

    /// "TT-01 · 4.50 · 12 in stock": what tells products apart in a search.
    pub fn detail(&self) -> String {
        format!("{} · {} · {} in stock", self.sku, self.price(), self.stock)
    }
}

pub(crate) const COLUMNS: &str = "id, sku, name, price_cents, stock, reorder_level, archived";

/// What the product form sends, kept as typed so errors can show it again.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    pub sku: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub stock: String,
    #[serde(default)]
    pub reorder_level: String,
}

impl ProductForm {
    pub fn from_product(p: &Product) -> ProductForm {
        ProductForm {
            sku: p.sku.clone(),
            name: p.name.clone(),
            price: p.price().replace(',', ""),
            stock: p.stock.to_string(),
            reorder_level: p.reorder_level.to_string(),
        }
    }
}

/// A checked product form.
#[derive(Debug, Clone)]
pub struct ValidProduct {
    pub sku: String,
    pub name: String,
    pub price_cents: i64,
    pub stock: i64,
    pub reorder_level: i64,
}

/// The largest stock or reorder level (and stock change) accepted.
pub const MAX_COUNT: i64 = 1_000_000_000;

fn parse_count(text: &str, field: &'static str, label: &str, errors: &mut FieldErrors) -> i64 {
    let text = text.trim();
    if text.is_empty() {
        return 0;
    }
    match text.parse::<i64>() {
        Ok(n) if (0..=MAX_COUNT).contains(&n) => n,
        Ok(_) => {
            errors.add(
                field,
                format!("{label} must be a whole number from 0 to 1,000,000,000."),
            );
            0
        }
        Err(_) => {
            errors.add(field, format!("{label} must be a whole number, e.g. 12."));
            0
        }
    }
}

/// Checks every rule; `creating` also checks the initial stock.
pub fn validate(form: &ProductForm, creating: bool) -> Result<ValidProduct, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = form.name.trim().to_string();
    if name.is_empty() {
        errors.add("name", "Name is required.");
    } else if name.chars().count() > 200 {
        errors.add("name", "Name can have at most 200 characters.");
    } else if let Err(e) = crate::text::check("Name", &name, false) {
        errors.add("name", e);
    }
    let sku = form.sku.trim().to_string();
    if sku.is_empty() {
        errors.add("sku", "SKU is required.");
    } else if sku.chars().count() > 64 {
        errors.add("sku", "SKU can have at most 64 characters.");
    } else if let Err(e) = crate::text::check("SKU", &sku, false) {
        errors.add("sku", e);
    }
    let price_cents = match parse_cents(&form.price) {
        Ok(c) => c,
        Err(e) => {
            errors.add("price", format!("Price: {e}"));
            0
        }
    };
    let stock = if creating {
        parse_count(&form.stock, "stock", "Stock", &mut errors)
    } else {
        0
    };
    let reorder_level = parse_count(
        &form.reorder_level,
        "reorder_level",
        "Reorder level",
        &mut errors,
    );
    if errors.is_empty() {
        Ok(ValidProduct {
            sku,
            name,
            price_cents,
            stock,
            reorder_level,
        })
    } else {
        Err(errors)
    }
}

fn sku_taken(conn: &Connection, sku: &str, except: Option<i64>) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM products WHERE sku = ?1 AND id <> ?2",
        params![sku, except.unwrap_or(-1)],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn sku_error(sku: &str) -> BusinessError {
    let mut errors = FieldErrors::default();
    errors.add(
        "sku",
        format!("The SKU {sku} is already used by another product."),
    );
    BusinessError::Invalid(errors)
}

/// Checks the form and stores it as a new product (`id` is `None`, with its initial stock
/// booked to `user_id`) or over product `id`.
pub fn save(
    conn: &mut Connection,
    id: Option<i64>,
    form: &ProductForm,
    user_id: i64,
) -> Result<i64, BusinessError> {
    let valid = validate(form, id.is_none()).map_err(BusinessError::Invalid)?;
    match id {
        None => create(conn, &valid, user_id),
        Some(id) => update(conn, id, &valid).map(|()| id),
    }
}

pub fn create(conn: &mut Connection, p: &ValidProduct, user_id: i64) -> Result<i64, BusinessError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if sku_taken(&tx, &p.sku, None)? {
        return Err(sku_error(&p.sku));
    }
    let now = now_text();
    tx.execute(
        "INSERT INTO products (sku, name, price_cents, stock, reorder_level, archived, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6)",
        params![p.sku, p.name, p.price_cents, p.stock, p.reorder_level, now],
    )?;
    let id = tx.last_insert_rowid();
    if p.stock > 0 {
        tx.execute(
            "INSERT INTO stock_adjustments (product_id, delta, reason, note, user_id, created_at)
             VALUES (?1, ?2, 'initial stock', '', ?3, ?4)",
            params![id, p.stock, user_id, now],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

/// Updates name, SKU, price and reorder level (stock changes go through adjustments).
pub fn update(conn: &mut Connection, id: i64, p: &ValidProduct) -> Result<(), BusinessError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if sku_taken(&tx, &p.sku, Some(id))? {
        return Err(sku_error(&p.sku));
    }
    let n = tx.execute(
        "UPDATE products SET sku = ?1, name = ?2, price_cents = ?3, reorder_level = ?4, updated_at = ?5 WHERE id = ?6",
        params![p.sku, p.name, p.price_cents, p.reorder_level, now_text(), id],
    )?;
    if n == 0 {
        return Err(BusinessError::NotFound);
    }
    tx.commit()?;
    Ok(())
}

/// The stored record as its edit form shows it.
pub fn form(conn: &Connection, id: i64) -> Result<ProductForm, BusinessError> {
    get(conn, id).map(|r| ProductForm::from_product(&r))
}

pub fn get(conn: &Connection, id: i64) -> Result<Product, BusinessError> {
    super::one(
        conn,
        &format!("SELECT {COLUMNS} FROM products WHERE id = ?1"),
        [id],
    )
}

pub fn has_sales(conn: &Connection, id: i64) -> Result<bool, BusinessError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sale_lines WHERE product_id = ?1)",
        [id],
        |r| r.get::<_, bool>(0),
    )?)
}

/// Products with every word of `search` in their name or SKU, archived ones only when asked.
pub fn list(
    conn: &Connection,
    search: &str,
    include_archived: bool,
    page: i64,
    per_page: i64,
) -> Result<Page<Product>, BusinessError> {
    let words = super::filter::product_filter(search);
    let mut params = words.params;
    params.push(include_archived.into());
    super::paged(
        conn,
        COLUMNS,
        &format!(
            "FROM products WHERE {} AND (? OR archived = 0)",
            words.clause
        ),
        "archived, name COLLATE NOCASE, id",
        params,
        page,
        per_page,
    )
}

/// Every product that can be sold, for the sale form.
pub fn sellable(conn: &Connection) -> Result<Vec<Product>, BusinessError> {
    super::all(
        conn,
        &format!("SELECT {COLUMNS} FROM products WHERE archived = 0 ORDER BY name COLLATE NOCASE"),
        [],
    )
}

pub fn low_stock(conn: &Connection, limit: i64) -> Result<Vec<Product>, BusinessError> {
    super::all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM products WHERE archived = 0 AND stock <= reorder_level
             ORDER BY stock - reorder_level, name COLLATE NOCASE LIMIT ?1"
        ),
        [limit],
    )
}

pub fn count_low_stock(conn: &Connection) -> Result<i64, BusinessError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM products WHERE archived = 0 AND stock <= reorder_level",
        [],
        |r| r.get(0),
    )?)
}

/// What happened to a product that a person asked to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Deleted,
    Archived,
}

/// Deletes a product that was never sold nor adjusted; archives one that was (its history is
/// kept).
pub fn remove(conn: &mut Connection, id: i64) -> Result<Removal, BusinessError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    get(&tx, id)?;
    // Anything beyond the initial stock (received goods, corrections) is history worth
    // keeping, like sales: such a product is archived, not deleted.
    let adjusted: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM stock_adjustments WHERE product_id = ?1 AND reason <> 'initial stock')",
        [id],
        |r| r.get(0),
    )?;
    let outcome = if adjusted || has_sales(&tx, id)? {
        tx.execute(
            "UPDATE products SET archived = 1, updated_at = ?1 WHERE id = ?2",
            params![now_text(), id],
        )?;
        Removal::Archived
    } else {
        tx.execute("DELETE FROM stock_adjustments WHERE product_id = ?1", [id])?;
        tx.execute("DELETE FROM product_events WHERE product_id = ?1", [id])?;
        tx.execute("DELETE FROM products WHERE id = ?1", [id])?;
        Removal::Deleted
    };
    tx.commit()?;
    Ok(outcome)
}

pub fn set_archived(conn: &Connection, id: i64, archived: bool) -> Result<(), BusinessError> {
    let n = conn.execute(
        "UPDATE products SET archived = ?1, updated_at = ?2 WHERE id = ?3",
        params![archived, now_text(), id],
    )?;
    if n == 0 {
        return Err(BusinessError::NotFound);
    }
    Ok(())
}

pub const ADJUSTMENT_REASONS: [&str; 4] = [
    "received goods",
    "correction",
    "damaged or lost",
    "returned by customer",
];

/// Changes stock by `delta` and records who, when and why. Refuses to go below zero.
pub fn adjust_stock(
    conn: &mut Connection,
    id: i64,
    delta: i64,
    reason: &str,
    note: &str,
    user_id: i64,
) -> Result<Product, BusinessError> {
    let mut errors = FieldErrors::default();
    if delta == 0 {
        errors.add("delta", "Enter a change other than 0 (e.g. 12 or -3).");
    }
    if !ADJUSTMENT_REASONS.contains(&reason) {
        errors.add("reason", "Choose a reason.");
    }
    if note.chars().count() > 500 {
        errors.add("note", "The note can have at most 500 characters.");
    } else if let Err(e) = crate::text::check("The note", note, false) {
        errors.add("note", e);
    }
    if delta.unsigned_abs() > MAX_COUNT as u64 {
        errors.add(
            "delta",
            format!("A change can be at most {MAX_COUNT} either way."),
        );
    }
    if !errors.is_empty() {
        return Err(BusinessError::Invalid(errors));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let product = get(&tx, id)?;
    let new_stock = product
        .stock
        .checked_add(delta)
        .ok_or(BusinessError::Overflow)?;
    if new_stock < 0 {
        return Err(BusinessError::NegativeStock {
            product: product.name,
            available: product.stock,
        });
    }
    if new_stock > MAX_COUNT {
        let mut errors = FieldErrors::default();
        errors.add(
            "delta",
            format!(
                "Stock can be at most {MAX_COUNT} ({} has {}).",
                product.name, product.stock
            ),
        );
        return Err(BusinessError::Invalid(errors));
    }
    let now = now_text();
    tx.execute(
        "UPDATE products SET stock = ?1, updated_at = ?2 WHERE id = ?3",
        params![new_stock, now, id],
    )?;
    tx.execute(
        "INSERT INTO stock_adjustments (product_id, delta, reason, note, user_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, delta, reason, note.trim(), user_id, now],
    )?;
    let updated = get(&tx, id)?;
    tx.commit()?;
    Ok(updated)
}
