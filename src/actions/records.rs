//! The use-cases behind looking inside a backup, shared by the pages and the JSON API: a
//! table's records as the backup has them (admin and up), the comparison with now, a CSV of
//! them, and bringing chosen records back (super-admin).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ActionError;
use crate::auth::permission::{Admin, SuperAdmin};
use crate::backup::BackupEngine;
use crate::business::{Page, customers, export, products, sales};
use crate::db::Db;
use crate::records::{self, BringBack, Brought, Diff, Record, RecordsError, Snapshot, Table};

pub const PER_PAGE: i64 = 25;

/// Which backup and table a request is about.
pub struct Inside {
    pub backup: String,
    pub table: Table,
}

impl Inside {
    pub fn parse(backup: String, table: &str) -> Result<Inside, ActionError> {
        let table = Table::parse(table).ok_or(ActionError::NoSuchTable)?;
        Ok(Inside { backup, table })
    }
}

/// One page of a table inside a backup, with how each record compares with now.
pub struct Listing {
    pub backup: String,
    pub made: DateTime<Utc>,
    pub migrated: bool,
    pub page: Page<Record>,
    /// Id → "only in the backup" / "changed since" (products and customers).
    pub marks: BTreeMap<i64, &'static str>,
}

fn page_of<T>(page: Page<T>, f: impl Fn(&T) -> Record) -> Page<Record> {
    Page {
        items: page.items.iter().map(f).collect(),
        page: page.page,
        per_page: page.per_page,
        total: page.total,
    }
}

pub fn list(
    engine: &BackupEngine,
    db: &Db,
    _admin: &Admin,
    inside: &Inside,
    q: &str,
    page_no: i64,
) -> Result<Listing, RecordsError> {
    let snap = Snapshot::open(engine, &inside.backup)?;
    let conn = &snap.conn;
    let page = match inside.table {
        Table::Products => page_of(
            products::list(conn, q, true, page_no, PER_PAGE)?,
            Record::of_product,
        ),
        Table::Customers => page_of(
            customers::list(conn, q, page_no, PER_PAGE)?,
            Record::of_customer,
        ),
        Table::Sales => page_of(
            sales::list(conn, "", "9999", page_no, PER_PAGE)?.0,
            Record::of_sale,
        ),
    };
    let found = db.with_conn(|c| records::diff(conn, c, inside.table))?;
    let mut marks = BTreeMap::new();
    for r in &found.only_in_backup {
        marks.insert(r.id, "only in the backup");
    }
    for c in &found.changed {
        marks.insert(c.id, "changed since");
    }
    Ok(Listing {
        backup: snap.entry.file_name.clone(),
        made: snap.entry.created_at(),
        migrated: snap.was_migrated(),
        page,
        marks,
    })
}

/// The comparison with now; for sales, the backup's sales that are no longer live.
pub fn compare(
    engine: &BackupEngine,
    db: &Db,
    _admin: &Admin,
    inside: &Inside,
) -> Result<(Diff, Vec<Record>), RecordsError> {
    let snap = Snapshot::open(engine, &inside.backup)?;
    db.with_conn(|c| {
        let found = records::diff(&snap.conn, c, inside.table)?;
        let lost = if inside.table == Table::Sales {
            records::lost_sales(&snap.conn, c)?
        } else {
            Vec::new()
        };
        Ok::<_, RecordsError>((found, lost))
    })
}

/// A table of the backup as CSV (the live exports' format and formula guard).
pub fn csv(
    engine: &BackupEngine,
    _admin: &Admin,
    inside: &Inside,
) -> Result<Vec<u8>, RecordsError> {
    let snap = Snapshot::open(engine, &inside.backup)?;
    Ok(match inside.table {
        Table::Products => export::products_csv(&snap.conn)?,
        Table::Customers => export::customers_csv(&snap.conn)?,
        Table::Sales => export::sales_csv(&snap.conn)?,
    })
}

/// Brings chosen records back (super-admin only).
pub fn bring_back(
    engine: &BackupEngine,
    db: &Db,
    boss: &SuperAdmin,
    backup: &str,
    ask: &BringBack,
) -> Result<Vec<Brought>, RecordsError> {
    records::bring_back(engine, db, backup, ask, (boss.actor().id, boss.username()))
}
