//! The use-cases behind looking inside a backup, shared by the pages and the JSON API: a
//! table's records as the backup has them (admin and up), the comparison with now, a CSV of
//! them, and bringing chosen records back (super-admin).

use crate::auth::permission::{Admin, SuperAdmin};
use std::collections::BTreeMap;

use actix_web::web;
use chrono::{DateTime, Utc};

use super::{AppError, AppState, blocking};
use crate::business::{Page, customers, export, products, sales};
use crate::records::{self, BringBack, Brought, Diff, Record, RecordsError, Snapshot, Table};

pub const PER_PAGE: i64 = 25;

/// Which backup and table a request is about.
pub struct Inside {
    pub backup: String,
    pub table: Table,
}

impl Inside {
    pub fn parse(backup: String, table: &str) -> Result<Inside, AppError> {
        let table = Table::parse(table).ok_or(AppError::NotFound)?;
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

pub async fn list(
    state: &web::Data<AppState>,
    _admin: &Admin,
    inside: Inside,
    q: String,
    page_no: i64,
) -> Result<Listing, AppError> {
    let st = state.clone();
    blocking(move || {
        let snap = Snapshot::open(&st.engine, &inside.backup)?;
        let conn = &snap.conn;
        let page = match inside.table {
            Table::Products => page_of(
                products::list(conn, &q, true, page_no, PER_PAGE)?,
                Record::of_product,
            ),
            Table::Customers => page_of(
                customers::list(conn, &q, page_no, PER_PAGE)?,
                Record::of_customer,
            ),
            Table::Sales => page_of(
                sales::list(conn, "", "9999", page_no, PER_PAGE)?.0,
                Record::of_sale,
            ),
        };
        let found = st.db.with_conn(|c| records::diff(conn, c, inside.table))?;
        let mut marks = BTreeMap::new();
        for r in &found.only_in_backup {
            marks.insert(r.id, "only in the backup");
        }
        for c in &found.changed {
            marks.insert(c.id, "changed since");
        }
        Ok::<_, RecordsError>(Listing {
            backup: snap.entry.file_name.clone(),
            made: snap.entry.created_at(),
            migrated: snap.was_migrated(),
            page,
            marks,
        })
    })
    .await
}

/// The comparison with now; for sales, the backup's sales that are no longer live.
pub async fn compare(
    state: &web::Data<AppState>,
    _admin: &Admin,
    inside: Inside,
) -> Result<(Diff, Vec<Record>), AppError> {
    let st = state.clone();
    blocking(move || {
        let snap = Snapshot::open(&st.engine, &inside.backup)?;
        st.db.with_conn(|c| {
            let found = records::diff(&snap.conn, c, inside.table)?;
            let lost = if inside.table == Table::Sales {
                records::lost_sales(&snap.conn, c)?
            } else {
                Vec::new()
            };
            Ok::<_, RecordsError>((found, lost))
        })
    })
    .await
}

/// A table of the backup as CSV (the live exports' format and formula guard).
pub async fn csv(
    state: &web::Data<AppState>,
    _admin: &Admin,
    inside: Inside,
) -> Result<Vec<u8>, AppError> {
    let st = state.clone();
    blocking(move || {
        let snap = Snapshot::open(&st.engine, &inside.backup)?;
        let bytes = match inside.table {
            Table::Products => export::products_csv(&snap.conn)?,
            Table::Customers => export::customers_csv(&snap.conn)?,
            Table::Sales => export::sales_csv(&snap.conn)?,
        };
        Ok::<_, RecordsError>(bytes)
    })
    .await
}

/// Brings chosen records back (super-admin only).
pub async fn bring_back(
    state: &web::Data<AppState>,
    boss: &SuperAdmin,
    backup: String,
    ask: BringBack,
) -> Result<Vec<Brought>, AppError> {
    let (st, id, who) = (state.clone(), boss.actor().id, boss.username().to_string());
    blocking(move || records::bring_back(&st.engine, &st.db, &backup, &ask, (id, &who))).await
}
