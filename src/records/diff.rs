//! A backup's records compared with the live ones, by id: *only in the backup* (deleted
//! since), *only now* (added since), *changed* (field by field). A live record with the same
//! id but another creation time is another record that took a freed id: the backup's one
//! counts as deleted. Sales are listed when they are no longer live (lost or voided since).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use super::{RecordsError, Table};
use crate::business::money::format_cents;

/// One product or customer as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub id: i64,
    #[serde(flatten)]
    pub fields: BTreeMap<&'static str, String>,
    /// Which record this is, beyond its id (ids are reused after a deletion).
    #[serde(skip)]
    pub created_at: String,
}

impl Record {
    pub fn get(&self, field: &str) -> &str {
        self.fields.get(field).map_or("", String::as_str)
    }
}

impl Record {
    pub fn of_product(p: &crate::business::products::Product) -> Record {
        let mut fields = BTreeMap::new();
        fields.insert("sku", p.sku.clone());
        fields.insert("name", p.name.clone());
        fields.insert("price", format_cents(p.price_cents));
        fields.insert("stock", p.stock.to_string());
        fields.insert("reorder_level", p.reorder_level.to_string());
        fields.insert(
            "archived",
            if p.archived { "yes" } else { "no" }.to_string(),
        );
        Record {
            id: p.id,
            fields,
            created_at: String::new(),
        }
    }

    pub fn of_customer(c: &crate::business::customers::Customer) -> Record {
        let mut fields = BTreeMap::new();
        fields.insert("name", c.name.clone());
        fields.insert("phone", c.phone.clone());
        fields.insert("email", c.email.clone());
        fields.insert("notes", c.notes.clone());
        Record {
            id: c.id,
            fields,
            created_at: String::new(),
        }
    }

    pub fn of_sale(s: &crate::business::sales::SaleSummary) -> Record {
        let mut fields = BTreeMap::new();
        fields.insert("date", s.created_at.clone());
        fields.insert("customer", s.customer.clone());
        fields.insert("total", format_cents(s.total_cents));
        fields.insert("status", if s.voided { "voided" } else { "" }.to_string());
        Record {
            id: s.id,
            fields,
            created_at: String::new(),
        }
    }
}

/// The fields shown for a table, in order.
pub fn fields_of(table: Table) -> &'static [&'static str] {
    match table {
        Table::Products => &["sku", "name", "price", "stock", "reorder_level", "archived"],
        Table::Customers => &["name", "phone", "email", "notes"],
        Table::Sales => &["date", "customer", "total", "status"],
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub id: i64,
    /// Field → [in the backup, now].
    pub fields: BTreeMap<&'static str, [String; 2]>,
    #[serde(skip)]
    pub backup: Record,
    #[serde(skip)]
    pub now: Record,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub only_in_backup: Vec<Record>,
    pub only_now: Vec<Record>,
    pub changed: Vec<Changed>,
}

impl Diff {
    /// The record of `id` as the backup has it, when it differs from now.
    pub fn backup_side(&self, id: i64) -> Option<&Record> {
        self.only_in_backup
            .iter()
            .find(|r| r.id == id)
            .or_else(|| self.changed.iter().find(|c| c.id == id).map(|c| &c.backup))
    }
}

/// Every product or customer of a database, by id.
pub(super) fn load(conn: &Connection, table: Table) -> Result<BTreeMap<i64, Record>, RecordsError> {
    load_where(conn, table, None)
}

/// One product or customer by id, when it is there.
pub(super) fn load_one(
    conn: &Connection,
    table: Table,
    id: i64,
) -> Result<Option<Record>, RecordsError> {
    Ok(load_where(conn, table, Some(id))?.remove(&id))
}

fn load_where(
    conn: &Connection,
    table: Table,
    only: Option<i64>,
) -> Result<BTreeMap<i64, Record>, RecordsError> {
    let sql = match table {
        Table::Products => {
            "SELECT id, sku, name, price_cents, stock, reorder_level, archived, created_at FROM products"
        }
        Table::Customers => "SELECT id, name, phone, email, notes, created_at FROM customers",
        Table::Sales => return Ok(BTreeMap::new()),
    };
    let mut stmt = conn.prepare(&format!("{sql} WHERE ?1 IS NULL OR id = ?1"))?;
    let mut rows = stmt.query([only])?;
    let mut all = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let mut fields = BTreeMap::new();
        let created_at = match table {
            Table::Products => {
                fields.insert("sku", r.get(1)?);
                fields.insert("name", r.get(2)?);
                fields.insert("price", format_cents(r.get(3)?));
                fields.insert("stock", r.get::<_, i64>(4)?.to_string());
                fields.insert("reorder_level", r.get::<_, i64>(5)?.to_string());
                let archived = r.get::<_, i64>(6)? == 1;
                fields.insert("archived", if archived { "yes" } else { "no" }.to_string());
                r.get(7)?
            }
            _ => {
                for (i, name) in ["name", "phone", "email", "notes"].into_iter().enumerate() {
                    fields.insert(name, r.get(i + 1)?);
                }
                r.get(5)?
            }
        };
        all.insert(
            id,
            Record {
                id,
                fields,
                created_at,
            },
        );
    }
    Ok(all)
}

/// Compares a backup's products or customers with the live ones.
pub fn diff(backup: &Connection, live: &Connection, table: Table) -> Result<Diff, RecordsError> {
    if table == Table::Sales {
        return Ok(Diff::default());
    }
    let then = load(backup, table)?;
    let now = load(live, table)?;
    let mut d = Diff::default();
    for (id, old) in &then {
        match now.get(id) {
            None => d.only_in_backup.push(old.clone()),
            Some(new) if new.created_at != old.created_at => d.only_in_backup.push(old.clone()),
            Some(new) => {
                let fields: BTreeMap<&'static str, [String; 2]> = old
                    .fields
                    .iter()
                    .filter(|(k, v)| new.fields.get(*k) != Some(*v))
                    .map(|(k, v)| (*k, [v.clone(), new.get(k).to_string()]))
                    .collect();
                if !fields.is_empty() {
                    d.changed.push(Changed {
                        id: *id,
                        fields,
                        backup: old.clone(),
                        now: new.clone(),
                    });
                }
            }
        }
    }
    for (id, new) in &now {
        if then
            .get(id)
            .is_none_or(|old| old.created_at != new.created_at)
        {
            d.only_now.push(new.clone());
        }
    }
    Ok(d)
}

/// The backup's sales that are no longer live: gone, or voided since.
pub fn lost_sales(backup: &Connection, live: &Connection) -> Result<Vec<Record>, RecordsError> {
    let mut live_sales: BTreeMap<i64, (String, bool)> = BTreeMap::new();
    {
        let mut stmt = live.prepare("SELECT id, created_at, voided_at IS NOT NULL FROM sales")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            live_sales.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        }
    }
    let mut stmt = backup.prepare(
        "SELECT s.id, s.created_at, coalesce(c.name, ''), s.total_cents
         FROM sales s LEFT JOIN customers c ON c.id = s.customer_id
         WHERE s.voided_at IS NULL ORDER BY s.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut lost = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let created_at: String = r.get(1)?;
        let status = match live_sales.get(&id) {
            Some((at, false)) if *at == created_at => continue,
            Some((at, true)) if *at == created_at => "voided since",
            _ => "not in the live data",
        };
        let mut fields = BTreeMap::new();
        fields.insert("date", crate::business::display_time(&created_at));
        fields.insert("customer", r.get(2)?);
        fields.insert("total", format_cents(r.get(3)?));
        fields.insert("status", status.to_string());
        lost.push(Record {
            id,
            fields,
            created_at,
        });
    }
    Ok(lost)
}
