//! `/backup/{name}/records/{table}`, `/backup/{name}/diff/{table}` and
//! `/backup/{name}/bring-back`: a backup's products, customers and sales as they were, the
//! comparison with now, a CSV of them, and bringing chosen records back. Handlers extract,
//! call one use-case from `actions::records`, and render.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::actions::records::{self, Inside};
use crate::records::{BringBack, Diff, Record, StockChoice, Table, fields_of};
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::paging::{ListQuery, Pager};
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, blocking, render, see_other};
use crate::web::pages::products::csv_response;
use crate::web::views::backups::find_backup;

fn title(table: Table) -> &'static str {
    match table {
        Table::Products => "Products",
        Table::Customers => "Customers",
        Table::Sales => "Sales",
    }
}

#[derive(Template)]
#[template(path = "backup/records.html")]
struct RecordsPage {
    layout: Layout,
    backup: String,
    /// What the backup is called ("before stock-take — Wed 2 Dec, 15:57").
    label: String,
    migrated: bool,
    table: &'static str,
    title: &'static str,
    headers: &'static [&'static str],
    rows: Vec<(Record, &'static str)>,
    q: String,
    pager: Pager,
}

pub async fn list(
    Ctx { req, state, user }: Ctx,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup, &table)?;
    let table = inside.table;
    let (q, page_no) = (query.search(), query.page());
    let (st, admin, search) = (state.clone(), user.admin()?, q.clone());
    let listing =
        blocking(move || records::list(&st.engine, &st.db, &admin, &inside, &search, page_no))
            .await?;
    let pager = Pager::new(
        &listing.page,
        &format!("/backup/{}/records/{}", listing.backup, table.as_str()),
        &[("q", &q)],
    );
    let rows = listing
        .page
        .items
        .iter()
        .map(|r| (r.clone(), listing.marks.get(&r.id).copied().unwrap_or("")))
        .collect();
    render(&RecordsPage {
        layout: Layout::new(&req, &state, title(table), "backup").await,
        label: find_backup(&state, listing.backup.clone()).await?.label(),
        backup: listing.backup,
        migrated: listing.migrated,
        table: table.as_str(),
        title: title(table),
        headers: fields_of(table),
        rows,
        q,
        pager,
    })
}

pub async fn export_csv(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup, &table)?;
    let name = format!("{}_from_backup", inside.table.as_str());
    let (engine, admin) = (state.engine.clone(), user.admin()?);
    let bytes = blocking(move || records::csv(&engine, &admin, &inside)).await?;
    Ok(csv_response(&name, bytes))
}

#[derive(Template)]
#[template(path = "backup/diff.html")]
struct DiffPage {
    layout: Layout,
    backup: String,
    /// What the backup is called ("before stock-take — Wed 2 Dec, 15:57").
    label: String,
    table: &'static str,
    title: &'static str,
    headers: &'static [&'static str],
    d: Diff,
    lost: Vec<Record>,
    can_bring_back: bool,
    /// What the page shows of each live record, sent back so a change made meanwhile is
    /// refused rather than overwritten.
    seen: std::collections::BTreeMap<i64, String>,
}

pub async fn diff(
    Ctx { req, state, user }: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup.clone(), &table)?;
    let table = inside.table;
    let entry = find_backup(&state, backup).await?;
    let (st, admin) = (state.clone(), user.admin()?);
    let (d, lost) = blocking(move || records::compare(&st.engine, &st.db, &admin, &inside)).await?;
    let seen = d.seen();
    render(&DiffPage {
        layout: Layout::new(&req, &state, title(table), "backup").await,
        backup: entry.file_name.clone(),
        label: entry.label(),
        table: table.as_str(),
        title: title(table),
        headers: fields_of(table),
        d,
        lost,
        can_bring_back: user.is_super_admin(),
        seen,
    })
}

/// The bring-back form: `table`, one `id` per ticked record, `stock` (`keep` or `adjust`).
fn parse_form(body: &[u8]) -> Result<BringBack, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
    let field = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let table = field("table")
        .and_then(Table::parse)
        .ok_or_else(|| AppError::BadRequest("Choose products or customers.".into()))?;
    let ids = pairs
        .iter()
        .filter(|(n, _)| n == "id")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| AppError::BadRequest(format!("{v:?} is not a record number.")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stock = match field("stock") {
        Some("adjust") => StockChoice::Adjust,
        _ => StockChoice::Keep,
    };
    let seen = pairs
        .iter()
        .filter_map(|(n, v)| {
            let id = n.strip_prefix("seen_")?.parse::<i64>().ok()?;
            Some((id, v.clone()))
        })
        .collect();
    Ok(BringBack {
        table,
        ids,
        stock,
        seen,
    })
}

pub async fn bring_back(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    backup: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let backup = backup.into_inner();
    let ask = parse_form(&body)?;
    let table = ask.table;
    let back = format!("/backup/{backup}/diff/{}", table.as_str());
    let (st, boss) = (state.clone(), user.super_admin()?);
    let brought = blocking(move || records::bring_back(&st.engine, &st.db, &boss, &backup, &ask));
    match brought.await {
        Ok(brought) => {
            let lines: Vec<String> = brought
                .iter()
                .map(|b| format!("#{}: {}", b.id, b.what))
                .collect();
            session.flash_ok(format!(
                "Brought back {} {}: {}.",
                brought.len(),
                table.as_str(),
                lines.join("; ")
            ));
        }
        Err(e @ (AppError::Forbidden(_) | AppError::NotFound)) => return Err(e),
        Err(e) => session.flash_error(format!("Nothing was brought back: {}", e.public_message())),
    }
    Ok(see_other(&back))
}
